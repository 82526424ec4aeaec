// The CPU's layout decision (LoweringCapabilities.layout, graph/passes/lower-layout.ts): estimated
// microseconds of a conv as Conv (NCHW: nn-conv.ts) and as tgraph.ConvNhwc (nn-conv-nhwc.ts), and of
// a layout Transpose. Linear in the work each kernel does, least-squares fitted to process CPU time
// (best of 7 interleaved rounds, node 20, loaded 2-core machine, two runs) on the 43 conv shapes of
// PP-OCR cls/det/rec and openWakeWord's embedding model. Measured (NCHW -> NHWC, us):
//   depthwise 3x3 s1 [96,12,12] 77 -> 32, s2 [96,12,12] 134 -> 11, s2 [32,48,48] 405 -> 118,
//     5x5 [192,6,6] 100 -> 60, [384,3,3] 119 -> 35, [240,12,24] 356 -> 352, [480,6,24] 387 -> 455 / 409 -> 362:
//     always at least even, far ahead on narrow maps (the NCHW kernel pads rows to 8) and column
//     strides (NCHW has no SIMD path for them);
//   pointwise [384,3,3]->384 227 -> 198, [384,3,3]->360 233 -> 164, [192,6,6]->192 126 -> 124, but
//     [240,12,24]->240 1324 -> 1547, [16,48,48]->32 420 -> 718, [8,24,96]->8 32 -> 101: ahead only on
//     small maps with many channels (the GEMM's rows are pixels: few pixels waste less of its 4x8 tile
//     than few NCHW columns do); [192,1,1]->48 40 -> 35 (1x1 maps take the NCHW-shaped GEMM);
//   dense 3x3 [96,3,3]->24 93 -> 43, 1x3 [96,10,2]->96 134 -> 65, but [24,74,32]->24 562 -> 1464
//     (the channels-last im2col is scalar JavaScript);
//   Transpose NCHW <-> NHWC: 3.5 ns per element.
import type { ConvShape, LayoutCapabilities } from '../../graph/passes/lower-types.js';

const up = (x: number, k: number) => Math.ceil(x / k) * k;

/** NCHW Conv: depthwise SIMD along rows padded to 8 (scalar for column strides), else im2col + GEMM with M x pixels tiles. */
function nchwCost(c: ConvShape): number {
  const K = c.KH * c.KW, P = c.OH * c.OW;
  if (c.group > 1) return c.SW === 1 ? 2.32e-4 * c.C * c.OH * up(c.OW, 8) * K + 20 : 2.41e-3 * c.C * P * K + 20;
  const Kd = c.C * K;
  return 8.9e-5 * up(c.M, 4) * up(P, 8) * Kd + (K > 1 ? 1.13e-3 * P * Kd : 0) + 8;
}

/**
 * ConvNhwc: depthwise SIMD across channels padded to 8 (image staged padded), else a pixels x M GEMM
 * (A packed per call, the bias added after), or under 8 pixels the weight x pixels GEMM (as NCHW).
 */
function nhwcCost(c: ConvShape): number {
  const K = c.KH * c.KW, P = c.OH * c.OW;
  // The fixed costs are taken equal to the NCHW kernels' (the fits put them lower, but on large shapes
  // only): a tiny conv saves nothing that pays for its Transposes.
  if (c.group > 1) return 1.75e-4 * P * up(c.C, 8) * K + 5.0e-4 * (c.H + c.KH) * (c.W + c.KW) * c.C + 20;
  const Kd = c.C * K;
  if (K === 1 && P < 8) return 8.9e-5 * up(c.M, 4) * up(P, 8) * Kd + (P > 1 ? 3.5e-3 * P * (c.C + c.M) : 0) + 8;
  return 8.0e-5 * up(P, 4) * up(c.M, 8) * Kd + 2.59e-3 * P * Kd + 4.27e-3 * P * c.M + 8;
}

export const CPU_LAYOUT: LayoutCapabilities = {
  convCost: (c) => (c.group === 1 || (c.group === c.C && c.M === c.C) ? { nchw: nchwCost(c), nhwc: nhwcCost(c) } : undefined),
  transposeCost: (elements) => 3.5e-3 * elements + 1.3,
  // ReduceMean over H, W of channels-last data against GlobalAveragePool: 36 vs 14 us on [1,192,6,6],
  // 28 vs 11 on [1,384,3,3] (in the detector, best of 40 runs).
  globalPoolCost: (elements) => 3.5e-3 * elements,
  // The estimates are off by up to ~30% per conv: a region must save 1.5x its Transposes' cost (the
  // detector's first region, estimated 349 us saved for 324 us of Transposes, lost 56 us).
  margin: 1.5,
};
