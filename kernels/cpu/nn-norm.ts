// CPU kernels: BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization,
// RMSNormalization, LRN, LpNormalization, MeanVarianceNormalization. Statistics accumulate in float64.
import { allocTensor, type HostTensor, narrowHalf, widenHalf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastOffsets, optTensorArg, tensorArg, viaF32 } from './util.js';
import { floatData } from './nn-conv.js';
import { prod } from './nn-im2col.js';
import { simdChannelAffine } from './nn-norm-simd.js';
import type { FloatArray } from './nn-im2col.js';

function normAxisK(ctx: CpuContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new KernelInputError(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Through allocTensor, so sequential runs recycle the buffer (graph/tensor-pool.ts). */
function newLike(x: FloatArray, n: number): FloatArray {
  return allocTensor(x instanceof Float64Array ? 'float64' : 'float32', [n]).data;
}

function out(x: HostTensor, data: FloatArray): HostTensor {
  return { kind: 'tensor', dtype: x.dtype, dims: [...x.dims], data } as HostTensor;
}

/** Per-channel values of a parameter of length C (or 1); errors name the parameter. */
function channelParam(ctx: CpuContext, t: HostTensor, C: number, what: string): FloatArray {
  const d = floatData(t, ctx, what);
  if (d.length !== C) throw new KernelInputError(ctx, `${what} has ${d.length} values, expected ${C}`);
  return d;
}

const batchNorm: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  if (xd.length < 2) throw new KernelInputError(ctx, `input should have rank >= 2, got [${xd.join(',')}]`);
  const x = floatData(X, ctx, 'input');
  const N = xd[0]!, C = xd[1]!;
  const inner = prod(xd.slice(2));
  const eps = ctx.attrs.float('epsilon', 1e-5);
  const training = ctx.opset >= 14 && ctx.attrs.int('training_mode', 0) !== 0;
  // spatial=0 (opsets < 9): parameters hold one value per (channel, position).
  const perElement = ctx.opset < 9 && ctx.attrs.int('spatial', 1) === 0;
  const P = perElement ? C * inner : C;
  const scale = channelParam(ctx, tensorArg(inputs, 1, ctx), P, 'scale');
  const bias = channelParam(ctx, tensorArg(inputs, 2, ctx), P, 'B');
  const mean = channelParam(ctx, tensorArg(inputs, 3, ctx), P, 'input_mean');
  const variance = channelParam(ctx, tensorArg(inputs, 4, ctx), P, 'input_var');
  const y = newLike(x, x.length);
  if (training) {
    const momentum = ctx.attrs.float('momentum', 0.9);
    const count = N * inner;
    const runMean = newLike(mean, C), runVar = newLike(variance, C);
    for (let c = 0; c < C; c++) {
      let s = 0, s2 = 0;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * inner;
        for (let i = o; i < o + inner; i++) s += x[i]!;
      }
      const m = s / count;
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * inner;
        for (let i = o; i < o + inner; i++) { const d = x[i]! - m; s2 += d * d; }
      }
      const v = s2 / count;
      const a = scale[c]! / Math.sqrt(v + eps);
      for (let n = 0; n < N; n++) {
        const o = (n * C + c) * inner;
        for (let i = o; i < o + inner; i++) y[i] = (x[i]! - m) * a + bias[c]!;
      }
      runMean[c] = mean[c]! * momentum + m * (1 - momentum);
      runVar[c] = variance[c]! * momentum + v * (1 - momentum);
    }
    const M = tensorArg(inputs, 3, ctx), V = tensorArg(inputs, 4, ctx);
    return [out(X, y), out(M, runMean), out(V, runVar)].slice(0, Math.max(1, ctx.node.outputs.length));
  }
  if (!perElement && x instanceof Float32Array && y instanceof Float32Array) {
    // The per-channel a, b as the loop below computes them, then the map by wasm SIMD (nn-norm-simd.ts).
    const a = new Float64Array(C), b = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      a[c] = scale[c]! / Math.sqrt(variance[c]! + eps);
      b[c] = bias[c]! - mean[c]! * a[c]!;
    }
    if (simdChannelAffine(x, y, N, C, inner, a, b)) return [out(X, y)];
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * inner;
      if (perElement) {
        for (let i = 0; i < inner; i++) {
          const p = c * inner + i;
          y[o + i] = (x[o + i]! - mean[p]!) * (scale[p]! / Math.sqrt(variance[p]! + eps)) + bias[p]!;
        }
      } else {
        const a = scale[c]! / Math.sqrt(variance[c]! + eps);
        const b = bias[c]! - mean[c]! * a;
        for (let i = o; i < o + inner; i++) y[i] = x[i]! * a + b;
      }
    }
  }
  return [out(X, y)];
};

/** Normalize `groups` contiguous runs of x; `affine(run, i)` gives [scale, bias] for element i of run. */
function normalizeRuns(x: FloatArray, y: FloatArray, runs: number, len: number, eps: number,
  scaleOf: (run: number, i: number) => number, biasOf: (run: number, i: number) => number): void {
  for (let r = 0; r < runs; r++) {
    const o = r * len;
    let s = 0;
    for (let i = o; i < o + len; i++) s += x[i]!;
    const m = s / len;
    let s2 = 0;
    for (let i = o; i < o + len; i++) { const d = x[i]! - m; s2 += d * d; }
    const inv = 1 / Math.sqrt(s2 / len + eps);
    for (let i = 0; i < len; i++) y[o + i] = (x[o + i]! - m) * inv * scaleOf(r, i) + biasOf(r, i);
  }
}

const instanceNorm: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  if (xd.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3, got [${xd.join(',')}]`);
  const x = floatData(X, ctx, 'input');
  const C = xd[1]!;
  const inner = prod(xd.slice(2));
  const scale = channelParam(ctx, tensorArg(inputs, 1, ctx), C, 'scale');
  const bias = channelParam(ctx, tensorArg(inputs, 2, ctx), C, 'B');
  const y = newLike(x, x.length);
  normalizeRuns(x, y, xd[0]! * C, inner, ctx.attrs.float('epsilon', 1e-5), (r) => scale[r % C]!, (r) => bias[r % C]!);
  return [out(X, y)];
};

const groupNorm: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  if (xd.length < 2) throw new KernelInputError(ctx, `input should have rank >= 2, got [${xd.join(',')}]`);
  const x = floatData(X, ctx, 'input');
  const C = xd[1]!;
  const G = ctx.attrs.required('num_groups', 'int');
  if (!(G >= 1) || C % G !== 0) throw new KernelInputError(ctx, `num_groups ${G} does not divide the ${C} channels`);
  const inner = prod(xd.slice(2));
  const cpg = C / G;
  const S = floatData(tensorArg(inputs, 1, ctx), ctx, 'scale');
  const B = floatData(tensorArg(inputs, 2, ctx), ctx, 'bias');
  // Opset 18 has one scale/bias per group; opset 21 one per channel.
  const perGroup = ctx.opset < 21 && S.length === G && G !== C;
  const want = perGroup ? G : C;
  if (S.length !== want || B.length !== want) throw new KernelInputError(ctx, `scale and bias should have ${want} values, got ${S.length} and ${B.length}`);
  const y = newLike(x, x.length);
  const len = cpg * inner;
  const idx = perGroup ? (r: number) => r % G : (r: number, i: number) => (r % G) * cpg + Math.floor(i / inner);
  normalizeRuns(x, y, xd[0]! * G, len, ctx.attrs.float('epsilon', 1e-5), (r, i) => S[idx(r, i)]!, (r, i) => B[idx(r, i)]!);
  return [out(X, y)];
};

/** Offsets of a parameter broadcast (unidirectionally) over the trailing dims `inner`. */
function innerParam(ctx: CpuContext, t: HostTensor, inner: readonly number[], what: string): { d: FloatArray; off: Int32Array | undefined } {
  const d = floatData(t, ctx, what);
  // Leading 1s beyond the normalized rank broadcast away (onnxruntime accepts them too).
  let pd = t.dims;
  while (pd.length > inner.length && pd[0] === 1) pd = pd.slice(1);
  const full = inner.slice(inner.length - pd.length);
  const core = (a: readonly number[]) => a.slice(Math.max(0, a.findIndex((v) => v !== 1)));
  // Same element order as the normalized shape: index directly.
  if (d.length === prod(inner) && core(pd).join() === core(inner).join()) return { d, off: undefined };
  if (pd.length > inner.length || pd.some((v, i) => v !== 1 && v !== full[i])) {
    throw new KernelInputError(ctx, `${what} shape [${t.dims.join(',')}] does not broadcast to the normalized shape [${inner.join(',')}]`);
  }
  return { d, off: broadcastOffsets(inner, [pd])[0]! };
}

function stashDtype(ctx: CpuContext): 'float32' | 'float64' {
  return ctx.attrs.int('stash_type', 1) === 11 ? 'float64' : 'float32';
}

/** LayerNormalization and RMSNormalization: statistics over dims [axis, rank). Half inputs are widened here
 * (not via viaF32) so the Mean/InvStdDev outputs keep their stash type. `optionalScale`: a missing scale
 * is 1 (tgraph:LayerNormalization, the lowering of a layer norm exported without one). */
export function lastAxesNorm(rms: boolean, optionalScale = false): CpuKernel {
  return (inputs, ctx) => {
    const X0 = tensorArg(inputs, 0, ctx);
    const half = X0.dtype === 'float16' || X0.dtype === 'bfloat16' ? X0.dtype : undefined;
    const X = widenHalf(X0);
    const S0 = optionalScale ? optTensorArg(inputs, 1, ctx) : tensorArg(inputs, 1, ctx);
    const S = S0 ? widenHalf(S0) : undefined;
    const B0 = rms ? undefined : optTensorArg(inputs, 2, ctx);
    const B = B0 ? widenHalf(B0) : undefined;
    const xd = X.dims;
    const axis = normAxisK(ctx, ctx.attrs.int('axis', -1), xd.length);
    const eps = ctx.attrs.float('epsilon', 1e-5);
    const x = floatData(X, ctx, 'input');
    const innerDims = xd.slice(axis);
    const outer = prod(xd.slice(0, axis));
    const len = prod(innerDims);
    const sc = S ? innerParam(ctx, S, innerDims, 'scale') : undefined;
    const bi = B ? innerParam(ctx, B, innerDims, 'bias') : undefined;
    const y = newLike(x, x.length);
    const sd = stashDtype(ctx);
    const statDims = xd.map((d, i) => (i < axis ? d : 1));
    const Mean = allocTensor(sd, statDims), Inv = allocTensor(sd, statDims);
    for (let r = 0; r < outer; r++) {
      const o = r * len;
      let m = 0;
      if (!rms) {
        let s = 0;
        for (let i = o; i < o + len; i++) s += x[i]!;
        m = s / len;
      }
      let s2 = 0;
      for (let i = o; i < o + len; i++) { const d = x[i]! - m; s2 += d * d; }
      const inv = 1 / Math.sqrt(s2 / len + eps);
      Mean.data[r] = m;
      Inv.data[r] = inv;
      const sdat = sc?.d, soff = sc?.off;
      for (let i = 0; i < len; i++) {
        let v = (x[o + i]! - m) * inv;
        if (sdat) v *= sdat[soff ? soff[i]! : i]!;
        if (bi) v += bi.d[bi.off ? bi.off[i]! : i]!;
        y[o + i] = v;
      }
    }
    let Y: HostTensor = out(X, y);
    if (half) Y = narrowHalf(Y, half);
    if (rms) return [Y];
    return [Y, Mean, Inv].slice(0, Math.max(1, ctx.node.outputs.length));
  };
}

const lrn: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  if (xd.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3, got [${xd.join(',')}]`);
  const size = ctx.attrs.required('size', 'int');
  if (!(size >= 1)) throw new KernelInputError(ctx, `size ${size} should be >= 1`);
  const alpha = ctx.attrs.float('alpha', 1e-4), beta = ctx.attrs.float('beta', 0.75), bias = ctx.attrs.float('bias', 1);
  const x = floatData(X, ctx, 'input');
  const N = xd[0]!, C = xd[1]!, inner = prod(xd.slice(2));
  const lo = Math.floor((size - 1) / 2), hi = Math.ceil((size - 1) / 2);
  const y = newLike(x, x.length);
  const sq = new Float64Array(inner);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      sq.fill(0);
      for (let k = Math.max(0, c - lo); k <= Math.min(C - 1, c + hi); k++) {
        const o = (n * C + k) * inner;
        for (let i = 0; i < inner; i++) sq[i] = sq[i]! + x[o + i]! * x[o + i]!;
      }
      const o = (n * C + c) * inner;
      for (let i = 0; i < inner; i++) y[o + i] = x[o + i]! / (bias + (alpha / size) * sq[i]!) ** beta;
    }
  }
  return [out(X, y)];
};

const lpNorm: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  const x = floatData(X, ctx, 'input');
  const axis = normAxisK(ctx, ctx.attrs.int('axis', -1), xd.length);
  const p = ctx.attrs.int('p', 2);
  if (p !== 1 && p !== 2) throw new KernelInputError(ctx, `p should be 1 or 2, got ${p}`);
  const len = xd[axis]!, inner = prod(xd.slice(axis + 1)), outer = prod(xd.slice(0, axis));
  const y = newLike(x, x.length);
  for (let a = 0; a < outer; a++) {
    for (let b = 0; b < inner; b++) {
      const o = a * len * inner + b;
      let s = 0;
      for (let k = 0; k < len; k++) { const v = x[o + k * inner]!; s += p === 1 ? Math.abs(v) : v * v; }
      const norm = p === 1 ? s : Math.sqrt(s);
      // A zero vector stays zero (instead of 0/0).
      const inv = norm === 0 ? 0 : 1 / norm;
      for (let k = 0; k < len; k++) y[o + k * inner] = x[o + k * inner]! * inv;
    }
  }
  return [out(X, y)];
};

const mvn: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xd = X.dims;
  const x = floatData(X, ctx, 'input');
  const axes = new Set((ctx.attrs.ints('axes') ?? [0, 2, 3]).map((a) => normAxisK(ctx, a, xd.length)));
  // Statistics per index of the kept dims: map each element to its group.
  const keptDims = xd.map((d, i) => (axes.has(i) ? 1 : d));
  const groups = prod(keptDims);
  const gOff = broadcastOffsets(xd, [keptDims])[0]!;
  const sum = new Float64Array(groups), sum2 = new Float64Array(groups), cnt = x.length / Math.max(1, groups);
  for (let i = 0; i < x.length; i++) { const g = gOff[i]!; sum[g] = sum[g]! + x[i]!; sum2[g] = sum2[g]! + x[i]! * x[i]!; }
  const y = newLike(x, x.length);
  for (let g = 0; g < groups; g++) {
    const m = sum[g]! / cnt;
    sum[g] = m;
    // As the ONNX function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
    sum2[g] = 1 / (Math.sqrt(Math.max(0, sum2[g]! / cnt - m * m)) + 1e-9);
  }
  for (let i = 0; i < x.length; i++) { const g = gOff[i]!; y[i] = (x[i]! - sum[g]!) * sum2[g]!; }
  return [out(X, y)];
};

export const normKernels = {
  BatchNormalization: viaF32(batchNorm),
  InstanceNormalization: viaF32(instanceNorm),
  LayerNormalization: lastAxesNorm(false),
  GroupNormalization: viaF32(groupNorm),
  RMSNormalization: lastAxesNorm(true),
  LRN: viaF32(lrn),
  LpNormalization: viaF32(lpNorm),
  MeanVarianceNormalization: viaF32(mvn),
} satisfies Record<string, CpuKernel>;
