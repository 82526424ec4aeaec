// CPU kernels: Cast, CastLike and BitCast.
// Conversions follow C++ static_cast on x86 as onnxruntime does: float → int truncates toward zero and
// wraps modulo 2^bits (NaN → 0; for int64, NaN and out-of-range give INT64_MIN as NumPy does), int → int wraps,
// anything → bool is `x != 0` (NaN → true), float → float16 rounds to nearest even. `saturate` only concerns
// float8 types, which tgraph does not hold, so it is ignored.
import { type DType, type TypedArray, bf16BitsToNumber, f16BitsToNumber, isBig, isFloat, newArray, numberToBf16Bits, numberToF16Bits, BYTES } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, cloneData } from '../../graph/tensor.js';
import { castTarget } from '../../graph/ops/elementwise.js';
import { KernelInputError } from './errors.js';
import { map1, type Vec } from './elementwise-loops.js';
import { toInt64, toUint64 } from './elementwise-scalar.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';

/** float64 → float16 bits with one rounding (going through float32 first could round twice). */
export function f64ToF16Bits(v: number): number {
  const h = numberToF16Bits(v);
  if (Math.fround(v) === v || !Number.isFinite(v)) return h;
  const hv = f16BitsToNumber(h);
  if (hv === v || !Number.isFinite(hv)) return h;
  // The nearest float16 is h or its neighbour on v's side; compare distances exactly in double.
  const mag = h & 0x7fff;
  const up = Math.abs(v) > Math.abs(hv);
  if (!up && mag === 0) return h;
  const sign = mag === 0 ? (v < 0 ? 0x8000 : 0) : h & 0x8000;
  const other = sign | (up ? mag + 1 : mag - 1);
  if ((other & 0x7c00) === 0x7c00) return h;
  const dh = Math.abs(v - hv);
  const dother = Math.abs(v - f16BitsToNumber(other));
  if (dother < dh || (dother === dh && (other & 1) === 0)) return other;
  return h;
}

/** Parse a string as ONNX Cast does: plain or scientific notation, and INF/+INF/-INF/NaN in any case. */
export function parseNumber(s: string): number {
  const t = s.trim();
  const u = t.toUpperCase();
  if (u === 'INF' || u === '+INF' || u === 'INFINITY' || u === '+INFINITY') return Infinity;
  if (u === '-INF' || u === '-INFINITY') return -Infinity;
  if (u === 'NAN' || u === '+NAN' || u === '-NAN') return NaN;
  if (u === 'TRUE') return 1;
  if (u === 'FALSE') return 0;
  return t === '' ? NaN : Number(t);
}

const INT_LITERAL = /^[+-]?\d+$/;

/** A string as an exact integer (bigint) when it is an integer literal, else through its float value. */
function parseBig(s: string, to: 'int64' | 'uint64'): bigint {
  const t = s.trim();
  if (INT_LITERAL.test(t)) return BigInt(t);
  return to === 'int64' ? toInt64(parseNumber(t)) : toUint64(parseNumber(t));
}

/**
 * A number as Cast writes it to a string: floats as C's "%.8g" (what onnxruntime writes: "0.1", "1e+20",
 * "1.2345679e+08", "-0"), INF, -INF and NaN as ONNX spells them; integers and bools in full.
 */
export function formatNumber(x: number, dtype: DType): string {
  if (!isFloat(dtype)) return String(x);
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'INF';
  if (x === -Infinity) return '-INF';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const P = 8;
  const [mant, e] = x.toExponential(P - 1).split('e') as [string, string];
  const exp = Number(e);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp >= -4 && exp < P) return strip(x.toFixed(P - 1 - exp));
  return `${strip(mant)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Source values as numbers: float16/bfloat16 decoded, other number-stored types as they are. */
function asNumbers(t: HostTensor): Vec<number> {
  if (t.dtype !== 'float16' && t.dtype !== 'bfloat16') return t.data as Vec<number>;
  const src = t.data as Uint16Array;
  const out = new Float32Array(src.length);
  const conv = t.dtype === 'float16' ? f16BitsToNumber : bf16BitsToNumber;
  for (let i = 0; i < src.length; i++) out[i] = conv(src[i]!);
  return out;
}

/** out[i] = conv(v[i]): a loop of its own, so converters are not called through the shared map1 call site. */
function convert<T>(v: Vec<number>, out: Vec<T>, conv: (x: number) => T): void {
  for (let i = 0, n = out.length; i < n; i++) out[i] = conv(v[i]!);
}

function castFromNumbers(src: HostTensor, out: HostTensor): void {
  const v = asNumbers(src);
  const o = out.data as Vec<number | bigint>;
  const srcInt = !isFloat(src.dtype);
  switch (out.dtype) {
    case 'float16': convert(v, o, src.dtype === 'float64' ? f64ToF16Bits : numberToF16Bits); return;
    case 'bfloat16': convert(v, o, numberToBf16Bits); return;
    case 'bool': for (let i = 0; i < v.length; i++) o[i] = v[i] !== 0 ? 1 : 0; return;
    case 'int64': convert(v, o, srcInt ? BigInt : toInt64); return;
    // Negative ints wrap when stored into the BigUint64Array.
    case 'uint64': convert(v, o, srcInt ? BigInt : toUint64); return;
    case 'string': map1(v, out.data as string[], (x) => formatNumber(x, src.dtype)); return;
    default:
      // Typed-array set converts each element as the target type's store does: truncation and wrapping for ints.
      (out.data as Exclude<TypedArray, BigInt64Array | BigUint64Array>).set(v as ArrayLike<number>);
  }
}

function castFromBig(src: HostTensor, out: HostTensor): void {
  const v = src.data as BigInt64Array | BigUint64Array;
  const o = out.data as Vec<number>;
  switch (out.dtype) {
    case 'int64': case 'uint64': (out.data as BigInt64Array | BigUint64Array).set(v); return;
    case 'float16': map1(v, o, (x) => f64ToF16Bits(Number(x))); return;
    case 'bfloat16': map1(v, o, (x) => numberToBf16Bits(Number(x))); return;
    case 'bool': map1(v, o, (x) => (x !== 0n ? 1 : 0)); return;
    case 'float32': case 'float64': map1(v, o, Number); return;
    case 'string': map1(v, out.data as string[], String); return;
    // Narrow ints: the low 32 bits wrap the same way the narrower store then wraps them.
    default: map1(v, o, (x) => Number(BigInt.asIntN(32, x)));
  }
}

function castFromStrings(ctx: CpuContext, src: HostTensor, out: HostTensor): void {
  const v = src.data as string[];
  const o = out.data as Vec<number>;
  switch (out.dtype) {
    case 'int64': case 'uint64': {
      const to = out.dtype;
      const ob = out.data as Vec<bigint>;
      for (let i = 0; i < v.length; i++) {
        try {
          ob[i] = parseBig(v[i]!, to);
        } catch {
          throw new KernelInputError(ctx, `element ${i} ('${v[i]}') is not a number`);
        }
      }
      return;
    }
    case 'float16': map1(v, o, (s) => f64ToF16Bits(parseNumber(s))); return;
    case 'bfloat16': map1(v, o, (s) => numberToBf16Bits(parseNumber(s))); return;
    case 'bool': map1(v, o, (s) => (parseNumber(s) !== 0 ? 1 : 0)); return;
    default: map1(v, o, (s) => {
      const t = s.trim();
      // Integer literals beyond 2^53 wrap exactly through BigInt.
      return INT_LITERAL.test(t) && !isFloat(out.dtype) ? Number(BigInt.asIntN(32, BigInt(t))) : parseNumber(t);
    });
  }
}

/** `t` converted to `to`. */
export function castTensor(ctx: CpuContext, t: HostTensor, to: DType): HostTensor {
  if (t.dtype === to) return { kind: 'tensor', dtype: to, dims: [...t.dims], data: cloneData(t.dtype, t.data) };
  const out = allocTensor(to, t.dims);
  if (t.dtype === 'string') castFromStrings(ctx, t, out);
  else if (isBig(t.dtype)) castFromBig(t, out);
  else castFromNumbers(t, out);
  return out;
}

function targetOf(ctx: CpuContext): DType {
  const a = ctx.node.attributes['to'];
  return castTarget(a?.kind === 'int' || a?.kind === 'string' ? a.value : undefined, { name: ctx.node.name, opType: ctx.node.opType, opset: ctx.opset });
}

/** Reinterpret the bytes of `t` as `to` (same width). */
function bitCast(ctx: CpuContext, t: HostTensor, to: DType): HostTensor {
  if (t.dtype === 'string' || to === 'string') throw new KernelInputError(ctx, 'BitCast does not take string tensors');
  if (BYTES[t.dtype] !== BYTES[to]) throw new KernelInputError(ctx, `BitCast from ${t.dtype} to ${to}: the types have different widths (${BYTES[t.dtype]} and ${BYTES[to]} bytes)`);
  const src = t.data as TypedArray;
  const data = newArray(to, src.length) as TypedArray;
  new Uint8Array(data.buffer).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
  // bool holds 0/1 only; any nonzero byte is true.
  if (to === 'bool') for (let i = 0; i < data.length; i++) if (data[i]) data[i] = 1;
  return { kind: 'tensor', dtype: to, dims: [...t.dims], data } as HostTensor;
}

export const castKernels = {
  Cast: (inputs, ctx) => [castTensor(ctx, tensorArg(inputs, 0, ctx), targetOf(ctx))],
  CastLike: (inputs, ctx) => [castTensor(ctx, tensorArg(inputs, 0, ctx), tensorArg(inputs, 1, ctx).dtype)],
  BitCast: (inputs, ctx) => [bitCast(ctx, tensorArg(inputs, 0, ctx), targetOf(ctx))],
} satisfies Record<string, CpuKernel>;
