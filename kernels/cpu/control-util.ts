// Slicing and stacking along an axis, shared by the control (Loop/Scan) and sequence kernels.
import type { DType, HostData } from '../../graph/dtype.js';
import type { ValueType } from '../../graph/ir.js';
import { type HostTensor, type RtValue, allocTensor, sizeOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext } from './types.js';

/** Copy n elements between host arrays of the same dtype. */
export function copyRange(src: HostData, srcOff: number, dst: HostData, dstOff: number, n: number): void {
  if (Array.isArray(src)) {
    const d = dst as string[];
    for (let i = 0; i < n; i++) d[dstOff + i] = src[srcOff + i]!;
  } else {
    (dst as Float32Array).set((src as Float32Array).subarray(srcOff, srcOff + n), dstOff);
  }
}

/** Element i along `axis`, with that axis removed (Scan's per-iteration input). */
export function takeAlongAxis(t: HostTensor, axis: number, i: number): HostTensor {
  const len = t.dims[axis]!;
  const outer = sizeOf(t.dims.slice(0, axis));
  const inner = sizeOf(t.dims.slice(axis + 1));
  const out = allocTensor(t.dtype, [...t.dims.slice(0, axis), ...t.dims.slice(axis + 1)]);
  for (let o = 0; o < outer; o++) copyRange(t.data, (o * len + i) * inner, out.data, o * inner, inner);
  return out;
}

/** Elements [start, start+count) along `axis`, keeping the axis. */
export function sliceAlongAxis(t: HostTensor, axis: number, start: number, count: number): HostTensor {
  const len = t.dims[axis]!;
  const outer = sizeOf(t.dims.slice(0, axis));
  const inner = sizeOf(t.dims.slice(axis + 1));
  const dims = [...t.dims];
  dims[axis] = count;
  const out = allocTensor(t.dtype, dims);
  for (let o = 0; o < outer; o++) copyRange(t.data, (o * len + start) * inner, out.data, o * count * inner, count * inner);
  return out;
}

/**
 * Join tensors along `axis`: a new axis when `newAxis` (all shapes equal), else an existing one
 * (all other dims equal). `what` names the items in error messages.
 */
export function joinAlongAxis(items: readonly HostTensor[], axis: number, newAxis: boolean, ctx: CpuContext, what: string): HostTensor {
  const first = items[0]!;
  const base = first.dims;
  const rank = base.length;
  let total = 0;
  for (let k = 0; k < items.length; k++) {
    const t = items[k]!;
    if (t.dtype !== first.dtype) throw new KernelInputError(ctx, `${what} ${k} has dtype ${t.dtype}, ${what} 0 has ${first.dtype}`);
    const same = t.dims.length === rank && t.dims.every((d, i) => d === base[i] || (!newAxis && i === axis));
    if (!same) throw new KernelInputError(ctx, `${what} ${k} has shape [${t.dims.join(',')}], which does not fit [${base.join(',')}] along axis ${axis}`);
    total += newAxis ? 1 : t.dims[axis]!;
  }
  const dims = newAxis ? [...base.slice(0, axis), items.length, ...base.slice(axis)] : base.map((d, i) => (i === axis ? total : d));
  const out = allocTensor(first.dtype, dims);
  const outer = sizeOf(base.slice(0, axis));
  const inner = sizeOf(newAxis ? base.slice(axis) : base.slice(axis + 1));
  let at = 0;
  for (const t of items) {
    const chunk = (newAxis ? 1 : t.dims[axis]!) * inner;
    for (let o = 0; o < outer; o++) copyRange(t.data, o * chunk, out.data, o * total * inner + at, chunk);
    at += chunk;
  }
  return out;
}

/** Whether a condition tensor (If, Loop) is true; it must hold exactly one element. */
export function truthy(v: RtValue | undefined, ctx: CpuContext, what: string): boolean {
  if (!v || v.kind !== 'tensor') throw new KernelInputError(ctx, `${what} should be a bool tensor`);
  if (v.data.length !== 1) throw new KernelInputError(ctx, `${what} should hold one element, got shape [${v.dims.join(',')}]`);
  const x = (v.data as ArrayLike<number | bigint | string>)[0];
  return typeof x === 'string' ? x !== '' : Number(x) !== 0;
}

/** A zero tensor of declared type `t` (symbolic dims as 0) with `lead` prepended dims: zero-iteration scan outputs, padding. */
export function zerosOfType(t: ValueType | undefined, lead: number[]): HostTensor {
  const dtype: DType = t && t.kind === 'tensor' ? t.dtype : 'float32';
  const shape = t && t.kind === 'tensor' && t.shape ? t.shape.map((d) => (typeof d === 'number' ? d : 0)) : [];
  return allocTensor(dtype, [...lead, ...shape]);
}
