// The float32 GEMM under Conv, MatMul and Gemm. Where WebAssembly SIMD exists, products of at least 4x4
// go to the wasm kernel (nn-gemm-simd.ts) with operands staged in its memory; otherwise (and as the
// reference the SIMD path is tested against) a cache-blocked JS GEMM: GotoBLAS layout, B packed in
// KC x NC blocks of 4-column panels, A in MC x KC blocks of 4-row panels, a 4x4 register tile over KC.

import type { Grid } from './nn-im2col.js';
import { isConstant } from './constants.js';
import { MR as SIMD_MR, NV as SIMD_NV, type Resident, type SimdGemm, simdGemm } from './nn-gemm-simd.js';
import { applyGemmEpilogue } from './nn-gemm-epilogue.js';

const MC = 64;
const KC = 256;
const NC = 512;

let useSimd = true;
/** Turn the WebAssembly SIMD path off or on (tests cover both paths); returns the previous setting. */
export function setGemmSimd(on: boolean): boolean {
  const prev = useSimd;
  useSimd = on;
  return prev;
}

let packA = new Float32Array(MC * KC);
let packB = new Float32Array(KC * NC);
const edge = new Float64Array(16);

/**
 * Whether a product this size takes the SIMD path (the kernel pads to 4x8 tiles; tiny ones stay in JS).
 * 1-3 columns with a large A (Convs with 1-3 output positions) still gain from SIMD despite the padding.
 * Measured per call (x8 batches, staging included): 12x15x12 products 16 against 73 us in JS, 8x8x8 6 vs
 * 19, 6x6x6 7.6 vs 11.7, 4x4x4 equal; so only products under 256 multiply-adds stay in JS.
 */
function simdFor(M: number, N: number, K: number): SimdGemm | undefined {
  return useSimd && M >= 4 && (N >= 4 || M * K >= 8192) && M * N * K >= 256 ? simdGemm() : undefined;
}

/** The SIMD GEMM where it takes an M x N x K product (other SIMD conv paths drive it directly), else undefined. */
export function simdGemmInUse(M: number, N: number, K: number): SimdGemm | undefined {
  return simdFor(M, N, K);
}

/**
 * C[M,N] = (accumulate ? C : 0) + A[M,K] * B[K,N] (+ bias[biasOff + i] on row i, when given).
 * A element (i,k) is A[aOff + i*aRow + k*aCol] (so a transposed A costs nothing); B and C are row-major
 * with leading dims ldb and ldc.
 */
export function gemmF32(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
  bias?: ArrayLike<number>, biasOff = 0,
): void {
  const simd = simdFor(M, N, K);
  if (simd) {
    gemmSimd(simd, M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc, accumulate, bias, biasOff);
    return;
  }
  startC(M, N, C, cOff, ldc, accumulate, bias, biasOff);
  if (M === 0 || N === 0 || K === 0) return;
  if (N < 4) {
    gemvCols(M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  // Few rows (1-D depthwise, tiny output channel counts): packing would pad rows to 4; stream B instead.
  if (M < 4 || M * N * K < 4096) {
    gemmSmall(M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    const npan = (nc + 3) >> 2;
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      if (packB.length < npan * 4 * kc) packB = new Float32Array(npan * 4 * kc);
      packPanelsB(packB, B, bOff + k0 * ldb + j0, ldb, kc, nc, npan);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        const mpan = (mc + 3) >> 2;
        if (packA.length < mpan * 4 * kc) packA = new Float32Array(mpan * 4 * kc);
        packPanelsA(packA, A, aOff + i0 * aRow + k0 * aCol, aRow, aCol, mc, kc, mpan);
        for (let jp = 0; jp < npan; jp++) {
          const jw = Math.min(4, nc - jp * 4);
          for (let ip = 0; ip < mpan; ip++) {
            const iw = Math.min(4, mc - ip * 4);
            micro4x4(kc, ip * kc * 4, jp * kc * 4, C, cOff + (i0 + ip * 4) * ldc + j0 + jp * 4, ldc, iw, jw);
          }
        }
      }
    }
  }
}

/**
 * The WebAssembly SIMD path. Operands are staged in wasm memory: B at address 0 (copied as one block, or
 * written there directly by the caller through `gemmStageB`), A copied as one block and packed into MR-row
 * panels, and C computed with a row stride padded to whole tiles, then copied out.
 */
function gemmSimd(
  s: SimdGemm, M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean, bias: ArrayLike<number> | undefined, biasOff: number, out?: GemmCopyOut,
): void {
  // A constant B (a MatMul weight) is packed into column panels once and kept resident: a call then
  // copies no weights, and the product streams each panel contiguously.
  const panels = usePackCache && isConstant(B) ? cacheSlot(panelsB, B, `${bOff},${ldb},${K},${N}`) : undefined;
  if (panels?.res || panels?.data) {
    gemmSimdStaged(s, M, N, K, A, aOff, aRow, aCol, 0, C, cOff, ldc, accumulate, bias, biasOff, { panels, out });
    return;
  }
  // B rows copied as one block when they are (nearly) adjacent, else row by row with row stride N.
  const bDense = ldb === N || (K - 1) * ldb + N <= 2 * K * N;
  const ldbp = bDense ? ldb : N;
  s.reserve(stageBytes(K, ldbp, N));
  const f = s.f32;
  if (bDense) f.set(B.subarray(bOff, bOff + (K - 1) * ldb + N), 0);
  else for (let k = 0; k < K; k++) f.set(B.subarray(bOff + k * ldb, bOff + k * ldb + N), k * N);
  gemmSimdStaged(s, M, N, K, A, aOff, aRow, aCol, ldbp, C, cOff, ldc, accumulate, bias, biasOff, { panels, out });
}

/**
 * A copy-out of the SIMD GEMM's C in place of its own: C at byte `pc` of `s`'s memory with row stride
 * `ldcBytes`, memory from byte `free` unused (a `reserve` past it keeps C).
 */
export type GemmCopyOut = (s: SimdGemm, pc: number, ldcBytes: number, free: number) => void;

/**
 * C = A * B as gemmF32 (no bias, not accumulating) on the SIMD path, handed to `out` in wasm memory
 * instead of copied to a C array (ConvTranspose permutes it there); false, with nothing done, when the
 * product is not for the SIMD path.
 */
export function gemmF32Out(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  out: GemmCopyOut,
): boolean {
  const s = simdFor(M, N, K);
  if (!s) return false;
  gemmSimd(s, M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, noC, 0, N, false, undefined, 0, out);
  return true;
}
const noC = new Float32Array(0);

/** C's starting value: 0 or the row bias, or C plus the row bias when accumulating. */
function startC(M: number, N: number, C: Float32Array, cOff: number, ldc: number, accumulate: boolean, bias: ArrayLike<number> | undefined, biasOff: number): void {
  for (let i = 0; i < M; i++) {
    const r = cOff + i * ldc;
    if (!accumulate) C.fill(bias ? bias[biasOff + i]! : 0, r, r + N);
    else if (bias) {
      const b = bias[biasOff + i]!;
      for (let j = r; j < r + N; j++) C[j] = C[j]! + b;
    }
  }
}

/** Bytes of the B stage: K rows of stride ldb, plus a tile of slack read by the last column panel. */
function stageBytes(K: number, ldb: number, N: number): number {
  return align(((K - 1) * ldb + N + 4 * SIMD_NV) * 4);
}

/**
 * B is repacked into contiguous column panels when its row stride is a multiple of this many floats
 * (1 KiB): such strides map a panel's rows to a few cache sets (measured 18 against 25 GFLOP/s at
 * N = 1024-4096); other strides read in place were as fast as packed or faster.
 */
let PACK_B_STRIDE = 256;
/** Change the row stride (floats) whose multiples repack B (tests use 1 to cover that path); returns the previous one. */
export function setGemmPackBStride(n: number): number {
  const prev = PACK_B_STRIDE;
  PACK_B_STRIDE = n;
  return prev;
}

/** How gemmSimdStaged reads B and hands C over; every field optional (B staged at 0, C copied out). */
interface StagedOptions {
  /** B read through a row table (the implicit im2col of convImplicitF32). */
  indexed?: IndexedB;
  /** A constant B's cache slot: packed column panels (resident, or copied in at 0), or packed now from the stage. */
  panels?: PackSlot;
  /** Whether C is final here (bias included), so an armed epilogue may run on it; false where the caller adds the bias after. */
  final?: boolean;
  /** A copy-out in place of C's (gemmF32Out). */
  out?: GemmCopyOut;
}

function gemmSimdStaged(
  s: SimdGemm, M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  ldb: number, C: Float32Array, cOff: number, ldc: number, accumulate: boolean,
  bias: ArrayLike<number> | undefined, biasOff: number,
  opts: StagedOptions = {},
): void {
  const { indexed: ib, panels, final = true, out } = opts;
  // With C read back in, the bias goes onto C first; otherwise the kernel starts C from it.
  if (bias && accumulate) startC(M, N, C, cOff, ldc, true, bias, biasOff);
  const NR = 4 * SIMD_NV;
  const mpan = Math.ceil(M / SIMD_MR), npan = Math.ceil(N / NR);
  const ldcp = npan * NR;
  // A: the span it covers, copied as is when that is dense enough, else gathered row-major.
  const aSpan = (M - 1) * aRow + (K - 1) * aCol + 1;
  const aDense = aSpan <= 2 * M * K;
  const rawLen = aDense ? aSpan : M * K;
  // (Not for 1-2 row panels: B is read only that often, so packing it costs more than the aliasing.)
  // `panels` (a constant B's cache slot): already packed (resident, or copied in at 0), or to be packed now.
  const panelBytes = npan * NR * K * 4;
  const packed = panels?.res || panels?.data;
  const packB = !packed && (!!panels || (!ib && mpan > 2 && N >= 4 * SIMD_NV && ldb % PACK_B_STRIDE === 0));
  const pbp = packed ? (panels.res ? 0 : align(panelBytes)) : ib ? ib.bBytes : stageBytes(K, ldb, N);
  const raw = packB ? align(pbp + panelBytes) : pbp;
  const pa = align(raw + rawLen * 4);
  const pc = align(pa + mpan * SIMD_MR * K * 4);
  const pbias = bias && !accumulate ? align(pc + mpan * SIMD_MR * ldcp * 4) : 0;
  const free = (pbias || pc + mpan * SIMD_MR * ldcp * 4) + mpan * SIMD_MR * 4;
  s.reserve(free);
  let f = s.f32;
  // A constant A is packed once and kept resident in wasm memory (else copied in from a JS copy).
  const cached = aPacked(A, aOff, aRow, aCol, M, K);
  let paUse = pa;
  if (cached?.res) paUse = cached.res.addr;
  else if (cached?.data) f.set(cached.data, pa >> 2);
  else {
    if (aDense) {
      f.set(A.subarray(aOff, aOff + aSpan), raw >> 2);
      s.pack(raw, pa, M, K, aRow * 4, aCol * 4);
    } else {
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) f[(raw >> 2) + i * K + k] = A[aOff + i * aRow + k * aCol]!;
      s.pack(raw, pa, M, K, K * 4, 4);
    }
    if (cached) {
      cached.res = useResident ? s.keep(pa, mpan * SIMD_MR * K * 4) : undefined;
      f = s.f32;
      if (!cached.res) cached.data = f.slice(pa >> 2, (pa >> 2) + mpan * SIMD_MR * K);
    }
  }
  if (pbias) {
    for (let i = 0; i < M; i++) f[(pbias >> 2) + i] = bias![biasOff + i]!;
    f.fill(0, (pbias >> 2) + M, (pbias >> 2) + mpan * SIMD_MR);
  }
  // B's stage is at address 0 (resident panels are read below, after the last reserve, which may move them).
  const pb = 0;
  const c0 = pc >> 2;
  if (accumulate) {
    if (N < 16) for (let i = 0; i < M; i++) for (let j = 0, src = cOff + i * ldc, dst = c0 + i * ldcp; j < N; j++) f[dst + j] = C[src + j]!;
    else for (let i = 0; i < M; i++) f.set(C.subarray(cOff + i * ldc, cOff + i * ldc + N), c0 + i * ldcp);
  }
  if (ib) {
    s.mmi(paUse, pb, pc, mpan, npan, K, ib.table, ldcp * 4, false, NR * 4, pbias);
    // A FusedConv's epilogue, armed by convForward, on C where it is (the dropped columns too: cheaper than skipping).
    applyGemmEpilogue(s, pc, M * ldcp * 4, M * ib.out.runs * ib.out.runLen);
    // C's rows hold `runs` runs of runStride columns of which the first runLen are output: compact them
    // in place, then copy out as a product of runs*runLen columns.
    const { runs, runLen, runStride } = ib.out;
    const n = runs * runLen;
    if (runStride !== runLen || ldcp !== n) s.copy2d(pc, pc, M, runStride === runLen ? 1 : runs, (runStride === runLen ? n : runLen) * 4, ldcp * 4, runStride * 4, n * 4, runLen * 4);
    if (ldc === n) C.set(s.f32.subarray(c0, c0 + M * n), cOff);
    else for (let i = 0; i < M; i++) C.set(s.f32.subarray(c0 + i * n, c0 + (i + 1) * n), cOff + i * ldc);
    return;
  }
  if (packed) {
    if (panels.data) f.set(panels.data, 0);
    s.mm(paUse, panels.res ? panels.res.addr : 0, pc, mpan, npan, K, NR * 4, ldcp * 4, accumulate, K * NR * 4, pbias);
  } else if (packB) {
    s.packB(pb, pbp, K, ldb * 4, npan);
    if (panels) {
      panels.res = useResident ? s.keep(pbp, panelBytes) : undefined;
      f = s.f32;
      if (!panels.res) panels.data = f.slice(pbp >> 2, (pbp + panelBytes) >> 2);
    }
    s.mm(paUse, pbp, pc, mpan, npan, K, NR * 4, ldcp * 4, accumulate, K * NR * 4, pbias);
  } else {
    s.mm(paUse, pb, pc, mpan, npan, K, ldb * 4, ldcp * 4, accumulate, NR * 4, pbias);
  }
  // (Not where the caller adds the bias after, as gemmF32TransB's callers do.)
  if (final) applyGemmEpilogue(s, pc, M * ldcp * 4, M * N);
  if (out) {
    out(s, pc, ldcp * 4, free);
    return;
  }
  if (ldcp === N && ldc === N) C.set(f.subarray(c0, c0 + M * N), cOff);
  else if (N < 16) {
    // Short rows (1-3 columns padded to a tile): a subarray per row would cost more than the copy.
    for (let i = 0; i < M; i++) for (let j = 0, src = c0 + i * ldcp, dst = cOff + i * ldc; j < N; j++) C[dst + j] = f[src + j]!;
  } else for (let i = 0; i < M; i++) C.set(f.subarray(c0 + i * ldcp, c0 + i * ldcp + N), cOff + i * ldc);
}

/**
 * A view of wasm memory where the caller writes B ([K, N] row-major) for `gemmF32Staged`, saving the copy
 * (im2col writes its columns there); undefined when the SIMD path is off (use gemmF32 then).
 */
export function gemmStageB(M: number, N: number, K: number): Float32Array | undefined {
  const s = simdFor(M, N, K);
  if (!s) return undefined;
  s.reserve(stageBytes(K, N, N));
  return s.f32.subarray(0, K * N);
}

/**
 * The 2-D im2col of `C` planes of x (from xOff; image, kernel and window in g) for output rows [oh0, oh1),
 * built by the wasm im2col straight into the GEMM's B stage for an M x ((oh1-oh0)*OW) x (C*KH*KW) product;
 * false when the SIMD path does not take that product (use im2colRows2d and gemmF32 then).
 */
export function im2colStaged2d(x: Float32Array, xOff: number, C: number, g: Grid, oh0: number, oh1: number, M: number): boolean {
  const [IH, IW] = g.img as [number, number];
  const OW = g.out[1]!;
  const [KH, KW] = g.kernel as [number, number];
  const N = (oh1 - oh0) * OW, K = C * KH * KW;
  const s = simdFor(M, N, K);
  if (!s) return false;
  // The image goes after the stage; the GEMM's own regions may reuse that space once the columns are built.
  const xBase = stageBytes(K, N, N);
  const planes = C * IH * IW;
  s.reserve(xBase + planes * 4 + 64); // slack for the stride-2 vector loads past the last row
  s.f32.set(x.subarray(xOff, xOff + planes), xBase >> 2);
  s.im2col(xBase, 0, C, IH, IW, oh0, oh1, OW, KH, KW, g.strides[0]!, g.strides[1]!, g.dilations[0]!, g.dilations[1]!, g.padHead[0]!, g.padHead[1]!);
  return true;
}

/** B read through a row table (`mmi`): the bytes B's region takes, the table's address, and C's rows as runs to compact. */
interface IndexedB {
  bBytes: number;
  table: number;
  out: { runs: number; runLen: number; runStride: number };
}

/** How many convs (per group and batch item) took the implicit path: tests check the path they mean to cover ran. */
export const implicitConvStats = { calls: 0 };

/** Most floats the implicit conv stages (padded input plus output tile rows); larger ones take banded im2col. */
const IMPLICIT_LIMIT = 1 << 24;

/**
 * A stride-1 2-D conv of C planes of x (image, kernel, dilations and pads in g) into M output planes at y,
 * as one SIMD product whose B rows are read in place from the zero-padded input: row (c, kh, kw) is plane c
 * shifted by kh*DH rows and kw*DW columns, so no im2col is built (it wrote C*KH*KW times the input and was
 * a third of such a conv's time). Output positions run over the padded width, Wp - OW columns per row are
 * computed and dropped, so this is taken only where that waste costs less than the im2col would. False when not taken.
 */
export function convImplicitF32(x: Float32Array, xOff: number, C: number, g: Grid, M: number, w: Float32Array, wOff: number,
  y: Float32Array, yOff: number, bias: ArrayLike<number> | undefined, biasOff: number): boolean {
  if (g.strides[0] !== 1 || g.strides[1] !== 1 || g.img.length !== 2) return false;
  const [IH, IW] = g.img as [number, number];
  const [OH, OW] = g.out as [number, number];
  const [KH, KW] = g.kernel as [number, number];
  const [DH, DW] = g.dilations as [number, number];
  const Hp = OH + (KH - 1) * DH, Wp = OW + (KW - 1) * DW;
  const top = g.padHead[0]!, left = g.padHead[1]!;
  // The dropped columns cost M*(Wp-OW) multiply-adds per (k, row) at ~0.08 ns; im2col costs a memory.copy
  // per (k, row) at ~40 ns plus OW floats (small maps: 96x6x6 -> 24, 3x3 went 288 -> ~90 us this way).
  if ((M * (Wp - OW) > 512 + 8 * OW && Wp * 4 > OW * 5) || top + IH > Hp || left + IW > Wp) return false;
  const N = OH * Wp, K = C * KH * KW, plane = Hp * Wp;
  const NR = 4 * SIMD_NV;
  if (C * plane + Math.ceil(M / SIMD_MR) * SIMD_MR * Math.ceil(N / NR) * NR > IMPLICIT_LIMIT) return false;
  const s = simdFor(M, N, K);
  if (!s) return false;
  // Stage: padded planes at 0 (plus the slack the last column tile and kernel offset read), the row table,
  // then the raw planes (dead once padded; the product's own regions reuse that space).
  const padFloats = C * plane + (KW - 1) * DW + NR;
  const table = align(padFloats * 4);
  const xBase = align(table + K * 4);
  s.reserve(xBase + C * IH * IW * 4);
  const f = s.f32;
  if (top === 0 && left === 0 && Hp === IH && Wp === IW) {
    // No padding ("valid" convs): the planes are read where they are copied, then the slack.
    f.set(x.subarray(xOff, xOff + C * IH * IW), 0);
    f.fill(0, C * IH * IW, padFloats);
  } else {
    f.set(x.subarray(xOff, xOff + C * IH * IW), xBase >> 2);
    f.fill(0, 0, padFloats);
    s.copy2d(xBase, (top * Wp + left) * 4, C, IH, IW * 4, IH * IW * 4, IW * 4, plane * 4, Wp * 4);
  }
  const t = new Int32Array(f.buffer, table, K);
  for (let c = 0, k = 0; c < C; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) t[k++] = (c * plane + kh * DH * Wp + kw * DW) * 4;
  gemmSimdStaged(s, M, N, K, w, wOff, K, 1, 0, y, yOff, OH * OW, false, bias, biasOff, { indexed: { bBytes: xBase, table, out: { runs: OH, runLen: OW, runStride: Wp } } });
  implicitConvStats.calls++;
  return true;
}

/** gemmF32 with B the block written through `gemmStageB` (same K and N; nothing else may run in between). */
export function gemmF32Staged(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
  bias?: ArrayLike<number>, biasOff = 0,
): void {
  gemmSimdStaged(simdGemm()!, M, N, K, A, aOff, aRow, aCol, N, C, cOff, ldc, accumulate, bias, biasOff);
}

/**
 * C[M,N] (=|+=) A * B^T with B stored [N, K] (row stride ldb): Gemm with transB, the usual form of an
 * exported linear layer. The SIMD path stages B^T row-major (kept per array when B is a registered
 * constant, so a weight is transposed once); false when the product is not for the SIMD path.
 */
export function gemmF32TransB(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): boolean {
  const s = simdFor(M, N, K);
  if (!s) return false;
  // A constant B is kept as column panels of B^T (packed by gemmSimdStaged from the staged transpose on
  // first use), as gemmF32 keeps a constant B: a call streams contiguous panels rather than 32 bytes of
  // each row of B^T (measured even on the detector's 384->384 1x1 convs over 9 positions).
  const slot = usePackCache && isConstant(B) ? cacheSlot(transposedB, B, `${bOff},${ldb},${N},${K}`) : undefined;
  if (!slot?.res && !slot?.data) {
    s.reserve(stageBytes(K, N, N));
    const f = s.f32;
    for (let j = 0; j < N; j++) {
      const r = bOff + j * ldb;
      for (let k = 0, d = j; k < K; k++, d += N) f[d] = B[r + k]!;
    }
  }
  gemmSimdStaged(s, M, N, K, A, aOff, aRow, aCol, N, C, cOff, ldc, accumulate, undefined, 0, { panels: slot, final: false });
  return true;
}

/**
 * Packed panels of constant A operands (Conv weights, a Gemm's constant A), made on first use and kept per
 * (array, offset, strides, shape) for the array's lifetime; copying them in skips the strided gather.
 */
interface PackSlot { data?: Float32Array; res?: Resident }
const packedA = new WeakMap<Float32Array, Map<string, PackSlot>>();
let usePackCache = true;
let useResident = true;
/** Keep packed constants resident in wasm memory (else copied in from JS on each call); returns the previous setting. */
export function setGemmResident(on: boolean): boolean {
  const prev = useResident;
  useResident = on;
  return prev;
}
/** Turn the packed-A cache off or on (tests compare both); returns the previous setting. */
export function setGemmPackCache(on: boolean): boolean {
  const prev = usePackCache;
  usePackCache = on;
  return prev;
}

/** The cache slot for this A when A is a registered constant (data empty until first packed), else undefined. */
function aPacked(A: Float32Array, aOff: number, aRow: number, aCol: number, M: number, K: number): PackSlot | undefined {
  if (!usePackCache || !isConstant(A)) return undefined;
  return cacheSlot(packedA, A, `${aOff},${aRow},${aCol},${M},${K}`);
}

/** Column panels of constant B operands of gemmF32 (MatMul weights), per (array, offset, stride, shape). */
const panelsB = new WeakMap<Float32Array, Map<string, PackSlot>>();

/** Constant B operands of gemmF32TransB as column panels of B^T, per (array, offset, stride, shape). */
const transposedB = new WeakMap<Float32Array, Map<string, PackSlot>>();

function cacheSlot(cache: WeakMap<Float32Array, Map<string, PackSlot>>, arr: Float32Array, key: string): PackSlot {
  let m = cache.get(arr);
  if (!m) cache.set(arr, (m = new Map()));
  let e = m.get(key);
  if (!e) m.set(key, (e = {}));
  return e;
}

const align = (bytes: number) => (bytes + 63) & ~63;

/** B[kc, nc] as panels of `w` columns: p[(jp*kc + k)*w + c]; columns past nc are 0. */
function packPanelsB(p: Float32Array, B: Float32Array, off: number, ldb: number, kc: number, nc: number, npan: number, w = 4): void {
  for (let jp = 0; jp < npan; jp++) {
    const jb = jp * w;
    const base = jp * kc * w;
    if (w === 4 && jb + 4 <= nc) {
      for (let k = 0, s = off + jb, d = base; k < kc; k++, s += ldb, d += 4) {
        p[d] = B[s]!; p[d + 1] = B[s + 1]!; p[d + 2] = B[s + 2]!; p[d + 3] = B[s + 3]!;
      }
    } else if (jb + w <= nc) {
      for (let k = 0; k < kc; k++) {
        const s = off + k * ldb + jb;
        const d = base + k * w;
        for (let c = 0; c < w; c++) p[d + c] = B[s + c]!;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = off + k * ldb + jb;
        const d = base + k * w;
        for (let c = 0; c < w; c++) p[d + c] = jb + c < nc ? B[s + c]! : 0;
      }
    }
  }
}

function packPanelsA(p: Float32Array, A: Float32Array, off: number, aRow: number, aCol: number, mc: number, kc: number, mpan: number): void {
  for (let ip = 0; ip < mpan; ip++) {
    const base = ip * kc * 4;
    if (ip * 4 + 4 <= mc) {
      const s0 = off + ip * 4 * aRow;
      for (let k = 0, s = s0, d = base; k < kc; k++, s += aCol, d += 4) {
        p[d] = A[s]!; p[d + 1] = A[s + aRow]!; p[d + 2] = A[s + 2 * aRow]!; p[d + 3] = A[s + 3 * aRow]!;
      }
      continue;
    }
    for (let r = 0; r < 4; r++) {
      const i = ip * 4 + r;
      if (i < mc) {
        let s = off + i * aRow;
        for (let k = 0; k < kc; k++, s += aCol) p[base + k * 4 + r] = A[s]!;
      } else {
        for (let k = 0; k < kc; k++) p[base + k * 4 + r] = 0;
      }
    }
  }
}

function micro4x4(kc: number, ao: number, bo: number, C: Float32Array, co: number, ldc: number, iw: number, jw: number): void {
  const a = packA;
  const b = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++) {
    const ak = ao + k * 4;
    const bk = bo + k * 4;
    const a0 = a[ak]!, a1 = a[ak + 1]!, a2 = a[ak + 2]!, a3 = a[ak + 3]!;
    const b0 = b[bk]!, b1 = b[bk + 1]!, b2 = b[bk + 2]!, b3 = b[bk + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (iw === 4 && jw === 4) {
    let o = co;
    C[o] = C[o]! + c00; C[o + 1] = C[o + 1]! + c01; C[o + 2] = C[o + 2]! + c02; C[o + 3] = C[o + 3]! + c03; o += ldc;
    C[o] = C[o]! + c10; C[o + 1] = C[o + 1]! + c11; C[o + 2] = C[o + 2]! + c12; C[o + 3] = C[o + 3]! + c13; o += ldc;
    C[o] = C[o]! + c20; C[o + 1] = C[o + 1]! + c21; C[o + 2] = C[o + 2]! + c22; C[o + 3] = C[o + 3]! + c23; o += ldc;
    C[o] = C[o]! + c30; C[o + 1] = C[o + 1]! + c31; C[o + 2] = C[o + 2]! + c32; C[o + 3] = C[o + 3]! + c33;
    return;
  }
  // Edge tile: write through a scratch buffer (rows/columns past iw/jw are padding).
  const t = edge;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23; t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let r = 0; r < iw; r++) for (let c = 0; c < jw; c++) C[co + r * ldc + c] = C[co + r * ldc + c]! + t[r * 4 + c]!;
}

function gemmSmall(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    const c = cOff + i * ldc;
    for (let k = 0; k < K; k++) {
      const av = A[aOff + i * aRow + k * aCol]!;
      const b = bOff + k * ldb;
      for (let j = 0; j < N; j++) C[c + j] = C[c + j]! + av * B[b + j]!;
    }
  }
}

/**
 * Few output columns (matrix-vector shapes: Convs whose output has 1-3 positions): one dot product per
 * output, no packing; four rows of A at a time share each load of B's column (the small audio models
 * spend most of their Conv time here).
 */
function gemvCols(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  for (let j = 0; j < N; j++) {
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let a = aOff + i * aRow;
      let b = bOff + j;
      for (let k = 0; k < K; k++, a += aCol, b += ldb) {
        const bv = B[b]!;
        s0 += A[a]! * bv;
        s1 += A[a + aRow]! * bv;
        s2 += A[a + 2 * aRow]! * bv;
        s3 += A[a + 3 * aRow]! * bv;
      }
      const c = cOff + i * ldc + j;
      C[c] = C[c]! + s0;
      C[c + ldc] = C[c + ldc]! + s1;
      C[c + 2 * ldc] = C[c + 2 * ldc]! + s2;
      C[c + 3 * ldc] = C[c + 3 * ldc]! + s3;
    }
    for (; i < M; i++) {
      let acc = 0;
      let a = aOff + i * aRow;
      let b = bOff + j;
      for (let k = 0; k < K; k++, a += aCol, b += ldb) acc += A[a]! * B[b]!;
      C[cOff + i * ldc + j] = C[cOff + i * ldc + j]! + acc;
    }
  }
}

/** Float64 GEMM for exact integer convolutions and float64 models (plain i-k-j order; rare path). */
export function gemmF64(
  M: number, N: number, K: number,
  A: Float64Array, aOff: number, aRow: number, aCol: number,
  B: Float64Array, bOff: number, ldb: number,
  C: Float64Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  for (let i = 0; i < M; i++) {
    const c = cOff + i * ldc;
    for (let k = 0; k < K; k++) {
      const av = A[aOff + i * aRow + k * aCol]!;
      const b = bOff + k * ldb;
      for (let j = 0; j < N; j++) C[c + j] = C[c + j]! + av * B[b + j]!;
    }
  }
}
