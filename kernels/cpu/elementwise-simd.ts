// WebAssembly SIMD loops for the hottest float32 elementwise ops (Add, Sub, Mul, Div, Min, Max, Clip, Relu,
// LeakyRelu, Abs, Neg, Sqrt; Exp, Sigmoid, Tanh, Erf from elementwise-simd-math.ts), assembled
// from opcodes like the GEMM micro-kernel. JS loops over typed arrays cost a few ns per element; these
// stage operands in wasm memory with TypedArray.set (a memcpy) and do four lanes per instruction.
// Results are bit-identical to the JS loops: one IEEE float32 add/sub/mul/div of float32 operands equals
// the double result rounded to float32, and Clip/Relu use pmin/pmax, which are exactly `b < a ? b : a`
// and `a < b ? b : a` (NaN and -0 pass as in the JS comparisons); min/max propagate NaN and order -0 below
// +0, as Math.min/Math.max do. The transcendental ones are approximations (a few ulps; see their file).
import { F32, I32, V128, get, section, set, simd, simdAllowed, str, uleb } from './wasm-asm.js';
import { BITSELECT, F_LT, F_MUL, SCRATCH_V128, erfOf, expOf, fconst, hoistConstants, logOf, sigmoidOf, tanhOf } from './elementwise-simd-math.js';

/** Floats per staging region (the longest run one call handles). */
const CHUNK = 16384;
const A_BASE = 0, B_BASE = CHUNK * 4, O_BASE = CHUNK * 8;

export type SimdBinOp = 'add' | 'sub' | 'mul' | 'div' | 'min' | 'max';
export type SimdUnOp = 'abs' | 'neg' | 'sqrt' | 'exp' | 'log' | 'sigmoid' | 'tanh' | 'erf';
const BIN_CODE: Record<SimdBinOp, number> = { add: 0xe4, sub: 0xe5, mul: 0xe6, div: 0xe7, min: 0xe8, max: 0xe9 };
const PMIN = 0xea, PMAX = 0xeb;

const load = (off: number) => [0xfd, ...uleb(0x00), 4, ...uleb(off)];
const store = (off: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(off)];
const SPLAT = 0x13;

// Every function: params (0 nBytes i32, 1 s f32, 2 t f32); locals 3 i (i32), 4 vs, 5 vt (v128), then the
// math sequences' v128 scratch (6...).
const N = 0, S = 1, T = 2, I = 3, VS = 4, VT = 5;
const A = [...get(I), ...load(A_BASE)];
const B = [...get(I), ...load(B_BASE)];

/** `for (i = 0; i < n; i += 16) O[i] = expr` with vs, vt the splatted scalars (constants set before the loop). */
function loopFn(build: () => number[]): number[] {
  const { body: expr, prologue, count } = hoistConstants(build);
  const body = [
    2, 1, I32, 2 + SCRATCH_V128 + count, V128,
    ...prologue,
    ...get(S), ...simd(SPLAT), ...set(VS),
    ...get(T), ...simd(SPLAT), ...set(VT),
    0x02, 0x40, 0x03, 0x40,
    ...get(I), ...get(N), 0x4e, 0x0d, 1, // i >= n: break
    ...get(I), ...expr, ...store(O_BASE),
    ...get(I), 0x41, 16, 0x6a, ...set(I),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  return [...uleb(body.length), ...body];
}

const FNS: [string, () => number[]][] = [];
for (const op of Object.keys(BIN_CODE) as SimdBinOp[]) {
  const c = BIN_CODE[op];
  FNS.push([`vv_${op}`, () => [...A, ...B, ...simd(c)]]);
  FNS.push([`vs_${op}`, () => [...A, ...get(VS), ...simd(c)]]);
  FNS.push([`sv_${op}`, () => [...get(VS), ...A, ...simd(c)]]);
}
FNS.push(['clip', () => [...A, ...get(VS), ...simd(PMAX), ...get(VT), ...simd(PMIN)]]);
// abs, neg (sign bit) and sqrt (correctly rounded) are exact in float32.
const UN_CODE: Partial<Record<SimdUnOp, number>> = { abs: 0xe0, neg: 0xe1, sqrt: 0xe3 };
for (const [op, c] of Object.entries(UN_CODE)) FNS.push([`u_${op}`, () => [...A, ...simd(c)]]);
FNS.push(['u_exp', () => expOf(A)], ['u_log', () => logOf(A)], ['u_sigmoid', () => sigmoidOf(A)], ['u_tanh', () => tanhOf(A)], ['u_erf', () => erfOf(A)]);
// exp(a - s): the softmax numerator.
FNS.push(['u_expsub', () => expOf([...A, ...get(VS), ...simd(0xe5)])]);
// LeakyRelu: a < 0 ? s·a : a (bitselect keeps NaN and -0 as the JS comparison does).
FNS.push(['leaky', () => [...A, ...get(VS), ...F_MUL, ...A, ...A, ...fconst(0), ...F_LT, ...BITSELECT]]);

function assemble(): Uint8Array<ArrayBuffer> {
  const exports = FNS.flatMap(([name], i) => [...str(name), 0x00, ...uleb(i)]);
  const code = FNS.flatMap(([, expr]) => loopFn(expr));
  const pages = Math.ceil((O_BASE + CHUNK * 4) / 65536);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, I32, F32, F32, 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(pages)]),
    ...section(3, [...uleb(FNS.length), ...FNS.map(() => 0)]),
    ...section(7, [...uleb(FNS.length), ...exports]),
    ...section(10, [...uleb(FNS.length), ...code]),
  ]);
}

type Fn = (nBytes: number, s: number, t: number) => void;
interface Simd {
  a: Float32Array;
  b: Float32Array;
  o: Float32Array;
  fns: Record<string, Fn>;
  /** Per binary op: vector-vector, vector-scalar, scalar-vector (looked up once, not per run). */
  bin: Record<SimdBinOp, { vv: Fn; vs: Fn; sv: Fn }>;
}

let cached: Simd | null | undefined;
let enabled = true;

/** Turn the SIMD elementwise path off or on (tests cover both paths); returns the previous setting. */
export function setElementwiseSimd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function instance(): Simd | undefined {
  if (!enabled) return undefined;
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    if (!simdAllowed()) return undefined;
    const bin = assemble();
    if (!WebAssembly.validate(bin)) return undefined;
    const pages = Math.ceil((O_BASE + CHUNK * 4) / 65536);
    const mem = new WebAssembly.Memory({ initial: pages });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
    const fns = inst.exports as unknown as Record<string, Fn>;
    const table = {} as Simd['bin'];
    for (const op of Object.keys(BIN_CODE) as SimdBinOp[]) table[op] = { vv: fns[`vv_${op}`]!, vs: fns[`vs_${op}`]!, sv: fns[`sv_${op}`]! };
    cached = {
      a: new Float32Array(mem.buffer, A_BASE, CHUNK),
      b: new Float32Array(mem.buffer, B_BASE, CHUNK),
      o: new Float32Array(mem.buffer, O_BASE, CHUNK),
      fns,
      bin: table,
    };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** Runs shorter than this stay in JS (the call and staging cost more than they save). */
const MIN_RUN = 32;

/**
 * out[o..o+n) = a[xa + i*sa] op b[xb + i*sb] for float32 arrays with strides 0 or 1 (not both 0).
 * Returns false (nothing written) where the SIMD path does not apply.
 */
export function simdBinary(op: SimdBinOp, out: unknown, a: unknown, b: unknown, o: number, xa: number, sa: number, xb: number, sb: number, n: number): boolean {
  if (n < MIN_RUN || !(out instanceof Float32Array) || !(a instanceof Float32Array) || !(b instanceof Float32Array)) return false;
  if ((sa !== 0 && sa !== 1) || (sb !== 0 && sb !== 1) || (sa === 0 && sb === 0)) return false;
  const s = instance();
  if (!s) return false;
  const fns = s.bin[op];
  const sa1 = sa === 1;
  const sb1 = sb === 1;
  const fn = sa1 && sb1 ? fns.vv : sb1 ? fns.sv : fns.vs;
  const scalar = sa1 && sb1 ? 0 : sb1 ? a[xa]! : b[xb]!;
  // The vector operand of a vector-scalar op is staged in a.
  const v = sa1 ? a : b;
  const xv = sa1 ? xa : xb;
  for (let off = 0; off < n; off += CHUNK) {
    const m = Math.min(CHUNK, n - off);
    s.a.set(v.subarray(xv + off, xv + off + m));
    if (sa1 && sb1) s.b.set(b.subarray(xb + off, xb + off + m));
    fn(((m + 3) >> 2) << 4, scalar, 0);
    out.set(s.o.subarray(0, m), o + off);
  }
  return true;
}

/** out = clamp of a to [lo, hi] as `v < lo ? lo : v`, then `v > hi ? hi : v`; false where SIMD does not apply. */
export function simdClip(a: unknown, out: unknown, lo: number, hi: number): boolean {
  // Bounds that float32 cannot hold exactly compare differently in float32 than in double.
  if (Math.fround(lo) !== lo && !Number.isNaN(lo)) return false;
  if (Math.fround(hi) !== hi && !Number.isNaN(hi)) return false;
  return simdMap('clip', a, out, lo, hi);
}

/** out = a < 0 ? alpha·a : a; false where SIMD does not apply (alpha must be a float32 for equal products). */
export function simdLeakyRelu(a: unknown, out: unknown, alpha: number): boolean {
  if (Math.fround(alpha) !== alpha) return false;
  return simdMap('leaky', a, out, alpha, 0);
}

/** out = op(a) elementwise for float32 arrays; false where the SIMD path does not apply. */
export function simdUnary(op: SimdUnOp, a: unknown, out: unknown): boolean {
  return simdMap(`u_${op}`, a, out, 0, 0);
}

/** out[o..o+n) = exp(a[x..x+n) - shift) (float32 arithmetic); false where SIMD does not apply. */
export function simdExpShifted(a: unknown, x: number, out: unknown, o: number, n: number, shift: number): boolean {
  if (n < MIN_RUN || !(out instanceof Float32Array) || !(a instanceof Float32Array)) return false;
  const s = instance();
  if (!s) return false;
  const fn = s.fns.u_expsub!;
  for (let off = 0; off < n; off += CHUNK) {
    const m = Math.min(CHUNK, n - off);
    s.a.set(a.subarray(x + off, x + off + m));
    fn(((m + 3) >> 2) << 4, shift, 0);
    out.set(s.o.subarray(0, m), o + off);
  }
  return true;
}

function simdMap(name: string, a: unknown, out: unknown, p: number, q: number): boolean {
  if (!(out instanceof Float32Array) || !(a instanceof Float32Array) || out.length < MIN_RUN) return false;
  const s = instance();
  if (!s) return false;
  const fn = s.fns[name]!;
  const n = out.length;
  for (let off = 0; off < n; off += CHUNK) {
    const m = Math.min(CHUNK, n - off);
    s.a.set(a.subarray(off, off + m));
    fn(((m + 3) >> 2) << 4, p, q);
    out.set(s.o.subarray(0, m), off);
  }
  return true;
}
