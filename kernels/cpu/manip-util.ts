// Dtype-generic element movement for the manip kernels: elements are copied through the typed arrays
// (or string arrays) as they are, so every dtype (int64 bigints, float16 bits, bool, string) works unchanged.
import type { HostData } from '../../graph/dtype.js';
import { type HostTensor, sizeOf, stridesOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext } from './types.js';

/** Element view for generic copies; typed arrays and string[] both index this way. */
export type Elems = { [i: number]: unknown; readonly length: number };

/** Copy `len` elements from src[s..] to dst[d..] (same storage type). */
export function copyBlock(dst: HostData, d: number, src: HostData, s: number, len: number): void {
  if (len < 16 || Array.isArray(dst)) {
    const D = dst as Elems;
    const S = src as Elems;
    for (let i = 0; i < len; i++) D[d + i] = S[s + i];
    return;
  }
  // All typed arrays share set/subarray; the cast only quiets the union of signatures.
  (dst as Uint8Array).set((src as Uint8Array).subarray(s, s + len), d);
}

/**
 * dst[i] (row-major over `dims`) = src[base + sum(idx_k * strides_k)]. Strides may be 0 (broadcast)
 * or negative (reversed). Adjacent dims that are contiguous in src are merged so the inner loop is long.
 */
export function stridedCopy(dst: HostData, src: HostData, dims: readonly number[], strides: readonly number[], base: number): void {
  const total = sizeOf(dims);
  if (total === 0) return;
  // Drop size-1 dims and merge dims where stride[i] == stride[i+1] * dim[i+1].
  const dm: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const k = dm.length - 1;
    if (k >= 0 && st[k] === strides[i]! * dims[i]!) {
      dm[k] = dm[k]! * dims[i]!;
      st[k] = strides[i]!;
    } else {
      dm.push(dims[i]!);
      st.push(strides[i]!);
    }
  }
  if (!dm.length) {
    (dst as Elems)[0] = (src as Elems)[base];
    return;
  }
  const r = dm.length;
  const inner = dm[r - 1]!;
  const is = st[r - 1]!;
  const outer = total / inner;
  const idx = new Int32Array(r);
  const D = dst as Elems;
  const S = src as Elems;
  let off = base;
  let o = 0;
  for (let n = 0; n < outer; n++) {
    if (is === 1) copyBlock(dst, o, src, off, inner);
    else for (let j = 0, p = off; j < inner; j++, p += is) D[o + j] = S[p];
    o += inner;
    for (let d = r - 2; d >= 0; d--) {
      off += st[d]!;
      if (++idx[d]! < dm[d]!) break;
      off -= st[d]! * dm[d]!;
      idx[d] = 0;
    }
  }
}

/** A transposed copy: output dim i is input dim perm[i]. */
export function transposeData(src: HostTensor, perm: readonly number[], into: HostData): void {
  const s = stridesOf(src.dims);
  stridedCopy(into, src.data, perm.map((p) => src.dims[p]!), perm.map((p) => s[p]!), 0);
}

/** Index values of an int32/int64 tensor as numbers, with a typed error for other dtypes. */
export function indexValues(t: HostTensor, ctx: CpuContext, what = 'indices'): Float64Array {
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new KernelInputError(ctx, `${what} must be int32 or int64, got ${t.dtype}`);
  const out = new Float64Array(t.data.length);
  const d = t.data as ArrayLike<number | bigint>;
  for (let i = 0; i < out.length; i++) out[i] = Number(d[i]);
  return out;
}

/** Integer list of a shape-like tensor (any integer dtype). */
export function intList(t: HostTensor, ctx: CpuContext, what: string): number[] {
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new KernelInputError(ctx, `${what} must be int32 or int64, got ${t.dtype}`);
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

/** A possibly negative index into a dim of size n, with a typed error when out of range. */
export function normIndex(i: number, n: number, ctx: CpuContext, what = 'index'): number {
  const j = i < 0 ? i + n : i;
  if (!(j >= 0 && j < n)) throw new KernelInputError(ctx, `${what} ${i} is out of range for a dim of size ${n}`);
  return j;
}

export function normAxisK(axis: number, rank: number, ctx: CpuContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new KernelInputError(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Normalized, distinct axes. */
export function normAxesK(axes: readonly number[], rank: number, ctx: CpuContext): number[] {
  const out = axes.map((a) => normAxisK(a, rank, ctx));
  if (new Set(out).size !== out.length) throw new KernelInputError(ctx, `axes [${axes.join(',')}] repeat an axis`);
  return out;
}

/** A tensor sharing `t`'s data with new dims (data is never mutated in place, so sharing is safe). */
export function withDims(t: HostTensor, dims: readonly number[]): HostTensor {
  return { kind: 'tensor', dtype: t.dtype, dims: [...dims], data: t.data };
}

/** Product of dims[from..to). */
export function prod(dims: readonly number[], from = 0, to = dims.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i]!;
  return n;
}
