// CPU kernels: attention family. Keys match graph/ops/attention.ts; TypeScript checks none is missing.
// The larger kernels live in attention-*.ts (one file per op or pair of ops).
import type { attentionOps } from '../../graph/ops/attention.js';
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { broadcastOffsets, broadcastShapes, tensorArg, viaF32 } from './util.js';
import { type FloatArray, floatData, sigmoid } from './attention-util.js';
import { attentionKernel } from './attention-sdpa.js';
import { rotaryEmbeddingKernel } from './attention-rope.js';
import { causalConvWithStateKernel, linearAttentionKernel } from './attention-recurrent.js';
import { flexAttentionKernel } from './attention-flex.js';

/** SwiGLU (opset 28): y = a * sigmoid(alpha * a) * b, with NumPy broadcasting of a and b. */
const swigluF: CpuKernel = (inputs, ctx) => {
  const A = tensorArg(inputs, 0, ctx);
  const Bt = tensorArg(inputs, 1, ctx);
  const a = floatData(A, 'a', ctx), b = floatData(Bt, 'b', ctx);
  if (A.dtype !== Bt.dtype) throw new KernelInputError(ctx, `a and b must have one dtype, got ${A.dtype} and ${Bt.dtype}`);
  const alpha = ctx.attrs.float('alpha', 1);
  const dims = broadcastShapes(A.dims, Bt.dims);
  if (!dims) throw new KernelInputError(ctx, `shapes [${A.dims}] and [${Bt.dims}] do not broadcast`);
  const Y = allocTensor(A.dtype, dims);
  const y = Y.data as FloatArray;
  const same = a.length === y.length && b.length === y.length;
  if (same) {
    for (let i = 0; i < y.length; i++) y[i] = a[i]! * sigmoid(alpha * a[i]!) * b[i]!;
  } else {
    const [oa, ob] = broadcastOffsets(dims, [A.dims, Bt.dims]) as [Int32Array, Int32Array];
    for (let i = 0; i < y.length; i++) {
      const x = a[oa[i]!]!;
      y[i] = x * sigmoid(alpha * x) * b[ob[i]!]!;
    }
  }
  return [Y];
};

export const attentionKernels = {
  Attention: attentionKernel,
  RotaryEmbedding: rotaryEmbeddingKernel,
  LinearAttention: linearAttentionKernel,
  CausalConvWithState: causalConvWithStateKernel,
  SwiGLU: viaF32(swigluF),
  'ai.onnx.preview:FlexAttention': flexAttentionKernel,
} satisfies Record<keyof typeof attentionOps, CpuKernel>;
