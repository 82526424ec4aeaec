// CPU kernels for the recurrent transformer-era ops of opset 27: LinearAttention and CausalConvWithState.
// Both carry a state between calls (decode steps) and are run step by step over the sequence.
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';
import { type FloatArray, floatData, rankIs, sigmoid } from './attention-util.js';

const UPDATE_RULES = ['linear', 'gated', 'delta', 'gated_delta'] as const;

/**
 * LinearAttention: per KV head a state S [Dk, Dv] is updated at every step t:
 *   gated:  S *= exp(decay_t) (decay per head or per key dim)
 *   delta:  v_t <- beta_t * (v_t - S^T (erase_t * k_t))
 *   S += k_t v_t^T;  o_t = scale * q_t^T S (query heads share KV heads in contiguous groups).
 * chunk_size is a tuning hint for chunked kernels and does not change the result; it is ignored here.
 */
const linearAttentionF: CpuKernel = (inputs, ctx) => {
  const Qt = tensorArg(inputs, 0, ctx);
  const Kt = tensorArg(inputs, 1, ctx);
  const Vt = tensorArg(inputs, 2, ctx);
  const pastT = optTensorArg(inputs, 3, ctx);
  const decayT = optTensorArg(inputs, 4, ctx);
  const betaT = optTensorArg(inputs, 5, ctx);
  const eraseT = optTensorArg(inputs, 6, ctx);
  const rule = ctx.attrs.string('update_rule', 'gated_delta');
  if (!(UPDATE_RULES as readonly string[]).includes(rule)) throw new KernelInputError(ctx, `update_rule must be one of ${UPDATE_RULES.join(', ')}, got '${rule}'`);
  const gating = rule === 'gated' || rule === 'gated_delta';
  const delta = rule === 'delta' || rule === 'gated_delta';
  if (gating !== !!decayT) throw new KernelInputError(ctx, `update_rule '${rule}' ${gating ? 'requires' : 'forbids'} the decay input`);
  if (delta !== !!betaT) throw new KernelInputError(ctx, `update_rule '${rule}' ${delta ? 'requires' : 'forbids'} the beta input`);
  if (eraseT && !delta) throw new KernelInputError(ctx, `update_rule '${rule}' forbids the erase_gate input`);
  const hq = ctx.attrs.int('q_num_heads', 0);
  const hkv = ctx.attrs.int('kv_num_heads', 0);
  if (hq <= 0 || hkv <= 0 || hq % hkv) throw new KernelInputError(ctx, `q_num_heads (${hq}) must be a positive multiple of kv_num_heads (${hkv})`);
  for (const [t, n] of [[Qt, 'query'], [Kt, 'key'], [Vt, 'value']] as const) rankIs(t, [3], n, ctx);
  const q = floatData(Qt, 'query', ctx), k = floatData(Kt, 'key', ctx), v = floatData(Vt, 'value', ctx);
  const [B, T] = [Qt.dims[0]!, Qt.dims[1]!];
  if (Qt.dims[2]! % hq || Vt.dims[2]! % hkv) throw new KernelInputError(ctx, `hidden sizes (query ${Qt.dims[2]}, value ${Vt.dims[2]}) must divide by the head counts`);
  const Dk = Qt.dims[2]! / hq;
  const Dv = Vt.dims[2]! / hkv;
  for (const t of [Kt, Vt]) {
    if (t.dims[0] !== B || t.dims[1] !== T) throw new KernelInputError(ctx, `key/value batch and length must match query's [${B},${T}], got [${t.dims}]`);
  }
  if (Kt.dims[2] !== hkv * Dk) throw new KernelInputError(ctx, `key hidden size ${Kt.dims[2]} should be kv_num_heads*d_k = ${hkv * Dk}`);

  // Per-step scalars or vectors, read with a per-head stride of 1 (per head) or Dk (per key dim).
  const decay = decayT && floatData(decayT, 'decay', ctx);
  let decayPerDim = false;
  if (decayT) {
    rankIs(decayT, [3], 'decay', ctx);
    const last = decayT.dims[2]!;
    if (last === hkv * Dk) decayPerDim = true;
    else if (last !== hkv) throw new KernelInputError(ctx, `decay last dim ${last} must be kv_num_heads (${hkv}) or kv_num_heads*d_k (${hkv * Dk})`);
  }
  const beta = betaT && floatData(betaT, 'beta', ctx);
  let betaHeads = 0;
  if (betaT) {
    rankIs(betaT, [3], 'beta', ctx);
    betaHeads = betaT.dims[2]!;
    if (betaHeads !== hkv && betaHeads !== 1) throw new KernelInputError(ctx, `beta last dim ${betaHeads} must be kv_num_heads (${hkv}) or 1`);
  }
  const erase = eraseT && floatData(eraseT, 'erase_gate', ctx);
  if (eraseT && (eraseT.dims.length !== 3 || eraseT.dims[2] !== hkv * Dk)) throw new KernelInputError(ctx, `erase_gate must be [B,T,${hkv * Dk}], got [${eraseT.dims}]`);
  for (const t of [decayT, betaT, eraseT]) {
    if (t && (t.dims[0] !== B || t.dims[1] !== T)) throw new KernelInputError(ctx, `decay/beta/erase_gate must start with [${B},${T}], got [${t.dims}]`);
  }

  const stateDtype = (pastT?.dtype ?? Qt.dtype) as 'float32' | 'float64';
  const present = allocTensor(stateDtype, [B, hkv, Dk, Dv]);
  const S = new Float64Array(B * hkv * Dk * Dv); // accumulate in double, whatever the I/O type
  if (pastT) {
    if (pastT.dims.length !== 4 || pastT.dims[0] !== B || pastT.dims[1] !== hkv || pastT.dims[2] !== Dk || pastT.dims[3] !== Dv) {
      throw new KernelInputError(ctx, `past_state must be [${B},${hkv},${Dk},${Dv}], got [${pastT.dims}]`);
    }
    S.set(floatData(pastT, 'past_state', ctx));
  }
  const scaleAttr = ctx.attrs.float('scale', 0);
  const scale = scaleAttr || 1 / Math.sqrt(Dk);
  const group = hq / hkv;
  const Y = allocTensor(Qt.dtype, [B, T, hq * Dv]);
  const y = Y.data as FloatArray;
  const vt = new Float64Array(Dv);
  const acc = new Float64Array(Dv);
  // State rows (one per key dim) are contiguous, so every inner loop runs along Dv.
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const bt = b * T + t;
      for (let h = 0; h < hkv; h++) {
        const st = (b * hkv + h) * Dk * Dv;
        const kOff = bt * hkv * Dk + h * Dk;
        if (decay) {
          const dOff = decayPerDim ? bt * hkv * Dk + h * Dk : bt * hkv + h;
          const gHead = decayPerDim ? 0 : Math.exp(decay[dOff]!);
          for (let i = 0; i < Dk; i++) {
            const g = decayPerDim ? Math.exp(decay[dOff + i]!) : gHead;
            const r = st + i * Dv;
            for (let m = 0; m < Dv; m++) S[r + m]! *= g;
          }
        }
        const vOff = bt * hkv * Dv + h * Dv;
        for (let m = 0; m < Dv; m++) vt[m] = v[vOff + m]!;
        if (beta) {
          // v_t <- beta * (v_t - S^T k_erase)
          const bv = beta[bt * betaHeads + (betaHeads === 1 ? 0 : h)]!;
          acc.fill(0);
          for (let i = 0; i < Dk; i++) {
            const ke = erase ? erase[kOff + i]! * k[kOff + i]! : k[kOff + i]!;
            const r = st + i * Dv;
            for (let m = 0; m < Dv; m++) acc[m]! += S[r + m]! * ke;
          }
          for (let m = 0; m < Dv; m++) vt[m] = bv * (vt[m]! - acc[m]!);
        }
        for (let i = 0; i < Dk; i++) {
          const ki = k[kOff + i]!;
          const r = st + i * Dv;
          for (let m = 0; m < Dv; m++) S[r + m]! += ki * vt[m]!;
        }
        // Read by the query heads of this KV head's group: o = scale * S^T q.
        for (let g = 0; g < group; g++) {
          const qh = h * group + g;
          const qOff = bt * hq * Dk + qh * Dk;
          const yOff = bt * hq * Dv + qh * Dv;
          acc.fill(0);
          for (let i = 0; i < Dk; i++) {
            const qi = q[qOff + i]!;
            const r = st + i * Dv;
            for (let m = 0; m < Dv; m++) acc[m]! += qi * S[r + m]!;
          }
          for (let m = 0; m < Dv; m++) y[yOff + m] = scale * acc[m]!;
        }
      }
    }
  }
  (present.data as FloatArray).set(S);
  return [Y, present];
};

/**
 * CausalConvWithState: depthwise Conv1d over [past_state | input] (left context of kernel-1 steps),
 * optional bias and SiLU; present_state keeps the last kernel-1 steps of that padded input.
 */
const causalConvF: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const W = tensorArg(inputs, 1, ctx);
  const biasT = optTensorArg(inputs, 2, ctx);
  const pastT = optTensorArg(inputs, 3, ctx);
  const act = ctx.attrs.string('activation', 'none');
  if (act !== 'none' && act !== 'silu' && act !== 'swish') throw new KernelInputError(ctx, `activation must be 'none', 'silu' or 'swish', got '${act}'`);
  rankIs(X, [3], 'input', ctx);
  rankIs(W, [3], 'weight', ctx);
  const [B, C, L] = [X.dims[0]!, X.dims[1]!, X.dims[2]!];
  const K = W.dims[2]!;
  if (W.dims[0] !== C || W.dims[1] !== 1 || K < 1) throw new KernelInputError(ctx, `weight must be [${C},1,kernel>=1], got [${W.dims}]`);
  const x = floatData(X, 'input', ctx), w = floatData(W, 'weight', ctx);
  const bias = biasT && floatData(biasT, 'bias', ctx);
  if (biasT && (biasT.dims.length !== 1 || biasT.dims[0] !== C)) throw new KernelInputError(ctx, `bias must be [${C}], got [${biasT.dims}]`);
  const P = K - 1;
  const past = pastT && floatData(pastT, 'past_state', ctx);
  if (pastT && (pastT.dims.length !== 3 || pastT.dims[0] !== B || pastT.dims[1] !== C || pastT.dims[2] !== P)) {
    throw new KernelInputError(ctx, `past_state must be [${B},${C},${P}], got [${pastT.dims}]`);
  }
  const Y = allocTensor(X.dtype, [B, C, L]);
  const present = allocTensor(X.dtype, [B, C, P]);
  const y = Y.data as FloatArray, ps = present.data as FloatArray;
  const padded = new Float64Array(P + L);
  const silu = act !== 'none';
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const bc = b * C + c;
      if (past) for (let i = 0; i < P; i++) padded[i] = past[bc * P + i]!;
      else padded.fill(0, 0, P);
      for (let i = 0; i < L; i++) padded[P + i] = x[bc * L + i]!;
      const bv = bias ? bias[c]! : 0;
      for (let t = 0; t < L; t++) {
        let s = bv;
        for (let j = 0; j < K; j++) s += w[c * K + j]! * padded[t + j]!;
        y[bc * L + t] = silu ? s * sigmoid(s) : s;
      }
      for (let i = 0; i < P; i++) ps[bc * P + i] = padded[L + i]!;
    }
  }
  return [Y, present];
};

export const linearAttentionKernel: CpuKernel = viaF32(linearAttentionF);
export const causalConvWithStateKernel: CpuKernel = viaF32(causalConvF);
