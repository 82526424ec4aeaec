// CPU kernel for RotaryEmbedding (opset 23): rotate the first rotary_embedding_dim features of each head
// by per-position angles given as cos/sin caches, in halves (default) or interleaved pairs.
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';
import { type FloatArray, floatData, headStrides, intValues, rankIs } from './attention-util.js';

const rotaryF: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const cosT = tensorArg(inputs, 1, ctx);
  const sinT = tensorArg(inputs, 2, ctx);
  const posT = optTensorArg(inputs, 3, ctx);
  const x = floatData(X, 'input', ctx);
  const cos = floatData(cosT, 'cos_cache', ctx);
  const sin = floatData(sinT, 'sin_cache', ctx);
  rankIs(X, [3, 4], 'input', ctx);
  const interleaved = ctx.attrs.int('interleaved', 0) !== 0;
  const B = X.dims[0]!;
  let H: number, S: number, D: number;
  if (X.dims.length === 4) {
    [H, S, D] = [X.dims[1]!, X.dims[2]!, X.dims[3]!];
  } else {
    H = ctx.attrs.int('num_heads', 0);
    S = X.dims[1]!;
    if (H <= 0 || X.dims[2]! % H) throw new KernelInputError(ctx, `rank-3 input needs a num_heads attribute dividing the hidden size ${X.dims[2]}, got ${H}`);
    D = X.dims[2]! / H;
  }
  const rd = ctx.attrs.int('rotary_embedding_dim', 0) || D;
  if (rd > D || rd % 2) throw new KernelInputError(ctx, `rotary_embedding_dim ${rd} must be even and at most the head size ${D}`);
  const half = rd / 2;
  if (cosT.dims.length !== sinT.dims.length || cosT.dims.some((d, i) => d !== sinT.dims[i])) {
    throw new KernelInputError(ctx, `cos_cache [${cosT.dims}] and sin_cache [${sinT.dims}] must have the same shape`);
  }
  if (cosT.dims[cosT.dims.length - 1] !== half) {
    throw new KernelInputError(ctx, `cache last dim ${cosT.dims[cosT.dims.length - 1]} must be rotary_embedding_dim/2 = ${half}`);
  }

  // Row of the cache for (b, s): position_ids picks it from a [max_pos, half] cache, else the cache is [B, S, half].
  let pos: Int32Array | number[] | undefined;
  let maxPos = 0;
  if (posT) {
    pos = intValues(posT, 'position_ids', ctx);
    if (posT.dims.length !== 2 || posT.dims[0] !== B || posT.dims[1] !== S) {
      throw new KernelInputError(ctx, `position_ids must be [${B},${S}], got [${posT.dims}]`);
    }
    if (cosT.dims.length !== 2) throw new KernelInputError(ctx, `with position_ids the caches must be [max_position, ${half}], got [${cosT.dims}]`);
    maxPos = cosT.dims[0]!;
  } else if (cosT.dims.length !== 3 || cosT.dims[0] !== B || cosT.dims[1] !== S) {
    throw new KernelInputError(ctx, `without position_ids the caches must be [${B},${S},${half}], got [${cosT.dims}]`);
  }

  const Y = allocTensor(X.dtype, X.dims);
  const y = Y.data as FloatArray;
  y.set(x); // features past rotary_embedding_dim pass through
  const [sb, sh, ss] = headStrides(X.dims.length, H, S, D);
  const i1 = interleaved ? 2 : 1; // stride between rotated pairs
  const o2 = interleaved ? 1 : half; // offset of a pair's second element
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      let row: number;
      if (pos) {
        const p = pos[b * S + s]!;
        if (p < 0 || p >= maxPos) throw new KernelInputError(ctx, `position id ${p} is outside the cache of ${maxPos} positions`);
        row = p * half;
      } else row = (b * S + s) * half;
      for (let h = 0; h < H; h++) {
        const base = b * sb + h * sh + s * ss;
        for (let i = 0; i < half; i++) {
          const a1 = base + i * i1;
          const a2 = a1 + o2;
          const c = cos[row + i]!, sn = sin[row + i]!;
          const u = x[a1]!, w = x[a2]!;
          y[a1] = c * u - sn * w;
          y[a2] = sn * u + c * w;
        }
      }
    }
  }
  return [Y];
};

export const rotaryEmbeddingKernel: CpuKernel = viaF32(rotaryF);
