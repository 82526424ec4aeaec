// WebAssembly SIMD code for a fused elementwise program (graph/ops/fused-program.ts): one function
// `run(nBytes)` that computes out[i] = program(in0[i], in1[i], ...) four lanes at a time over staged
// blocks of shared memory (fused-wasm.ts lays them out and fills them). Each instruction equals what
// the JS loop of fused-eval.ts computes (double, rounded to float32) bit for bit:
// - Add/Sub/Mul/Div/Min/Max/Sqrt/Neg/Abs/Floor/Ceil/Reciprocal in f32x4: one correctly rounded float32
//   operation on float32 operands equals the double result rounded (53 >= 2·24 + 2 bits), and min/max
//   propagate NaN and order -0 below +0 as Math.min/max do; Relu/Clip use pmax/pmin, which are exactly
//   `a < b ? b : a` / `b < a ? b : a`; LeakyRelu is a bitselect on `x < 0`; Where selects on `c != 0`
//   and `c == c` (JS truthiness), all with float32 constants.
// - HardSigmoid, HardSwish, and arithmetic with a constant float32 cannot hold, in f64x2: the lanes are
//   promoted (exact), computed with the same double operations in the same order as the JS (or ones
//   shown to round to the same float32: see HardSwish), and demoted (round to nearest even, as
//   Math.fround).
// - Exp/Log/Sigmoid/Tanh/Erf use the SIMD approximations of the unfused kernels (elementwise-simd-math.ts;
//   a few ulps from the JS loop's double functions, equal to the unfused ops on runs of 32 or more);
//   Gelu computes its inner term in double, rounds it, applies the SIMD tanh/erf and its outer product
//   in double, as the unfused Gelu kernel does.
// Pow has SIMD code only for the constant exponent 2 (a product); a program with another Pow stays on the JS loop.
// The program's constants and attribute values are parameters read from memory (programParams), so
// programs that differ only in them (each Conv's folded scale and shift) share one module: the code
// depends only on programKey, which keeps of each value what decides the code (whether float32 holds
// it, whether it is -0).
import { type Instr, type Operand, operandsOf, type Program } from '../../graph/ops/fused-program.js';
import { BITSELECT, F_ABS, F_DIV, F_LT, F_MUL, F_NEG, FIRST_CONST, erfOf, expOf, fconst, hoistConstants, logOf, sigmoidOf, tanhOf } from './elementwise-simd-math.js';
import { I32, PMAX, PMIN, V128, get, i32c, section, set, simd, str, uleb } from './wasm-asm.js';

/** Where a program input lives while the loop runs: a staged block region, or one splatted scalar. */
export type InputMode = 'region' | 'scalar';

/** The memory layout the generated code addresses (byte offsets in the shared memory). */
export interface Layout {
  /** Byte offset of input k's region (k < maxInputs). */
  region(k: number): number;
  readonly outRegion: number;
  /** Byte offset of input k's scalar slot (one float32). */
  scalar(k: number): number;
  /** Byte offset of the parameters (float64 each, in programParams order). */
  readonly params: number;
  readonly maxParams: number;
  readonly maxInputs: number;
  readonly pages: number;
}

const SIMD = {
  load: (off: number) => [0xfd, ...uleb(0x00), 4, ...uleb(off)],
  store: (off: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(off)],
  f32Splat: simd(0x13),
  promoteLow: simd(0x5f),
  demoteZero: simd(0x5e),
  // i8x16.shuffle: the high two float32 lanes of the first operand into the low two.
  highHalf: [0xfd, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15],
  // The low two lanes of each operand: [a0, a1, b0, b1].
  joinLow: [0xfd, 0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23],
};
const F32_OP = { Add: simd(0xe4), Sub: simd(0xe5), Mul: simd(0xe6), Div: simd(0xe7), Min: simd(0xe8), Max: simd(0xe9) } as const;
const F64_OP = { Add: simd(0xf0), Sub: simd(0xf1), Mul: simd(0xf2), Div: simd(0xf3), Min: simd(0xf4), Max: simd(0xf5) } as const;
const F_SQRT = simd(0xe3), F_CEIL = simd(0x67), F_FLOOR = simd(0x68), F_EQ = simd(0x41), F_NE = simd(0x42), V_AND = simd(0x4e);
const D_PMIN = simd(0xf6), D_PMAX = simd(0xf7), D_LT = simd(0x49);

const isF32 = (v: number): boolean => Number.isNaN(v) || Math.fround(v) === v;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Pow with the constant exponent 2: Math.pow(x, 2) equals the exact double x·x, so one float32 product rounds it the same. */
const isSquare = (i: Instr): boolean => i.op === 'Pow' && 'c' in i.y && i.y.c === 2;

/** Why a program cannot be compiled (it then runs on the JS loop). */
export class Unsupported extends Error {}

/** The attributes of an instruction that are parameters, in order. */
const ATTR_PARAMS: Partial<Record<Instr['op'], readonly ('lo' | 'hi' | 'alpha' | 'beta')[]>> = { Clip: ['lo', 'hi'], LeakyRelu: ['alpha'], HardSigmoid: ['alpha', 'beta'] };
type AttrName = 'lo' | 'hi' | 'alpha' | 'beta';
const attrOf = (i: Instr, a: AttrName): number => (i as unknown as Record<AttrName, number>)[a];

/** Each constant operand and parameter attribute of p, in the order the module reads them. */
function eachParam(p: Program, f: (value: number, at: Operand | [Instr, AttrName]) => void): void {
  for (const i of p.code) {
    for (const o of operandsOf(i)) if ('c' in o) f(o.c, o);
    for (const a of ATTR_PARAMS[i.op] ?? []) f(attrOf(i, a), [i, a]);
  }
}

/** The values the module of p reads at run time. */
export function programParams(p: Program): Float64Array {
  const out: number[] = [];
  eachParam(p, (v) => out.push(v));
  return Float64Array.from(out);
}

/** What p's module depends on: the program with each parameter reduced to the choices it makes. */
export function programKey(p: Program): string {
  const kind = (v: number) => (Object.is(v, -0) ? 'z' : isF32(v) ? 'f' : 'd');
  const o = (x: Operand) => ('in' in x ? `i${x.in}` : 't' in x ? `t${x.t}` : `c${kind(x.c)}`);
  // Pow by a constant 2 is a product (squareOf): that value decides the code.
  return p.code.map((i) => [i.op, ...operandsOf(i).map(o), ...(isSquare(i) ? ['sq'] : []), ...(ATTR_PARAMS[i.op] ?? []).map((a) => kind(attrOf(i, a))), ...(i.op === 'Gelu' && i.tanh ? ['tanh'] : [])].join(' ')).join(';');
}

interface Ctx {
  /** Parameter attribute `a` of instruction i as float32 lanes (float32 holds it) or float64 lanes. */
  pf(i: Instr, a: AttrName): number[];
  pd(i: Instr, a: AttrName): number[];
  /** Pushes operand o as float32 lanes. */
  f(o: Operand): number[];
  /** Pushes half h (0: lanes 0-1, 1: lanes 2-3) of operand o as float64 lanes. */
  d(o: Operand, h: 0 | 1): number[];
  /** A float64 constant in both lanes. */
  dc(v: number): number[];
  /** Promotes half h of the float32 lanes `v` pushes. */
  promote(v: number[], h: 0 | 1): number[];
  /** A float32 constant in all four lanes. */
  fc(v: number): number[];
  /** Two scratch v128 locals of this function (Gelu's intermediates). */
  scratch: readonly [number, number];
}

/** A double computation on each half, demoted and joined back into four float32 lanes. */
function inF64(half: (h: 0 | 1) => number[]): number[] {
  return [...half(0), ...SIMD.demoteZero, ...half(1), ...SIMD.demoteZero, ...SIMD.joinLow];
}

/** The code pushing instruction i's result (float32 lanes). */
function instrCode(i: Instr, c: Ctx): number[] {
  const constOk = (o: Operand) => !('c' in o) || isF32(o.c);
  const x = i.x;
  // Other than the arithmetic (done in double then), an op takes a constant operand only where float32
  // holds it (else the JS loop).
  if (!(i.op in F32_OP) && !operandsOf(i).every(constOk)) throw new Unsupported(`${i.op} of a constant float32 cannot hold`);
  switch (i.op) {
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Min': case 'Max': {
      const { op, y } = i;
      if (constOk(x) && constOk(y)) return [...c.f(x), ...c.f(y), ...F32_OP[op]];
      return inF64((h) => [...c.d(x, h), ...c.d(y, h), ...F64_OP[op]]);
    }
    case 'Neg': return [...c.f(x), ...F_NEG];
    case 'Abs': return [...c.f(x), ...F_ABS];
    case 'Sqrt': return [...c.f(x), ...F_SQRT];
    case 'Floor': return [...c.f(x), ...F_FLOOR];
    case 'Ceil': return [...c.f(x), ...F_CEIL];
    case 'Reciprocal': return [...c.fc(1), ...c.f(x), ...F_DIV];
    case 'Relu': return [...c.f(x), ...c.fc(0), ...PMAX];
    case 'Clip':
      if (isF32(i.lo) && isF32(i.hi)) return [...c.f(x), ...c.pf(i, 'lo'), ...PMAX, ...c.pf(i, 'hi'), ...PMIN];
      return inF64((h) => [...c.d(x, h), ...c.pd(i, 'lo'), ...D_PMAX, ...c.pd(i, 'hi'), ...D_PMIN]);
    case 'LeakyRelu':
      if (isF32(i.alpha)) return [...c.f(x), ...c.pf(i, 'alpha'), ...F_MUL, ...c.f(x), ...c.f(x), ...c.fc(0), ...F_LT, ...BITSELECT];
      return inF64((h) => [...c.d(x, h), ...c.pd(i, 'alpha'), ...F64_OP.Mul, ...c.d(x, h), ...c.d(x, h), ...c.dc(0), ...D_LT, ...BITSELECT]);
    // Math.max(0, Math.min(1, v)) is pmax(pmin(v, 1), 0) (single instructions, where min/max take
    // several) unless v can be -0: pmin keeps a NaN v and orders v against 1 as Math.min does, and
    // pmax(v, 0) differs from Math.max(0, v) only at v = -0. alpha * x + beta is -0 only if beta is.
    case 'HardSigmoid': {
      const [mn, mx] = Object.is(i.beta, -0) ? [F64_OP.Min, F64_OP.Max] : [D_PMIN, D_PMAX];
      return inF64((h) => [...c.pd(i, 'alpha'), ...c.d(x, h), ...F64_OP.Mul, ...c.pd(i, 'beta'), ...F64_OP.Add, ...c.dc(1), ...mn, ...c.dc(0), ...mx]);
    }
    // x * Math.max(0, Math.min(1, x / 6 + 0.5)); x / 6 + 0.5 is never -0. x * (1 / 6) in place of the
    // slow division rounds to the same float32 for every float32 x (checked exhaustively over all 2^32;
    // the tests sweep a sample of them), though not to the same double.
    case 'HardSwish':
      return inF64((h) => [...c.d(x, h), ...c.d(x, h), ...c.dc(1 / 6), ...F64_OP.Mul, ...c.dc(0.5), ...F64_OP.Add, ...c.dc(1), ...D_PMIN, ...c.dc(0), ...D_PMAX, ...F64_OP.Mul]);
    case 'Exp': return expOf(c.f(x));
    case 'Sigmoid': return sigmoidOf(c.f(x));
    case 'Tanh': return tanhOf(c.f(x));
    case 'Erf': return erfOf(c.f(x));
    case 'Log': return logOf(c.f(x));
    case 'Gelu': {
      // As geluRun: the inner term rounded to float32, SIMD tanh/erf of it, then 0.5 * x * (1 + that).
      const [g, u] = c.scratch;
      const inner = i.tanh
        ? inF64((h) => [...c.dc(SQRT_2_OVER_PI), ...c.d(x, h), ...c.dc(0.044715), ...c.d(x, h), ...F64_OP.Mul, ...c.d(x, h), ...F64_OP.Mul, ...c.d(x, h), ...F64_OP.Mul, ...F64_OP.Add, ...F64_OP.Mul])
        : inF64((h) => [...c.d(x, h), ...c.dc(Math.SQRT1_2), ...F64_OP.Mul]);
      return [
        ...inner, ...set(g),
        ...(i.tanh ? tanhOf(get(g)) : erfOf(get(g))), ...set(u),
        ...inF64((h) => [...c.dc(0.5), ...c.d(x, h), ...F64_OP.Mul, ...c.dc(1), ...c.promote(get(u), h), ...F64_OP.Add, ...F64_OP.Mul]),
      ];
    }
    // JS truthiness of the condition: neither 0, -0 nor NaN.
    case 'Where': return [...c.f(x), ...c.f(i.y), ...c.f(i.cond), ...c.fc(0), ...F_NE, ...c.f(i.cond), ...c.f(i.cond), ...F_EQ, ...V_AND, ...BITSELECT];
    case 'Pow':
      if (isSquare(i)) return [...c.f(x), ...c.f(x), ...F_MUL];
      throw new Unsupported('Pow has SIMD code only for the exponent 2');
  }
}

/** The function body (locals, prologue, loop) with this function's own locals from `base`. */
function body(p: Program, modes: readonly (InputMode | undefined)[], layout: Layout, base: number): { code: number[]; hoisted: number } {
  const inLocal = (k: number) => base + k;
  const temp = (k: number) => base + layout.maxInputs + k;
  const scratch: [number, number] = [temp(p.code.length), temp(p.code.length) + 1];
  let next = scratch[1] + 1;
  const dconsts = new Map<string, number>();
  const dprologue: number[] = [];
  const dc = (v: number): number[] => {
    const bytes = [...new Uint8Array(Float64Array.of(v, v).buffer)];
    const key = bytes.join(',');
    let l = dconsts.get(key);
    if (l === undefined) {
      dconsts.set(key, (l = next++));
      dprologue.push(0xfd, 0x0c, ...bytes, ...set(l));
    }
    return get(l);
  };
  // Parameters: a float32 splat and/or a float64 splat local each, loaded once per call.
  const slot = new Map<Operand | string, number>();
  let count = 0;
  const attrKey = (i: Instr, a: AttrName) => `${p.code.indexOf(i)}.${a}`;
  eachParam(p, (_v, at) => slot.set(Array.isArray(at) ? attrKey(at[0], at[1]) : at, count++));
  if (count > layout.maxParams) throw new Unsupported(`more than ${layout.maxParams} constants`);
  const paramLocals = new Map<string, number>();
  const pprologue: number[] = [];
  const param = (k: number, f64: boolean): number[] => {
    const key = `${k}${f64 ? 'd' : 'f'}`;
    let l = paramLocals.get(key);
    if (l === undefined) {
      paramLocals.set(key, (l = next++));
      // f64.load, then f64x2.splat, or f32.demote_f64 (exact: float32 holds it) and f32x4.splat.
      pprologue.push(...i32c(layout.params + 8 * k), 0x2b, 3, 0, ...(f64 ? simd(0x14) : [0xb6, ...SIMD.f32Splat]), ...set(l));
    }
    return get(l);
  };
  const f = (o: Operand): number[] => ('in' in o ? get(inLocal(o.in)) : 't' in o ? get(temp(o.t)) : param(slot.get(o)!, false));
  const promote = (v: number[], h: 0 | 1): number[] => (h === 0 ? [...v, ...SIMD.promoteLow] : [...v, ...v, ...SIMD.highHalf, ...SIMD.promoteLow]);
  const d = (o: Operand, h: 0 | 1): number[] => ('c' in o ? param(slot.get(o)!, true) : promote(f(o), h));
  const pf = (i: Instr, a: AttrName) => param(slot.get(attrKey(i, a))!, false);
  const pd = (i: Instr, a: AttrName) => param(slot.get(attrKey(i, a))!, true);
  const ctx: Ctx = { f, d, dc, pf, pd, promote, fc: fconst, scratch };
  const I = 1;
  const { body: loop, prologue, count: hoisted } = hoistConstants(() => {
    const loads = modes.flatMap((m, k) => (m === 'region' ? [...get(I), ...SIMD.load(layout.region(k)), ...set(inLocal(k))] : []));
    const instrs = p.code.flatMap((i, k) => [...instrCode(i, ctx), ...set(temp(k))]);
    return [
      0x02, 0x40, 0x03, 0x40,
      ...get(I), ...get(0), 0x4e, 0x0d, 1, // i >= nBytes: break
      ...loads,
      ...instrs,
      ...get(I), ...get(temp(p.code.length - 1)), ...SIMD.store(layout.outRegion),
      ...get(I), ...i32c(16), 0x6a, ...set(I),
      0x0c, 0, 0x0b, 0x0b,
    ];
  });
  const scalars = modes.flatMap((m, k) => (m === 'scalar' ? [...i32c(layout.scalar(k)), 0x2a, 2, 0, ...SIMD.f32Splat, ...set(inLocal(k))] : []));
  const locals = [2, 1, I32, ...uleb(next - 2), V128];
  return { code: [...locals, ...prologue, ...dprologue, ...pprologue, ...scalars, ...loop, 0x0b], hoisted };
}

/** A constant that inlined program code reads: `value` in four float32 or two float64 lanes. */
export interface InlineConstant { readonly f64: boolean; readonly value: number }

/** Ops whose code needs the math sequences' fixed scratch locals, or a second input (not inlined); Pow inlines where it has code (the square). */
const NOT_INLINED: ReadonlySet<Instr['op']> = new Set(['Exp', 'Sigmoid', 'Tanh', 'Erf', 'Log', 'Gelu', 'Where']);

/**
 * Program p of one input (in0) as code inlined in another kernel (a conv applying its epilogue to each
 * accumulator before the store), bit for bit the module's code: pushes p's result for the f32x4 in local
 * `input`, using v128 locals temps .. temps + p.code.length - 1. The kernel supplies each constant
 * (`constant` returns code pushing it, e.g. a hoisted local); the requests' order and kinds depend only on
 * programKey(p). Throws Unsupported for the ops above and for inputs other than in0.
 */
export function inlineProgram(p: Program, input: number, temps: number, constant: (c: InlineConstant) => number[]): number[] {
  const f = (o: Operand): number[] => {
    if ('in' in o) {
      if (o.in !== 0) throw new Unsupported('inlined programs read only input 0');
      return get(input);
    }
    return 't' in o ? get(temps + o.t) : constant({ f64: false, value: o.c });
  };
  const promote = (v: number[], h: 0 | 1): number[] => (h === 0 ? [...v, ...SIMD.promoteLow] : [...v, ...v, ...SIMD.highHalf, ...SIMD.promoteLow]);
  const ctx: Ctx = {
    f,
    d: (o, h) => ('c' in o ? constant({ f64: true, value: o.c }) : promote(f(o), h)),
    dc: (v) => constant({ f64: true, value: v }),
    pf: (i, a) => constant({ f64: false, value: attrOf(i, a) }),
    pd: (i, a) => constant({ f64: true, value: attrOf(i, a) }),
    fc: (v) => constant({ f64: false, value: v }),
    promote,
    scratch: [-1, -1],
  };
  return p.code.flatMap((i, k) => {
    if (NOT_INLINED.has(i.op)) throw new Unsupported(`${i.op} is not inlined`);
    return [...instrCode(i, ctx), ...set(temps + k)];
  }).concat(get(temps + p.code.length - 1));
}

/**
 * The module of program `p` with its inputs in `modes` (undefined: not read), exporting
 * `run(nBytes)`; throws Unsupported where some instruction has no SIMD code.
 */
export function fusedModule(p: Program, modes: readonly (InputMode | undefined)[], layout: Layout): Uint8Array<ArrayBuffer> {
  if (modes.length > layout.maxInputs) throw new Unsupported(`more than ${layout.maxInputs} inputs`);
  // The math sequences hoist their constants into locals from FIRST_CONST; this function's own locals
  // follow them, so build once to count them, then again with the final base.
  const first = body(p, modes, layout, FIRST_CONST + 4096);
  const { code } = body(p, modes, layout, FIRST_CONST + first.hoisted);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, I32, 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(layout.pages)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('run'), 0x00, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}

/**
 * A module exporting `fill(dst, table, first, rowLength, n)`: n float32 at byte offset dst, row by row,
 * each row the splat of the next float32 of `table`, the first row `first` elements in already. Rows are
 * written with whole vectors; one that spills past its row end is overwritten by the next row (the
 * last spills up to 3 elements past n, into the region's padding).
 */
export function fillModule(pages: number): Uint8Array<ArrayBuffer> {
  const DST = 0, TBL = 1, REM = 2, R = 3, N = 4, POS = 5, END = 6, P = 7, ENDB = 8, V = 9;
  const lt = (a: number, b: number) => [...get(a), ...get(b), 0x4e, 0x0d, 1]; // a >= b: break out
  const code = [
    2, 4, I32, 1, V128,
    ...get(R), ...get(REM), 0x6b, ...set(REM),
    0x02, 0x40, 0x03, 0x40,
    ...lt(POS, N),
    ...get(TBL), 0x2a, 2, 0, ...simd(0x13), ...set(V),
    ...get(TBL), ...i32c(4), 0x6a, ...set(TBL),
    ...get(POS), ...get(REM), 0x6a, ...set(END),
    ...get(N), ...get(END), ...get(END), ...get(N), 0x4a, 0x1b, ...set(END), // end = min(end, n)
    ...get(DST), ...get(POS), ...i32c(2), 0x74, 0x6a, ...set(P),
    ...get(DST), ...get(END), ...i32c(2), 0x74, 0x6a, ...set(ENDB),
    0x02, 0x40, 0x03, 0x40,
    ...lt(P, ENDB),
    ...get(P), ...get(V), ...SIMD.store(0),
    ...get(P), ...i32c(16), 0x6a, ...set(P),
    0x0c, 0, 0x0b, 0x0b,
    ...get(END), ...set(POS), ...get(R), ...set(REM),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 5, I32, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(pages)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('fill'), 0x00, 0]),
    ...section(10, [1, ...uleb(code.length), ...code]),
  ]);
}
