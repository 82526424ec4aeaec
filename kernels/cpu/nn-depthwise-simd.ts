// A WebAssembly SIMD direct 2-D convolution for float32 planes with column stride 1 or 2: depthwise convs
// (the MobileNet / PP-LCNet case) and convs over few input channels (first layers), assembled from opcodes
// like the GEMM micro-kernel. One call runs every plane: each group's input planes are staged zero-padded
// in wasm memory (at column stride 2 split into even and odd columns, so each tap reads contiguous floats),
// then for each output plane NV f32x4 accumulators (4*NV adjacent outputs of a row) start from the channel's
// bias and sum the taps of every input plane in float32 (as the SIMD GEMM does). Modules are built per
// (kernel width, column stride, column dilation, NV) so the taps of a kernel row are unrolled with constant
// offsets.
// Output rows are written compactly; a row's last vector may spill into the next row, which is written
// after it. Falls back (returns false) where it does not apply.
import { ADD, I32, MUL, V128, get, i32c, section, set, relaxedSimdAllowed, simd, simdAllowed, str, uleb } from './wasm-asm.js';

const SUB = 0x6b, LT_S = 0x48, EQ = 0x46, AND = 0x71, SHR_U = 0x76, EQZ = 0x45;
const memCopy = [0xfc, ...uleb(10), 0, 0];
const memarg = (off: number) => [0, ...uleb(off)];
const v128load = (off: number) => [...simd(0x00), ...memarg(off)];
const v128store = (off: number) => [...simd(0x0b), ...memarg(off)];
const splat32 = (off: number) => [...simd(0x09), ...memarg(off)];
const f32load = [0x2a, 2, 0];
const f32store = [0x38, 2, 0];
const i32load = (off: number) => [0x28, 2, ...uleb(off)];
const FADD = 0xe4, FMUL = 0xe6, RELAXED_MADD = 0x105;
const shuffle = (lanes: number[]) => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])];
/** i8x16.shuffle of two vectors' even (0, 2, 4, 6) or odd floats. */
const shuffleEven = shuffle([0, 2, 4, 6]), shuffleOdd = shuffle([1, 3, 5, 7]);

/** `while (v < limit) { body; v++ }` with v set to 0 first. */
function loop(v: number, limit: number[], body: number[]): number[] {
  return [...i32c(0), ...set(v), ...whileLt(v, limit, body)];
}

/** `while (v < limit) { body; v++ }` from v's current value. */
function whileLt(v: number, limit: number[], body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...limit, LT_S, EQZ, 0x0d, 1,
    ...body,
    ...get(v), ...i32c(1), ADD, ...set(v),
    0x0c, 0, 0x0b, 0x0b,
  ];
}

interface Shape { KW: number; SW: 1 | 2; DW: number; NV: number; relaxed: boolean }

function assemble(s: Shape): Uint8Array<ArrayBuffer> {
  // params: 0 xs, 1 xp, 2 w, 3 b, 4 o (byte addresses), 5 inst (batch x groups), 6 G (groups), 7 rows,
  //   8 cols, 9 IW (source row stride), 10 PH, 11 PW, 12 PW2 (staged row width), 13 PB (bytes from the even
  //   to the odd columns), 14 OH, 15 OW, 16 steps (NV-vector groups per output row), 17 KH, 18 SHB (bytes
  //   between output rows' first input rows), 19 DHB (bytes between kernel rows), 20 plane (floats per input
  //   plane), 21 CG (input planes per group), 22 MG (output planes per group), 23 PS (bytes per staged plane),
  //   24 TAB (per output row, the kernel rows [lo, hi) that read image rows, not padding: i32 pairs)
  // locals (i32): 25 p (instance), 26 ci (its group), 27 r, 28 i, 29 src, 30 oh, 31 st, 32 kh, 33 rp, 34 wp,
  //   35 op, 36 rowp, 37 wc, 38 rp0, 39 pc, 40 rq, 41 j, 42 mo, 43 mch, 44 xpj, 45 klo, 46 khe;
  //   (v128) 47.. acc[NV], then wv
  const [XS, XP, W, B, O, INST, G, ROWS, COLS, IW, PH, PW, PW2, PB, OH, OW, STEPS, KH, SHB, DHB, PLANE, CG, MG, PS, TAB] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24] as const;
  const [P, CI, R, I, SRC, OHI, ST, KHI, RP, WP, OP, ROWP, WC, RP0, PC, RQ, J, MO, MCH, XPJ, KLO, KHE] =
    [25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46] as const;
  const acc = (j: number) => 47 + j;
  const WV = 47 + s.NV;
  const js = [...Array(s.NV).keys()];
  // dst = xp + ((PH + r)*PW2 + col)*4 for a staged column col
  const stage = s.SW === 1
    ? loop(R, get(ROWS), [
      ...get(XPJ), ...get(PH), ...get(R), ADD, ...get(PW2), MUL, ...get(PW), ADD, ...i32c(4), MUL, ADD,
      ...get(SRC), ...get(R), ...get(IW), MUL, ...i32c(4), MUL, ADD,
      ...get(COLS), ...i32c(4), MUL, ...memCopy,
    ])
    : loop(R, get(ROWS), [
      // Eight columns per step: two vectors' even and odd lanes land in the two phases (the first column's
      // parity picks which); the scalar loop below finishes the row.
      ...i32c(0), ...set(I),
      0x02, 0x40, 0x03, 0x40,
      ...get(COLS), ...get(I), SUB, ...i32c(8), LT_S, 0x0d, 1,
      ...get(SRC), ...get(R), ...get(IW), MUL, ...get(I), ADD, ...i32c(4), MUL, ADD, ...set(RQ),
      ...get(RQ), ...v128load(0), ...set(acc(0)),
      ...get(RQ), ...v128load(16), ...set(WV),
      ...[0, 1].flatMap((odd) => [
        ...get(PW), ...get(I), ADD, ...i32c(odd), ADD, ...set(PC),
        ...get(XPJ), ...get(PB), ...get(PC), ...i32c(1), AND, MUL, ADD,
        ...get(PH), ...get(R), ADD, ...get(PW2), MUL, ...get(PC), ...i32c(1), SHR_U, ADD, ...i32c(4), MUL, ADD,
        ...get(acc(0)), ...get(WV), ...(odd ? shuffleOdd : shuffleEven), ...v128store(0),
      ]),
      ...get(I), ...i32c(8), ADD, ...set(I),
      0x0c, 0, 0x0b, 0x0b,
      ...whileLt(I, get(COLS), [
        ...get(PW), ...get(I), ADD, ...set(PC),
        // even columns at xp, odd ones at xp + PB; column pc lands at index pc >> 1
        ...get(XPJ), ...get(PB), ...get(PC), ...i32c(1), AND, MUL, ADD,
        ...get(PH), ...get(R), ADD, ...get(PW2), MUL, ...get(PC), ...i32c(1), SHR_U, ADD, ...i32c(4), MUL, ADD,
        ...get(SRC), ...get(R), ...get(IW), MUL, ...get(I), ADD, ...i32c(4), MUL, ADD, ...f32load,
        ...f32store,
      ]),
    ]);
  const taps: number[] = [];
  for (let kw = 0; kw < s.KW; kw++) {
    const q = (kw * s.DW) % s.SW;
    const off = Math.floor((kw * s.DW) / s.SW) * 4;
    taps.push(...get(WP), ...splat32(kw * 4), ...set(WV));
    for (const j of js) {
      const x = [...get(q ? RQ : RP), ...v128load(off + 16 * j)];
      taps.push(...(s.relaxed
        ? [...get(WV), ...x, ...get(acc(j)), ...simd(RELAXED_MADD)]
        : [...get(acc(j)), ...get(WV), ...x, ...simd(FMUL), ...simd(FADD)]), ...set(acc(j)));
    }
  }
  const step = [
    ...js.flatMap((j) => [...get(B), ...get(MCH), ...i32c(4), MUL, ADD, ...splat32(0), ...set(acc(j))]),
    // every input plane of the group, the kernel rows that read image rows (weights [c][kh][kw])
    ...loop(J, get(CG), [
      ...get(RP0), ...get(J), ...get(PS), MUL, ADD, ...get(KLO), ...get(DHB), MUL, ADD, ...set(RP),
      ...get(WC), ...get(J), ...get(KH), MUL, ...get(KLO), ADD, ...i32c(4 * s.KW), MUL, ADD, ...set(WP),
      ...get(KLO), ...set(KHI),
      ...whileLt(KHI, get(KHE), [
        ...(s.SW === 2 ? [...get(RP), ...get(PB), ADD, ...set(RQ)] : []),
        ...taps,
        ...get(RP), ...get(DHB), ADD, ...set(RP),
        ...get(WP), ...i32c(4 * s.KW), ADD, ...set(WP),
      ]),
    ]),
    ...js.flatMap((j) => [...get(OP), ...get(acc(j)), ...v128store(16 * j)]),
    ...get(OP), ...i32c(16 * s.NV), ADD, ...set(OP),
    ...get(RP0), ...i32c(16 * s.NV), ADD, ...set(RP0),
  ];
  const row = [
    ...get(TAB), ...get(OHI), ...i32c(8), MUL, ADD, ...i32load(0), ...set(KLO),
    ...get(TAB), ...get(OHI), ...i32c(8), MUL, ADD, ...i32load(4), ...set(KHE),
    ...get(ROWP), ...set(RP0),
    ...loop(ST, get(STEPS), step),
    // back to the start of the next output row (the last vectors may have run past this one)
    ...get(OP), ...get(STEPS), ...i32c(16 * s.NV), MUL, SUB, ...get(OW), ...i32c(4), MUL, ADD, ...set(OP),
    ...get(ROWP), ...get(SHB), ADD, ...set(ROWP),
  ];
  const outPlane = [
    // output channel mch = ci*MG + mo: its weights [CG][KH][KW] and bias
    ...get(CI), ...get(MG), MUL, ...get(MO), ADD, ...set(MCH),
    ...get(W), ...get(MCH), ...get(CG), MUL, ...get(KH), MUL, ...i32c(4 * s.KW), MUL, ADD, ...set(WC),
    ...get(XP), ...set(ROWP),
    ...loop(OHI, get(OH), row),
  ];
  const instance = [
    // stage the instance's CG input planes (planes p*CG.. of x) at xp + j*PS
    ...loop(J, get(CG), [
      ...get(XS), ...get(P), ...get(CG), MUL, ...get(J), ADD, ...get(PLANE), MUL, ...i32c(4), MUL, ADD, ...set(SRC),
      ...get(XP), ...get(J), ...get(PS), MUL, ADD, ...set(XPJ),
      ...stage,
    ]),
    ...loop(MO, get(MG), outPlane),
    ...get(CI), ...i32c(1), ADD, ...set(CI),
    ...get(CI), ...get(G), EQ, 0x04, 0x40, ...i32c(0), ...set(CI), 0x0b,
  ];
  const body = [
    2, 22, I32, s.NV + 1, V128,
    ...i32c(0), ...set(CI),
    ...get(O), ...set(OP),
    ...loop(P, get(INST), instance),
    0x0b,
  ];
  const code = [1, ...uleb(body.length), ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 25, ...new Array<number>(25).fill(I32), 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('dw'), 0x00, 0]),
    ...section(10, code),
  ]);
}

type DwFn = (...a: number[]) => void;
let mem: WebAssembly.Memory | null | undefined;
let f32: Float32Array = new Float32Array(0);
let relaxedOk: boolean | undefined;
const fns = new Map<string, DwFn | null>();
let enabled = true;

/** Turn the SIMD direct conv (depthwise, few input channels) off or on (tests cover both paths); returns the previous setting. */
export function setDepthwiseSimd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function memory(bytes: number): Float32Array | undefined {
  if (mem === undefined) {
    mem = null;
    if (!simdAllowed()) return undefined;
    mem = new WebAssembly.Memory({ initial: 4 });
  }
  if (!mem) return undefined;
  if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
  if (f32.buffer !== mem.buffer) f32 = new Float32Array(mem.buffer);
  return f32;
}

function kernel(sh: Omit<Shape, 'relaxed'>): DwFn | undefined {
  const key = `${sh.KW},${sh.SW},${sh.DW},${sh.NV}`;
  let fn = fns.get(key);
  if (fn === undefined) {
    fn = null;
    try {
      for (const relaxed of relaxedOk === false || !relaxedSimdAllowed() ? [false] : [true, false]) {
        const bin = assemble({ ...sh, relaxed });
        if (!WebAssembly.validate(bin)) continue;
        if (relaxed) relaxedOk = true;
        fn = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem: mem! } }).exports.dw as DwFn;
        break;
      }
      if (relaxedOk === undefined) relaxedOk = false;
    } catch {
      fn = null;
    }
    fns.set(key, fn);
  }
  return fn ?? undefined;
}

/**
 * f32x4 vectors per step for a row of V vectors (at most 4): the fewest of steps * (NV + 1.5), roughly a
 * step's loads plus its weight splat and loop work, so padding a row is weighed against short steps.
 */
function vectorsPerStep(V: number): number {
  let best = 1;
  for (const nv of [2, 3, 4]) if (Math.ceil(V / nv) * (nv + 1.5) < Math.ceil(V / best) * (best + 1.5)) best = nv;
  return best;
}

/** A 2-D convolution's geometry for `conv2dDirectSimd` (N images of group x Cg channels to group x Mg). */
export interface DirectConv2d {
  N: number; group: number; Cg: number; Mg: number;
  IH: number; IW: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number; PH: number; PW: number;
}

/**
 * Direct 2-D convolution of float32 NCHW data, column stride 1 or 2: y = w (*) x + bias, each group's Cg
 * input planes staged once and read by its Mg output planes. Made for depthwise convs (Cg = 1) and convs
 * with few input channels (a first layer over RGB), where an im2col would copy more than it saves. False
 * (nothing written) where the SIMD path does not apply.
 */
export function conv2dDirectSimd(x: unknown, w: unknown, bias: unknown, y: unknown, g: DirectConv2d): boolean {
  const { N, group, Cg, Mg, IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  if (!enabled || (SW !== 1 && SW !== 2) || !(x instanceof Float32Array) || !(w instanceof Float32Array) || !(y instanceof Float32Array)) return false;
  if (bias !== undefined && !(bias instanceof Float32Array)) return false;
  const M = group * Mg;
  const V = Math.ceil(OW / 4);
  const NV = vectorsPerStep(V);
  const steps = Math.ceil(V / NV);
  // The padded plane: rows cover every tap of every output row; columns every tap of every output.
  const PWD = Math.max(PW + IW, (OW - 1) * SW + (KW - 1) * DW + 1);
  const PHT = Math.max((OH - 1) * SH + (KH - 1) * DH + 1, PH + IH);
  const PW2 = Math.ceil(PWD / SW);
  const PSf = (SW * PHT * PW2 + 3) & ~3;
  const wLen = M * Cg * KH * KW;
  // Memory: weights, biases, all planes of x, the Cg staged planes (SW phases each) with slack for the
  // vectors that run past a row, the compact outputs with slack for the last row's spill.
  const slack = steps * NV * 4 + KW * DW + 8;
  const xAll = N * group * Cg * IH * IW;
  const xpFloats = Cg * PSf + slack;
  const oFloats = N * M * OH * OW + slack;
  const wBase = 0, bBase = (wLen + 3) & ~3, xsBase = bBase + ((M + 3) & ~3), xpBase = xsBase + ((xAll + 3) & ~3), oBase = xpBase + ((xpFloats + 3) & ~3);
  const tBase = oBase + ((oFloats + 3) & ~3);
  const f = memory((tBase + 2 * OH) * 4);
  if (!f) return false;
  const fn = kernel({ KW, SW, DW, NV });
  if (!fn) return false;
  f.set(w.subarray(0, wLen), wBase);
  if (bias) f.set(bias.subarray(0, M), bBase);
  else f.fill(0, bBase, bBase + M);
  f.set(x.subarray(0, xAll), xsBase);
  f.fill(0, xpBase, xpBase + xpFloats);
  // Image rows and columns that land inside the padded plane (the geometry may cut trailing padding off).
  const rows = Math.min(IH, PHT - PH);
  const cols = Math.min(IW, PWD - PW);
  // Per output row, the kernel rows whose staged row holds image data: the rest read zero padding, which
  // on small maps is most of a 5x5 kernel (a 2-row map at pad 2 reads 2 of 5 rows).
  const tab = new Int32Array(f.buffer, tBase * 4, 2 * OH);
  for (let oh = 0; oh < OH; oh++) {
    let lo = KH, hi = 0;
    for (let kh = 0; kh < KH; kh++) {
      const r = oh * SH + kh * DH;
      if (r >= PH && r < PH + rows) {
        lo = Math.min(lo, kh);
        hi = kh + 1;
      }
    }
    tab[2 * oh] = lo < hi ? lo : 0;
    tab[2 * oh + 1] = lo < hi ? hi : 0;
  }
  fn(xsBase * 4, xpBase * 4, wBase * 4, bBase * 4, oBase * 4, N * group, group, rows, cols, IW, PH, PW, PW2, PHT * PW2 * 4,
    OH, OW, steps, KH, SH * PW2 * 4, DH * PW2 * 4, IH * IW, Cg, Mg, PSf * 4, tBase * 4);
  y.set(f.subarray(oBase, oBase + N * M * OH * OW), 0);
  return true;
}
