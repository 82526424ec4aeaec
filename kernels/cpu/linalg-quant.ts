// MatMulInteger and QLinearMatMul: 8-bit matrix products with zero points, accumulated exactly in int32.
import { f16BitsToNumber, numberToF16Bits } from '../../graph/dtype.js';
import { allocTensor, getNumber, type HostTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { sgemm } from './linalg-gemm.js';
import { planMatMul, type MatMulPlan } from './linalg-matmul.js';
import { optTensorArg, tensorArg } from './util.js';

const QTYPES = new Set(['int8', 'uint8', 'int16', 'uint16']);

/**
 * A per-tensor, per-row (A) or per-column (B) parameter: a scalar, one value per row/column,
 * or one per row/column of each batch ([..., M, 1] / [..., 1, N]).
 */
function perLine(t: HostTensor | undefined, lines: number, batches: number, what: string, ctx: CpuContext): (batch: number, line: number) => number {
  if (!t) return () => 0;
  const n = t.data.length;
  if (n === 1) {
    const v = getNumber(t, 0);
    return () => v;
  }
  if (n === lines) return (_, l) => getNumber(t, l);
  if (n === lines * batches) return (b, l) => getNumber(t, b * lines + l);
  throw new KernelInputError(ctx, `${what} of shape [${t.dims.join(',')}] is neither a scalar nor one value per ${what.startsWith('a') ? 'row' : 'column'} (${lines})`);
}

/** int32 products of (A - a_zp) @ (B - b_zp) per batch of the plan, into `out` (length batches*M*N). */
function integerProduct(a: HostTensor, b: HostTensor, azp: HostTensor | undefined, bzp: HostTensor | undefined, p: MatMulPlan, ctx: CpuContext): Int32Array {
  const { M, N, K } = p;
  for (const [t, w] of [[a, 'A'], [b, 'B']] as const) {
    if (!QTYPES.has(t.dtype)) throw new KernelInputError(ctx, `${w} must be an 8- or 16-bit integer tensor, got ${t.dtype}`);
  }
  const aBatches = a.data.length / Math.max(M * K, 1);
  const bBatches = b.data.length / Math.max(K * N, 1);
  const za = perLine(azp, M, aBatches, 'a_zero_point', ctx);
  const zb = perLine(bzp, N, bBatches, 'b_zero_point', ctx);
  const out = new Int32Array(p.aOffs.length * M * N);
  // Zero-point-shifted operands are small integers, exact in float32; the blocked sgemm sums them
  // exactly into float64, and `| 0` then wraps to int32 as the spec allows.
  const aq = new Float32Array(M * K);
  const bq = new Float32Array(K * N);
  const acc = new Float64Array(M * N);
  const zRow = new Float64Array(N);
  const A = a.data as Uint8Array;
  const B = b.data as Uint8Array;
  for (let i = 0; i < p.aOffs.length; i++) {
    const ab = p.aBatch[i]!;
    const bb = p.bBatch[i]!;
    for (let r = 0; r < M; r++) {
      const z = za(ab, r);
      for (let k = 0, s = p.aOffs[i]! + r * K; k < K; k++) aq[r * K + k] = A[s + k]! - z;
    }
    for (let c = 0; c < N; c++) zRow[c] = zb(bb, c);
    for (let k = 0; k < K; k++) {
      const s = p.bOffs[i]! + k * N;
      for (let c = 0; c < N; c++) bq[k * N + c] = B[s + c]! - zRow[c]!;
    }
    sgemm(false, false, M, N, K, 1, aq, 0, K, bq, 0, N, 0, acc, 0, N);
    const o = i * M * N;
    for (let j = 0; j < acc.length; j++) out[o + j] = acc[j]! | 0;
  }
  return out;
}

const matMulInteger: CpuKernel = (inputs, ctx) => {
  const a = tensorArg(inputs, 0, ctx);
  const b = tensorArg(inputs, 1, ctx);
  const p = planMatMul(a.dims, b.dims, ctx);
  const y = allocTensor('int32', p.outDims);
  y.data.set(integerProduct(a, b, optTensorArg(inputs, 2, ctx), optTensorArg(inputs, 3, ctx), p, ctx));
  return [y];
};

const RANGE: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535] };

/** Round half to even, as the spec's saturate(round(x)) requires. */
function rint(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

const qlinearMatMul: CpuKernel = (inputs, ctx) => {
  const a = tensorArg(inputs, 0, ctx);
  const aScale = tensorArg(inputs, 1, ctx);
  const b = tensorArg(inputs, 3, ctx);
  const bScale = tensorArg(inputs, 4, ctx);
  const yScale = tensorArg(inputs, 6, ctx);
  const yzp = optTensorArg(inputs, 7, ctx);
  const outType = yzp?.dtype ?? a.dtype;
  const range = RANGE[outType];
  if (!range) throw new KernelInputError(ctx, `output type ${outType} is not supported`);
  if (yScale.data.length !== 1 || (yzp && yzp.data.length !== 1)) throw new KernelInputError(ctx, 'y_scale and y_zero_point must be scalars');
  const p = planMatMul(a.dims, b.dims, ctx);
  const { M, N, K } = p;
  const acc = integerProduct(a, b, optTensorArg(inputs, 2, ctx), optTensorArg(inputs, 5, ctx), p, ctx);
  const sa = perLine(aScale, M, a.data.length / Math.max(M * K, 1), 'a_scale', ctx);
  const sb = perLine(bScale, N, b.data.length / Math.max(K * N, 1), 'b_scale', ctx);
  const ys = getNumber(yScale, 0);
  const yz = yzp ? getNumber(yzp, 0) : 0;
  // The multiplier a_scale * b_scale / y_scale is formed in the scales' own precision (as the reference does).
  const round = aScale.dtype === 'float16' ? (v: number) => f16BitsToNumber(numberToF16Bits(v)) : aScale.dtype === 'float32' ? Math.fround : (v: number) => v;
  const y = allocTensor(outType, p.outDims);
  const Y = y.data as Int32Array;
  for (let i = 0; i < p.aOffs.length; i++) {
    for (let r = 0; r < M; r++) {
      const s1 = sa(p.aBatch[i]!, r);
      for (let c = 0; c < N; c++) {
        const mult = round(round(s1 * sb(p.bBatch[i]!, c)) / ys);
        const o = (i * M + r) * N + c;
        const q = rint(acc[o]! * mult) + yz;
        Y[o] = q < range[0] ? range[0] : q > range[1] ? range[1] : q;
      }
    }
  }
  return [y];
};

export const quantMatmulKernels = {
  MatMulInteger: matMulInteger,
  QLinearMatMul: qlinearMatMul,
};
