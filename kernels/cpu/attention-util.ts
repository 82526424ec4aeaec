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

/** out[oo+c] = dot(a[ao..], b[bo + c*step ..]) for c = 0..3: one pass over a serves four rows of b. */
export function dots4(a: FloatArray, ao: number, b: FloatArray, bo: number, step: number, n: number, out: Float64Array, oo: number): void {
  const b1 = bo + step, b2 = b1 + step, b3 = b2 + step;
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let d = 0; d < n; d++) {
    const x = a[ao + d]!;
    s0 += x * b[bo + d]!;
    s1 += x * b[b1 + d]!;
    s2 += x * b[b2 + d]!;
    s3 += x * b[b3 + d]!;
  }
  out[oo] = s0;
  out[oo + 1] = s1;
  out[oo + 2] = s2;
  out[oo + 3] = s3;
}

/**
 * acc[0..dim) = sum over j < n of w[wo+j] * x[base + j*step ..]: a weighted sum of rows, four rows per pass
 * so each accumulator load/store serves four multiply-adds.
 */
export function weightedRows(acc: Float64Array, w: FloatArray, wo: number, n: number, x: FloatArray, base: number, step: number, dim: number): void {
  acc.fill(0);
  let j = 0;
  for (; j + 3 < n; j += 4) {
    const w0 = w[wo + j]!, w1 = w[wo + j + 1]!, w2 = w[wo + j + 2]!, w3 = w[wo + j + 3]!;
    if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0) continue; // masked keys
    const o0 = base + j * step, o1 = o0 + step, o2 = o1 + step, o3 = o2 + step;
    for (let d = 0; d < dim; d++) acc[d]! += w0 * x[o0 + d]! + w1 * x[o1 + d]! + w2 * x[o2 + d]! + w3 * x[o3 + d]!;
  }
  for (; j < n; j++) {
    const wj = w[wo + j]!;
    if (wj === 0) continue;
    const o = base + j * step;
    for (let d = 0; d < dim; d++) acc[d]! += wj * x[o + d]!;
  }
}
