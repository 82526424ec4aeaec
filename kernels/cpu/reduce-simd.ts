// WebAssembly SIMD for float32 row reductions: Softmax rows (max, exp, sum, scale in one pass over wasm
// memory), float64 sums of contiguous runs (ReduceSum/ReduceMean, GlobalAveragePool) and float64
// accumulation of runs into per-output sums (reductions over a leading axis).
// Exactness against the JS loops (the reference, `setReduceSimd(false)`):
//  - Softmax: the max ignores NaN as `v > mx` does; exp is the SIMD exp of elementwise-simd-math.ts (its
//    reduction and polynomial; since x - max <= 0, one 2^k factor, and exps under 2^-126 flush to 0, so
//    outputs that would be float32 subnormals are 0: measured 10-20% less time); the float32 exps are summed in float64 (four lanes, then the lanes) instead
//    of left to right, and each output is the float32 product exp·f32(1/sum) where JS rounds the float64
//    product once: an output can differ from the JS path by 1 float32 ulp.
//  - sumRun: float64 sums of float32 values in four interleaved lanes (same caveat: the float64 sum moves
//    by ~n·2^-53 relative, the rounded float32 result by at most 1 ulp).
//  - accRun: acc[j] += x[j] in float64 element by element, bit for bit the JS loop.
import { ADD, D_ADD, F64, GE_S, I32, LT_U, MUL, PMAX, PROMOTE_LO, V128, assembleModule, f32lanes, get, i32c, lazyKernels, set, shuffle, simd, tee, vload, vstore } from './wasm-asm.js';
import { E, FIRST_CONST, F_ADD, F_LT, F_MUL, F_SUB, K, R, ROUND_MAGIC, ROUND_MAGIC_BITS, T, X, fconst, hoistConstants, horner } from './elementwise-simd-math.js';

const F_EQ = simd(0x41), ANDNOT = simd(0x4f);
const D_LANE = (i: number) => [...simd(0x21), i];
const F64_ADD = 0xa0, F64_DIV = 0xa3, F32_DEMOTE = 0xb6;
const f64const = (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)];
const v128zero = [...simd(0x0c), ...new Array<number>(16).fill(0)];
/** `do { body } while (q < end)` with q advanced by 16 bytes. */
const doWhile16 = (q: number, end: number, body: number[]) => [
  0x03, 0x40, ...body, ...get(q), ...i32c(16), ADD, ...tee(q), ...get(end), LT_U, 0x0d, 0, 0x0b,
];
/** lo += f64(v[0..1]), hi += f64(v[2..3]) for the f32x4 in local v. */
const accumulate = (v: number, lo: number, hi: number) => [
  ...get(lo), ...get(v), ...PROMOTE_LO, ...D_ADD, ...set(lo),
  ...get(hi), ...get(v), ...get(v), ...shuffle(f32lanes(2, 3, 2, 3)), ...PROMOTE_LO, ...D_ADD, ...set(hi),
];
/** The f64 sum of the lanes of lo + hi, on the stack. */
const lanesSum = (lo: number, hi: number) => [...get(lo), ...get(hi), ...D_ADD, ...tee(lo), ...D_LANE(0), ...get(lo), ...D_LANE(1), F64_ADD];

const I_SUB = simd(0xb1), I_SHL = simd(0xab);
/** ln(2^-126): below it exp(x) is under the smallest normal float32. */
const LN_MIN_NORMAL = -87.33654;
/** The int32 ROUND_MAGIC's bits - 127 in every lane (so bits(k + ROUND_MAGIC) - it = k + 127, the exponent
 * field of 2^k), as the float32 with those bits so fconst hoists it like the others. */
const ROUND_MAGIC_BIAS = new Float32Array(Int32Array.of(ROUND_MAGIC_BITS - 127).buffer)[0]!;

/**
 * exp(x) of local X for x <= 0, NaN or -Inf (softmax's shifted values): the reduction and polynomial of
 * elementwise-simd-math.ts's expOfX (Cephes expf), but with k >= -126 a single 2^k factor, and results
 * below the float32 normals (x < ln 2^-126) flushed to 0. Leaves the result on the stack.
 */
function expNonPositiveOfX(): number[] {
  return [
    ...get(X), ...fconst(LN_MIN_NORMAL), ...F_LT, ...set(E),
    // pmax(x, c) = `x < c ? c : x` keeps NaN in one instruction; k rounded and made an i32 through 1.5·2^23
    // as in expOfX (cheaper in V8 than max, nearest and trunc_sat).
    ...get(X), ...fconst(LN_MIN_NORMAL), ...PMAX, ...set(X),
    ...get(X), ...fconst(Math.LOG2E), ...F_MUL, ...fconst(ROUND_MAGIC), ...F_ADD, ...set(T),
    ...get(T), ...fconst(ROUND_MAGIC), ...F_SUB, ...set(K),
    ...get(X), ...get(K), ...fconst(0.693359375), ...F_MUL, ...F_SUB,
    ...get(K), ...fconst(-2.12194440e-4), ...F_MUL, ...F_SUB, ...set(R),
    ...horner(R, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]),
    ...get(R), ...F_MUL, ...get(R), ...F_MUL, ...get(R), ...F_ADD, ...fconst(1), ...F_ADD,
    ...get(T), ...fconst(ROUND_MAGIC_BIAS), ...I_SUB, ...i32c(23), ...I_SHL, ...F_MUL,
    ...get(E), ...ANDNOT,
  ];
}

/** Constant slots reserved after the exp scratch (softmax's hoisted constants must fit). */
const CONST_SLOTS = 24;

// softmax(base, rows, stride): rows of `stride` bytes at `base` (stride a multiple of 16, tails padded with
// -Inf), each replaced by its softmax. Locals: 0 base (the row), 1 limit, 2 stride, 3 q, 4 end, 5 spare (i32);
// 6.. the exp scratch, FIRST_CONST.. its constants, then MX, LO, HI, V, INV (v128).
function softmaxFn(): number[] {
  const [BASE, LIMIT, STRIDE, Q, END] = [0, 1, 2, 3, 4];
  const MX = FIRST_CONST + CONST_SLOTS, LO = MX + 1, HI = MX + 2, V = MX + 3, INV = MX + 4;
  const { body, prologue, count } = hoistConstants(() => [
    ...get(BASE), ...get(LIMIT), ...get(STRIDE), MUL, ADD, ...set(LIMIT),
    0x02, 0x40, 0x03, 0x40,
    ...get(BASE), ...get(LIMIT), GE_S, 0x0d, 1,
    ...get(BASE), ...get(STRIDE), ADD, ...set(END),
    // The max, ignoring NaN: pmax(m, v) = m < v ? v : m.
    ...fconst(-Infinity), ...set(MX), ...get(BASE), ...set(Q),
    ...doWhile16(Q, END, [...get(MX), ...get(Q), ...vload(), ...PMAX, ...set(MX)]),
    ...get(MX), ...get(MX), ...get(MX), ...shuffle(f32lanes(2, 3, 0, 1)), ...PMAX, ...set(MX),
    ...get(MX), ...get(MX), ...get(MX), ...shuffle(f32lanes(1, 0, 3, 2)), ...PMAX, ...set(MX),
    // All -Inf (or NaN): shift by 0 as the JS loop does.
    ...get(MX), ...get(MX), ...fconst(-Infinity), ...F_EQ, ...ANDNOT, ...set(MX),
    // e = exp(x - max), stored in place and summed in float64.
    ...v128zero, ...set(LO), ...v128zero, ...set(HI), ...get(BASE), ...set(Q),
    ...doWhile16(Q, END, [
      ...get(Q), ...vload(), ...get(MX), ...F_SUB, ...set(X), ...expNonPositiveOfX(), ...set(V),
      ...get(Q), ...get(V), ...vstore(),
      ...accumulate(V, LO, HI),
    ]),
    // y = e · f32(1/sum) in float32.
    ...f64const(1), ...lanesSum(LO, HI), F64_DIV, F32_DEMOTE, ...simd(0x13), ...set(INV),
    ...get(BASE), ...set(Q),
    ...doWhile16(Q, END, [...get(Q), ...get(Q), ...vload(), ...get(INV), ...F_MUL, ...vstore()]),
    ...get(BASE), ...get(STRIDE), ADD, ...set(BASE),
    0x0c, 0, 0x0b, 0x0b,
  ]);
  if (count > CONST_SLOTS) throw new Error(`reduce-simd: softmax needs ${count} constants, ${CONST_SLOTS} reserved`);
  return [2, 3, I32, 7 + CONST_SLOTS + 5, V128, ...prologue, ...body, 0x0b];
}

// sum(p, n4) -> f64: the float64 sum of 4·n4 floats at p. Locals: 0 p, 1 end (i32), 2 LO, 3 HI, 4 V (v128).
function sumFn(): number[] {
  const [P, END, LO, HI, V] = [0, 1, 2, 3, 4];
  return [
    1, 3, V128,
    ...v128zero, ...set(LO), ...v128zero, ...set(HI),
    ...get(P), ...get(END), ...i32c(16), MUL, ADD, ...set(END),
    ...get(P), ...get(END), LT_U, 0x04, 0x40,
    ...doWhile16(P, END, [...get(P), ...vload(), ...set(V), ...accumulate(V, LO, HI)]),
    0x0b,
    ...lanesSum(LO, HI),
    0x0b,
  ];
}

// acc(a, p, n4): float64 a[j] += float32 p[j] for 4·n4 elements. Locals: 0 a, 1 p, 2 end (i32), 3 V (v128).
function accFn(): number[] {
  const [A, P, END, V] = [0, 1, 2, 3];
  return [
    1, 1, V128,
    ...get(P), ...get(END), ...i32c(16), MUL, ADD, ...set(END),
    ...get(P), ...get(END), LT_U, 0x04, 0x40,
    ...doWhile16(P, END, [
      ...get(P), ...vload(), ...set(V),
      ...get(A), ...get(A), ...vload(), ...get(V), ...PROMOTE_LO, ...D_ADD, ...vstore(),
      ...get(A), ...get(A), ...vload(16), ...get(V), ...get(V), ...shuffle(f32lanes(2, 3, 2, 3)), ...PROMOTE_LO, ...D_ADD, ...vstore(16),
      ...get(A), ...i32c(32), ADD, ...set(A),
    ]),
    0x0b,
    0x0b,
  ];
}

interface Fns {
  softmax(base: number, rows: number, stride: number): void;
  sum(p: number, n4: number): number;
  acc(a: number, p: number, n4: number): void;
}

function assemble(): Uint8Array<ArrayBuffer> {
  return assembleModule([
    { name: 'softmax', params: [I32, I32, I32], results: [], body: softmaxFn() },
    { name: 'sum', params: [I32, I32], results: [F64], body: sumFn() },
    { name: 'acc', params: [I32, I32, I32], results: [], body: accFn() },
  ], 1);
}

const lazy = lazyKernels<Fns>(assemble, 1);
const kernels = lazy.get;

/** Turn these SIMD paths off or on (tests compare both); returns the previous setting. */
export const setReduceSimd = lazy.setEnabled;

/** Staging buffers larger than this are not made (the JS loops run instead). */
const MAX_STAGE_BYTES = 256 << 20;
/** Rows staged per softmax call. */
const SOFTMAX_CHUNK_BYTES = 1 << 17;

/** Softmax of `outer` float32 rows of `len` (inner = 1) from x into y; false where the SIMD path does not apply. */
export function simdSoftmaxRows(x: Float32Array, y: Float32Array, outer: number, len: number): boolean {
  if (len < 4) return false;
  const k = kernels();
  if (!k) return false;
  const stride = (len + 3) & ~3;
  if (stride * 4 > MAX_STAGE_BYTES) return false;
  const per = Math.max(1, Math.floor(SOFTMAX_CHUNK_BYTES / (stride * 4)));
  k.reserve(Math.min(per, outer) * stride * 4);
  const m = k.f32;
  for (let r0 = 0; r0 < outer; r0 += per) {
    const rows = Math.min(per, outer - r0);
    if (stride === len) {
      m.set(x.subarray(r0 * len, (r0 + rows) * len));
    } else {
      for (let r = 0; r < rows; r++) {
        const src = (r0 + r) * len;
        m.set(x.subarray(src, src + len), r * stride);
        m.fill(-Infinity, r * stride + len, (r + 1) * stride);
      }
    }
    k.fns.softmax(0, rows, stride * 4);
    if (stride === len) {
      y.set(m.subarray(0, rows * len), r0 * len);
    } else {
      for (let r = 0; r < rows; r++) y.set(m.subarray(r * stride, r * stride + len), (r0 + r) * len);
    }
  }
  return true;
}

/** Float32 data staged in wasm memory, with a float64 accumulator per output after it. */
export interface SumStage {
  /** The float64 sum of x[i0 .. i0+len) (lane-interleaved order). */
  sumRun(i0: number, len: number): number;
  /** acc[o0 + j] += x[i0 + j] for j < len, in float64 (exactly the JS loop). */
  accRun(o0: number, i0: number, len: number): void;
  /** Copy the accumulators out. */
  readAcc(out: Float64Array): void;
}

/** Stage x (and accLen float64 accumulators starting from `acc`) for SIMD sums; undefined where unavailable. */
export function stageSums(x: Float32Array, acc?: Float64Array): SumStage | undefined {
  const k = kernels();
  if (!k) return undefined;
  const accLen = acc?.length ?? 0;
  const accBase = ((x.length * 4 + 15) & ~15) + 16;
  const bytes = accBase + accLen * 8 + 32;
  if (bytes > MAX_STAGE_BYTES) return undefined;
  k.reserve(bytes);
  k.f32.set(x);
  if (acc) k.f64.set(acc, accBase / 8);
  const { sum, acc: accFnWasm } = k.fns;
  return {
    sumRun(i0, len) {
      const n4 = len >> 2;
      const m = k.f32;
      let s = n4 > 0 ? sum(i0 * 4, n4) : 0;
      for (let i = i0 + 4 * n4, e = i0 + len; i < e; i++) s += m[i]!;
      return s;
    },
    accRun(o0, i0, len) {
      const n4 = len >> 2;
      if (n4 > 0) accFnWasm(accBase + o0 * 8, i0 * 4, n4);
      const m = k.f32, a = k.f64, ab = accBase / 8 + o0;
      for (let j = 4 * n4; j < len; j++) a[ab + j]! += m[i0 + j]!;
    },
    readAcc(out) {
      out.set(k.f64.subarray(accBase / 8, accBase / 8 + out.length));
    },
  };
}
