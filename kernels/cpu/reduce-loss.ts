// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (which is NLL over LogSoftmax along the class axis).
import { allocTensor, sizeOf, toIntList, type HostTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { softmaxInto } from './reduce-softmax.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';

function checkFloat(t: HostTensor, what: string, ctx: CpuContext): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new KernelInputError(ctx, `${what} should be a float tensor, got ${t.dtype}`);
}

/**
 * NLL of log-probabilities `logp` laid out [N, C, D] against targets [N, D]:
 * loss = -logp[n, t, d] * weight[t], 0 where t == ignore_index; then none / sum / weighted mean.
 */
function nll(logp: ArrayLike<number>, dims: readonly number[], target: HostTensor, weight: HostTensor | undefined, ctx: CpuContext, dtype: 'float32' | 'float64'): HostTensor {
  if (dims.length < 2) throw new KernelInputError(ctx, `input should have rank >= 2 (N, C, d1, ...), got rank ${dims.length}`);
  const N = dims[0]!;
  const C = dims[1]!;
  const rest = dims.slice(2);
  const D = sizeOf(rest);
  const tdims = [N, ...rest];
  if (target.dims.length !== tdims.length || target.dims.some((d, i) => d !== tdims[i])) {
    throw new KernelInputError(ctx, `target shape [${target.dims.join(',')}] should be [${tdims.join(',')}]`);
  }
  if (target.dtype !== 'int32' && target.dtype !== 'int64') throw new KernelInputError(ctx, `target should be int32 or int64, got ${target.dtype}`);
  if (weight) {
    checkFloat(weight, 'weight', ctx);
    if (weight.dims.length !== 1 || weight.dims[0] !== C) throw new KernelInputError(ctx, `weight shape [${weight.dims.join(',')}] should be [${C}]`);
  }
  const reduction = ctx.attrs.string('reduction', 'mean');
  if (reduction !== 'none' && reduction !== 'sum' && reduction !== 'mean') throw new KernelInputError(ctx, `unknown reduction '${reduction}'`);
  const ignore = ctx.attrs.int('ignore_index');
  const t = toIntList(target);
  const w = weight?.data as ArrayLike<number> | undefined;
  const loss = new Float64Array(N * D);
  let lossSum = 0;
  let weightSum = 0;
  for (let n = 0; n < N; n++) {
    for (let d = 0; d < D; d++) {
      const c = t[n * D + d]!;
      if (c === ignore) continue; // loss and weight are 0
      if (c < 0 || c >= C) throw new KernelInputError(ctx, `target ${c} at flat index ${n * D + d} is out of range [0, ${C})`);
      const wt = w ? w[c]! : 1;
      const l = -logp[(n * C + c) * D + d]! * wt;
      loss[n * D + d] = l;
      lossSum += l;
      weightSum += wt;
    }
  }
  if (reduction === 'none') {
    const out = allocTensor(dtype, tdims);
    (out.data as Float64Array).set(loss);
    return out;
  }
  const out = allocTensor(dtype, []);
  // A mean over only ignored targets is 0/0 (NaN), as in the ONNX reference.
  (out.data as Float64Array)[0] = reduction === 'sum' ? lossSum : lossSum / weightSum;
  return out;
}

const nllLoss: CpuKernel = viaF32((inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  checkFloat(x, 'input', ctx);
  return [nll(x.data as Float32Array, x.dims, tensorArg(inputs, 1, ctx), optTensorArg(inputs, 2, ctx), ctx, x.dtype as 'float32')];
});

const sceLoss: CpuKernel = viaF32((inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  checkFloat(x, 'scores', ctx);
  if (x.dims.length < 2) throw new KernelInputError(ctx, `scores should have rank >= 2 (N, C, d1, ...), got rank ${x.dims.length}`);
  const dtype = x.dtype as 'float32' | 'float64';
  const N = x.dims[0]!;
  const C = x.dims[1]!;
  const D = sizeOf(x.dims.slice(2));
  // Log-probabilities in float64 for the loss; the log_prob output is rounded to the input's type.
  const logp = new Float64Array(x.data.length);
  softmaxInto('log', x.data as Float32Array, logp, N, C, D);
  const loss = nll(logp, x.dims, tensorArg(inputs, 1, ctx), optTensorArg(inputs, 2, ctx), ctx, dtype);
  if (ctx.node.outputs.length < 2 || !ctx.node.outputs[1]) return [loss];
  const lp = allocTensor(dtype, x.dims);
  (lp.data as Float64Array).set(logp);
  return [loss, lp];
});

export const lossKernels = {
  NegativeLogLikelihoodLoss: nllLoss,
  SoftmaxCrossEntropyLoss: sceLoss,
};
