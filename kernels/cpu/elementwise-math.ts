// CPU kernels: unary math, binary math, comparisons, logic and bitwise ops, variadic Min/Max/Sum/Mean,
// Where and Clip. Scalar semantics that differ from JavaScript's Math are in elementwise-scalar.ts.
import { isBig } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, getNumber, narrowHalf, widenHalf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import { type BinaryDef, type UnaryDef, binaryKernel, checkType, halfOf, rightDims, unaryKernel, variadicKernel } from './elementwise-kernel.js';
import { map1, map2, map3, type Run2, type Vec } from './elementwise-loops.js';
import {
  divTrunc, erf, modFloor, modFloorBig, modFloorInt, powBig, powC, remTrunc, roundEven, sign, signBig, toInt64, toUint64,
} from './elementwise-scalar.js';
import { absRun, clipRun, erfRun, expRun, logRun, negRun, reciprocalRun, sqrtRun, tanhRun } from './elementwise-runs.js';
import { simdBinary, simdClip } from './elementwise-simd.js';
import type { CpuKernel } from './types.js';
import { broadcastShapes, optTensorArg, tensorArg } from './util.js';

const float = (num: (x: number) => number): UnaryDef => ({ types: 'float', num });

const unaryDefs = {
  Abs: { types: 'numeric', num: Math.abs, run: absRun, big: (x) => (x < 0n ? -x : x) },
  Neg: { types: 'signed', num: (x) => -x, run: negRun, big: (x) => -x },
  Reciprocal: { types: 'float', num: (x) => 1 / x, run: reciprocalRun },
  Floor: float(Math.floor),
  Ceil: float(Math.ceil),
  Round: float(roundEven),
  Sqrt: { types: 'float', num: Math.sqrt, run: sqrtRun },
  Exp: { types: 'float', num: Math.exp, run: expRun },
  Log: { types: 'float', num: Math.log, run: logRun },
  Sin: float(Math.sin),
  Cos: float(Math.cos),
  Tan: float(Math.tan),
  Asin: float(Math.asin),
  Acos: float(Math.acos),
  Atan: float(Math.atan),
  Sinh: float(Math.sinh),
  Cosh: float(Math.cosh),
  Tanh: { types: 'float', num: Math.tanh, run: tanhRun },
  Asinh: float(Math.asinh),
  Acosh: float(Math.acosh),
  Atanh: float(Math.atanh),
  Erf: { types: 'numeric', num: erf, run: erfRun },
  Sign: { types: 'numeric', num: sign, big: signBig },
  IsNaN: { types: 'float', num: (x) => (x !== x ? 1 : 0), bool: true },
  Not: { types: 'bool', num: (x) => (x ? 0 : 1) },
  BitwiseNot: { types: 'int', num: (x) => ~x, big: (x) => ~x },
} satisfies Record<string, UnaryDef>;

const isInf: CpuKernel = unaryKernel((ctx) => {
  const pos = ctx.attrs.int('detect_positive', 1) !== 0;
  const neg = ctx.attrs.int('detect_negative', 1) !== 0;
  return { types: 'float', bool: true, num: (x) => ((pos && x === Infinity) || (neg && x === -Infinity) ? 1 : 0) };
});

const cmp = (num: (a: number, b: number) => boolean, big: (a: bigint, b: bigint) => boolean): BinaryDef => ({
  types: 'numeric', bool: true, num: (a, b) => (num(a, b) ? 1 : 0), big: (a, b) => (big(a, b) ? 1 : 0),
});
const logic = (num: (a: number, b: number) => number): BinaryDef => ({ types: 'bool', num });
const bitwise = (num: (a: number, b: number) => number, big: (a: bigint, b: bigint) => bigint): BinaryDef => ({ types: 'int', num, big });

// Runs of the hottest ops, written out so the loop has no per-element call.
const addRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('add', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = a[xa]! + b[xb]!;
};
const subRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('sub', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = a[xa]! - b[xb]!;
};
const mulRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('mul', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = a[xa]! * b[xb]!;
};
const divRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('div', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = a[xa]! / b[xb]!;
};

const minRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('min', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = Math.min(a[xa]!, b[xb]!);
};
const maxRun: Run2<number, number, number> = (out, a, b, o, xa, sa, xb, sb, n) => {
  if (simdBinary('max', out, a, b, o, xa, sa, xb, sb, n)) return;
  for (const e = o + n; o < e; o++, xa += sa, xb += sb) out[o] = Math.max(a[xa]!, b[xb]!);
};

const add: BinaryDef = { types: 'numeric', num: (a, b) => a + b, run: addRun, big: (a, b) => a + b, fused: 'Add' };
const min: BinaryDef = { types: 'numeric', num: Math.min, run: minRun, big: (a, b) => (a < b ? a : b) };
const max: BinaryDef = { types: 'numeric', num: Math.max, run: maxRun, big: (a, b) => (a > b ? a : b) };

const binaryDefs = {
  Add: add,
  Sub: { types: 'numeric', num: (a, b) => a - b, run: subRun, big: (a, b) => a - b, fused: 'Sub' },
  // Math.imul keeps the low 32 bits exactly where a double product of two 32-bit ints would round.
  Mul: { types: 'numeric', num: (a, b) => a * b, run: mulRun, int: Math.imul, big: (a, b) => a * b, fused: 'Mul' },
  Div: { types: 'numeric', num: (a, b) => a / b, run: divRun, int: divTrunc, big: (a, b) => a / b, fused: 'Div' },
  BitwiseAnd: bitwise((a, b) => a & b, (a, b) => a & b),
  BitwiseOr: bitwise((a, b) => a | b, (a, b) => a | b),
  BitwiseXor: bitwise((a, b) => a ^ b, (a, b) => a ^ b),
  And: logic((a, b) => a & b),
  Or: logic((a, b) => a | b),
  Xor: logic((a, b) => a ^ b),
  Equal: { types: 'any', bool: true, num: (a, b) => (a === b ? 1 : 0), big: (a, b) => (a === b ? 1 : 0), str: (a, b) => (a === b ? 1 : 0) },
  Greater: cmp((a, b) => a > b, (a, b) => a > b),
  Less: cmp((a, b) => a < b, (a, b) => a < b),
  GreaterOrEqual: cmp((a, b) => a >= b, (a, b) => a >= b),
  LessOrEqual: cmp((a, b) => a <= b, (a, b) => a <= b),
} satisfies Record<string, BinaryDef>;

const mod = binaryKernel((ctx): BinaryDef => ctx.attrs.int('fmod', 0) !== 0
  ? { types: 'numeric', num: (a, b) => a % b, int: remTrunc, big: (a, b) => a % b } // JS % is C fmod
  : { types: 'numeric', num: modFloor, int: modFloorInt, big: modFloorBig });

const bitShift = binaryKernel((ctx): BinaryDef => {
  const dir = ctx.attrs.string('direction', '');
  if (dir !== 'LEFT' && dir !== 'RIGHT') throw new KernelInputError(ctx, `direction must be LEFT or RIGHT, got '${dir}'`);
  // JS masks shift counts to 5 bits; C++ and NumPy shift everything out.
  return dir === 'LEFT'
    ? { types: 'uint', num: (a, b) => (b >= 32 ? 0 : a << b), big: (a, b) => (b >= 64n ? 0n : a << b) }
    : { types: 'uint', num: (a, b) => (b >= 32 ? 0 : a >>> b), big: (a, b) => (b >= 64n ? 0n : a >> b) };
});

/** Pow: the exponent may have its own numeric type; the result has the base's type. */
const pow: CpuKernel = (inputs, ctx) => {
  const a0 = tensorArg(inputs, 0, ctx);
  const b0 = tensorArg(inputs, 1, ctx);
  checkType(ctx, a0, 'numeric', 'base');
  checkType(ctx, b0, 'numeric', 'exponent');
  const half = halfOf(a0.dtype);
  const a = half ? widenHalf(a0) : a0;
  const b = widenHalf(b0);
  const bDims = rightDims(ctx, a, b);
  const outDims = broadcastShapes(a.dims, bDims);
  if (!outDims) throw new KernelInputError(ctx, `shapes [${a.dims.join(',')}] and [${b.dims.join(',')}] do not broadcast`);
  const out = allocTensor(a.dtype, outDims);
  const bBig = isBig(b.dtype);
  try {
    if (isBig(a.dtype)) {
      const toOut = a.dtype === 'int64' ? toInt64 : toUint64;
      if (bBig) map2(a.data as Vec<bigint>, a.dims, b.data as Vec<bigint>, bDims, out.data as Vec<bigint>, outDims, powBig);
      else {
        const bInt = b.dtype !== 'float32' && b.dtype !== 'float64';
        map2(a.data as Vec<bigint>, a.dims, b.data as Vec<number>, bDims, out.data as Vec<bigint>, outDims,
          bInt ? (x, y) => powBig(x, BigInt(y)) : (x, y) => toOut(powC(Number(x), y)));
      }
    } else {
      // A 64-bit exponent only matters through its double value for a float or 32-bit base.
      const bn = bBig ? Float64Array.from(b.data as BigInt64Array, Number) : (b.data as Vec<number>);
      // x^2 (variance in layer norms): the float64 square of a float32 is exact, so one product equals powC.
      if (bn.length === 1 && bn[0] === 2 && a.data.length === out.data.length) {
        mulRun(out.data as Vec<number>, a.data as Vec<number>, a.data as Vec<number>, 0, 0, 1, 0, 1, out.data.length);
        return [half ? narrowHalf(out, half) : out];
      }
      map2(a.data as Vec<number>, a.dims, bn, bDims, out.data as Vec<number>, outDims, powC);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new KernelInputError(ctx, e.message);
    throw e;
  }
  return [half ? narrowHalf(out, half) : out];
};

/** Where(cond, x, y): no arithmetic, so every dtype (float16 bits, bigints, strings) is copied as stored. */
const where: CpuKernel = (inputs, ctx) => {
  const c = tensorArg(inputs, 0, ctx);
  const x = tensorArg(inputs, 1, ctx);
  const y = tensorArg(inputs, 2, ctx);
  checkType(ctx, c, 'bool', 'condition');
  if (x.dtype !== y.dtype) throw new KernelInputError(ctx, `X and Y element types differ: ${x.dtype} and ${y.dtype}`);
  const outDims = broadcastShapes(c.dims, x.dims, y.dims);
  if (!outDims) throw new KernelInputError(ctx, `shapes [${c.dims.join(',')}], [${x.dims.join(',')}] and [${y.dims.join(',')}] do not broadcast`);
  const out = allocTensor(x.dtype, outDims);
  map3(c.data as Vec<number>, c.dims, x.data as Vec<unknown>, x.dims, y.data as Vec<unknown>, y.dims, out.data as Vec<unknown>, outDims,
    (k, p, q) => (k ? p : q));
  return [out];
};

const FLT_MAX = 3.4028234663852886e38;

/** Clip: bounds are attributes before opset 11 (defaults ±FLT_MAX), optional scalar inputs after. */
const clip: CpuKernel = (inputs, ctx) => {
  const x0 = tensorArg(inputs, 0, ctx);
  checkType(ctx, x0, 'numeric');
  const bound = (i: number): HostTensor | undefined => {
    const t = optTensorArg(inputs, i, ctx);
    if (!t) return undefined;
    if (t.data.length !== 1) throw new KernelInputError(ctx, `${i === 1 ? 'min' : 'max'} must be a scalar, got shape [${t.dims.join(',')}]`);
    if (t.dtype !== x0.dtype) throw new KernelInputError(ctx, `${i === 1 ? 'min' : 'max'} has element type ${t.dtype}, input has ${x0.dtype}`);
    return t;
  };
  const half = halfOf(x0.dtype);
  const x = half ? widenHalf(x0) : x0;
  const out = allocTensor(x.dtype, x.dims);
  if (isBig(x.dtype)) {
    const lo = bound(1)?.data[0] as bigint | undefined;
    const hi = bound(2)?.data[0] as bigint | undefined;
    map1(x.data as Vec<bigint>, out.data as Vec<bigint>, (v) => {
      if (lo !== undefined && v < lo) v = lo;
      return hi !== undefined && v > hi ? hi : v;
    });
    return [out];
  }
  let lo = -Infinity;
  let hi = Infinity;
  if (ctx.opset < 11) {
    lo = ctx.attrs.float('min', -FLT_MAX);
    hi = ctx.attrs.float('max', FLT_MAX);
  } else {
    const l = bound(1);
    const h = bound(2);
    if (l) lo = getNumber(l, 0);
    if (h) hi = getNumber(h, 0);
  }
  // NaN passes through; with min > max every element becomes max (as the spec says).
  if (!simdClip(x.data, out.data, lo, hi)) clipRun(lo, hi)(x.data as Vec<number>, out.data as Vec<number>);
  return [half ? narrowHalf(out, half) : out];
};

const mean = variadicKernel(add, (ctx, t, n) => {
  const half = halfOf(t.dtype);
  const x = half ? widenHalf(t) : t;
  const out = allocTensor(x.dtype, x.dims);
  map1(x.data as Vec<number>, out.data as Vec<number>, (v) => v / n);
  return half ? narrowHalf(out, half) : out;
});

const unaryKernels = Object.fromEntries(Object.entries(unaryDefs).map(([k, d]) => [k, unaryKernel(d as UnaryDef)])) as Record<keyof typeof unaryDefs, CpuKernel>;
const binaryKernels = Object.fromEntries(Object.entries(binaryDefs).map(([k, d]) => [k, binaryKernel(d)])) as Record<keyof typeof binaryDefs, CpuKernel>;

export const mathKernels = {
  ...unaryKernels,
  IsInf: isInf,
  ...binaryKernels,
  Pow: pow,
  Mod: mod,
  BitShift: bitShift,
  Min: variadicKernel(min),
  Max: variadicKernel(max),
  Sum: variadicKernel({ ...add, types: 'float' }),
  Mean: mean,
  Where: where,
  Clip: clip,
} satisfies Record<string, CpuKernel>;


