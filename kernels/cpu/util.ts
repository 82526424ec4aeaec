// Shared helpers for CPU kernels: input access, broadcasting, float16 handling.
import type { DType } from '../../graph/dtype.js';
import { KernelInputError } from './errors.js';
import { type HostTensor, type RtValue, widenHalf, narrowHalf, stridesOf } from '../../graph/tensor.js';
import type { CpuContext, CpuKernel } from './types.js';

/** Input i as a tensor, with a typed error when missing or not a tensor. */
export function tensorArg(inputs: readonly (RtValue | undefined)[], i: number, ctx: CpuContext): HostTensor {
  const v = inputs[i];
  if (v === undefined) throw new KernelInputError(ctx, `input ${i} is required`);
  if (v.kind !== 'tensor') throw new KernelInputError(ctx, `input ${i} should be a tensor, got a ${v.kind}`);
  return v;
}

/** Input i as a tensor, or undefined when omitted. */
export function optTensorArg(inputs: readonly (RtValue | undefined)[], i: number, ctx: CpuContext): HostTensor | undefined {
  const v = inputs[i];
  if (v === undefined) return undefined;
  if (v.kind !== 'tensor') throw new KernelInputError(ctx, `input ${i} should be a tensor, got a ${v.kind}`);
  return v;
}

/**
 * Wrap a kernel so float16/bfloat16 inputs are computed in float32: half inputs are widened,
 * and float32 outputs are narrowed back to the half type of the first half input.
 */
export function viaF32(kernel: CpuKernel): CpuKernel {
  return (inputs, ctx) => {
    let half: 'float16' | 'bfloat16' | undefined;
    const wide = inputs.map((v) => {
      if (v && v.kind === 'tensor' && (v.dtype === 'float16' || v.dtype === 'bfloat16')) {
        half ??= v.dtype;
        return widenHalf(v);
      }
      return v;
    });
    const outs = kernel(wide, ctx);
    if (!half) return outs;
    const h = half;
    return outs.map((o) => (o.kind === 'tensor' && o.dtype === 'float32' ? narrowHalf(o, h) : o));
  };
}

/** Strides of `dims` as seen from a broadcast output of rank `rank` (0 where broadcast). */
export function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const rank = outDims.length;
  const s = stridesOf(dims);
  const out = new Array<number>(rank).fill(0);
  for (let i = 0; i < dims.length; i++) {
    const o = rank - dims.length + i;
    out[o] = dims[i] === 1 && outDims[o] !== 1 ? 0 : s[i]!;
  }
  return out;
}

/** NumPy broadcast of concrete shapes, or undefined when they do not broadcast. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] | undefined {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = n - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) return undefined;
    }
  }
  return out;
}

/**
 * For each element of a broadcast output (row-major), the offsets into each input.
 * Returns Int32Array offset tables; fine for the sizes CPU kernels see.
 */
export function broadcastOffsets(outDims: readonly number[], inputs: readonly (readonly number[])[]): Int32Array[] {
  let total = 1;
  for (const d of outDims) total *= d;
  const rank = outDims.length;
  const strides = inputs.map((d) => broadcastStrides(d, outDims));
  const tables = inputs.map(() => new Int32Array(total));
  const idx = new Array<number>(rank).fill(0);
  const offs = new Array<number>(inputs.length).fill(0);
  for (let i = 0; i < total; i++) {
    for (let k = 0; k < inputs.length; k++) tables[k]![i] = offs[k]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < inputs.length; k++) offs[k]! += strides[k]![d]!;
      if (idx[d]! < outDims[d]!) break;
      for (let k = 0; k < inputs.length; k++) offs[k]! -= strides[k]![d]! * outDims[d]!;
      idx[d] = 0;
    }
  }
  return tables;
}

export function sameDType(a: HostTensor, b: HostTensor, ctx: CpuContext): DType {
  if (a.dtype !== b.dtype) throw new KernelInputError(ctx, `input dtypes differ: ${a.dtype} and ${b.dtype}`);
  return a.dtype;
}

/**
 * A grow-only array kept between calls, for kernel scratch whose every element is written before it is
 * read (kernels run one at a time per thread, and finish with their scratch before returning): `(n)`
 * gives n elements. A fresh zeroed array per call cost more than some small kernels' work.
 */
export function keptArray<T extends Float32Array | Float64Array>(make: (n: number) => T): (n: number) => T {
  let a = make(0);
  return (n) => {
    if (a.length < n) a = make(n);
    return (a.length === n ? a : a.subarray(0, n)) as T;
  };
}

/** Whether two lists hold the same items in order (===): shapes, index lists, input values. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
