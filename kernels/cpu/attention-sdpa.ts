// CPU kernel for ONNX Attention (opset 23/24): softmax(softcap(Q K^T * scale) + bias) V, one query row at a time.
// The bias folds attn_mask (bool or additive, padded with "masked" past its last dim), is_causal and
// nonpad_kv_seqlen; no [L, S] bias or score matrix is materialized.
import { allocTensor, type HostTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastStrides, optTensorArg, tensorArg, viaF32 } from './util.js';
import { dot, dots4, weightedRows, type FloatArray, floatData, headStrides, intValues, rankIs, wantsOutput } from './attention-util.js';

/** Concatenate past [B,H,P,D] and new (strided) keys/values into a [B,H,P+S,D] cache. */
function buildPresent(
  past: FloatArray | undefined, pastLen: number, cur: FloatArray, curStrides: [number, number, number],
  b: number, h: number, s: number, d: number, dtype: 'float32' | 'float64',
): HostTensor {
  const total = pastLen + s;
  const out = allocTensor(dtype, [b, h, total, d]);
  const o = out.data as FloatArray;
  const [sb, sh, ss] = curStrides;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const dst = (bi * h + hi) * total * d;
      if (past) o.set(past.subarray((bi * h + hi) * pastLen * d, (bi * h + hi + 1) * pastLen * d), dst);
      for (let si = 0; si < s; si++) {
        const src = bi * sb + hi * sh + si * ss;
        o.set(cur.subarray(src, src + d), dst + (pastLen + si) * d);
      }
    }
  }
  return out;
}

const attentionF: CpuKernel = (inputs, ctx) => {
  const Q = tensorArg(inputs, 0, ctx);
  const K = tensorArg(inputs, 1, ctx);
  const V = tensorArg(inputs, 2, ctx);
  const mask = optTensorArg(inputs, 3, ctx);
  const pastK = optTensorArg(inputs, 4, ctx);
  const pastV = optTensorArg(inputs, 5, ctx);
  const nonpadT = optTensorArg(inputs, 6, ctx);
  const q = floatData(Q, 'Q', ctx);
  const k = floatData(K, 'K', ctx);
  const v = floatData(V, 'V', ctx);
  if (K.dtype !== Q.dtype || V.dtype !== Q.dtype) throw new KernelInputError(ctx, `Q, K and V must have one dtype, got ${Q.dtype}, ${K.dtype}, ${V.dtype}`);
  const dtype = Q.dtype as 'float32' | 'float64';
  rankIs(Q, [3, 4], 'Q', ctx);
  const rank = Q.dims.length;
  if (K.dims.length !== rank || V.dims.length !== rank) {
    throw new KernelInputError(ctx, `Q, K and V must have the same rank (3 or 4), got [${Q.dims}], [${K.dims}], [${V.dims}]`);
  }

  // Geometry: batch, heads, sequence lengths and head sizes.
  const B = Q.dims[0]!;
  let hq: number, hkv: number, L: number, S: number, D: number, Dv: number;
  if (rank === 4) {
    [hq, L, D] = [Q.dims[1]!, Q.dims[2]!, Q.dims[3]!];
    [hkv, S] = [K.dims[1]!, K.dims[2]!];
    if (K.dims[3] !== D) throw new KernelInputError(ctx, `K head size ${K.dims[3]} differs from Q head size ${D}`);
    if (V.dims[1] !== hkv || V.dims[2] !== S) throw new KernelInputError(ctx, `V shape [${V.dims}] does not match K shape [${K.dims}] in heads and sequence length`);
    Dv = V.dims[3]!;
  } else {
    hq = ctx.attrs.int('q_num_heads', 0);
    hkv = ctx.attrs.int('kv_num_heads', 0);
    if (hq <= 0 || hkv <= 0) throw new KernelInputError(ctx, `rank-3 inputs need positive q_num_heads and kv_num_heads attributes, got ${hq} and ${hkv}`);
    L = Q.dims[1]!;
    S = K.dims[1]!;
    if (Q.dims[2]! % hq || K.dims[2]! % hkv || V.dims[2]! % hkv) {
      throw new KernelInputError(ctx, `hidden sizes (Q ${Q.dims[2]}, K ${K.dims[2]}, V ${V.dims[2]}) must divide by the head counts (${hq}, ${hkv})`);
    }
    D = Q.dims[2]! / hq;
    if (K.dims[2]! / hkv !== D) throw new KernelInputError(ctx, `K head size ${K.dims[2]! / hkv} differs from Q head size ${D}`);
    Dv = V.dims[2]! / hkv;
    if (V.dims[1] !== S) throw new KernelInputError(ctx, `V sequence length ${V.dims[1]} differs from K's ${S}`);
  }
  if (K.dims[0] !== B || V.dims[0] !== B) throw new KernelInputError(ctx, `Q, K and V batch sizes differ: ${B}, ${K.dims[0]}, ${V.dims[0]}`);
  if (hq % hkv !== 0) throw new KernelInputError(ctx, `q_num_heads (${hq}) must be a multiple of kv_num_heads (${hkv})`);
  const group = hq / hkv;

  // KV cache: present = concat(past, new) along the sequence axis.
  let P = 0;
  if (pastK || pastV) {
    if (!pastK || !pastV) throw new KernelInputError(ctx, 'past_key and past_value must be given together');
    rankIs(pastK, [4], 'past_key', ctx);
    rankIs(pastV, [4], 'past_value', ctx);
    P = pastK.dims[2]!;
    const pkOk = pastK.dims[0] === B && pastK.dims[1] === hkv && pastK.dims[3] === D;
    const pvOk = pastV.dims[0] === B && pastV.dims[1] === hkv && pastV.dims[2] === P && pastV.dims[3] === Dv;
    if (!pkOk || !pvOk) {
      throw new KernelInputError(ctx, `past_key [${pastK.dims}] / past_value [${pastV.dims}] should be [${B},${hkv},P,${D}] / [${B},${hkv},P,${Dv}]`);
    }
  }
  const T = P + S;
  const kStr = headStrides(rank, hkv, S, D);
  const vStr = headStrides(rank, hkv, S, Dv);
  const wantPresent = wantsOutput(ctx, 1) || wantsOutput(ctx, 2);
  let kData = k, vData = v;
  let kS: [number, number, number] = kStr, vS: [number, number, number] = vStr;
  let presentK: HostTensor | undefined, presentV: HostTensor | undefined;
  if (P > 0 || wantPresent) {
    presentK = buildPresent(pastK && floatData(pastK, 'past_key', ctx), P, k, kStr, B, hkv, S, D, dtype);
    presentV = buildPresent(pastV && floatData(pastV, 'past_value', ctx), P, v, vStr, B, hkv, S, Dv, dtype);
    kData = presentK.data as FloatArray;
    vData = presentV.data as FloatArray;
    kS = [hkv * T * D, T * D, D];
    vS = [hkv * T * Dv, T * Dv, Dv];
  }

  // Attributes.
  const scale = ctx.attrs.float('scale', 0) || 1 / Math.sqrt(D);
  const softcap = ctx.attrs.float('softcap', 0);
  const causal = ctx.attrs.int('is_causal', 0) !== 0;
  const qkMode = ctx.attrs.int('qk_matmul_output_mode', 0);
  if (qkMode < 0 || qkMode > 3) throw new KernelInputError(ctx, `qk_matmul_output_mode must be 0..3, got ${qkMode}`);
  const wantQk = wantsOutput(ctx, 3);

  // Mask: bool (true = attend) or additive, broadcast to [B, Hq, L, mLast] with keys past mLast masked.
  let mData: FloatArray | Uint8Array | undefined;
  let mBool = false;
  let mStr = [0, 0, 0, 0];
  let mLast = T;
  if (mask) {
    if (mask.dtype === 'bool') { mData = mask.data as Uint8Array; mBool = true; } else mData = floatData(mask, 'attn_mask', ctx);
    if (mask.dims.length < 1 || mask.dims.length > 4) throw new KernelInputError(ctx, `attn_mask must have rank 1 to 4, got [${mask.dims}]`);
    mLast = mask.dims[mask.dims.length - 1]!;
    if (mLast > T) throw new KernelInputError(ctx, `attn_mask last dim ${mLast} exceeds the total sequence length ${T}`);
    const target = [B, hq, L, mLast];
    const md = [...Array(4 - mask.dims.length).fill(1), ...mask.dims] as number[];
    for (let i = 0; i < 4; i++) {
      if (md[i] !== 1 && md[i] !== target[i]) {
        throw new KernelInputError(ctx, `attn_mask shape [${mask.dims}] does not broadcast to [${target}]`);
      }
    }
    mStr = broadcastStrides(md, target);
  }

  // Per-batch key limits: causal frontier offset and non-padded length.
  const nonpad = nonpadT ? intValues(nonpadT, 'nonpad_kv_seqlen', ctx) : undefined;
  if (nonpad && nonpad.length !== B) throw new KernelInputError(ctx, `nonpad_kv_seqlen must have ${B} elements, got ${nonpad.length}`);

  const qStr = headStrides(rank, hq, L, D);
  const Y = allocTensor(dtype, rank === 4 ? [B, hq, L, Dv] : [B, L, hq * Dv]);
  const y = Y.data as FloatArray;
  const yStr = headStrides(rank, hq, L, Dv);
  const QK = wantQk ? allocTensor(dtype, [B, hq, L, T]) : undefined;
  const qk = QK?.data as FloatArray | undefined;

  // Scores and softmax are computed in float64, at least as precise as any softmax_precision asks for.
  const kStep = kS[2], vStep = vS[2], mStep = mStr[3]!;
  const row = new Float64Array(T);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    const padLen = nonpad ? Math.max(0, Math.min(T, nonpad[b]!)) : T;
    const offset = P > 0 || !nonpad ? P : nonpad[b]! - L;
    for (let h = 0; h < hq; h++) {
      const kvh = (h / group) | 0;
      const kBase = b * kS[0] + kvh * kS[1];
      const vBase = b * vS[0] + kvh * vS[1];
      for (let i = 0; i < L; i++) {
        const qOff = b * qStr[0] + h * qStr[1] + i * qStr[2];
        let limit = padLen;
        if (causal) limit = Math.max(0, Math.min(limit, i + offset + 1));
        if (mData && !wantQk) limit = Math.min(limit, mLast);
        const mRow = b * mStr[0]! + h * mStr[1]! + i * mStr[2]!;
        const qkRow = ((b * hq + h) * L + i) * T;
        const jEnd = wantQk ? T : limit;
        let j4 = 0;
        for (; j4 + 3 < jEnd; j4 += 4) dots4(q, qOff, kData, kBase + j4 * kStep, kStep, D, row, j4);
        for (; j4 < jEnd; j4++) row[j4] = dot(q, qOff, kData, kBase + j4 * kStep, D);
        let max = -Infinity;
        for (let j = 0; j < jEnd; j++) {
          let x = row[j]! * scale;
          if (qk && qkMode === 0) qk[qkRow + j] = x;
          if (softcap > 0) x = softcap * Math.tanh(x / softcap);
          if (qk && qkMode === 1) qk[qkRow + j] = x;
          if (j >= limit || j >= mLast) x = -Infinity;
          else if (mData) x = mBool ? (mData[mRow + j * mStep] ? x : -Infinity) : x + mData[mRow + j * mStep]!;
          if (qk && qkMode === 2) qk[qkRow + j] = x;
          row[j] = x;
          if (x > max) max = x;
        }
        // Softmax over the row; a fully masked row gives zero weights (and a zero output), not NaN.
        let sum = 0;
        if (max !== -Infinity) {
          for (let j = 0; j < jEnd; j++) {
            const e = Math.exp(row[j]! - max);
            row[j] = e;
            sum += e;
          }
        }
        const inv = sum > 0 ? 1 / sum : 0;
        for (let j = 0; j < jEnd; j++) row[j] = sum > 0 ? row[j]! * inv : 0;
        if (qk && qkMode === 3) qk.set(row.subarray(0, T), qkRow);
        weightedRows(acc, row, 0, jEnd, vData, vBase, vStep, Dv);
        const yOff = b * yStr[0] + h * yStr[1] + i * yStr[2];
        for (let d = 0; d < Dv; d++) y[yOff + d] = acc[d]!;
      }
    }
  }
  const outs: HostTensor[] = [Y];
  if (presentK && presentV) outs.push(presentK, presentV);
  if (QK) {
    if (!presentK) outs.push(allocTensor(dtype, [0]), allocTensor(dtype, [0])); // placeholders: outputs 1-2 not requested
    outs.push(QK);
  }
  return outs;
};

export const attentionKernel: CpuKernel = viaF32(attentionF);
