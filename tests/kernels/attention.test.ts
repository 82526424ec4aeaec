// Attention-family kernels against onnxruntime-node on sizes and attribute mixes the ONNX node tests miss
// (larger heads, GQA with KV cache, causal + mask + softcap together, every qk_matmul_output_mode).
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import { ONNX_CODE } from '../../graph/dtype.js';
import type { Attr, Node } from '../../graph/ir.js';
import { onnx } from '../../graph/onnx/proto.js';
import type { HostTensor } from '../../graph/tensor.js';
import { attentionKernels } from '../../kernels/cpu/attention.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { fromOrt, maxRelError, ort, toOrt } from '../helpers/ort.js';

type AttrVal = number | string | { float: number };

function rand(dims: number[], seed: number, lo = -1, hi = 1): HostTensor<'float32'> {
  let s = seed >>> 0 || 1;
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = lo + ((s >>> 8) / 2 ** 24) * (hi - lo);
  }
  return { kind: 'tensor', dtype: 'float32', dims, data };
}

function boolMask(dims: number[], seed: number): HostTensor<'bool'> {
  const r = rand(dims, seed, 0, 1);
  const data = Uint8Array.from(r.data, (x) => (x < 0.7 ? 1 : 0));
  return { kind: 'tensor', dtype: 'bool', dims, data };
}

function int64(dims: number[], values: number[]): HostTensor<'int64'> {
  return { kind: 'tensor', dtype: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) };
}

/** A one-node ONNX model; inputs named in0.., outputs out0.. ('' entries are omitted slots). */
function oneNodeModel(opType: string, opset: number, inputs: (HostTensor | undefined)[], nOut: number, wanted: boolean[], attrs: Record<string, AttrVal>): Uint8Array {
  const inNames = inputs.map((t, i) => (t ? `in${i}` : ''));
  const outNames = Array.from({ length: nOut }, (_, i) => (wanted[i] ? `out${i}` : ''));
  const attribute = Object.entries(attrs).map(([name, v]) =>
    typeof v === 'string' ? { name, type: 3, s: new TextEncoder().encode(v) }
      : typeof v === 'number' ? { name, type: 2, i: v }
        : { name, type: 1, f: v.float });
  const vi = (name: string, t?: HostTensor) => ({
    name,
    type: { tensorType: { elemType: t ? ONNX_CODE[t.dtype] : 0, shape: t ? { dim: t.dims.map((d) => ({ dimValue: d })) } : undefined } },
  });
  const model = {
    irVersion: 10,
    opsetImport: [{ domain: '', version: opset }],
    graph: {
      name: 'g',
      node: [{ opType, input: inNames, output: outNames, attribute }],
      input: inputs.flatMap((t, i) => (t ? [vi(`in${i}`, t)] : [])),
      output: outNames.filter((n) => n).map((n) => ({ name: n })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}

function runOurs(opType: keyof typeof attentionKernels, opset: number, inputs: (HostTensor | undefined)[], nOut: number, wanted: boolean[], attrs: Record<string, AttrVal>): HostTensor[] {
  const attributes: Record<string, Attr> = {};
  for (const [name, v] of Object.entries(attrs)) {
    attributes[name] = typeof v === 'string' ? { kind: 'string', value: v } : typeof v === 'number' ? { kind: 'int', value: v } : { kind: 'float', value: v.float };
  }
  const node: Node = {
    name: 'n', opType, domain: '', attributes,
    inputs: inputs.map((t, i) => (t ? `in${i}` : '')),
    outputs: Array.from({ length: nOut }, (_, i) => (wanted[i] ? `out${i}` : '')),
  };
  const ctx: CpuContext = { node, opset, attrs: new AttrReader(node), runGraph: () => { throw new Error('no subgraphs'); } };
  return attentionKernels[opType](inputs, ctx) as HostTensor[];
}

async function compare(opType: keyof typeof attentionKernels, opset: number, inputs: (HostTensor | undefined)[], nOut: number, wanted: boolean[], attrs: Record<string, AttrVal>): Promise<void> {
  const bytes = oneNodeModel(opType, opset, inputs, nOut, wanted, attrs);
  const sess = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  inputs.forEach((t, i) => { if (t) feeds[`in${i}`] = toOrt(t); });
  const want = await sess.run(feeds);
  const got = runOurs(opType, opset, inputs, nOut, wanted, attrs);
  for (let i = 0; i < nOut; i++) {
    if (!wanted[i]) continue;
    const w = fromOrt(want[`out${i}`]!);
    const g = got[i]!;
    expect(g.dims, `output ${i} shape`).toEqual(w.dims);
    // onnxruntime writes float lowest where the ONNX reference (and tgraph) write -inf for masked scores.
    const gd = Float32Array.from(g.data as Float32Array, (x) => (x === -Infinity ? -3.4028234663852886e38 : x));
    const r = maxRelError(gd, w.data as Float32Array, 1e-4, 1e-5);
    expect(r.ok, `output ${i}: worst ${r.worst} at ${r.at}: got ${g.data[r.at]} want ${w.data[r.at]}`).toBe(true);
  }
}

describe('Attention vs onnxruntime-node', () => {
  const [B, hq, hkv, L, S, P, D, Dv] = [2, 8, 2, 5, 7, 6, 16, 12];
  const q4 = rand([B, hq, L, D], 1), k4 = rand([B, hkv, S, D], 2), v4 = rand([B, hkv, S, Dv], 3);
  const pk = rand([B, hkv, P, D], 4), pv = rand([B, hkv, P, Dv], 5);

  it('4-D GQA with KV cache, additive 3-D mask, causal, softcap and scale', async () => {
    const mask = rand([B, 1, L, P + S], 6, -2, 0.5);
    await compare('Attention', 23, [q4, k4, v4, mask, pk, pv], 3, [true, true, true], { is_causal: 1, softcap: { float: 1.5 }, scale: { float: 0.3 } });
  });

  for (const mode of [0, 1, 2, 3]) {
    it(`qk_matmul_output_mode ${mode} with a bool mask and softcap`, async () => {
      const mask = boolMask([L, P + S], 7); // onnxruntime refuses masks shorter than the keys
      await compare('Attention', 23, [q4, k4, v4, mask, pk, pv], 4, [true, true, true, true], { qk_matmul_output_mode: mode, softcap: { float: 2 } });
    });
  }

  it('3-D inputs, GQA, causal without cache', async () => {
    const q3 = rand([B, L, hq * D], 8), k3 = rand([B, L, hkv * D], 9), v3 = rand([B, L, hkv * Dv], 10);
    await compare('Attention', 23, [q3, k3, v3], 3, [true, true, true], { is_causal: 1, q_num_heads: hq, kv_num_heads: hkv });
  });

  it('opset 24 nonpad_kv_seqlen with causal decode', async () => {
    const q = rand([B, hq, 1, D], 11);
    await compare('Attention', 24, [q, k4, v4, undefined, undefined, undefined, int64([B], [4, 7])], 1, [true], { is_causal: 1 });
  });
});

describe('RotaryEmbedding vs onnxruntime-node', () => {
  const [B, S, H, D] = [2, 6, 3, 16];
  const cos = rand([32, 4], 20), sin = rand([32, 4], 21);
  const pos = int64([B, S], [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 31]);
  for (const interleaved of [0, 1]) {
    it(`3-D input, partial rotation, interleaved=${interleaved}`, async () => {
      await compare('RotaryEmbedding', 23, [rand([B, S, H * D], 22), cos, sin, pos], 1, [true], { interleaved, rotary_embedding_dim: 8, num_heads: H });
    });
  }
  it('rejects a position id past the cache', () => {
    const bad = int64([B, S], [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 32]);
    expect(() => runOurs('RotaryEmbedding', 23, [rand([B, H, S, 8], 23), cos, sin, bad], 1, [true], {})).toThrow(/outside the cache/);
  });
});

describe('LinearAttention erase_gate (no ONNX node test covers it)', () => {
  it('matches a direct float64 reading of the gated delta rule with k_erase = erase * k', () => {
    const [B, T, hq, hkv, Dk, Dv] = [2, 3, 4, 2, 3, 5];
    const q = rand([B, T, hq * Dk], 31), k = rand([B, T, hkv * Dk], 32), v = rand([B, T, hkv * Dv], 33);
    const decay = rand([B, T, hkv], 34, -0.5, 0), beta = rand([B, T, hkv], 35, 0, 1), erase = rand([B, T, hkv * Dk], 36, 0, 1);
    const [y, st] = runOurs('LinearAttention', 27, [q, k, v, undefined, decay, beta, erase], 2, [true, true], { q_num_heads: hq, kv_num_heads: hkv });
    const scale = 1 / Math.sqrt(Dk);
    const S = new Float64Array(B * hkv * Dk * Dv);
    const want = new Float64Array(B * T * hq * Dv);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        for (let h = 0; h < hkv; h++) {
          const s = (i: number, m: number) => ((b * hkv + h) * Dk + i) * Dv + m;
          const kk = (i: number) => k.data[(b * T + t) * hkv * Dk + h * Dk + i]!;
          const g = Math.exp(decay.data[(b * T + t) * hkv + h]!);
          for (let i = 0; i < Dk; i++) for (let m = 0; m < Dv; m++) S[s(i, m)]! *= g;
          const vt: number[] = [];
          for (let m = 0; m < Dv; m++) {
            let r = 0;
            for (let i = 0; i < Dk; i++) r += S[s(i, m)]! * erase.data[(b * T + t) * hkv * Dk + h * Dk + i]! * kk(i);
            vt.push(beta.data[(b * T + t) * hkv + h]! * (v.data[(b * T + t) * hkv * Dv + h * Dv + m]! - r));
          }
          for (let i = 0; i < Dk; i++) for (let m = 0; m < Dv; m++) S[s(i, m)]! += kk(i) * vt[m]!;
          for (let qh = h * (hq / hkv); qh < (h + 1) * (hq / hkv); qh++) {
            for (let m = 0; m < Dv; m++) {
              let o = 0;
              for (let i = 0; i < Dk; i++) o += q.data[(b * T + t) * hq * Dk + qh * Dk + i]! * S[s(i, m)]!;
              want[(b * T + t) * hq * Dv + qh * Dv + m] = scale * o;
            }
          }
        }
      }
    }
    expect(maxRelError(y!.data as Float32Array, want, 1e-5, 1e-6).ok).toBe(true);
    expect(maxRelError(st!.data as Float32Array, S, 1e-5, 1e-6).ok).toBe(true);
  });
});

describe('SwiGLU', () => {
  it('broadcasts b against a', () => {
    const a = rand([2, 3], 40), b = rand([3], 41);
    const [y] = runOurs('SwiGLU', 28, [a, b], 1, [true], { alpha: { float: 1.702 } });
    const want = Array.from(a.data, (x, i) => (x / (1 + Math.exp(-1.702 * x))) * b.data[i % 3]!);
    expect(maxRelError(y!.data as Float32Array, want, 1e-6, 0).ok).toBe(true);
  });
});

describe('attention kernels reject bad inputs', () => {
  it('Attention: heads that do not group', () => {
    expect(() => runOurs('Attention', 23, [rand([1, 3, 2, 4], 1), rand([1, 2, 2, 4], 2), rand([1, 2, 2, 4], 3)], 1, [true], {})).toThrow(/multiple of kv_num_heads/);
  });
  it('Attention: mask that does not broadcast', () => {
    expect(() => runOurs('Attention', 23, [rand([1, 2, 2, 4], 1), rand([1, 2, 3, 4], 2), rand([1, 2, 3, 4], 3), rand([3, 3], 4)], 1, [true], {})).toThrow(/does not broadcast/);
  });
  it('LinearAttention: decay with the linear rule', () => {
    const x = rand([1, 2, 8], 1);
    expect(() => runOurs('LinearAttention', 27, [x, x, x, undefined, x], 2, [true, true], { q_num_heads: 2, kv_num_heads: 2, update_rule: 'linear' })).toThrow(/forbids the decay/);
  });
});
