// CPU kernel of tgraph.ConvNhwc (graph/ops/layout.ts): convolution over channels-last float32 data
// with an HWIO weight. Depthwise (group = C = M) runs the SIMD kernel of nn-conv-nhwc-simd.ts (four
// channels per vector); group 1 is a GEMM whose rows are pixels: [P, C] x [C, M] for a pointwise
// conv (no im2col: a pixel's channels are already contiguous), [P, KH*KW*C] x [KH*KW*C, M] after a
// channels-last im2col (contiguous runs of C) otherwise; under 8 pixels the weight is the GEMM's A.
import { windowGeometry } from '../../graph/ops/nn-window.js';
import { allocTensor, UNINIT } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import { windowAttrsOf } from './nn-conv.js';
import { depthwiseNhwcSimd, type DepthwiseNhwc } from './nn-conv-nhwc-simd.js';
import { gemmF32 } from './nn-gemm.js';
import type { CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';

/** Convs with fewer output pixels than this run with the weight as the GEMM's A (see below). */
const SMALL_MAP = 8;
/** Most floats of one channels-last im2col band (16 MiB). */
const COL_FLOATS = 1 << 22;

/** Scalar depthwise (the SIMD path off): the same float32 sums, tap by tap. */
function depthwiseScalar(x: Float32Array, xOff: number, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, yOff: number, g: DepthwiseNhwc): void {
  const { IH, IW, OH, OW, C, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  const acc = new Float32Array(C);
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      if (bias) acc.set(bias.subarray(0, C));
      else acc.fill(0);
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * SH - PH + kh * DH;
        if (ih < 0 || ih >= IH) continue;
        for (let kw = 0; kw < KW; kw++) {
          const iw = ow * SW - PW + kw * DW;
          if (iw < 0 || iw >= IW) continue;
          const xo = xOff + (ih * IW + iw) * C, wo = (kh * KW + kw) * C;
          for (let c = 0; c < C; c++) acc[c] = acc[c]! + x[xo + c]! * w[wo + c]!;
        }
      }
      y.set(acc, yOff + (oh * OW + ow) * C);
    }
  }
}

/** Rows [p0, p1) of the channels-last im2col: per output pixel, KH*KW runs of C input channels (zeros off the image). */
function im2colNhwc(x: Float32Array, xOff: number, col: Float32Array, p0: number, p1: number, g: DepthwiseNhwc): void {
  const { IH, IW, OW, C, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  const K = KH * KW * C;
  for (let p = p0; p < p1; p++) {
    const oh = Math.floor(p / OW), ow = p - oh * OW;
    let d = (p - p0) * K;
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * SH - PH + kh * DH;
      for (let kw = 0; kw < KW; kw++, d += C) {
        const iw = ow * SW - PW + kw * DW;
        if (ih < 0 || ih >= IH || iw < 0 || iw >= IW) col.fill(0, d, d + C);
        else if (C >= 64) col.set(x.subarray(xOff + (ih * IW + iw) * C, xOff + (ih * IW + iw + 1) * C), d);
        else for (let c = 0, s = xOff + (ih * IW + iw) * C; c < C; c++) col[d + c] = x[s + c]!;
      }
    }
  }
}

const convNhwc: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const W = tensorArg(inputs, 1, ctx);
  const B = optTensorArg(inputs, 2, ctx);
  if (X.dtype !== 'float32' || W.dtype !== 'float32' || (B && B.dtype !== 'float32')) throw new KernelInputError(ctx, `ConvNhwc takes float32, got ${X.dtype}, ${W.dtype}${B ? `, ${B.dtype}` : ''}`);
  if (X.dims.length !== 4 || W.dims.length !== 4) throw new KernelInputError(ctx, `input [${X.dims.join(',')}] and weight [${W.dims.join(',')}] should have rank 4`);
  const [N, IH, IW, C] = X.dims as [number, number, number, number];
  const [KH, KW, Cg, M] = W.dims as [number, number, number, number];
  const group = ctx.attrs.int('group', 1);
  const depthwise = group === C && Cg === 1 && M === C;
  if (!depthwise && (group !== 1 || Cg !== C)) throw new KernelInputError(ctx, `ConvNhwc runs group 1 or depthwise convs; got group ${group}, ${C} channels, weight [${W.dims.join(',')}]`);
  if (B && B.dims.reduce((a, b) => a * b, 1) !== M) throw new KernelInputError(ctx, `bias has ${B.data.length} values for ${M} output channels`);
  const a = windowAttrsOf(ctx, 2, [KH, KW]);
  if (a.kernel[0] !== KH || a.kernel[1] !== KW) throw new KernelInputError(ctx, `kernel_shape [${a.kernel.join(',')}] differs from the weight's [${KH},${KW}]`);
  const geo = windowGeometry([IH, IW], a);
  const [OH, OW] = geo.out as [number, number];
  if (!(OH >= 1 && OW >= 1)) throw new KernelInputError(ctx, `output spatial dims [${OH},${OW}] are empty`);
  const x = X.data as Float32Array, w = W.data as Float32Array, bias = B?.data as Float32Array | undefined;
  // Every path writes each output pixel (depthwise per pixel, GEMMs without accumulation, the transposes).
  const Y = allocTensor('float32', [N, OH, OW, M], UNINIT);
  const y = Y.data as Float32Array;
  const g: DepthwiseNhwc = { IH, IW, OH, OW, C, KH, KW, SH: a.strides[0]!, SW: a.strides[1]!, DH: a.dilations[0]!, DW: a.dilations[1]!, PH: geo.padHead[0]!, PW: geo.padHead[1]! };
  const P = OH * OW;
  const pointwise = KH === 1 && KW === 1 && g.SH === 1 && g.SW === 1 && g.PH === 0 && g.PW === 0 && geo.padTail.every((p) => p === 0);
  const K = KH * KW * C;
  const rowsPerBand = Math.max(1, Math.min(P, Math.floor(COL_FLOATS / K)));
  const col = depthwise || pointwise ? undefined : new Float32Array(rowsPerBand * K);
  for (let n = 0; n < N; n++) {
    const xOff = n * IH * IW * C, yOff = n * P * M;
    if (depthwise) {
      if (!depthwiseNhwcSimd(x, xOff, w, bias, y, yOff, g)) depthwiseScalar(x, xOff, w, bias, y, yOff, g);
      continue;
    }
    if (P < SMALL_MAP) {
      // A few pixels (squeeze-excitation convs on 1x1 maps, the last rows of a net): Y^T[M, P] =
      // W[M, K] X^T[K, P] with the weight as A (its packed panels are kept, the bias starts its rows),
      // as the NCHW conv does: P rows would waste the GEMM's tile and leave its SIMD path.
      let xt: Float32Array;
      if (pointwise && P === 1) xt = x.subarray(xOff, xOff + C);
      else {
        const rows = pointwise ? x.subarray(xOff, xOff + P * C) : col!;
        if (!pointwise) im2colNhwc(x, xOff, col!, 0, P, g);
        xt = new Float32Array(K * P);
        for (let p = 0; p < P; p++) for (let k = 0; k < K; k++) xt[k * P + p] = rows[p * K + k]!;
      }
      const yt = P === 1 ? y.subarray(yOff, yOff + M) : new Float32Array(M * P);
      gemmF32(M, P, K, w, 0, 1, M, xt, 0, P, yt, 0, P, false, bias);
      if (P > 1) for (let p = 0; p < P; p++) for (let m = 0; m < M; m++) y[yOff + p * M + m] = yt[m * P + p]!;
      continue;
    }
    if (pointwise) gemmF32(P, M, C, x, xOff, C, 1, w, 0, M, y, yOff, M, false);
    else {
      for (let p0 = 0; p0 < P; p0 += rowsPerBand) {
        const p1 = Math.min(P, p0 + rowsPerBand);
        im2colNhwc(x, xOff, col!, p0, p1, g);
        gemmF32(p1 - p0, M, K, col!, 0, K, 1, w, 0, M, y, yOff + p0 * M, M, false);
      }
    }
    // The bias along rows of M (the GEMM's own bias runs along its rows, the pixels here).
    if (bias) for (let p = 0, o = yOff; p < P; p++) for (let m = 0; m < M; m++, o++) y[o] = y[o]! + bias[m]!;
  }
  return [Y];
};

/** Mean or max over the pixels of each image, channel by channel: float64 sums in pixel order, as GlobalAveragePool's. */
const globalPoolNhwc: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  if (X.dtype !== 'float32' || X.dims.length !== 4) throw new KernelInputError(ctx, `GlobalPoolNhwc takes rank-4 float32, got ${X.dtype} [${X.dims.join(',')}]`);
  const [N, H, W, C] = X.dims as [number, number, number, number];
  const max = ctx.attrs.string('mode', 'average') === 'max';
  const x = X.data as Float32Array;
  const Y = allocTensor('float32', [N, 1, 1, C], UNINIT); // every channel of every image is written below
  const y = Y.data as Float32Array;
  const P = H * W;
  for (let n = 0; n < N; n++) {
    const acc = new Float64Array(C).fill(max ? -Infinity : 0);
    for (let p = 0, o = n * P * C; p < P; p++, o += C) {
      if (max) for (let c = 0; c < C; c++) acc[c] = Math.max(acc[c]!, x[o + c]!);
      else for (let c = 0; c < C; c++) acc[c] = acc[c]! + x[o + c]!;
    }
    for (let c = 0; c < C; c++) y[n * C + c] = max ? acc[c]! : acc[c]! / P;
  }
  return [Y];
};

export const layoutKernels = {
  'tgraph:ConvNhwc': convNhwc,
  'tgraph:GlobalPoolNhwc': globalPoolNhwc,
} satisfies Record<string, CpuKernel>;
