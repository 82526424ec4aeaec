// CPU kernels: activation functions, each a scalar function of the element and the node's attributes.
import { type BinaryDef, type UnaryDef, binaryOp, unaryKernel } from './elementwise-kernel.js';
import { erf, sigmoid, softplus } from './elementwise-scalar.js';
import { type UnaryRun, geluRun, hardSigmoidRun, hardSwishRun, leakyReluRun, reluRun, sigmoidRun, swishRun } from './elementwise-runs.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';
import { KernelInputError } from './errors.js';

/** A float activation whose scalar function (and optional whole-array loop) is built once per run from the attributes. */
const act = (make: (ctx: CpuContext) => ((x: number) => number) | [(x: number) => number, UnaryRun]): CpuKernel =>
  unaryKernel((ctx): UnaryDef => {
    const m = make(ctx);
    return Array.isArray(m) ? { types: 'float', num: m[0], run: m[1] } : { types: 'float', num: m };
  });

const prelu: BinaryDef = { types: 'numeric', num: (x, s) => (x < 0 ? s * x : x), big: (x, s) => (x < 0n ? s * x : x) };

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export const activationKernels = {
  // NaN passes through (x < 0 is false), as with max(x, 0) in NumPy.
  Relu: unaryKernel({
    types: 'signed', num: (x) => (x < 0 ? 0 : x), big: (x) => (x < 0n ? 0n : x), run: reluRun,
  }),
  LeakyRelu: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 0.01);
    return [(x) => (x < 0 ? alpha * x : x), leakyReluRun(alpha)];
  }),
  PRelu: (inputs, ctx) => {
    const x = tensorArg(inputs, 0, ctx);
    let slope = tensorArg(inputs, 1, ctx);
    // Before opset 7 a 1-D slope of size C is per channel (axis 1), not aligned to the last axis.
    if (ctx.opset < 7 && slope.dims.length === 1 && x.dims.length > 2 && slope.dims[0] === x.dims[1]) {
      slope = { ...slope, dims: [slope.dims[0]!, ...new Array<number>(x.dims.length - 2).fill(1)] };
    }
    return [binaryOp(ctx, prelu, x, slope)];
  },
  Elu: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 1);
    return (x) => (x < 0 ? alpha * Math.expm1(x) : x);
  }),
  Selu: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', SELU_ALPHA);
    const gamma = ctx.attrs.float('gamma', SELU_GAMMA);
    return (x) => (x > 0 ? gamma * x : gamma * alpha * Math.expm1(x));
  }),
  Celu: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 1);
    return (x) => (x > 0 ? x : alpha * Math.expm1(x / alpha));
  }),
  Gelu: act((ctx) => {
    const mode = ctx.attrs.string('approximate', 'none');
    if (mode !== 'none' && mode !== 'tanh') throw new KernelInputError(ctx, `approximate must be 'none' or 'tanh', got '${mode}'`);
    if (mode === 'tanh') return [(x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))), geluRun(true)];
    return [(x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)), geluRun(false)];
  }),
  HardSigmoid: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 0.2);
    const beta = ctx.attrs.float('beta', 0.5);
    return [(x) => Math.max(0, Math.min(1, alpha * x + beta)), hardSigmoidRun(alpha, beta)];
  }),
  HardSwish: act(() => [(x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)), hardSwishRun]),
  Mish: act(() => (x) => x * Math.tanh(softplus(x))),
  Softplus: act(() => softplus),
  Softsign: act(() => (x) => x / (1 + Math.abs(x))),
  ThresholdedRelu: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 1);
    return (x) => (x > alpha ? x : 0);
  }),
  Sigmoid: act(() => [sigmoid, sigmoidRun]),
  Swish: act((ctx) => {
    const alpha = ctx.attrs.float('alpha', 1);
    return [(x) => x * sigmoid(alpha * x), swishRun(alpha)];
  }),
  Shrink: unaryKernel((ctx): UnaryDef => {
    const bias = ctx.attrs.float('bias', 0);
    const lambd = ctx.attrs.float('lambd', 0.5);
    return { types: 'numeric', num: (x) => (x < -lambd ? x + bias : x > lambd ? x - bias : 0) };
  }),
} satisfies Record<string, CpuKernel>;
