// CPU kernel for ai.onnx.preview FlexAttention (opset 1): scores = Q K^T * scale, score_mod(scores),
// softmax over keys, prob_mod(probs), Y = probs V. The mod subgraphs take and return the whole
// [B, Hq, L, S] tensor, so scores are materialized here (unlike Attention's row loop).
// Scores and probabilities are float32 for float16/bfloat16/float32 inputs and float64 for float64 ones.
import { allocTensor, type HostTensor, widenHalf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';
import { dot, weightedRows, type FloatArray, floatData, rankIs } from './attention-util.js';

/** Run a mod subgraph on a [B,H,L,S] tensor and check it returns a float tensor of the same shape. */
function applyMod(name: string, t: HostTensor, ctx: CpuContext): FloatArray {
  const g = ctx.attrs.graph(name);
  if (!g) return t.data as FloatArray;
  const res = ctx.runGraph(g, [t])[0];
  if (!res || res.kind !== 'tensor') throw new KernelInputError(ctx, `${name} must return a tensor`);
  const out = widenHalf(res);
  if (out.dims.length !== 4 || out.dims.some((d, i) => d !== t.dims[i])) {
    throw new KernelInputError(ctx, `${name} must return shape [${t.dims}], got [${out.dims}]`);
  }
  return floatData(out, `${name} output`, ctx);
}

const flexF: CpuKernel = (inputs, ctx) => {
  const Q = tensorArg(inputs, 0, ctx);
  const K = tensorArg(inputs, 1, ctx);
  const V = tensorArg(inputs, 2, ctx);
  for (const [t, n] of [[Q, 'Q'], [K, 'K'], [V, 'V']] as const) rankIs(t, [4], n, ctx);
  const q = floatData(Q, 'Q', ctx), k = floatData(K, 'K', ctx), v = floatData(V, 'V', ctx);
  const [B, hq, L, D] = Q.dims as [number, number, number, number];
  const [, hkv, S] = K.dims as [number, number, number, number];
  const Dv = V.dims[3]!;
  if (K.dims[0] !== B || V.dims[0] !== B || K.dims[3] !== D || V.dims[1] !== hkv || V.dims[2] !== S) {
    throw new KernelInputError(ctx, `shapes do not fit: Q [${Q.dims}], K [${K.dims}], V [${V.dims}]`);
  }
  if (hq % hkv) throw new KernelInputError(ctx, `Q heads (${hq}) must be a multiple of K/V heads (${hkv})`);
  const group = hq / hkv;
  const scale = ctx.attrs.float('scale', 0) || 1 / Math.sqrt(D);
  const dtype = Q.dtype as 'float32' | 'float64';

  const scoresT = allocTensor(dtype, [B, hq, L, S]);
  const sc = scoresT.data as FloatArray;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < hq; h++) {
      const kBase = (b * hkv + ((h / group) | 0)) * S * D;
      for (let i = 0; i < L; i++) {
        const qOff = ((b * hq + h) * L + i) * D;
        const row = ((b * hq + h) * L + i) * S;
        for (let j = 0; j < S; j++) {
          sc[row + j] = dot(q, qOff, k, kBase + j * D, D) * scale;
        }
      }
    }
  }
  const modded = applyMod('score_mod', scoresT, ctx);
  // Softmax per row; a row masked entirely to -inf gives zero weights rather than NaN.
  const probsT = allocTensor(dtype, [B, hq, L, S]);
  const pr = probsT.data as FloatArray;
  for (let r = 0; r < B * hq * L; r++) {
    const o = r * S;
    let max = -Infinity;
    for (let j = 0; j < S; j++) if (modded[o + j]! > max) max = modded[o + j]!;
    if (max === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < S; j++) {
      const e = Math.exp(modded[o + j]! - max);
      pr[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < S; j++) pr[o + j]! /= sum;
  }
  const p = applyMod('prob_mod', probsT, ctx);
  const Y = allocTensor(dtype, [B, hq, L, Dv]);
  const y = Y.data as FloatArray;
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < hq; h++) {
      const vBase = (b * hkv + ((h / group) | 0)) * S * Dv;
      for (let i = 0; i < L; i++) {
        const row = ((b * hq + h) * L + i) * S;
        weightedRows(acc, p, row, S, v, vBase, Dv, Dv);
        y.set(acc, ((b * hq + h) * L + i) * Dv);
      }
    }
  }
  return [Y];
};

export const flexAttentionKernel: CpuKernel = viaF32(flexF);
