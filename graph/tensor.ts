// Host tensors: the values that initializers, constants and CPU kernels hold.
import { type ArrayFor, BYTES, type DType, type HostData, newArray, f16BitsToNumber, bf16BitsToNumber, numberToF16Bits, numberToBf16Bits, isBig } from './dtype.js';
import { ResourceLimitError } from './errors.js';
import { POOL_MIN_BYTES, noteAllocation, takeBuffer, takeSharedBuffer } from './tensor-pool.js';

export interface HostTensor<D extends DType = DType> {
  readonly kind: 'tensor';
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: ArrayFor<D>;
}

export interface SequenceValue {
  readonly kind: 'sequence';
  /** Element type, known even when the sequence is empty. */
  readonly elemType?: DType;
  readonly items: readonly HostTensor[];
}

export interface OptionalValue {
  readonly kind: 'optional';
  /** null: the optional holds nothing. */
  readonly value: HostTensor | SequenceValue | null;
  readonly elem?: { kind: 'tensor' | 'sequence'; dtype?: DType };
}

/** A value at run time: what flows along a graph edge. */
export type RtValue = HostTensor | SequenceValue | OptionalValue;

/** Default ceiling on the element count of one tensor (refused before allocating). */
export const DEFAULT_MAX_ELEMENTS = 2 ** 31 - 1;
let maxElements = DEFAULT_MAX_ELEMENTS;

/** Set the element-count ceiling enforced by `allocTensor` and `checkedSize`; returns the previous one. */
export function setMaxElements(n: number): number {
  const prev = maxElements;
  maxElements = n;
  return prev;
}
export function getMaxElements(): number {
  return maxElements;
}

/** Product of dims, refusing negative or non-integer dims and counts over the limit. */
export function checkedSize(dims: readonly number[], what = 'tensor'): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new ResourceLimitError(`${what} has invalid dim ${d} in shape [${dims.join(',')}]`);
    n *= d;
  }
  if (!Number.isSafeInteger(n) || n > maxElements) {
    throw new ResourceLimitError(`${what} of shape [${dims.join(',')}] has ${n} elements, over the limit of ${maxElements}`);
  }
  return n;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

export function makeTensor<D extends DType>(dtype: D, dims: readonly number[], data: ArrayFor<D>): HostTensor<D> {
  const n = sizeOf(dims);
  if (data.length !== n) {
    throw new ResourceLimitError(`tensor data has ${data.length} elements but shape [${dims.join(',')}] needs ${n}`);
  }
  return { kind: 'tensor', dtype, dims: [...dims], data };
}

/**
 * How a new tensor's elements start: `zero` (the default, as `new Float32Array(n)` gives) or `none`
 * (a recycled buffer keeps its old contents; only for kernels that write every output element).
 */
export interface AllocOptions {
  readonly init?: 'zero' | 'none';
}

/** `allocTensor` options for a kernel that writes every element of the new tensor. */
export const UNINIT: AllocOptions = { init: 'none' };

/** A zero-filled tensor (unless `init: 'none'`); the element count is checked against the limit before allocating. */
export function allocTensor<D extends DType>(dtype: D, dims: readonly number[], opts?: AllocOptions): HostTensor<D> {
  const n = checkedSize(dims);
  return { kind: 'tensor', dtype, dims: [...dims], data: pooledArray(dtype, n, opts?.init !== 'none') };
}

const ARRAY_OF: Partial<Record<DType, new (b: ArrayBuffer, off: number, n: number) => unknown>> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array, uint16: Uint16Array,
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, bool: Uint8Array,
  uint32: Uint32Array, uint64: BigUint64Array,
};

/** An array (zeroed when `zeroed`), on a recycled buffer where the tensor pool has one (see tensor-pool.ts). */
function pooledArray<D extends DType>(dtype: D, n: number, zeroed: boolean): ArrayFor<D> {
  const ctor = ARRAY_OF[dtype];
  if (!ctor) return newArray(dtype, n);
  const bytes = n * BYTES[dtype];
  const buf = takeBuffer(bytes, dtype, zeroed);
  if (buf) {
    noteAllocation(buf.buffer);
    // float32 gets its own construct site: through `ctor` the call is polymorphic over every array type.
    return (dtype === 'float32' ? new Float32Array(buf.buffer, buf.byteOffset, n) : new ctor(buf.buffer as ArrayBuffer, buf.byteOffset, n)) as ArrayFor<D>;
  }
  const a = newArray(dtype, n);
  // Reading a small array's .buffer makes V8 move it off its heap (a fresh backing store per call, most
  // of this function's time in silero VAD); the pool ignores arrays that small anyway.
  if (bytes >= POOL_MIN_BYTES) noteAllocation((a as unknown as { buffer: ArrayBuffer }).buffer);
  return a;
}

/** A tensor in shared memory (a split node's output); `dirty`: recycled, not zeroed (its writers zero it). */
export function allocSharedTensor<D extends DType>(dtype: D, dims: readonly number[]): { tensor: HostTensor<D>; dirty: boolean } {
  const ctor = ARRAY_OF[dtype];
  if (!ctor) throw new ResourceLimitError(`a ${dtype} tensor cannot live in shared memory`);
  const n = checkedSize(dims);
  const { buffer, dirty } = takeSharedBuffer(n * BYTES[dtype]);
  return { tensor: { kind: 'tensor', dtype, dims: [...dims], data: new ctor(buffer as unknown as ArrayBuffer, 0, n) as ArrayFor<D> }, dirty };
}

export function scalar<D extends DType>(dtype: D, value: number | bigint | boolean | string): HostTensor<D> {
  const t = allocTensor(dtype, []);
  setElement(t, 0, value);
  return t;
}

/** Read element i as a JS number (int64 beyond 2^53 loses precision; float16 decoded). */
export function getNumber(t: HostTensor, i: number): number {
  const v = (t.data as ArrayLike<number | bigint | string>)[i]!;
  if (t.dtype === 'float16') return f16BitsToNumber(v as number);
  if (t.dtype === 'bfloat16') return bf16BitsToNumber(v as number);
  return Number(v);
}

/** All elements as JS numbers (float16 decoded). */
export function toNumbers(t: HostTensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = getNumber(t, i);
  return out;
}

/** Write a JS value into element i with the dtype's conversion (float16 encoded, bigint for 64-bit ints). */
export function setElement(t: HostTensor, i: number, v: number | bigint | boolean | string): void {
  const d = t.data as unknown as Record<number, unknown>;
  switch (t.dtype) {
    case 'string': d[i] = String(v); return;
    case 'float16': d[i] = numberToF16Bits(Number(v)); return;
    case 'bfloat16': d[i] = numberToBf16Bits(Number(v)); return;
    case 'bool': d[i] = v ? 1 : 0; return;
    case 'int64': case 'uint64': d[i] = typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))); return;
    default: d[i] = typeof v === 'bigint' ? Number(v) : Number(v);
  }
}

/** A float32 copy of a float16/bfloat16 tensor; other tensors are returned as they are. */
export function widenHalf(t: HostTensor): HostTensor {
  if (t.dtype !== 'float16' && t.dtype !== 'bfloat16') return t;
  const out = new Float32Array(t.data.length);
  const src = t.data as Uint16Array;
  const conv = t.dtype === 'float16' ? f16BitsToNumber : bf16BitsToNumber;
  for (let i = 0; i < out.length; i++) out[i] = conv(src[i]!);
  return { kind: 'tensor', dtype: 'float32', dims: t.dims, data: out };
}

/** Narrow a float32 tensor to float16/bfloat16 bits. */
export function narrowHalf(t: HostTensor, to: 'float16' | 'bfloat16'): HostTensor {
  const src = t.data as Float32Array | Float64Array;
  const out = new Uint16Array(src.length);
  const conv = to === 'float16' ? numberToF16Bits : numberToBf16Bits;
  for (let i = 0; i < out.length; i++) out[i] = conv(src[i]!);
  return { kind: 'tensor', dtype: to, dims: t.dims, data: out };
}

/** Integer values of a 1-D shape-like tensor (int64/int32) as numbers. */
export function toIntList(t: HostTensor): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) out.push(Number((t.data as ArrayLike<number | bigint>)[i]));
  return out;
}

export function isTensor(v: RtValue | undefined): v is HostTensor {
  return v !== undefined && v.kind === 'tensor';
}

export function describeValue(v: RtValue | undefined): string {
  if (v === undefined) return '(missing)';
  if (v.kind === 'tensor') return `${v.dtype}[${v.dims.join(',')}]`;
  if (v.kind === 'sequence') return `seq<${v.elemType ?? '?'}>(${v.items.length})`;
  return v.value === null ? 'optional(none)' : `optional(${describeValue(v.value)})`;
}

export function cloneData<D extends DType>(dtype: D, data: ArrayFor<D>): ArrayFor<D> {
  return (Array.isArray(data) ? [...data] : (data as Exclude<HostData, string[]>).slice()) as ArrayFor<D>;
}

export { isBig };
