// The CPU's layout decision (LoweringCapabilities.layout, graph/passes/lower-layout.ts): estimated
// microseconds of a conv as Conv (NCHW: nn-conv.ts) and as tgraph.ConvNhwc (nn-conv-nhwc.ts), and of
// a layout Transpose. Linear in the work each kernel does, least-squares fitted (relative error) to
// process CPU time (best of 7 interleaved rounds, node 20, loaded 2-core machine) on the 43 conv shapes
// of PP-OCR cls/det/rec and openWakeWord's embedding model, against the NCHW kernels with SIMD strided
// depthwise and transposed small 1x1 products. Measured (NCHW -> NHWC, us):
//   depthwise 5x5 [192,6,6] 99 -> 56, [384,3,3] 56 -> 36, 3x3 s2 [96,12,12] 42 -> 26, [16,48,48] 120 -> 103,
//     but 3x3 [96,12,12] 38 -> 58, [64,24,48] 209 -> 258, 5x5 [240,12,24] 312 -> 415, [88,3,96] 104 -> 204:
//     ahead only where rows are narrow (the NCHW kernel rounds a row up to whole vectors);
//   pointwise [200,1,1]->50 8 -> 8, [384,3,3]->384 194 -> 218, [240,12,24]->240 1072 -> 1350,
//     [16,48,48]->32 187 -> 409: never ahead (pixel rows must be packed per call; the NCHW weight is packed once);
//   dense 3x3 [96,3,3]->24 83 -> 36, 1x3 [96,10,2]->96 116 -> 57, but [24,74,32]->24 492 -> 1720
//     (the channels-last im2col is scalar JavaScript);
//   Transpose NCHW <-> NHWC: 2.4 ns per element.
// So regions form only around depthwise and dense convs on small maps whose pointwise neighbours lose
// less than the Transposes would cost.
import type { ConvShape, LayoutCapabilities } from '../../graph/passes/lower-types.js';
import { winogradWorthIt } from './nn-winograd.js';

const up = (x: number, k: number) => Math.ceil(x / k) * k;

/** NCHW Conv: depthwise SIMD along rows in whole vectors (and a cost per row and kernel row), else im2col + GEMM (the transposed product for small 1x1 maps). */
function nchwCost(c: ConvShape): number {
  const K = c.KH * c.KW, P = c.OH * c.OW;
  if (c.group > 1) return 9.29e-5 * c.C * c.OH * up(c.OW, 4) * K + 5.51e-3 * c.C * c.OH * c.KH + 6.65e-4 * c.C * (c.H + c.KH) * (c.W + c.KW) + 2.2;
  if (c.KH === 3 && c.KW === 3 && c.SH === 1 && c.SW === 1 && (c.DH ?? 1) === 1 && (c.DW ?? 1) === 1 && winogradWorthIt(c.C, c.M, c.OH, c.OW)) {
    // Winograd F(2x2,3x3) (nn-winograd.ts): 16 GEMMs [M, C] x [C, tiles] at the GEMM's rate, plus the input
    // staging and transform per padded input element and the output transform (measured 2.2x under the
    // GEMM at 96x24x24 -> 24, 2x at 12x12).
    const T = Math.ceil(c.OH / 2) * Math.ceil(c.OW / 2);
    return 8.18e-5 * 16 * up(c.M, 4) * up(T, 8) * c.C + 3e-3 * c.C * (c.OH + 2) * (c.OW + 2) + 1e-3 * c.M * c.OH * c.OW + 3.4;
  }
  const Kd = c.C * K;
  const tiles = K === 1 && P >= 4 && P < 64 ? Math.min(up(c.M, 4) * up(P, 8), up(c.M, 8) * up(P, 4)) : up(c.M, 4) * up(P, 8);
  return 8.18e-5 * tiles * Kd + (K > 1 ? 1.04e-3 * P * Kd : 0) + 3.4;
}

/**
 * ConvNhwc: depthwise SIMD across channels padded to 8 (image staged padded), else a pixels x M GEMM
 * (A packed per call, the bias added after), or under 8 pixels the weight x pixels GEMM (as NCHW, plus
 * transposing its operand and result).
 * Fixed costs are taken equal to the NCHW kernels' or above: a tiny conv saves nothing that pays for Transposes.
 */
function nhwcCost(c: ConvShape): number {
  const K = c.KH * c.KW, P = c.OH * c.OW;
  if (c.group > 1) return 2.09e-4 * P * up(c.C, 8) * K + 3.69e-4 * (c.H + c.KH) * (c.W + c.KW) * c.C + 9.7;
  const Kd = c.C * K;
  if (P < 8) return 8.18e-5 * up(c.M, 4) * up(P, 8) * Kd + (K > 1 ? 1.04e-3 * P * Kd : 0) + (P > 1 || K > 1 ? 2.4e-3 * P * (Kd + c.M) : 0) + 3.4;
  return 6.8e-5 * up(P, 4) * up(c.M, 8) * Kd + 1.71e-3 * P * Kd + 4.19e-3 * P * c.M + 3.4;
}

export const CPU_LAYOUT: LayoutCapabilities = {
  convCost: (c) => (c.group === 1 || (c.group === c.C && c.M === c.C) ? { nchw: nchwCost(c), nhwc: nhwcCost(c) } : undefined),
  transposeCost: (elements) => 2.4e-3 * elements + 1.3,
  // GlobalPoolNhwc sums rows of C like GlobalAveragePool sums planes: no extra cost measured.
  globalPoolCost: () => 0,
  // The estimates are off by up to ~30% per conv: a region must save twice its Transposes' cost (the
  // recognizer's last conv, [960,1,12] 1x3 -> 60, estimated 49 us saved for 32 us of Transposes,
  // measured 17 us saved; with the earlier NCHW kernels, the detector's first region, estimated
  // 349 us saved for 324 us of Transposes, lost 56 us).
  margin: 2,
};
