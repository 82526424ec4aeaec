// Training-preview optimizers on CPU (domain ai.onnx.preview.training): Adagrad, Momentum, Adam.
// Inputs are R (learning rate), T (step count), then n tensors per group (X..., G..., state...).
import { type HostTensor, allocTensor, getNumber, toNumbers } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';

/** Split the inputs after R and T into `groups` equal groups of float tensors with matching shapes. */
function groupsOf(inputs: Parameters<CpuKernel>[0], ctx: CpuContext, groups: number): { r: number; t: number; sets: HostTensor[][] } {
  const r = getNumber(tensorArg(inputs, 0, ctx), 0);
  const t = getNumber(tensorArg(inputs, 1, ctx), 0);
  const rest = inputs.length - 2;
  if (rest <= 0 || rest % groups !== 0) throw new KernelInputError(ctx, `expected R, T and ${groups} equal groups of tensors, got ${inputs.length} inputs`);
  const n = rest / groups;
  const sets: HostTensor[][] = [];
  for (let g = 0; g < groups; g++) {
    const set: HostTensor[] = [];
    for (let i = 0; i < n; i++) {
      const v = tensorArg(inputs, 2 + g * n + i, ctx);
      if (v.dtype !== 'float32' && v.dtype !== 'float64') throw new KernelInputError(ctx, `optimizer tensors must be float32 or float64, got ${v.dtype}`);
      if (g > 0 && (v.dims.length !== sets[0]![i]!.dims.length || v.dims.some((d, k) => d !== sets[0]![i]!.dims[k]))) {
        throw new KernelInputError(ctx, `tensor ${2 + g * n + i} has shape [${v.dims.join(',')}], expected [${sets[0]![i]!.dims.join(',')}]`);
      }
      set.push(v);
    }
    sets.push(set);
  }
  return { r, t, sets };
}

const adagrad: CpuKernel = (inputs, ctx) => {
  const { r, t, sets } = groupsOf(inputs, ctx, 3);
  const decay = ctx.attrs.float('decay_factor', 0);
  const eps = ctx.attrs.float('epsilon', 1e-6);
  const norm = ctx.attrs.float('norm_coefficient', 0);
  const rate = r / (1 + t * decay);
  const xs: HostTensor[] = [];
  const hs: HostTensor[] = [];
  sets[0]!.forEach((x, i) => {
    const g = toNumbers(sets[1]![i]!), h = toNumbers(sets[2]![i]!), xv = toNumbers(x);
    const xo = allocTensor(x.dtype, x.dims), ho = allocTensor(x.dtype, x.dims);
    const xd = xo.data as Float32Array, hd = ho.data as Float32Array;
    for (let k = 0; k < xv.length; k++) {
      const gr = norm * xv[k]! + g[k]!;
      const hn = h[k]! + gr * gr;
      hd[k] = hn;
      xd[k] = xv[k]! - (rate * gr) / (Math.sqrt(hn) + eps);
    }
    xs.push(xo);
    hs.push(ho);
  });
  return [...xs, ...hs];
};

const momentum: CpuKernel = (inputs, ctx) => {
  const { r, t, sets } = groupsOf(inputs, ctx, 3);
  const alpha = ctx.attrs.float('alpha', 0);
  const beta = ctx.attrs.float('beta', 0);
  const norm = ctx.attrs.float('norm_coefficient', 0);
  const mode = ctx.attrs.string('mode', 'standard');
  if (mode !== 'standard' && mode !== 'nesterov') throw new KernelInputError(ctx, `mode must be standard or nesterov, got '${mode}'`);
  // The first step (T = 0) takes the whole gradient.
  const b = t > 0 ? beta : 1;
  const xs: HostTensor[] = [];
  const vs: HostTensor[] = [];
  sets[0]!.forEach((x, i) => {
    const g = toNumbers(sets[1]![i]!), v = toNumbers(sets[2]![i]!), xv = toNumbers(x);
    const xo = allocTensor(x.dtype, x.dims), vo = allocTensor(x.dtype, x.dims);
    const xd = xo.data as Float32Array, vd = vo.data as Float32Array;
    for (let k = 0; k < xv.length; k++) {
      const gr = norm * xv[k]! + g[k]!;
      const vn = alpha * v[k]! + b * gr;
      vd[k] = vn;
      xd[k] = mode === 'standard' ? xv[k]! - r * vn : xv[k]! - r * (gr + alpha * vn);
    }
    xs.push(xo);
    vs.push(vo);
  });
  return [...xs, ...vs];
};

const adam: CpuKernel = (inputs, ctx) => {
  const { r, t, sets } = groupsOf(inputs, ctx, 4);
  const alpha = ctx.attrs.float('alpha', 0.9);
  const beta = ctx.attrs.float('beta', 0.999);
  const eps = ctx.attrs.float('epsilon', 1e-6);
  const norm = ctx.attrs.float('norm_coefficient', 0);
  const normPost = ctx.attrs.float('norm_coefficient_post', 0);
  // Bias correction applies from the second step on.
  const rate = t > 0 ? (r * Math.sqrt(1 - beta ** t)) / (1 - alpha ** t) : r;
  const xs: HostTensor[] = [];
  const vs: HostTensor[] = [];
  const hs: HostTensor[] = [];
  sets[0]!.forEach((x, i) => {
    const g = toNumbers(sets[1]![i]!), v = toNumbers(sets[2]![i]!), h = toNumbers(sets[3]![i]!), xv = toNumbers(x);
    const xo = allocTensor(x.dtype, x.dims), vo = allocTensor(x.dtype, x.dims), ho = allocTensor(x.dtype, x.dims);
    const xd = xo.data as Float32Array, vd = vo.data as Float32Array, hd = ho.data as Float32Array;
    for (let k = 0; k < xv.length; k++) {
      const gr = norm * xv[k]! + g[k]!;
      const vn = alpha * v[k]! + (1 - alpha) * gr;
      const hn = beta * h[k]! + (1 - beta) * gr * gr;
      vd[k] = vn;
      hd[k] = hn;
      xd[k] = (1 - normPost) * (xv[k]! - (rate * vn) / (Math.sqrt(hn) + eps));
    }
    xs.push(xo);
    vs.push(vo);
    hs.push(ho);
  });
  return [...xs, ...vs, ...hs];
};

export const trainKernels = {
  'ai.onnx.preview.training:Adagrad': adagrad,
  'ai.onnx.preview.training:Momentum': momentum,
  'ai.onnx.preview.training:Adam': adam,
};
