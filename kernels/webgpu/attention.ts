// ONNX Attention (opset 23/24) on WebGPU, the forms without a KV cache: softmax(softcap(Q K^T * scale)
// + mask) V with rank-3 (heads packed in the hidden dim) or rank-4 Q/K/V, grouped KV heads, is_causal,
// and a bool or additive attn_mask broadcast to [B, Hq, L, <=S]. One thread per output element: it
// recomputes its row's scores (max pass, then exp-sum and weighted V), so no score matrix is stored.
// past_key/value, present outputs, the qk_matmul output and nonpad_kv_seqlen run on the CPU.
// RotaryEmbedding: a thread per element.
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, broadcastStrides, defineShader, flit, grid, main1d, sizeOf, uniformDecl } from './wgsl.js';

interface AttentionParams {
  readonly mask: 'none' | 'bool' | 'add';
  readonly causal: boolean;
  readonly softcap: boolean;
}

const attentionShader = defineShader<AttentionParams>('attention', (spec) => {
  const p = spec.params;
  const decls = [{ name: 'q', type: 'f32' }, { name: 'k', type: 'f32' }, { name: 'v', type: 'f32' }, ...(p.mask !== 'none' ? [{ name: 'm', type: p.mask === 'bool' ? 'u32' : 'f32' }] : []), { name: 'out', type: 'f32', write: true }];
  const masked = p.mask === 'bool' ? 'm[mRow + j * u_ms(3u)] == 0u' : 'false';
  const add = p.mask === 'add' ? ' + m[mRow + j * u_ms(3u)]' : '';
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
fn tg_tanh(x: f32) -> f32 { let c = clamp(x, -15.0, 15.0); let e = exp(2.0 * c); return (e - 1.0) / (e + 1.0); }
var<private> qOff: u32;
var<private> kBase: u32;
var<private> mRow: u32;
fn score(j: u32) -> f32 {
  var s = 0.0;
  let kOff = kBase + j * u_ks(2u);
  for (var e = 0u; e < u_d(); e = e + 1u) { s = s + q[qOff + e] * k[kOff + e]; }
  var x = s * u_scale();
  ${p.softcap ? 'x = u_softcap() * tg_tanh(x / u_softcap());' : ''}
  return x${add};
}
${main1d(`  if (gi >= u_n()) { return; }
  let dv = u_dv();
  let d = gi % dv;
  var t = gi / dv;
  let i = t % u_l(); t = t / u_l();
  let h = t % u_hq();
  let b = t / u_hq();
  let kvh = h / u_group();
  qOff = b * u_qs(0u) + h * u_qs(1u) + i * u_qs(2u);
  kBase = b * u_ks(0u) + kvh * u_ks(1u);
  let vBase = b * u_vs(0u) + kvh * u_vs(1u) + d;
  mRow = b * u_ms(0u) + h * u_ms(1u) + i * u_ms(2u);
  var limit = u_limit();
  ${p.causal ? 'limit = min(limit, i + 1u);' : ''}
  let ninf = ${flit(-Infinity)};
  var mx = ninf;
  for (var j = 0u; j < limit; j = j + 1u) {
    if (${masked}) { continue; }
    mx = max(mx, score(j));
  }
  var sum = 0.0;
  var acc = 0.0;
  if (mx != ninf) {
    for (var j = 0u; j < limit; j = j + 1u) {
      if (${masked}) { continue; }
      let w = exp(score(j) - mx);
      sum = sum + w;
      acc = acc + w * v[vBase + j * u_vs(2u)];
    }
  }
  let y = select(0.0, acc / sum, sum > 0.0);
  out[b * u_ys(0u) + h * u_ys(1u) + i * u_ys(2u) + d] = y;`)}`;
});

/** [batch, head, seq] strides of a [B,H,S,D] (rank 4) or [B,S,H*D] (rank 3) tensor. */
const headStrides = (rank: number, h: number, s: number, d: number): number[] => (rank === 4 ? [h * s * d, s * d, d] : [s * h * d, d, h * d]);

function attentionPlan(ctx: GpuKernelContext): GpuPlan {
  const [Q, K, V, M, pk, pv, nonpad] = ctx.inputs;
  if (!Q || !K || !V) return unsupported('Q, K and V are required');
  if (pk || pv) return unsupported('past_key/past_value (KV cache) run on the CPU');
  if (nonpad) return unsupported('nonpad_kv_seqlen runs on the CPU');
  if (ctx.outputsUsed.slice(1).some(Boolean)) return unsupported('present_key/value and qk_matmul_output run on the CPU');
  if (Q.dtype !== 'float32' || K.dtype !== 'float32' || V.dtype !== 'float32') return unsupported(`Attention of ${Q.dtype} runs on the CPU`);
  const rank = Q.dims.length;
  if ((rank !== 3 && rank !== 4) || K.dims.length !== rank || V.dims.length !== rank) return unsupported('Q, K and V must be rank 3 or 4 alike');
  const B = Q.dims[0]!;
  let hq: number, hkv: number, L: number, S: number, D: number, Dv: number;
  if (rank === 4) {
    [hq, L, D] = [Q.dims[1]!, Q.dims[2]!, Q.dims[3]!];
    [hkv, S] = [K.dims[1]!, K.dims[2]!];
    if (K.dims[3] !== D || V.dims[1] !== hkv || V.dims[2] !== S) return unsupported('K/V shapes do not match Q');
    Dv = V.dims[3]!;
  } else {
    hq = ctx.attrs.int('q_num_heads', 0);
    hkv = ctx.attrs.int('kv_num_heads', 0);
    if (hq <= 0 || hkv <= 0) return unsupported('rank-3 inputs need q_num_heads and kv_num_heads');
    L = Q.dims[1]!;
    S = K.dims[1]!;
    if (Q.dims[2]! % hq || K.dims[2]! % hkv || V.dims[2]! % hkv) return unsupported('hidden sizes do not divide by the head counts');
    D = Q.dims[2]! / hq;
    Dv = V.dims[2]! / hkv;
    if (K.dims[2]! / hkv !== D || V.dims[1] !== S) return unsupported('K/V shapes do not match Q');
  }
  if (K.dims[0] !== B || V.dims[0] !== B || hkv === 0 || hq % hkv !== 0) return unsupported('batch or head counts do not match');
  let mask: AttentionParams['mask'] = 'none';
  let ms = [0, 0, 0, 0];
  let limit = S;
  if (M) {
    if (M.dtype === 'bool') mask = 'bool';
    else if (M.dtype === 'float32') mask = 'add';
    else return unsupported(`attn_mask of ${M.dtype} runs on the CPU`);
    if (M.dims.length < 1 || M.dims.length > 4) return unsupported('attn_mask rank');
    const mLast = M.dims[M.dims.length - 1]!;
    if (mLast > S) return unsupported('attn_mask longer than the key sequence');
    const md = [...new Array<number>(4 - M.dims.length).fill(1), ...M.dims];
    const target = [B, hq, L, mLast];
    if (md.some((x, i) => x !== 1 && x !== target[i])) return unsupported('attn_mask does not broadcast');
    ms = broadcastStrides(md, target);
    limit = mLast;
  }
  const softcap = ctx.attrs.float('softcap', 0);
  const scale = ctx.attrs.float('scale', 0) || 1 / Math.sqrt(D);
  const outDims = rank === 4 ? [B, hq, L, Dv] : [B, L, hq * Dv];
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'dv', type: 'u32', value: Dv },
    { name: 'd', type: 'u32', value: D },
    { name: 'l', type: 'u32', value: L },
    { name: 'hq', type: 'u32', value: hq },
    { name: 'group', type: 'u32', value: hq / hkv },
    { name: 'limit', type: 'u32', value: limit },
    { name: 'scale', type: 'f32', value: scale },
    { name: 'softcap', type: 'f32', value: softcap },
    { name: 'qs', type: 'u32', value: headStrides(rank, hq, L, D) },
    { name: 'ks', type: 'u32', value: headStrides(rank, hkv, S, D) },
    { name: 'vs', type: 'u32', value: headStrides(rank, hkv, S, Dv) },
    { name: 'ys', type: 'u32', value: headStrides(rank, hq, L, Dv) },
    { name: 'ms', type: 'u32', value: ms },
  ];
  const params: AttentionParams = { mask, causal: ctx.attrs.int('is_causal', 0) !== 0, softcap: softcap > 0 };
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: n === 0 ? [] : [{ shader: attentionShader, params, uniforms, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, ...(M ? [{ input: 3 }] : []), { output: 0 }], workgroups: grid(n) }],
  };
}

interface RotaryParams {
  readonly rank4: boolean;
  readonly interleaved: boolean;
  readonly pos: boolean;
}

/** RotaryEmbedding: a thread per element rotates it with its pair's partner (halves or interleaved). */
const rotaryShader = defineShader<RotaryParams>('rotary-embedding', (spec) => {
  const p = spec.params;
  const decls = [{ name: 'x', type: 'f32' }, { name: 'cs', type: 'f32' }, { name: 'sn', type: 'f32' }, ...(p.pos ? [{ name: 'pos', type: 'i32' }] : []), { name: 'out', type: 'f32', write: true }];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${main1d(`  if (gi >= u_n()) { return; }
  let D = u_d(); let H = u_h(); let S = u_s(); let half = u_half();
  let dd = gi % D;
  var t = gi / D;
  ${p.rank4 ? 'let s = t % S; t = t / S; let b = t / H;' : 't = t / H; let s = t % S; let b = t / S;'}
  if (dd >= 2u * half) { out[gi] = x[gi]; return; }
  ${p.interleaved ? 'let i = dd / 2u; let first = (dd % 2u) == 0u; let partner = select(gi - 1u, gi + 1u, first);' : 'let i = dd % half; let first = dd < half; let partner = select(gi - half, gi + half, first);'}
  let row = ${p.pos ? 'u32(clamp(pos[b * S + s], 0, i32(u_maxpos()) - 1)) * half' : '(b * S + s) * half'};
  let c = cs[row + i]; let sv = sn[row + i];
  out[gi] = select(sv * x[partner] + c * x[gi], c * x[gi] - sv * x[partner], first);`)}`;
});

function rotaryPlan(ctx: GpuKernelContext): GpuPlan {
  const [X, cosT, sinT, posT] = ctx.inputs;
  if (!X || !cosT || !sinT) return unsupported('input, cos_cache and sin_cache are required');
  if (X.dtype !== 'float32' || cosT.dtype !== 'float32' || sinT.dtype !== 'float32') return unsupported(`RotaryEmbedding of ${X.dtype} runs on the CPU`);
  const rank = X.dims.length;
  if (rank !== 3 && rank !== 4) return unsupported('input must be rank 3 or 4');
  const B = X.dims[0]!;
  let H: number, S: number, D: number;
  if (rank === 4) [H, S, D] = [X.dims[1]!, X.dims[2]!, X.dims[3]!];
  else {
    H = ctx.attrs.int('num_heads', 0);
    S = X.dims[1]!;
    if (H <= 0 || X.dims[2]! % H) return unsupported('rank-3 input needs num_heads dividing the hidden size');
    D = X.dims[2]! / H;
  }
  const rd = ctx.attrs.int('rotary_embedding_dim', 0) || D;
  if (rd > D || rd % 2) return unsupported('rotary_embedding_dim must be even and at most the head size');
  const half = rd / 2;
  if (cosT.dims.length !== sinT.dims.length || cosT.dims.some((d, i) => d !== sinT.dims[i]) || cosT.dims[cosT.dims.length - 1] !== half) return unsupported('cache shapes');
  if (posT) {
    if (posT.dtype !== 'int64' && posT.dtype !== 'int32') return unsupported(`position_ids of ${posT.dtype}`);
    if (posT.dims.length !== 2 || posT.dims[0] !== B || posT.dims[1] !== S || cosT.dims.length !== 2) return unsupported('position_ids / cache shapes');
  } else if (cosT.dims.length !== 3 || cosT.dims[0] !== B || cosT.dims[1] !== S) return unsupported('cache shapes');
  const n = sizeOf(X.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'd', type: 'u32', value: D },
    { name: 'h', type: 'u32', value: H },
    { name: 's', type: 'u32', value: S },
    { name: 'half', type: 'u32', value: half },
    { name: 'maxpos', type: 'u32', value: posT ? cosT.dims[0]! : 0 },
  ];
  const params: RotaryParams = { rank4: rank === 4, interleaved: ctx.attrs.int('interleaved', 0) !== 0, pos: posT !== undefined };
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: X.dims }],
    programs: n === 0 ? [] : [{ shader: rotaryShader, params, uniforms, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, ...(posT ? [{ input: 3 }] : []), { output: 0 }], workgroups: grid(n) }],
  };
}

export const attentionGpuKernels = {
  Attention: { plan: attentionPlan },
  RotaryEmbedding: { narrowInt64: [3], plan: rotaryPlan },
} satisfies Record<string, GpuKernel>;
