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
import type { Program } from '../../graph/ops/fused-program.js';
import { type InlineConstant, inlineProgram, programKey, Unsupported } from './fused-wasm-gen.js';
import { ADD, I32, MUL, V128, copyRun, get, i32c, section, set, relaxedSimdAllowed, simd, simdAllowed, str, tee, uleb } from './wasm-asm.js';

const SUB = 0x6b, LT_S = 0x48, EQ = 0x46, AND = 0x71, SHR_U = 0x76, EQZ = 0x45;
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

/** Code applying a conv's epilogue to an f32x4 local (fused-wasm-gen's inlineProgram), and what it reads. */
export interface DirectEpilogue {
  /** The program (for paths that apply it with the fused elementwise module instead). */
  readonly program: Program;
  /** What the code depends on (programKey): modules are cached by it (as `id`, one per key). */
  readonly key: string;
  readonly id: number;
  /** The constants as the kernel's memory holds them: a v128 each (four float32 or two float64 lanes). */
  readonly block: Float32Array;
  /** v128 temporaries the code uses. */
  readonly temps: number;
  /** The constants it reads, in the order `code` asks for them. */
  readonly constants: readonly InlineConstant[];
  code(input: number, temps: number, constant: (k: number) => number[]): number[];
}

/** cg1: one input plane per group (depthwise), no loop over them. */
interface Shape { KW: number; SW: 1 | 2; DW: number; R: number; NV: number; cg1: boolean; relaxed: boolean; epi?: DirectEpilogue }

function assemble(s: Shape): Uint8Array<ArrayBuffer> {
  // params: 0 xs, 1 xp, 2 w, 3 b, 4 o (byte addresses), 5 inst (batch x groups), 6 G (groups), 7 rows,
  //   8 cols, 9 IW (source row stride), 10 PH, 11 PW, 12 PW2 (staged row width), 13 PB (bytes from the even
  //   to the odd columns), 14 OWB (bytes per output row), 15 blocks (of R output rows per plane), 16 steps
  //   (NV-vector groups per output row), 17 KH, 18 SHB (bytes between output rows' first input rows),
  //   19 DHB (bytes between kernel rows), 20 plane (floats per input plane), 21 CG (input planes per group),
  //   22 MG (output planes per group), 23 PS (bytes per staged plane), 24 TAB (per row block, the kernel
  //   rows [lo, hi) that read image rows, not padding: i32 pairs), 25 the epilogue's constants (v128 each),
  //   26 OPB (bytes per output plane), 27 CI0 (the group of the first instance)
  const [XS, XP, W, B, O, INST, G, ROWS, COLS, IW, PH, PW, PW2, PB, OWB, BLOCKS, STEPS, KH, SHB, DHB, PLANE, CG, MG, PS, TAB, CONSTS, OPB, CI0] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27] as const;
  const NPARAMS = 28;
  let next = NPARAMS;
  const i32 = () => next++;
  const P = i32(), CI = i32(), RR = i32(), I = i32(), SRC = i32(), BI = i32(), ST = i32(), KHI = i32(), RP0 = i32(), WP = i32(), OP = i32(), OPS = i32();
  const ROWP = i32(), WC = i32(), PC = i32(), J = i32(), MO = i32(), MCH = i32(), XPJ = i32(), KLO = i32(), KHE = i32(), DST = i32(), OPL = i32();
  const rows = [...Array(s.R).keys()], js = [...Array(s.NV).keys()];
  const RP = [i32()], RQ = rows.map(i32), WQ = i32(), T = i32(), SD0 = i32(), SD1 = i32(), KIN = i32(), KWO = i32();
  const nI32 = next - NPARAMS;
  const v128 = () => next++;
  const ACC = rows.map(() => js.map(v128));
  const WV = v128(), T0 = v128(), T1 = v128(), BV = v128();
  const ET = next;
  next += s.epi?.temps ?? 0;
  const EC = next;
  const nConst = s.epi?.constants.length ?? 0;
  next += nConst;
  const nV128 = next - NPARAMS - nI32;
  const acc = (i: number, j: number) => ACC[i]![j]!;
  // dst = xp + ((PH + r)*PW2 + col)*4 for a staged column col
  const stage = s.SW === 1
    ? loop(RR, get(ROWS), [
      // the row in vectors (a memory.copy is a call into the engine: 2880 rows on a 240-plane map), then floats
      ...get(XPJ), ...get(PH), ...get(RR), ADD, ...get(PW2), MUL, ...get(PW), ADD, ...i32c(4), MUL, ADD, ...set(DST),
      ...get(SRC), ...get(RR), ...get(IW), MUL, ...i32c(4), MUL, ADD, ...set(I),
      ...get(I), ...get(COLS), ...i32c(4), MUL, ADD, ...set(PC),
      ...copyRun(DST, I, PC),
    ])
    : loop(RR, get(ROWS), [
      // Eight columns per step: two vectors' even and odd lanes land in the two phases (the first column's
      // parity picks which), each four floats on; the scalar loop below finishes the row.
      ...get(SRC), ...get(RR), ...get(IW), MUL, ...i32c(4), MUL, ADD, ...set(DST),
      ...[0, 1].flatMap((odd) => [
        ...get(XPJ), ...get(PB), ...get(PW), ...i32c(odd), ADD, ...i32c(1), AND, MUL, ADD,
        ...get(PH), ...get(RR), ADD, ...get(PW2), MUL, ...get(PW), ...i32c(odd), ADD, ...i32c(1), SHR_U, ADD, ...i32c(4), MUL, ADD,
        ...set(odd ? SD1 : SD0),
      ]),
      ...i32c(0), ...set(I),
      0x02, 0x40, 0x03, 0x40,
      ...get(COLS), ...get(I), SUB, ...i32c(8), LT_S, 0x0d, 1,
      ...get(DST), ...v128load(0), ...set(T0),
      ...get(DST), ...v128load(16), ...set(T1),
      ...get(SD0), ...get(T0), ...get(T1), ...shuffleEven, ...v128store(0),
      ...get(SD1), ...get(T0), ...get(T1), ...shuffleOdd, ...v128store(0),
      ...get(SD0), ...i32c(16), ADD, ...set(SD0),
      ...get(SD1), ...i32c(16), ADD, ...set(SD1),
      ...get(DST), ...i32c(32), ADD, ...set(DST),
      ...get(I), ...i32c(8), ADD, ...set(I),
      0x0c, 0, 0x0b, 0x0b,
      ...whileLt(I, get(COLS), [
        ...get(PW), ...get(I), ADD, ...set(PC),
        // even columns at xp, odd ones at xp + PB; column pc lands at index pc >> 1
        ...get(XPJ), ...get(PB), ...get(PC), ...i32c(1), AND, MUL, ADD,
        ...get(PH), ...get(RR), ADD, ...get(PW2), MUL, ...get(PC), ...i32c(1), SHR_U, ADD, ...i32c(4), MUL, ADD,
        ...get(SRC), ...get(RR), ...get(IW), MUL, ...get(I), ADD, ...i32c(4), MUL, ADD, ...f32load,
        ...f32store,
      ]),
    ]);
  // One kernel row: a loop over its taps, each one weight splat for R x NV multiply-adds (the R rows of a
  // block read R input rows SHB apart). Unrolled taps measured slower: TurboFan schedules every load of
  // the unrolled row first and spills them to the stack (2x the time). At column stride 2 with an odd
  // dilation the even and odd taps are two loops, over the even and the odd column phase.
  type TapClass = { count: number; w0: number; wStep: number; in0: number; inStep: number; odd: boolean };
  const classes: TapClass[] = s.SW === 1
    ? [{ count: s.KW, w0: 0, wStep: 4, in0: 0, inStep: 4 * s.DW, odd: false }]
    : s.DW % 2 === 0
      ? [{ count: s.KW, w0: 0, wStep: 4, in0: 0, inStep: 2 * s.DW, odd: false }]
      : [
        { count: Math.ceil(s.KW / 2), w0: 0, wStep: 8, in0: 0, inStep: 4 * s.DW, odd: false },
        { count: Math.floor(s.KW / 2), w0: 4, wStep: 8, in0: Math.floor(s.DW / 2) * 4, inStep: 4 * s.DW, odd: true },
      ];
  const taps = classes.filter((c) => c.count > 0).flatMap((c) => [
    ...get(RP[0]!), ...(c.odd ? [...get(PB), ADD] : []), ...(c.in0 ? [...i32c(c.in0), ADD] : []), ...set(RQ[0]!),
    ...rows.slice(1).flatMap((i) => [...get(RQ[i - 1]!), ...get(SHB), ADD, ...set(RQ[i]!)]),
    ...get(WP), ...(c.w0 ? [...i32c(c.w0), ADD] : []), ...set(WQ),
    ...i32c(c.count), ...set(T),
    0x03, 0x40,
    ...get(WQ), ...splat32(0), ...set(WV),
    ...rows.flatMap((i) => js.flatMap((j) => {
      const x = [...get(RQ[i]!), ...v128load(16 * j)];
      return [...(s.relaxed
        ? [...get(WV), ...x, ...get(acc(i, j)), ...simd(RELAXED_MADD)]
        : [...get(acc(i, j)), ...get(WV), ...x, ...simd(FMUL), ...simd(FADD)]), ...set(acc(i, j))];
    })),
    ...rows.flatMap((i) => [...get(RQ[i]!), ...i32c(c.inStep), ADD, ...set(RQ[i]!)]),
    ...get(WQ), ...i32c(c.wStep), ADD, ...set(WQ),
    ...get(T), ...i32c(1), SUB, ...tee(T), 0x0d, 0,
    0x0b,
  ]);
  const epi = s.epi;
  const out = (i: number, j: number): number[] => (epi ? epi.code(acc(i, j), ET, (k) => get(EC + k)) : get(acc(i, j)));
  // the kernel rows that read image rows (weights [c][kh][kw])
  const kernelRows = [
    ...get(KLO), ...set(KHI),
    ...whileLt(KHI, get(KHE), [
      ...taps,
      ...get(RP[0]!), ...get(DHB), ADD, ...set(RP[0]!),
      ...get(WP), ...i32c(4 * s.KW), ADD, ...set(WP),
    ]),
  ];
  const step = [
    ...rows.flatMap((i) => js.flatMap((j) => [...get(BV), ...set(acc(i, j))])),
    // every input plane of the group (one for a depthwise conv: no loop)
    ...(s.cg1
      ? [...get(RP0), ...get(KIN), ADD, ...set(RP[0]!), ...get(WC), ...get(KWO), ADD, ...set(WP), ...kernelRows]
      : loop(J, get(CG), [
        ...get(RP0), ...get(J), ...get(PS), MUL, ADD, ...get(KIN), ADD, ...set(RP[0]!),
        ...get(WC), ...get(J), ...get(KH), MUL, ...i32c(4 * s.KW), MUL, ADD, ...get(KWO), ADD, ...set(WP),
        ...kernelRows,
      ])),
    ...get(OPS), ...set(DST),
    ...rows.flatMap((i) => [
      ...js.flatMap((j) => [...get(DST), ...out(i, j), ...v128store(16 * j)]),
      ...get(DST), ...get(OWB), ADD, ...set(DST),
    ]),
  ];
  const block = [
    ...get(TAB), ...get(BI), ...i32c(8), MUL, ADD, ...i32load(0), ...set(KLO),
    ...get(TAB), ...get(BI), ...i32c(8), MUL, ADD, ...i32load(4), ...set(KHE),
    ...get(KLO), ...get(DHB), MUL, ...set(KIN),
    ...get(KLO), ...i32c(4 * s.KW), MUL, ...set(KWO),
    // Column steps last to first: a row's last vector may run past the row into the next row's first
    // columns, which that row's first step (written after) overwrites.
    ...get(STEPS), ...set(ST),
    0x02, 0x40, 0x03, 0x40,
    ...get(ST), EQZ, 0x0d, 1,
    ...get(ST), ...i32c(1), SUB, ...set(ST),
    ...get(ROWP), ...get(ST), ...i32c(16 * s.NV), MUL, ADD, ...set(RP0),
    ...get(OP), ...get(ST), ...i32c(16 * s.NV), MUL, ADD, ...set(OPS),
    ...step,
    0x0c, 0, 0x0b, 0x0b,
    ...get(OP), ...get(OWB), ...i32c(s.R), MUL, ADD, ...set(OP),
    ...get(ROWP), ...get(SHB), ...i32c(s.R), MUL, ADD, ...set(ROWP),
  ];
  const outPlane = [
    // output channel mch = ci*MG + mo: its weights [CG][KH][KW] and bias
    ...get(CI), ...get(MG), MUL, ...get(MO), ADD, ...set(MCH),
    ...get(W), ...get(MCH), ...get(CG), MUL, ...get(KH), MUL, ...i32c(4 * s.KW), MUL, ADD, ...set(WC),
    ...get(B), ...get(MCH), ...i32c(4), MUL, ADD, ...splat32(0), ...set(BV),
    ...get(XP), ...set(ROWP),
    ...get(OP), ...set(OPL),
    ...loop(BI, get(BLOCKS), block),
    // the last block's rows past the plane (written into the next plane's, which overwrites them) end here
    ...get(OPL), ...get(OPB), ADD, ...set(OP),
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
    2, ...uleb(nI32), I32, ...uleb(nV128), V128,
    ...Array.from({ length: nConst }, (_, k) => [...get(CONSTS), ...v128load(16 * k), ...set(EC + k)]).flat(),
    ...get(CI0), ...set(CI),
    ...get(O), ...set(OP),
    ...loop(P, get(INST), instance),
    0x0b,
  ];
  const code = [1, ...uleb(body.length), ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, NPARAMS, ...new Array<number>(NPARAMS).fill(I32), 0]),
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
  // Addresses are i32 byte offsets: past 2 GiB (or where the engine refuses to grow) the JS loops run.
  if (!mem || bytes >= 2 ** 31) return undefined;
  if (mem.buffer.byteLength < bytes) {
    try {
      mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
    } catch {
      return undefined;
    }
  }
  if (f32.buffer !== mem.buffer) f32 = new Float32Array(mem.buffer);
  return f32;
}

function kernel(sh: Omit<Shape, 'relaxed'>): DwFn | undefined {
  const key = `${sh.KW},${sh.SW},${sh.DW},${sh.R},${sh.NV},${+sh.cg1},${sh.epi?.id ?? ''}`;
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

const epilogues = new WeakMap<Program, DirectEpilogue | null>();
const epilogueIds = new Map<string, number>();

/**
 * The epilogue of a FusedConv (its program over the conv output, graph/ops/fused-program.ts) as code the
 * direct conv applies to each accumulator before storing it, bit for bit what the fused elementwise module
 * computes; undefined where the program reads another input or an op that is not inlined (Sigmoid...).
 */
export function directEpilogue(p: Program): DirectEpilogue | undefined {
  let e = epilogues.get(p);
  if (e === undefined) {
    e = null;
    try {
      const constants: InlineConstant[] = [];
      inlineProgram(p, 0, 0, (c) => (constants.push(c), []));
      const block = new Float32Array(4 * constants.length);
      const d = new Float64Array(block.buffer);
      constants.forEach((c, k) => (c.f64 ? d.fill(c.value, 2 * k, 2 * k + 2) : block.fill(c.value, 4 * k, 4 * k + 4)));
      const key = programKey(p);
      let id = epilogueIds.get(key);
      if (id === undefined) epilogueIds.set(key, (id = epilogueIds.size));
      e = { program: p, key, id, block, temps: p.code.length, constants, code: (input, temps, constant) => inlineProgram(p, input, temps, ((k) => () => constant(k++))(0)) };
    } catch (err) {
      if (!(err instanceof Unsupported)) throw err;
    }
    epilogues.set(p, e);
  }
  return e ?? undefined;
}

const MAX_ACC = 7, MAX_ROWS = 4;
/** tab: per row block the kernel rows [lo, hi) that reach image rows, as the kernel reads them (int32 bits). */
interface Plan { R: number; NV: number; steps: number; blocks: number; tab: Float32Array; geom: readonly number[] }
// Keyed by a numeric hash of the geometry (entries compare it in full): a string key per call cost ~1% of
// silero VAD, whose convs are a few microseconds each.
const plans = new Map<number, Plan[]>();
let forced: { R: number; NV: number } | undefined;
let chunkFloats = 32768;

/** Change the floats in and out per chunk of planes (tests use a small one to cover chunking); returns the previous one. */
export function setDepthwiseChunk(floats: number): number {
  const prev = chunkFloats;
  chunkFloats = floats;
  return prev;
}

/** Force the rows and vectors per step (clamped to the output's), or undefined to choose; tests cover every module shape with it. Returns the previous setting. */
export function setDepthwisePlan(p: { R: number; NV: number } | undefined): { R: number; NV: number } | undefined {
  const prev = forced;
  forced = p;
  plans.clear();
  return prev;
}

/**
 * Output rows (R) and f32x4 vectors (NV) per step, at most 7 accumulators (with their loaded vectors and
 * the weight splat they fill the 15 vector registers V8 allocates): the fewest estimated cycles, counting
 * each block's kernel rows (those reaching image rows: the union over its rows), padded rows and vectors
 * included. A tap costs at least 4 cycles (the latency of the multiply-add chain into each accumulator),
 * else half a cycle per multiply-add (two per cycle), plus a little per row pointer it moves (more than 4
 * rows measured 2x slower: the pointers no longer fit the registers).
 */
const mix = (h: number, v: number) => (Math.imul(h, 0x01000193) ^ v) | 0;

function plan(OH: number, OW: number, KH: number, KW: number, SH: number, DH: number, PH: number, rows: number): Plan {
  const key = mix(mix(mix(mix(mix(mix(mix(mix(0, OH), OW), KH), KW), SH), DH), PH), rows);
  const same = plans.get(key);
  if (same) {
    for (const p of same) {
      const g = p.geom;
      if (g[0] === OH && g[1] === OW && g[2] === KH && g[3] === KW && g[4] === SH && g[5] === DH && g[6] === PH && g[7] === rows) return p;
    }
  }
  const geom = [OH, OW, KH, KW, SH, DH, PH, rows];
  let best: Plan | undefined;
  const V = Math.ceil(OW / 4);
  // per output row, the kernel rows whose staged row holds image data
  const lo = new Int32Array(OH), hi = new Int32Array(OH);
  for (let oh = 0; oh < OH; oh++) {
    let l = KH, h = 0;
    for (let kh = 0; kh < KH; kh++) {
      const r = oh * SH + kh * DH;
      if (r >= PH && r < PH + rows) {
        l = Math.min(l, kh);
        h = kh + 1;
      }
    }
    lo[oh] = l < h ? l : 0;
    hi[oh] = l < h ? h : 0;
  }
  const table = (R: number): Int32Array => {
    const blocks = Math.ceil(OH / R);
    const t = new Int32Array(2 * blocks);
    for (let b = 0; b < blocks; b++) {
      let l = KH, h = 0;
      for (let oh = b * R; oh < Math.min(OH, b * R + R); oh++) {
        if (lo[oh]! < hi[oh]!) {
          l = Math.min(l, lo[oh]!);
          h = Math.max(h, hi[oh]!);
        }
      }
      t[2 * b] = l < h ? l : 0;
      t[2 * b + 1] = l < h ? h : 0;
    }
    return t;
  };
  let bestCost = Infinity;
  for (let R = 1; R <= Math.min(OH, forced ? 16 : MAX_ROWS); R++) {
    if (forced && R !== Math.min(OH, forced.R)) continue;
    const tab = table(R);
    let kRows = 0;
    for (let b = 0; b < tab.length; b += 2) kRows += tab[b + 1]! - tab[b]!;
    for (let NV = 1; NV <= Math.min(V, forced ? 16 : Math.floor(MAX_ACC / R)); NV++) {
      if (forced && NV !== Math.min(V, forced.NV)) continue;
      const steps = Math.ceil(V / NV);
      const cost = steps * (kRows * (KW * (Math.max(4, (R * NV + 1) / 2) + (R - 1) / 4) + 4) + (tab.length / 2) * (R * NV + 6));
      if (cost < bestCost) {
        bestCost = cost;
        best = { R, NV, steps, blocks: tab.length / 2, tab: new Float32Array(tab.buffer), geom };
      }
    }
  }
  if (same) same.push(best!);
  else plans.set(key, [best!]);
  return best!;
}

/** A 2-D convolution's geometry for `conv2dDirectSimd` (N images of group x Cg channels to group x Mg). */
export interface DirectConv2d {
  N: number; group: number; Cg: number; Mg: number;
  IH: number; IW: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number; PH: number; PW: number;
}

/**
 * Direct 2-D convolution of float32 NCHW data, column stride 1 or 2: y = w (*) x + bias, each group's Cg
 * input planes staged once and read by its Mg output planes, then `epi` (a FusedConv's epilogue) where
 * given. Made for depthwise convs (Cg = 1) and convs with few input channels (a first layer over RGB),
 * where an im2col would copy more than it saves. False (nothing written) where the SIMD path does not apply.
 */
export function conv2dDirectSimd(x: unknown, w: unknown, bias: unknown, y: unknown, g: DirectConv2d, epi?: DirectEpilogue): boolean {
  const { N, group, Cg, Mg, IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  if (!enabled || (SW !== 1 && SW !== 2) || !(x instanceof Float32Array) || !(w instanceof Float32Array) || !(y instanceof Float32Array)) return false;
  if (bias !== undefined && !(bias instanceof Float32Array)) return false;
  const M = group * Mg;
  // The padded plane: rows cover every tap of every output row; columns every tap of every output.
  const PWD = Math.max(PW + IW, (OW - 1) * SW + (KW - 1) * DW + 1);
  const PHT = Math.max((OH - 1) * SH + (KH - 1) * DH + 1, PH + IH);
  // Image rows and columns that land inside the padded plane (the geometry may cut trailing padding off).
  const rows = Math.min(IH, PHT - PH);
  const cols = Math.min(IW, PWD - PW);
  const { R, NV, steps, blocks, tab } = plan(OH, OW, KH, KW, SH, DH, PH, rows);
  const PW2 = Math.ceil(PWD / SW);
  const PSf = (SW * PHT * PW2 + 3) & ~3;
  const wLen = M * Cg * KH * KW;
  const nConst = epi?.constants.length ?? 0;
  // Memory: weights, biases, the epilogue's constants, all planes of x, the Cg staged planes (SW phases
  // each) with slack for the vectors that run past a row and the rows of a last block past the plane, the
  // compact outputs with slack for the last plane's spill, the kernel-row table.
  // Instances (image x group) run in chunks of about chunkFloats in and out: the module's memory holds a
  // chunk, not all of x and y (large maps, batches), and a chunk's copy in, kernel and copy out share the
  // L2 cache (PP-OCRv4 recognizer's depthwise convs ~3-5% faster than one call, within the noise).
  const inst = N * group, inF = Cg * IH * IW, outF = Mg * OH * OW;
  const chunk = Math.max(1, Math.min(inst, Math.floor(chunkFloats / (inF + outF))));
  const slack = steps * NV * 4 + KW * DW + 8;
  const xAll = chunk * inF;
  const xpFloats = Cg * PSf + R * SH * PW2 + slack;
  const oFloats = chunk * outF + R * OW + slack;
  const up = (n: number) => (n + 3) & ~3;
  const wBase = 0, bBase = up(wLen), cBase = bBase + up(M), xsBase = cBase + 4 * nConst, xpBase = xsBase + up(xAll), oBase = xpBase + up(xpFloats);
  const tBase = oBase + up(oFloats);
  const f = memory((tBase + tab.length) * 4);
  if (!f) return false;
  const fn = kernel({ KW, SW, DW, R, NV, cg1: Cg === 1, epi });
  if (!fn) return false;
  f.set(w.subarray(0, wLen), wBase);
  if (bias) f.set(bias.subarray(0, M), bBase);
  else f.fill(0, bBase, bBase + M);
  if (epi) f.set(epi.block, cBase);
  f.fill(0, xpBase, xpBase + xpFloats);
  f.set(tab, tBase);
  for (let p0 = 0; p0 < inst; p0 += chunk) {
    const n = Math.min(chunk, inst - p0);
    f.set(x.subarray(p0 * inF, (p0 + n) * inF), xsBase);
    fn(xsBase * 4, xpBase * 4, wBase * 4, bBase * 4, oBase * 4, n, group, rows, cols, IW, PH, PW, PW2, PHT * PW2 * 4,
      OW * 4, blocks, steps, KH, SH * PW2 * 4, DH * PW2 * 4, IH * IW, Cg, Mg, PSf * 4, tBase * 4, cBase * 4, OH * OW * 4, p0 % group);
    y.set(f.subarray(oBase, oBase + n * outF), p0 * outF);
  }
  return true;
}
