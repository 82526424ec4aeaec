// WebAssembly SIMD code for float32 exp, sigmoid, tanh and erf, as instruction sequences that
// elementwise-simd.ts puts in its loops. Each works on four lanes in float32 and is accurate to a few
// float32 ulps (tests/kernels/elementwise-simd-math.test.ts measures it against float64 over the whole
// range): exp is Cephes' expf (range reduction by ln 2 in two parts, a degree-6 polynomial, the power of
// two applied in two halves so results down to the subnormals and up to overflow come out right);
// sigmoid is 1 / (1 + exp(-x)); tanh is Cephes' tanhf (an odd polynomial below 0.625, else
// 1 - 2 / (exp(2|x|) + 1) with the sign put back); erf is the rational approximation Eigen and XLA use
// on [-4, 4], where float32 erf reaches ±1. NaN gives NaN, ±Inf the limits.
import { PMAX, PMIN, get, i32c, set, simd } from './wasm-asm.js';

// Locals the sequences use (declared by the loop in elementwise-simd.ts): v128 scratch.
export const X = 6, K = 7, R = 8, E = 9, T = 10, X0 = 11, AX = 12;
export const SCRATCH_V128 = 7;
const SCRATCH_V128_COUNT = SCRATCH_V128;

const op = simd;

const f32bytes = (v: number): number[] => [...new Uint8Array(Float32Array.of(v).buffer)];
const i32bytes = (v: number): number[] => [...new Uint8Array(Int32Array.of(v).buffer)];
const vconst = (bytes: number[]): number[] => [0xfd, 0x0c, ...bytes, ...bytes, ...bytes, ...bytes];

/**
 * Constants of the function being built, hoisted into v128 locals (from FIRST_CONST) that its prologue
 * sets once: a v128.const inside the loop costs V8 several instructions per use.
 */
export const FIRST_CONST = X + SCRATCH_V128_COUNT;
let hoisted: Map<string, { local: number; bytes: number[] }> | undefined;

function constant(bytes: number[]): number[] {
  if (!hoisted) return vconst(bytes);
  const key = bytes.join(',');
  let c = hoisted.get(key);
  if (!c) {
    c = { local: FIRST_CONST + hoisted.size, bytes };
    hoisted.set(key, c);
  }
  return get(c.local);
}

/** Build a loop body with its constants hoisted: the body, the prologue that sets them, and their count. */
export function hoistConstants(build: () => number[]): { body: number[]; prologue: number[]; count: number } {
  hoisted = new Map();
  try {
    const body = build();
    const prologue = [...hoisted.values()].flatMap((c) => [...vconst(c.bytes), ...set(c.local)]);
    return { body, prologue, count: hoisted.size };
  } finally {
    hoisted = undefined;
  }
}

/** One float32 in every lane. */
export const fconst = (v: number): number[] => constant(f32bytes(v));
const iconst = (v: number): number[] => constant(i32bytes(v));

export const F_ABS = op(0xe0), F_NEG = op(0xe1), F_ADD = op(0xe4), F_SUB = op(0xe5), F_MUL = op(0xe6), F_DIV = op(0xe7);
export const F_LT = op(0x43), F_GE = op(0x46), BITSELECT = op(0x52);
const I_ADD = op(0xae), I_SUB = op(0xb1), I_SHL = op(0xab), I_SHR_S = op(0xac);
/** 1.5·2^23: a float32 in [2^23, 2^24) has integer spacing, so x + this is x rounded, in the low mantissa bits. */
export const ROUND_MAGIC = 12582912;
/** ROUND_MAGIC's bits: bits(k + ROUND_MAGIC) - this is the integer k. */
export const ROUND_MAGIC_BITS = 0x4b400000;

/** A polynomial in local `v` by Horner's rule, highest coefficient first. */
export function horner(v: number, coeffs: readonly number[]): number[] {
  const out = [...fconst(coeffs[0]!)];
  for (const c of coeffs.slice(1)) out.push(...get(v), ...F_MUL, ...fconst(c), ...F_ADD);
  return out;
}

/** exp of local X (which it overwrites); leaves the result on the stack. Uses K, R, E, T. */
export function expOfX(): number[] {
  return [
    // Beyond these the result is 0 or Inf anyway; clamping keeps k in range. pmin(x, c) is `c < x ? c : x`,
    // so NaN stays NaN, in one instruction (min/max cost V8 about eight for their NaN and -0 rules).
    ...get(X), ...fconst(89), ...PMIN, ...fconst(-104), ...PMAX, ...set(X),
    // k = nearest(x·log2e): adding 1.5·2^23 rounds to an integer (to nearest even, as nearest does) whose
    // bits, less the constant's, are k as an i32 (one integer subtract, where trunc_sat costs V8 about seven).
    ...get(X), ...fconst(Math.LOG2E), ...F_MUL, ...fconst(ROUND_MAGIC), ...F_ADD, ...set(E),
    ...get(E), ...fconst(ROUND_MAGIC), ...F_SUB, ...set(K),
    ...get(E), ...iconst(ROUND_MAGIC_BITS), ...I_SUB, ...set(E),
    // r = x - k·ln2, with ln2 in two parts so k·C1 is exact.
    ...get(X), ...get(K), ...fconst(0.693359375), ...F_MUL, ...F_SUB,
    ...get(K), ...fconst(-2.12194440e-4), ...F_MUL, ...F_SUB, ...set(R),
    // e^r ≈ 1 + r + r²·P(r)
    ...horner(R, [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]),
    ...get(R), ...F_MUL, ...get(R), ...F_MUL, ...get(R), ...F_ADD, ...fconst(1), ...F_ADD,
    // · 2^(k>>1) · 2^(k - (k>>1)): each factor is a normal float for k in [-150, 128].
    ...get(E), ...i32c(1), ...I_SHR_S, ...set(T),
    ...get(T), ...iconst(127), ...I_ADD, ...i32c(23), ...I_SHL, ...F_MUL,
    ...get(E), ...get(T), ...I_SUB, ...iconst(127), ...I_ADD, ...i32c(23), ...I_SHL, ...F_MUL,
  ];
}

/** exp(a) for the value `a` pushes. */
export function expOf(a: number[]): number[] {
  return [...a, ...set(X), ...expOfX()];
}

/** 1 / (1 + exp(-a)). */
export function sigmoidOf(a: number[]): number[] {
  return [...fconst(1), ...a, ...F_NEG, ...set(X), ...expOfX(), ...fconst(1), ...F_ADD, ...F_DIV];
}

/** tanh(a). */
export function tanhOf(a: number[]): number[] {
  return [
    ...a, ...set(X0),
    ...get(X0), ...F_ABS, ...set(AX),
    // |x| ≥ 0.625: 1 - 2 / (exp(2|x|) + 1)
    ...fconst(1), ...fconst(2),
    ...get(AX), ...get(AX), ...F_ADD, ...set(X), ...expOfX(), ...fconst(1), ...F_ADD, ...F_DIV, ...F_SUB,
    // |x| < 0.625: x + x·z·P(z), z = x²
    ...get(X0), ...get(X0), ...F_MUL, ...set(R),
    ...horner(R, [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]),
    ...get(R), ...F_MUL, ...get(X0), ...F_MUL, ...get(X0), ...F_ADD,
    ...get(AX), ...fconst(0.625), ...F_GE, ...BITSELECT,
    // Sign of x on the magnitude (the small branch already has it; NaN stays NaN).
    ...set(T), ...get(X0), ...get(T), ...iconst(-0x80000000), ...BITSELECT,
  ];
}

const I_SHR_U = op(0xad), V_AND = op(0x4e), V_OR = op(0x50), F_EQ = op(0x41), F_NE = op(0x42), F_CONVERT_I = op(0xfa);
/** The smallest normal float32, 2^-126. */
const MIN_NORMAL = 1.1754943508222875e-38;

/**
 * log(a), Cephes' logf: a = m·2^e with m in [sqrt(1/2), sqrt(2)), log(m) = t + t²·P(t) - t²/2 with t = m - 1,
 * plus e·ln 2 in two parts. Subnormals are scaled by 2^23 first; 0 gives -Inf, +Inf itself, negatives and
 * NaN give NaN. Uses X0, AX, E, K, R, T.
 */
export function logOf(a: number[]): number[] {
  return [
    ...a, ...set(X0),
    ...get(X0), ...fconst(MIN_NORMAL), ...F_LT, ...set(AX),
    ...get(X0), ...fconst(2 ** 23), ...F_MUL, ...get(X0), ...get(AX), ...BITSELECT, ...set(E),
    // e (as a float) = exponent field - 126, less 23 where scaled; m = the mantissa in [0.5, 1)
    ...get(E), ...i32c(23), ...I_SHR_U, ...iconst(126), ...I_SUB, ...F_CONVERT_I, ...get(AX), ...fconst(23), ...V_AND, ...F_SUB, ...set(K),
    ...get(E), ...iconst(0x007fffff), ...V_AND, ...iconst(0x3f000000), ...V_OR, ...set(R),
    // m < sqrt(1/2): t = 2m - 1 and e - 1; else t = m - 1
    ...get(R), ...fconst(Math.SQRT1_2), ...F_LT, ...set(AX),
    ...get(K), ...get(AX), ...fconst(1), ...V_AND, ...F_SUB, ...set(K),
    ...get(R), ...get(R), ...get(AX), ...V_AND, ...F_ADD, ...fconst(1), ...F_SUB, ...set(R),
    ...get(R), ...get(R), ...F_MUL, ...set(T),
    ...horner(R, [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]),
    ...get(R), ...F_MUL, ...get(T), ...F_MUL,
    ...get(K), ...fconst(-2.12194440e-4), ...F_MUL, ...F_ADD,
    ...get(T), ...fconst(0.5), ...F_MUL, ...F_SUB,
    ...get(R), ...F_ADD,
    ...get(K), ...fconst(0.693359375), ...F_MUL, ...F_ADD, ...set(E),
    // +Inf stays +Inf, ±0 gives -Inf, negatives and NaN give NaN
    ...fconst(Infinity), ...get(E), ...get(X0), ...fconst(Infinity), ...F_EQ, ...BITSELECT, ...set(E),
    ...fconst(-Infinity), ...get(E), ...get(X0), ...fconst(0), ...F_EQ, ...BITSELECT, ...set(E),
    ...fconst(NaN), ...get(E), ...get(X0), ...fconst(0), ...F_LT, ...get(X0), ...get(X0), ...F_NE, ...V_OR, ...BITSELECT,
  ];
}

/** erf(a): x·P(x²)/Q(x²) on x clamped to [-4, 4]. */
export function erfOf(a: number[]): number[] {
  return [
    ...a, ...fconst(4), ...PMIN, ...fconst(-4), ...PMAX, ...set(X0),
    ...get(X0), ...get(X0), ...F_MUL, ...set(R),
    ...horner(R, [-2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2]),
    ...get(X0), ...F_MUL,
    ...horner(R, [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2]),
    ...F_DIV,
  ];
}
