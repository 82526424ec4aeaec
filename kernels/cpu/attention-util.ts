// Helpers shared by the attention-family CPU kernels.
import type { HostTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext } from './types.js';

export type FloatArray = Float32Array | Float64Array;

/** Data of a float32/float64 tensor (half types are widened by viaF32 before kernels see them). */
export function floatData(t: HostTensor, name: string, ctx: CpuContext): FloatArray {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new KernelInputError(ctx, `${name} must be a float tensor (float16, bfloat16, float32 or float64), got ${t.dtype}`);
  }
  return t.data as FloatArray;
}

/** Integer tensor (int32/int64) values as a plain number array. */
export function intValues(t: HostTensor, name: string, ctx: CpuContext): Int32Array | number[] {
  if (t.dtype === 'int32') return t.data as Int32Array;
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, Number);
  throw new KernelInputError(ctx, `${name} must be int32 or int64, got ${t.dtype}`);
}

/** Whether output i of the node is requested (present and named). */
export function wantsOutput(ctx: CpuContext, i: number): boolean {
  return !!ctx.node.outputs[i];
}

export function rankIs(t: HostTensor, ranks: readonly number[], name: string, ctx: CpuContext): void {
  if (!ranks.includes(t.dims.length)) {
    throw new KernelInputError(ctx, `${name} must have rank ${ranks.join(' or ')}, got shape [${t.dims.join(',')}]`);
  }
}

/** Strides (batch, head, seq) of a [B,H,S,D] tensor or a [B,S,H*D] one seen as heads of size d. */
export function headStrides(rank: number, heads: number, seq: number, d: number): [number, number, number] {
  return rank === 4 ? [heads * seq * d, seq * d, d] : [seq * heads * d, d, heads * d];
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Dot product of a[ao..ao+n) and b[bo..bo+n); four accumulators let V8 overlap the multiply-adds. */
export function dot(a: FloatArray, ao: number, b: FloatArray, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, d = 0;
  for (; d + 3 < n; d += 4) {
    s0 += a[ao + d]! * b[bo + d]!;
    s1 += a[ao + d + 1]! * b[bo + d + 1]!;
    s2 += a[ao + d + 2]! * b[bo + d + 2]!;
    s3 += a[ao + d + 3]! * b[bo + d + 3]!;
  }
  for (; d < n; d++) s0 += a[ao + d]! * b[bo + d]!;
  return s0 + s1 + (s2 + s3);
}

/** acc[0..n) += w * x[xo..xo+n). */
export function axpy(acc: Float64Array, w: number, x: FloatArray, xo: number, n: number): void {
  let d = 0;
  for (; d + 3 < n; d += 4) {
    acc[d]! += w * x[xo + d]!;
    acc[d + 1]! += w * x[xo + d + 1]!;
    acc[d + 2]! += w * x[xo + d + 2]!;
    acc[d + 3]! += w * x[xo + d + 3]!;
  }
  for (; d < n; d++) acc[d]! += w * x[xo + d]!;
}
