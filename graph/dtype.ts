// Element types of the IR, their ONNX codes and their host (typed array) storage.
// float16 is stored as raw bits in a Uint16Array (as onnxruntime-web does without Float16Array).

export const DTYPES = [
  'float32', 'float16', 'float64', 'bfloat16',
  'int8', 'int16', 'int32', 'int64',
  'uint8', 'uint16', 'uint32', 'uint64',
  'bool', 'string',
] as const;
export type DType = (typeof DTYPES)[number];

export type NumericDType = Exclude<DType, 'string'>;
export type BigDType = 'int64' | 'uint64';
export type FloatDType = 'float32' | 'float16' | 'float64' | 'bfloat16';

export interface DTypeArrayMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: string[];
}
export type ArrayFor<D extends DType> = DTypeArrayMap[D];
export type TypedArray = Exclude<DTypeArrayMap[DType], string[]>;
export type HostData = DTypeArrayMap[DType];

/** ONNX TensorProto.DataType codes. */
export const ONNX_CODE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8,
  bool: 9, float16: 10, float64: 11, uint32: 12, uint64: 13, bfloat16: 16,
};
const CODE_TO_DTYPE = new Map<number, DType>(Object.entries(ONNX_CODE).map(([k, v]) => [v, k as DType]));
/** Names of ONNX element types tgraph does not support, for error messages. */
export const UNSUPPORTED_ONNX_CODES: Record<number, string> = {
  0: 'undefined', 14: 'complex64', 15: 'complex128', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz',
  19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
  24: 'float8e8m0', 25: 'uint2', 26: 'int2',
};

export function dtypeFromOnnx(code: number): DType | undefined {
  return CODE_TO_DTYPE.get(code);
}

export function onnxTypeName(code: number): string {
  return CODE_TO_DTYPE.get(code) ?? UNSUPPORTED_ONNX_CODES[code] ?? `type#${code}`;
}

/** Bytes per element (strings: 0, they are not stored in buffers). */
export const BYTES: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1, string: 0,
};

export function isFloat(d: DType): d is FloatDType {
  return d === 'float32' || d === 'float16' || d === 'float64' || d === 'bfloat16';
}
export function isBig(d: DType): d is BigDType {
  return d === 'int64' || d === 'uint64';
}
export function isInteger(d: DType): boolean {
  return !isFloat(d) && d !== 'bool' && d !== 'string';
}
export function isSigned(d: DType): boolean {
  return d === 'int8' || d === 'int16' || d === 'int32' || d === 'int64' || isFloat(d);
}

export function newArray<D extends DType>(dtype: D, length: number): ArrayFor<D> {
  switch (dtype) {
    case 'float32': return new Float32Array(length) as ArrayFor<D>;
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(length) as ArrayFor<D>;
    case 'float64': return new Float64Array(length) as ArrayFor<D>;
    case 'int8': return new Int8Array(length) as ArrayFor<D>;
    case 'int16': return new Int16Array(length) as ArrayFor<D>;
    case 'int32': return new Int32Array(length) as ArrayFor<D>;
    case 'int64': return new BigInt64Array(length) as ArrayFor<D>;
    case 'uint8': case 'bool': return new Uint8Array(length) as ArrayFor<D>;
    case 'uint32': return new Uint32Array(length) as ArrayFor<D>;
    case 'uint64': return new BigUint64Array(length) as ArrayFor<D>;
    case 'string': return new Array<string>(length).fill('') as ArrayFor<D>;
  }
  throw new Error(`unknown dtype ${String(dtype)}`);
}

// ---- float16 / bfloat16 bit conversions ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even conversion of a number to float16 bits. */
export function numberToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1))) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1))) half++;
  return sign | half;
}

export function bf16BitsToNumber(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}
export function numberToBf16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if (Number.isNaN(v)) return 0x7fc0;
  const rounding = 0x7fff + ((x >>> 16) & 1);
  return ((x + rounding) >>> 16) & 0xffff;
}
