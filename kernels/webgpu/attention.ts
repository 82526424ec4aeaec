// ONNX Attention (opset 23/24) on WebGPU, the forms without a KV cache: softmax(softcap(Q K^T * scale)
// + mask) V with rank-3 (heads packed in the hidden dim) or rank-4 Q/K/V, grouped KV heads, is_causal,
// and a bool or additive attn_mask broadcast to [B, Hq, L, <=S]. One thread per output element: it
// recomputes its row's scores (max pass, then exp-sum and weighted V), so no score matrix is stored.
// past_key/value, present outputs, the qk_matmul output and nonpad_kv_seqlen run on the CPU.
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

export const attentionGpuKernels = {
  Attention: { plan: attentionPlan },
} satisfies Record<string, GpuKernel>;
