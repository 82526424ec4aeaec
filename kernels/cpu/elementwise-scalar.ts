// Scalar reference semantics of the elementwise ops, where JavaScript's Math differs from C/NumPy
// (which the ONNX reference and onnxruntime follow) or has no counterpart.
//
//   op            NaN / Inf handling                                   integers
//   Round         half to even; NaN, ±Inf, ±0 pass through               -
//   Pow           pow(1, y) = 1 and pow(x, 0) = 1 even for NaN;        int base: result truncated;
//                 pow(-1, ±Inf) = 1 (C99), JS gives NaN                 negative int exponent: 0 unless |base| = 1
//   Div           IEEE (x/0 = ±Inf, 0/0 = NaN)                          truncates toward zero; /0 is an error
//   Mod fmod=1    C fmod: sign of the dividend; fmod(x, 0) = NaN         C %: sign of the dividend; %0 is an error
//   Mod fmod=0    NumPy mod: sign of the divisor                        Python %: sign of the divisor
//   Min / Max     NaN propagates (NumPy minimum / maximum)
//   Sign          sign(NaN) = NaN, sign(-0) = 0
//   Erf           erf(±Inf) = ±1, erf(NaN) = NaN
//   Clip          NaN passes through; min > max gives max everywhere
//   BitShift      shifting by the bit width or more gives 0

/** Round half to even (NumPy round, ONNX Round). */
export function roundEven(x: number): number {
  const r = Math.round(x); // half up
  // A tie rounded up to an odd integer goes back down to the even one.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C99 pow: like Math.pow except where C defines a result JS leaves NaN. */
export function powC(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** Integer power with C semantics for negative exponents (1/x^n truncated). */
export function powBig(x: bigint, y: bigint): bigint {
  if (y >= 0n) {
    // Square and multiply keeping the low 64 bits: the stored result wraps anyway, and x ** y could be huge.
    let r = 1n;
    let b = BigInt.asUintN(64, x);
    for (let e = y; e > 0n; e >>= 1n) {
      if (e & 1n) r = BigInt.asUintN(64, r * b);
      b = BigInt.asUintN(64, b * b);
    }
    return x < 0n ? BigInt.asIntN(64, r) : r;
  }
  if (x === 1n) return 1n;
  if (x === -1n) return y % 2n === 0n ? 1n : -1n;
  if (x === 0n) throw new RangeError('0 raised to a negative integer power');
  return 0n;
}

/** Python/NumPy mod: the result has the divisor's sign. */
export function modFloor(x: number, y: number): number {
  const r = x % y;
  return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
}
export function modFloorBig(x: bigint, y: bigint): bigint {
  const r = x % y;
  return r !== 0n && (r < 0n) !== (y < 0n) ? r + y : r;
}

/** Integer division truncating toward zero; a zero divisor is an error rather than Infinity. */
export function divTrunc(x: number, y: number): number {
  if (y === 0) throw new RangeError('integer division by zero');
  return Math.trunc(x / y);
}
/** C integer %: sign of the dividend; a zero divisor is an error. */
export function remTrunc(x: number, y: number): number {
  if (y === 0) throw new RangeError('integer division by zero');
  return x % y;
}
export function modFloorInt(x: number, y: number): number {
  if (y === 0) throw new RangeError('integer division by zero');
  return modFloor(x, y);
}

export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN;
}
export function signBig(x: bigint): bigint {
  return x > 0n ? 1n : x < 0n ? -1n : 0n;
}

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;

/**
 * The error function to about double precision: for |x| < 2 the series
 * erf(x) = 2/√π · x · e^(-x²) · Σ (2x²)^n / (1·3·…·(2n+1)), whose terms are all positive (no cancellation);
 * for 2 ≤ |x| < 6 the continued fraction of erfc; beyond, ±1 to double precision.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  if (ax < 2) {
    const x2 = x * x;
    const t2 = 2 * x2;
    let term = 1;
    let sum = 1;
    for (let k = 3; term > 1e-17 * sum; k += 2) {
      term *= t2 / k;
      sum += term;
    }
    return TWO_OVER_SQRT_PI * x * Math.exp(-x2) * sum;
  }
  if (ax >= 6) return x > 0 ? 1 : -1;
  const r = erfcLarge(ax);
  return x > 0 ? 1 - r : r - 1;
}

/** erfc(x) for x ≥ 2 by the continued fraction erfc(x) = e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated with Lentz's method. */
function erfcLarge(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 200; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (INV_SQRT_PI * Math.exp(-x * x)) / f;
}

/** log(1 + e^x) without overflow for large x. */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** 1 / (1 + e^-x) without overflow for large |x|. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

const MIN_I64 = -(2n ** 63n);
const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;

/** float → int64 as x86 does it (NaN and out-of-range values give INT64_MIN, as NumPy's astype). */
export function toInt64(x: number): bigint {
  if (!(x >= -TWO63 && x < TWO63)) return MIN_I64;
  return BigInt(Math.trunc(x));
}
/** float → uint64: negative values wrap through int64 (as NumPy's astype on x86); NaN and overflow give 2^63. */
export function toUint64(x: number): bigint {
  if (x >= 0 && x < TWO64) return BigInt(Math.trunc(x));
  if (x < 0 && x >= -TWO63) return BigInt.asUintN(64, BigInt(Math.trunc(x)));
  return 2n ** 63n;
}
