// Op schemas and shape rules: attention family (transformer-era ops, opsets 23-28 and ai.onnx.preview).
import type { Dim } from '../ir.js';
import type { InferContext, OpSchema } from './types.js';
import { op } from './types.js';
import { broadcastSameType, dtypeOf, fail, sameAsInput, shapeOf, tensorOut } from './shape-util.js';

/** a / n for a dim that may be symbolic; fails when a known size does not divide. */
function divDim(ctx: InferContext, a: Dim, n: number, what: string): Dim {
  if (typeof a === 'number') {
    if (n <= 0 || a % n !== 0) fail(ctx, `${what} (${a}) is not divisible by ${n}`);
    return a / n;
  }
  return n === 1 ? a : `${a}/${n}`;
}

function addDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (a === 0) return b;
  if (b === 0) return a;
  return `${a}+${b}`;
}

function positiveAttr(ctx: InferContext, name: string): number {
  const v = ctx.attrs.int(name, 0);
  if (v <= 0) fail(ctx, `attribute '${name}' must be a positive integer for rank-3 inputs, got ${v}`);
  return v;
}

/**
 * Attention (opset 23/24). Q [B,Hq,L,D] or [B,L,Hq*D]; K/V [B,Hkv,S,D(v)] or [B,S,Hkv*D(v)].
 * Outputs: Y like Q with V's head size; present_key/value [B,Hkv,P+S,D(v)]; qk_matmul_output [B,Hq,L,P+S].
 */
function inferAttention(ctx: InferContext) {
  const dt = dtypeOf(ctx, 0);
  const q = shapeOf(ctx, 0);
  const k = shapeOf(ctx, 1);
  const v = shapeOf(ctx, 2);
  const pk = shapeOf(ctx, 4);
  const pv = shapeOf(ctx, 5);
  if (!q || !k || !v) return [tensorOut(dt), tensorOut(dt), tensorOut(dt), tensorOut(dt)];
  if (q.length !== k.length || q.length !== v.length || (q.length !== 3 && q.length !== 4)) {
    fail(ctx, `Q, K and V must all be rank 3 or all rank 4, got ranks ${q.length}, ${k.length}, ${v.length}`);
  }
  let b: Dim, hq: Dim, hkv: Dim, lq: Dim, s: Dim, dk: Dim, dv: Dim;
  let y: Dim[];
  if (q.length === 4) {
    [b, hq, lq] = [q[0]!, q[1]!, q[2]!];
    [hkv, s, dk] = [k[1]!, k[2]!, k[3]!];
    dv = v[3]!;
    y = [b, hq, lq, dv];
  } else {
    const nq = positiveAttr(ctx, 'q_num_heads');
    const nkv = positiveAttr(ctx, 'kv_num_heads');
    [b, lq, hq] = [q[0]!, q[1]!, nq];
    [hkv, s] = [nkv, k[1]!];
    dk = divDim(ctx, k[2]!, nkv, 'K hidden size');
    dv = divDim(ctx, v[2]!, nkv, 'V hidden size');
    divDim(ctx, q[2]!, nq, 'Q hidden size');
    y = [b, lq, typeof dv === 'number' ? nq * dv : `${nq}*${dv}`];
  }
  if (typeof hq === 'number' && typeof hkv === 'number' && hq % hkv !== 0) {
    fail(ctx, `q_num_heads (${hq}) must be a multiple of kv_num_heads (${hkv})`);
  }
  const past = pk ? pk[2]! : 0;
  const total = addDims(past, s);
  const pastV = pv ? pv[2]! : 0;
  return [
    tensorOut(dt, y),
    tensorOut(dt, [b, hkv, total, dk]),
    tensorOut(dt, [b, hkv, addDims(pastV, s), dv]),
    tensorOut(dt, [b, hq, lq, total]),
  ];
}

/** LinearAttention (opset 27): output [B,T,Hq*Dv]; present_state [B,Hkv,Dk,Dv]. */
function inferLinearAttention(ctx: InferContext) {
  const dt = dtypeOf(ctx, 0);
  const q = shapeOf(ctx, 0);
  const v = shapeOf(ctx, 2);
  const ps = shapeOf(ctx, 3);
  const stateType = dtypeOf(ctx, 3) ?? dt;
  if (!q || !v) return [tensorOut(dt), tensorOut(stateType, ps)];
  if (q.length !== 3 || v.length !== 3) fail(ctx, `query and value must be rank 3, got ranks ${q.length} and ${v.length}`);
  const nq = positiveAttr(ctx, 'q_num_heads');
  const nkv = positiveAttr(ctx, 'kv_num_heads');
  if (nq % nkv !== 0) fail(ctx, `q_num_heads (${nq}) must be a multiple of kv_num_heads (${nkv})`);
  const dk = divDim(ctx, q[2]!, nq, 'query hidden size');
  const dv = divDim(ctx, v[2]!, nkv, 'value hidden size');
  return [
    tensorOut(dt, [q[0]!, q[1]!, typeof dv === 'number' ? nq * dv : `${nq}*${dv}`]),
    tensorOut(stateType, [q[0]!, nkv, dk, dv]),
  ];
}

/** CausalConvWithState (opset 27): output like input; present_state [B,C,K-1]. */
function inferCausalConv(ctx: InferContext) {
  const dt = dtypeOf(ctx, 0);
  const x = shapeOf(ctx, 0);
  const w = shapeOf(ctx, 1);
  if (x && x.length !== 3) fail(ctx, `input must be rank 3 [batch, channels, length], got rank ${x.length}`);
  if (w && w.length !== 3) fail(ctx, `weight must be rank 3 [channels, 1, kernel], got rank ${w.length}`);
  const k = w?.[2];
  const state: Dim[] | undefined = x && k !== undefined ? [x[0]!, x[1]!, typeof k === 'number' ? k - 1 : `${k}-1`] : undefined;
  return [tensorOut(dt, x), tensorOut(dt, state)];
}

/** FlexAttention (ai.onnx.preview 1): Y [B,Hq,L,Dv]. */
function inferFlexAttention(ctx: InferContext) {
  const dt = dtypeOf(ctx, 0);
  const q = shapeOf(ctx, 0);
  const v = shapeOf(ctx, 2);
  if (!q || !v) return [tensorOut(dt)];
  if (q.length !== 4 || v.length !== 4) fail(ctx, `Q, K and V must be rank 4, got Q rank ${q.length}, V rank ${v.length}`);
  return [tensorOut(dt, [q[0]!, q[1]!, q[2]!, v[3]!])];
}

export const attentionOps = {
  Attention: op(inferAttention, { since: 23, doc: 'Scaled dot-product attention with GQA, masks, KV cache and softcap' }),
  RotaryEmbedding: op(sameAsInput, { since: 23, doc: 'Rotary positional embedding (RoPE)' }),
  LinearAttention: op(inferLinearAttention, { since: 27, doc: 'Recurrent linear attention (linear/gated/delta/gated_delta rules)' }),
  CausalConvWithState: op(inferCausalConv, { since: 27, doc: 'Depthwise causal Conv1d with carried state' }),
  SwiGLU: op(broadcastSameType, { since: 28, doc: 'Swish(alpha*a)*b' }),
  'ai.onnx.preview:FlexAttention': op(inferFlexAttention, { domain: 'ai.onnx.preview', since: 1, doc: 'Attention with score_mod/prob_mod subgraphs' }),
} satisfies Record<string, OpSchema>;
