// The WebAssembly SIMD depthwise Conv against the JS loops (float32 accumulation: within float32 rounding),
// over strides (column stride 2 runs on even/odd column phases), dilations, pads, odd widths, bias and
// channel multiples of the batch.
import { describe, expect, it } from 'vitest';
import type { Attr } from '../../graph/ir.js';
import { setDepthwiseSimd } from '../../kernels/cpu/nn-depthwise-simd.js';
import { runConv as conv } from '../helpers/conv.js';

const ints = (value: number[]): Attr => ({ kind: 'ints', value }) as Attr;

describe('depthwise Conv SIMD', () => {
  const cases: [number, number, number, number, number, [number, number], number, number][] = [
    // N, C, H, W, K, strides, dilation, pad
    [1, 24, 12, 80, 5, [1, 1], 1, 2],
    [2, 16, 9, 17, 3, [1, 1], 1, 1],
    [1, 8, 10, 13, 3, [1, 1], 2, 2],
    [1, 5, 11, 23, 3, [2, 1], 1, 1],
    [1, 6, 7, 9, 3, [2, 2], 1, 1],
    [1, 3, 9, 11, 5, [1, 1], 1, 0],
    [1, 4, 6, 6, 1, [1, 1], 1, 1],
    // Outputs narrower than one vector (small feature maps deep in a net; one-column images).
    [1, 7, 3, 3, 5, [1, 1], 1, 2],
    [2, 3, 2, 2, 3, [1, 1], 1, 1],
    [1, 4, 7, 1, 3, [1, 1], 1, 1],
    [1, 5, 6, 5, 3, [2, 1], 1, 0],
    // Column stride 2 (even/odd column phases): odd and even widths, narrow maps, dilation, no padding,
    // padding wider than the kernel reach, row stride 1 and 2, rows of 1-6 vectors.
    [1, 9, 12, 48, 3, [1, 2], 1, 1],
    [2, 5, 13, 17, 3, [2, 2], 1, 1],
    [1, 7, 6, 6, 5, [2, 2], 1, 2],
    [1, 3, 11, 11, 5, [2, 2], 2, 3],
    [1, 4, 9, 10, 3, [2, 2], 1, 0],
    [1, 3, 5, 7, 3, [1, 2], 1, 4],
    [1, 6, 3, 3, 3, [2, 2], 1, 1],
    [1, 2, 4, 41, 5, [1, 2], 1, 2],
    // Maps shorter than the kernel (kernel rows over padding only are skipped per output row).
    [2, 6, 2, 20, 5, [1, 1], 1, 2],
    [1, 4, 1, 9, 3, [1, 1], 1, 1],
    [1, 5, 4, 12, 5, [2, 2], 1, 2],
    [1, 3, 3, 8, 3, [1, 1], 2, 2],
    // Rows of 5 and 6 vectors (steps of 3 vectors, the last one partly past the row).
    [1, 3, 4, 19, 3, [1, 1], 1, 1],
    [1, 3, 4, 24, 5, [1, 1], 1, 2],
  ];
  for (const [N, C, H, W, K, S, D, P] of cases) {
    it(`N${N} C${C} ${H}x${W} k${K} s${S.join('x')} d${D} p${P}, with and without bias`, () => {
      const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.37));
      const w = new Float32Array(C * K * K).map((_, i) => Math.cos(i * 0.91));
      const b = new Float32Array(C).map((_, i) => 0.5 - i * 0.3);
      const attrs = { group: { kind: 'int', value: C } as Attr, kernel_shape: ints([K, K]), strides: ints(S), dilations: ints([D, D]), pads: ints([P, P, P, P]) };
      for (const bias of [undefined, b]) {
      const prev = setDepthwiseSimd(false);
      try {
        const ref = conv(x, [N, C, H, W], w, [C, 1, K, K], attrs, bias);
        setDepthwiseSimd(true);
        const got = conv(x, [N, C, H, W], w, [C, 1, K, K], attrs, bias);
        expect(got.length).toBe(ref.length);
        for (let i = 0; i < ref.length; i++) if (Math.abs(got[i]! - ref[i]!) > 1e-5 * (1 + Math.abs(ref[i]!))) expect([i, got[i]]).toEqual([i, ref[i]]);
      } finally {
        setDepthwiseSimd(prev);
      }
      }
    });
  }
});
