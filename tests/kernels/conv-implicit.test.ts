// Stride-1 2-D convs read their columns in place from the padded input (convImplicitF32, the SIMD GEMM's
// mmi): the same products in the same order as im2col + GEMM, so the outputs must be bit-identical to that
// path, and within float32 rounding of a float64 reference. Covers pads (asymmetric, wider than the
// kernel's reach, none), dilations, rectangular kernels, groups, batches and bias.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attr } from '../../graph/ir.js';
import { setImplicitConv } from '../../kernels/cpu/nn-conv.js';
import { implicitConvStats } from '../../kernels/cpu/nn-gemm.js';
import { setWinogradConv } from '../../kernels/cpu/nn-winograd.js';
import { runConv as conv } from '../helpers/conv.js';

const ints = (value: number[]): Attr => ({ kind: 'ints', value }) as Attr;

/** Direct float64 convolution (NCHW, groups, dilations, pads [top, left, bottom, right]). */
function reference(x: Float32Array, [N, C, H, W]: [number, number, number, number], w: Float32Array, [M, Cg, KH, KW]: [number, number, number, number], pads: number[], dil: number[], group: number, b?: Float32Array): Float64Array {
  const OH = H + pads[0]! + pads[2]! - (KH - 1) * dil[0]!, OW = W + pads[1]! + pads[3]! - (KW - 1) * dil[1]!;
  const y = new Float64Array(N * M * OH * OW);
  const Mg = M / group;
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) {
    const g = Math.floor(m / Mg);
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      let acc = b ? b[m]! : 0;
      for (let c = 0; c < Cg; c++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        const ih = oh - pads[0]! + kh * dil[0]!, iw = ow - pads[1]! + kw * dil[1]!;
        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
        acc += x[((n * C + g * Cg + c) * H + ih) * W + iw]! * w[((m * Cg + c) * KH + kh) * KW + kw]!;
      }
      y[((n * M + m) * OH + oh) * OW + ow] = acc;
    }
  }
  return y;
}

describe('implicit-im2col Conv (stride 1)', () => {
  // 3x3 convs would take Winograd (conv-winograd.test.ts); these cover the GEMM path.
  let winograd = true;
  beforeAll(() => { winograd = setWinogradConv(false); });
  afterAll(() => { setWinogradConv(winograd); });
  // N, C, H, W, M, KH, KW, pads [t, l, b, r], dilations, group
  const cases: [number, number, number, number, number, number, number, number[], number[], number][] = [
    [1, 96, 12, 12, 24, 3, 3, [1, 1, 1, 1], [1, 1], 1],
    [1, 24, 20, 32, 24, 1, 3, [0, 1, 0, 1], [1, 1], 1],
    [1, 48, 17, 16, 48, 3, 1, [1, 0, 1, 0], [1, 1], 1],
    [1, 24, 10, 32, 24, 1, 3, [0, 0, 0, 0], [1, 1], 1],
    // No padding and no dropped columns: the output rows are whole (8 a row: tiles fit; 7 a row: they do not).
    [1, 16, 12, 8, 8, 3, 1, [0, 0, 0, 0], [1, 1], 1],
    [1, 16, 12, 7, 8, 3, 1, [0, 0, 0, 0], [1, 1], 1],
    [2, 16, 20, 20, 8, 3, 3, [0, 1, 2, 1], [1, 1], 1],
    [1, 8, 17, 19, 16, 5, 3, [2, 2, 2, 2], [2, 2], 1],
    [1, 3, 31, 29, 16, 3, 3, [1, 1, 1, 1], [1, 1], 1],
    [1, 5, 9, 22, 7, 3, 3, [3, 3, 3, 3], [1, 1], 1],
    [1, 96, 3, 3, 24, 3, 3, [1, 1, 1, 1], [1, 1], 1],
    [1, 40, 6, 6, 24, 3, 3, [1, 1, 1, 1], [1, 1], 1],
    [2, 32, 11, 13, 12, 3, 3, [1, 1, 1, 1], [1, 1], 2],
  ];
  for (const [N, C, H, W, M, KH, KW, pads, dil, group] of cases) {
    it(`N${N} C${C} ${H}x${W} -> ${M} k${KH}x${KW} pads ${pads} d${dil} g${group}: equals im2col + GEMM bit for bit, and float64 within rounding`, () => {
      const Cg = C / group;
      const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.37));
      const w = new Float32Array(M * Cg * KH * KW).map((_, i) => Math.cos(i * 0.91) * 0.5);
      const b = new Float32Array(M).map((_, i) => 0.5 - i * 0.3);
      const attrs = { group: { kind: 'int', value: group } as Attr, kernel_shape: ints([KH, KW]), dilations: ints(dil), pads: ints(pads) };
      for (const bias of [undefined, b]) {
        const prev = setImplicitConv(false);
        try {
          const viaIm2col = conv(x, [N, C, H, W], w, [M, Cg, KH, KW], attrs, bias);
          setImplicitConv(true);
          const before = implicitConvStats.calls;
          const got = conv(x, [N, C, H, W], w, [M, Cg, KH, KW], attrs, bias);
          expect(implicitConvStats.calls - before, 'the implicit path ran once per batch item and group').toBe(N * group);
          expect(got.length).toBe(viaIm2col.length);
          for (let i = 0; i < got.length; i++) if (!Object.is(got[i], viaIm2col[i])) expect([i, got[i]]).toEqual([i, viaIm2col[i]]);
          const ref = reference(x, [N, C, H, W], w, [M, Cg, KH, KW], pads, dil, group, bias);
          const tol = 1e-5 * Cg * KH * KW;
          for (let i = 0; i < got.length; i++) if (Math.abs(got[i]! - ref[i]!) > tol * (1 + Math.abs(ref[i]!))) expect([i, got[i]]).toEqual([i, ref[i]]);
        } finally {
          setImplicitConv(prev);
        }
      }
    });
  }
  it('is not taken where the dropped columns would cost more than the im2col, or for stride 2', () => {
    const attrs = (s: number, k: number) => ({ kernel_shape: ints([k, k]), pads: ints([k >> 1, k >> 1, k >> 1, k >> 1]), strides: ints([s, s]) });
    const w = (m: number, k: number) => new Float32Array(m * 16 * k * k).map((_, i) => Math.cos(i));
    const before = implicitConvStats.calls;
    conv(new Float32Array(16 * 4 * 4).fill(1), [1, 16, 4, 4], w(256, 7), [256, 16, 7, 7], attrs(1, 7)); // 10 padded columns for 4 outputs, 256 channels
    conv(new Float32Array(16 * 24 * 24).fill(1), [1, 16, 24, 24], w(8, 3), [8, 16, 3, 3], attrs(2, 3));
    expect(implicitConvStats.calls).toBe(before);
    conv(new Float32Array(16 * 6 * 6).fill(1), [1, 16, 6, 6], w(24, 3), [24, 16, 3, 3], attrs(1, 3)); // small map, few channels: taken
    expect(implicitConvStats.calls).toBe(before + 1);
  });
});
