// col2im's 2-D loops (nn-im2col.ts, ConvTranspose and Col2Im) against the definition, adding in the same
// order (channel, tap, block row, block column), so the float32 sums must agree bit for bit; the stride-2
// 2-wide case (ConvTranspose 2x2/2) has its own loop.
import { describe, expect, it } from 'vitest';
import { col2im, type Grid } from '../../kernels/cpu/nn-im2col.js';

function naive(col: Float32Array, C: number, g: Grid): Float32Array {
  const [IH, IW] = g.img, [OH, OW] = g.out, [KH, KW] = g.kernel;
  const out = new Float32Array(C * IH! * IW!);
  let i = 0;
  for (let c = 0; c < C; c++) {
    for (let kh = 0; kh < KH!; kh++) {
      for (let kw = 0; kw < KW!; kw++) {
        for (let oh = 0; oh < OH!; oh++) {
          for (let ow = 0; ow < OW!; ow++, i++) {
            const ih = oh * g.strides[0]! - g.padHead[0]! + kh * g.dilations[0]!;
            const iw = ow * g.strides[1]! - g.padHead[1]! + kw * g.dilations[1]!;
            if (ih < 0 || ih >= IH! || iw < 0 || iw >= IW!) continue;
            const p = (c * IH! + ih) * IW! + iw;
            out[p] = out[p]! + col[i]!;
          }
        }
      }
    }
  }
  return out;
}

describe('col2im 2-D', () => {
  const cases: Grid[] = [
    { img: [48, 48], out: [24, 24], kernel: [2, 2], strides: [2, 2], dilations: [1, 1], padHead: [0, 0] },
    { img: [9, 11], out: [5, 6], kernel: [3, 3], strides: [2, 2], dilations: [1, 1], padHead: [1, 1] },
    { img: [10, 13], out: [4, 5], kernel: [3, 2], strides: [2, 3], dilations: [2, 1], padHead: [1, 0] },
    { img: [7, 7], out: [7, 7], kernel: [3, 3], strides: [1, 1], dilations: [1, 1], padHead: [1, 1] },
    // The 2-wide stride-2 path with overlapping, padded tap rows.
    { img: [9, 10], out: [5, 5], kernel: [3, 2], strides: [2, 2], dilations: [1, 1], padHead: [1, 0] },
    { img: [11, 14], out: [5, 7], kernel: [2, 2], strides: [2, 2], dilations: [2, 1], padHead: [0, 0] },
  ];
  for (const g of cases) {
    it(`img ${g.img} k ${g.kernel} s ${g.strides} d ${g.dilations} p ${g.padHead} matches the definition bit for bit`, () => {
      const C = 3;
      const n = C * g.kernel[0]! * g.kernel[1]! * g.out[0]! * g.out[1]!;
      const col = Float32Array.from({ length: n + 5 }, (_, i) => Math.sin(i * 1.3) * 3);
      const want = naive(col.subarray(5), C, g);
      const got = new Float32Array(want.length + 7);
      col2im(col, 5, C, g, got, 7);
      expect([...got.subarray(7)]).toEqual([...want]);
      const got64 = new Float64Array(want.length);
      col2im(Float64Array.from(col), 5, C, g, got64, 0);
      expect(got64.every((v, i) => Math.abs(v - want[i]!) < 1e-5)).toBe(true);
    });
  }
});
