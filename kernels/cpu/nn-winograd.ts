// Winograd F(2x2, 3x3) for stride-1 3x3 float32 convs (group 1, dilation 1, any pads): each 2x2 block of
// outputs costs 16 multiply-adds per (input, output channel) pair instead of 36, so the same SIMD GEMM
// (already at its FMA ceiling) does 2.25x less work; 3x1 and 1x3 convs take F(2, 3) along their 3-tap axis
// (4 instead of 6 per output pair, 1.5x less). Per image (3x3; the 1-D forms have 4 matrices):
//   V[xi] = B^T d B of the 4x4 input tiles at stride 2 (16 matrices [C, T], T tiles; wasm, nn-winograd-simd.ts),
//   M[xi] = U[xi] V[xi] (16 GEMMs, U = G g G^T of the weights [Co, C], packed once per constant weight array),
//   Y = A^T m A + bias per tile (wasm), cropped to the output.
// The sums are reassociated (not bit-identical to im2col); F(2,3)'s transforms only add, subtract and halve,
// so the error stays within a few float32 roundings of the terms' magnitudes (tests/kernels/conv-winograd.test.ts).
import type { Grid } from './nn-im2col.js';
import { isConstant } from './constants.js';
import { MR, NV, type Resident, type SimdGemm } from './nn-gemm-simd.js';
import { simdGemmInUse } from './nn-gemm.js';
import { applyGemmEpilogue } from './nn-gemm-epilogue.js';
import { type WinogradKernel, winogradKernels } from './nn-winograd-simd.js';

let useWinograd = true;
/** Turn the Winograd path off or on (tests compare it with the implicit GEMM); returns the previous setting. */
export function setWinogradConv(on: boolean): boolean {
  const prev = useWinograd;
  useWinograd = on;
  return prev;
}

/** Convs (per batch) that took the Winograd path, in all and per form: tests check the path they mean to cover ran. */
export const winogradConvStats = { calls: 0, kinds: {} as Partial<Record<WinogradKernel, number>> };

/** Most bytes the path stages (padded input, the 16 V and M matrices, outputs); larger convs take the GEMM. */
const STAGE_LIMIT = 1 << 28;

/**
 * Bytes of V matrices per pass over tile rows (large images): one pass per image measured fastest up to
 * about this (96->24 at 24x24, 885 KB: 0.46 ms against 0.50 in passes of 256 KB, whose GEMMs are
 * shorter), passes of 0.5-1 MiB on large maps (64->64 at 96x96: 13.3 against 16.0 ms in one pass).
 */
const CHUNK_BYTES = 1 << 20;
const align = (bytes: number) => (bytes + 63) & ~63;

/** Packed U of constant weights (16 matrices of MR-row panels), per (array, offset, shape); `bad`: non-finite weights. */
interface USlot { data?: Float32Array; res?: Resident; bad?: boolean }

/**
 * Largest |weight| the path takes: Inf or NaN (and magnitudes near overflow) go to the GEMM, as the
 * transforms' differences would turn an Inf the direct sums keep into NaN; inputs are checked for Inf and
 * NaN (in wasm, as they are staged).
 */
const FINITE_LIMIT = 1e30;
const packedU = new WeakMap<Float32Array, Map<string, USlot>>();

/** A Winograd form for a conv: the transforms, outputs per tile along a 3-tap axis, matrices, tiles per row and column. */
interface Plan { kind: WinogradKernel; mo: 2 | 4; nx: number; TH: number; TW: number }

/** The forms of a KH x KW kernel (3x3: F(2x2,3x3); 3x1, 1x3: F(2,3) or F(4,3) along the 3-tap axis). */
function plans(KH: number, KW: number, OH: number, OW: number): Plan[] {
  if (KH === 3 && KW === 3) return [{ kind: '3x3', mo: 2, nx: 16, TH: Math.ceil(OH / 2), TW: Math.ceil(OW / 2) }];
  if (KH === 3 && KW === 1) return ([2, 4] as const).map((mo) => ({ kind: mo === 2 ? '3x1' : '3x1m4', mo, nx: mo + 2, TH: Math.ceil(OH / mo), TW: OW }));
  if (KH === 1 && KW === 3) return ([2, 4] as const).map((mo) => ({ kind: mo === 2 ? '1x3' : '1x3m4', mo, nx: mo + 2, TH: OH, TW: Math.ceil(OW / mo) }));
  return [];
}

/**
 * The Winograd form to take for this conv (3x3, 3x1 or 1x3, stride 1; N images), or undefined where none
 * is worth it. Of F(2,3) and F(4,3) along one axis, the one with fewer GEMM column panels (F(2,3) on a tie:
 * cheaper transforms and rounding; F(4,3) pads a row of 2 outputs to 4). Its GEMMs have K = C and M = Co,
 * so few channels leave them too short to gain; on tiny maps the tiles pad the 8-column GEMM tile (2x2
 * outputs: 4 tiles in 8 columns), so it must beat the implicit GEMM's column panels (KH*KW per channel over
 * the padded width) by a margin for the transforms (96->24 3x3 at 3x3 measured even, 0.059 against
 * 0.063 ms; at 4x4 1.4x ahead); and where all tiles fit one column panel the products stream their A once,
 * so the transformed weights (16/9, 1-D 4/3 or 2x the weights) must stay in cache (PP-OCRv4 recognizer's
 * 480->60 1x3 at 1x12, 460 KB: 147 -> 164 us).
 */
function planFor(C: number, M: number, OH: number, OW: number, KH: number, KW: number, N: number): Plan | undefined {
  if (C < 8 || M < 8) return undefined;
  let best: Plan | undefined, bestCols = Infinity;
  // Images are folded into one product's columns (where they fit a pass); the implicit GEMM runs per image.
  for (const p of plans(KH, KW, OH, OW)) {
    const cols = p.nx * Math.ceil(N * p.TH * p.TW / 8);
    if (cols < bestCols) { best = p; bestCols = cols; }
  }
  if (!best || bestCols > 0.75 * N * KH * KW * Math.ceil(OH * (OW + KW - 1) / 8)) return undefined;
  if (N * best.TH * best.TW <= 8 && best.nx * Math.ceil(M / 4) * 4 * C * 4 > 1 << 18) return undefined;
  return best;
}

/** Whether a conv takes Winograd (the layout cost model's estimate follows it). */
export function winogradWorthIt(C: number, M: number, OH: number, OW: number, KH = 3, KW = 3, N = 1): boolean {
  return planFor(C, M, OH, OW, KH, KW, N) !== undefined;
}

/**
 * The conv of all N images of x [N, C, IH, IW] with a 3x3, 3x1 or 1x3 stride-1 kernel w [M, C, KH, KW]
 * (group 1, dilation 1; pads and geometry in g) into y [N, M, OH, OW], bias added. False (y untouched)
 * where not taken. Along a 3-tap axis tiles are 4 inputs at stride 2 (2 outputs), along a 1-tap axis 1.
 */
export function convWinogradF32(x: Float32Array, N: number, C: number, g: Grid, M: number, w: Float32Array,
  y: Float32Array, bias: ArrayLike<number> | undefined): boolean {
  if (!useWinograd || g.img.length !== 2 || g.strides.some((s) => s !== 1) || g.dilations.some((d) => d !== 1)) return false;
  const [KH, KW] = g.kernel as [number, number];
  const [IH, IW] = g.img as [number, number];
  const [OH, OW] = g.out as [number, number];
  const plan = planFor(C, M, OH, OW, KH, KW, N);
  if (!plan) return false;
  const { kind, mo, nx, TH, TW } = plan;
  const kh3 = KH === 3, kw3 = KW === 3;
  const top = g.padHead[0]!, left = g.padHead[1]!;
  const T = TH * TW;
  const sh = kh3 ? mo : 1, sw = kw3 ? mo : 1;
  const Hp = kh3 ? mo * TH + 2 : OH, Wp = kw3 ? mo * TW + 2 : OW;
  if (top + IH > Hp || left + IW > Wp) return false;
  const NR = 4 * NV;
  const mpan = Math.ceil(M / MR), Mp = mpan * MR;
  // Tile rows per pass: the V matrices of a pass stay in L2 for their GEMMs. Where a whole image fits,
  // images are folded into one product's columns instead (longer GEMMs: small maps, batches).
  const RC = Math.max(1, Math.min(TH, Math.floor(CHUNK_BYTES / (nx * C * TW * 4))));
  const NB = RC === TH ? Math.max(1, Math.min(N, Math.floor(CHUNK_BYTES / (nx * C * T * 4)))) : 1;
  const TC = RC === TH ? NB * T : RC * TW;
  // V and M row stride: every tile column plus the 3 a last group of four writes past T (never a multiple of
  // 1 KiB, which maps a column panel's rows to few cache sets).
  let ld = Math.ceil((TC + 3) / NR) * NR;
  if (ld % 256 === 0) ld += NR;
  const OWp = 4 * sw * Math.ceil(TW / 4); // padded output row: whole groups of four tiles
  const plane = Hp * Wp;
  const pX = 0; // the zero-padded input planes, first in the GEMM's scratch
  const padFloats = NB * C * plane + Wp + 16; // slack: the last group's reads past the last plane row
  const pV = align(padFloats * 4);
  const ms = C * ld * 4; // bytes between V matrices
  const pM = align(pV + nx * ms);
  const mms = Mp * ld * 4;
  const pY = align(pM + nx * mms);
  const planeY = sh * TH * OWp * 4;
  const pYc = align(pY + NB * M * planeY);
  const pBias = align(pYc + NB * M * OH * OW * 4);
  const pU = align(pBias + Mp * 4);
  const uFloats = nx * Mp * C;
  const pRaw = align(pU + uFloats * 4);
  const total = pRaw + NB * C * IH * IW * 4 + 64;
  if (total > STAGE_LIMIT) return false;
  const s = simdGemmInUse(M, T, C);
  if (!s) return false;
  const k = winogradKernels(s, kind);
  if (!k) return false;
  s.reserve(total);
  let f = s.f32;
  // U: resident when the weights are a registered constant (read after the last reserve: it may move).
  const slot = isConstant(w) ? uSlot(w, `${kind},${M},${C}`) : undefined;
  if (slot?.bad) return false;
  if (slot?.data) f.set(slot.data, pU >> 2);
  else if (!slot?.res) {
    if (!weightTransform(w, M, C, kh3, kw3, mo, mpan, f, pU >> 2)) {
      if (slot) slot.bad = true;
      return false;
    }
    if (slot) {
      slot.res = s.keep(pU, uFloats * 4);
      f = s.f32;
      if (!slot.res) slot.data = f.slice(pU >> 2, (pU >> 2) + uFloats);
    }
  }
  const u = slot?.res ? slot.res.addr : pU;
  for (let i = 0; i < Mp; i++) f[(pBias >> 2) + i] = bias && i < M ? bias[i]! : 0;
  const inSize = C * IH * IW, outSize = M * OH * OW;
  const unpadded = top === 0 && left === 0 && Hp === IH && Wp === IW;
  for (let n0 = 0; n0 < N; n0 += NB) {
    const nb = Math.min(NB, N - n0);
    const xs = x.subarray(n0 * inSize, (n0 + nb) * inSize);
    const n = nb * inSize;
    if (unpadded) {
      // The planes as they are (valid 3x1 convs): read where they are copied, then the slack.
      f.set(xs, pX >> 2);
      f.fill(0, (pX >> 2) + n, padFloats);
      if (k.finite(pX, (n + 15) >> 4) !== 0) return false;
    } else {
      f.set(xs, pRaw >> 2);
      f.fill(0, (pRaw >> 2) + n, (pRaw >> 2) + ((n + 15) & ~15));
      if (k.finite(pRaw, (n + 15) >> 4) !== 0) return false;
      f.fill(0, pX >> 2, padFloats);
      s.copy2d(pRaw, pX + (top * Wp + left) * 4, nb * C, IH, IW * 4, IH * IW * 4, IW * 4, plane * 4, Wp * 4);
    }
    if (RC === TH) {
      // Image i's tiles are columns i*T.. (a last group's extra lanes land in image i+1's, rewritten next).
      for (let i = 0; i < nb; i++) k.input(pX + i * C * plane * 4, pV + i * T * 4, C, TH, TW, Wp * 4, plane * 4, ld * 4, ms);
      const npan = Math.ceil(nb * T / NR);
      for (let xi = 0; xi < nx; xi++) s.mm(u + xi * Mp * C * 4, pV + xi * ms, pM + xi * mms, mpan, npan, C, ld * 4, ld * 4, false, NR * 4, 0);
      for (let i = 0; i < nb; i++) k.output(pM + i * T * 4, pY + i * M * planeY, M, TH, TW, ld * 4, mms, pBias, OWp * 4, planeY);
    } else {
      for (let r0 = 0; r0 < TH; r0 += RC) {
        const rows = Math.min(RC, TH - r0), npan = Math.ceil(rows * TW / NR);
        k.input(pX + sh * r0 * Wp * 4, pV, C, rows, TW, Wp * 4, plane * 4, ld * 4, ms);
        for (let xi = 0; xi < nx; xi++) s.mm(u + xi * Mp * C * 4, pV + xi * ms, pM + xi * mms, mpan, npan, C, ld * 4, ld * 4, false, NR * 4, 0);
        k.output(pM, pY + sh * r0 * OWp * 4, M, rows, TW, ld * 4, mms, pBias, OWp * 4, planeY);
      }
    }
    let out = pY;
    if (OWp !== OW || sh * TH !== OH) {
      s.copy2d(pY, pYc, nb * M, OH, OW * 4, planeY, OWp * 4, OH * OW * 4, OW * 4);
      out = pYc;
    }
    // A FusedConv's epilogue armed by convForward, on the cropped outputs (the region's 64-byte alignment is the slack of its last vector).
    applyGemmEpilogue(s, out, nb * outSize * 4, nb * outSize);
    y.set(s.f32.subarray(out >> 2, (out >> 2) + nb * outSize), n0 * outSize);
  }
  winogradConvStats.calls++;
  winogradConvStats.kinds[kind] = (winogradConvStats.kinds[kind] ?? 0) + 1;
  return true;
}

function uSlot(w: Float32Array, key: string): USlot {
  let m = packedU.get(w);
  if (!m) packedU.set(w, (m = new Map()));
  let e = m.get(key);
  if (!e) m.set(key, (e = {}));
  return e;
}

/**
 * U = G g G^T of each 3x3 filter g (G g of a 3x1 one, g G^T of a 1x3 one; float64, rounded once to float32),
 * G = [[1,0,0],[.5,.5,.5],[.5,-.5,.5],[0,0,1]], laid out as nx matrices (element xi = a*cols + b) of MR-row
 * panels [mpan][C][MR] at f[o..] (rows past M zero). False (f partly written) where a weight is not finite
 * or past FINITE_LIMIT.
 */
function weightTransform(w: Float32Array, M: number, C: number, kh3: boolean, kw3: boolean, mo: number, mpan: number, f: Float32Array, o: number): boolean {
  const nx = kh3 && kw3 ? 16 : mo + 2, nc = kw3 ? 4 : 1, taps = (kh3 ? 3 : 1) * (kw3 ? 3 : 1);
  const per = mpan * MR * C; // floats per matrix
  for (let i = 0, n = M * C * taps; i < n; i++) if (!(Math.abs(w[i]!) <= FINITE_LIMIT)) return false;
  f.fill(0, o, o + nx * per);
  const t = new Float64Array(12);
  const gRow = (g0: number, g1: number, g2: number, d: number, step: number) => {
    f[d] = g0;
    f[d + step] = 0.5 * (g0 + g1 + g2);
    f[d + 2 * step] = 0.5 * (g0 - g1 + g2);
    f[d + 3 * step] = g2;
  };
  for (let m = 0; m < M; m++) {
    const panel = o + Math.floor(m / MR) * C * MR + (m % MR);
    for (let c = 0; c < C; c++) {
      const g = (m * C + c) * taps, d = panel + c * MR;
      if ((!kh3 || !kw3) && mo === 4) {
        // F(4, 3): u = G g with G = [[1/4,0,0],[-1/6,-1/6,-1/6],[-1/6,1/6,-1/6],[1/24,1/12,1/6],[1/24,-1/12,1/6],[0,0,1]].
        const g0 = w[g]!, g1 = w[g + 1]!, g2 = w[g + 2]!;
        f[d] = g0 / 4;
        f[d + per] = -(g0 + g1 + g2) / 6;
        f[d + 2 * per] = -(g0 - g1 + g2) / 6;
        f[d + 3 * per] = g0 / 24 + g1 / 12 + g2 / 6;
        f[d + 4 * per] = g0 / 24 - g1 / 12 + g2 / 6;
        f[d + 5 * per] = g2;
        continue;
      }
      if (!kh3 || !kw3) {
        // One 3-tap axis: u = G g (4 values).
        gRow(w[g]!, w[g + 1]!, w[g + 2]!, d, per);
        continue;
      }
      // t = G g (4x3), then U = t G^T (4x4)
      for (let j = 0; j < 3; j++) {
        const g0 = w[g + j]!, g1 = w[g + 3 + j]!, g2 = w[g + 6 + j]!;
        t[j] = g0;
        t[3 + j] = 0.5 * (g0 + g1 + g2);
        t[6 + j] = 0.5 * (g0 - g1 + g2);
        t[9 + j] = g2;
      }
      for (let a = 0; a < 4; a++) gRow(t[3 * a]!, t[3 * a + 1]!, t[3 * a + 2]!, d + nc * a * per, per);
    }
  }
  return true;
}
