// Stride-1 3x3 float32 convs (group 1) take Winograd F(2x2,3x3), 3x1 and 1x3 ones F(2,3) along their
// 3-tap axis (nn-winograd.ts): the same sums
// reassociated through the transforms, so compared with a float64 direct conv and with the GEMM path
// (setWinogradConv(false), the implicit im2col) within a bound derived from the transforms' magnitudes:
// |V| <= 4 max|x| (B^T rows have two +-1 entries, applied twice), |U| <= 2.25 max|w| (G's rows sum to
// at most 1.5 in absolute value, applied twice), each of the 16 products is a C-term float32 dot
// product (error <= C eps |U||V|), and A^T m A sums 9 of them: |error| <= 81 C eps max|x| max|w| plus
// the transforms' own roundings, so 128 C eps max|x| max|w| (eps = 2^-24) bounds it. Along one axis,
// F(2,3) has a smaller bound (2 max|x|, 1.5 max|w|, 3 products); F(4,3)'s B^T rows sum to 10 in absolute
// value, G's to at most 1 and A^T's to 19 (row 1, 1, 8, 8, 1): 190 C eps, so 256 C eps.
import { describe, expect, it } from 'vitest';
import type { Attr, Node } from '../../graph/ir.js';
import { AttrReader } from '../../graph/attrs.js';
import type { HostTensor } from '../../graph/tensor.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { setGemmSimd } from '../../kernels/cpu/nn-gemm.js';
import { setWinogradConv, winogradConvStats } from '../../kernels/cpu/nn-winograd.js';
import { runConv as conv } from '../helpers/conv.js';

const ints = (value: number[]): Attr => ({ kind: 'ints', value }) as Attr;

/** Direct float64 convolution (NCHW, KH x KW, stride 1, pads [top, left, bottom, right]). */
function reference(x: Float32Array, [N, C, H, W]: [number, number, number, number], w: Float32Array, M: number, pads: number[], b?: Float32Array, [KH, KW] = [3, 3]): Float64Array {
  const OH = H + pads[0]! + pads[2]! - KH + 1, OW = W + pads[1]! + pads[3]! - KW + 1;
  const y = new Float64Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let acc = b ? b[m]! : 0;
    for (let c = 0; c < C; c++) for (let kh = 0; kh < KH!; kh++) for (let kw = 0; kw < KW!; kw++) {
      const ih = oh - pads[0]! + kh, iw = ow - pads[1]! + kw;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      acc += x[((n * C + c) * H + ih) * W + iw]! * w[((m * C + c) * KH! + kh) * KW! + kw]!;
    }
    y[((n * M + m) * OH + oh) * OW + ow] = acc;
  }
  return y;
}

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

function expectClose(got: Float32Array, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  if (!(worst <= tol)) expect({ what, at, got: got[at], want: want[at], tol }).toEqual({ what, at, got: want[at], want: want[at], tol });
}

describe('Winograd F(2x2,3x3) Conv', () => {
  // N, C, H, W, M, pads [t, l, b, r], kernel (3x3 unless given)
  const cases: [number, number, number, number, number, number[], number[]?][] = [
    [1, 96, 24, 24, 24, [1, 1, 1, 1]], // PP-OCRv4 detector
    [1, 96, 12, 12, 24, [1, 1, 1, 1]],
    [2, 13, 11, 9, 10, [1, 1, 1, 1]], // odd sizes, channels not multiples of 4 or 8, batch 2
    [1, 9, 7, 13, 17, [0, 0, 0, 0]], // no padding, odd output
    [1, 16, 10, 12, 8, [0, 0, 0, 0]], // no padding, even output: the planes are read as staged
    [2, 8, 10, 7, 9, [0, 1, 2, 1]], // asymmetric pads
    [1, 16, 5, 6, 8, [2, 2, 2, 2]], // pads wider than the kernel's reach
    [1, 12, 2, 9, 12, [1, 1, 1, 1]], // one tile row
    [1, 11, 4, 5, 8, [0, 2, 1, 0]],
    [1, 64, 41, 40, 12, [1, 1, 1, 1]], // two passes over tile rows (12 + 9 of 21)
    [3, 24, 32, 32, 8, [1, 1, 1, 1]], // images folded into one product two at a time (2 + 1)
    // One 3-tap axis (openWakeWord's embedding model: 1x3 padded along W, 3x1 unpadded)
    [1, 24, 74, 32, 24, [0, 1, 0, 1], [1, 3]],
    [1, 72, 30, 8, 72, [0, 0, 0, 0], [3, 1]],
    [2, 13, 9, 7, 10, [0, 1, 0, 1], [1, 3]], // odd output width, batch 2
    [1, 9, 11, 2, 17, [0, 1, 0, 1], [1, 3]], // one tile per row
    [2, 12, 12, 5, 9, [1, 0, 2, 0], [3, 1]], // padded rows, odd width
    [1, 10, 13, 6, 8, [0, 0, 0, 0], [3, 1]], // odd output height: the planes are padded
    [1, 16, 7, 9, 8, [1, 2, 0, 1], [1, 3]], // rows padded too (a 1-tap axis)
    [1, 96, 80, 30, 8, [0, 1, 0, 1], [1, 3]], // two passes over rows
    // F(2,3) where F(4,3) would pad more: rows of 2 or 4 outputs
    [2, 12, 9, 4, 10, [0, 1, 0, 1], [1, 3]],
    [1, 16, 4, 7, 12, [0, 0, 0, 0], [3, 1]],
    [2, 16, 5, 7, 12, [0, 0, 1, 0], [3, 1]],
  ];
  for (const [N, C, H, W, M, pads, [KH, KW] = [3, 3]] of cases) {
    it(`N${N} C${C} ${H}x${W} -> ${M} k${KH}x${KW} pads ${pads}: matches float64 and the GEMM path within the transform bound`, () => {
      const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.37) * (1 + (i % 5)));
      const w = new Float32Array(M * C * KH! * KW!).map((_, i) => Math.cos(i * 0.91) * 0.5);
      const b = new Float32Array(M).map((_, i) => 0.5 - i * 0.3);
      const attrs = { kernel_shape: ints([KH!, KW!]), pads: ints(pads) };
      const tol = (KH === 3 && KW === 3 ? 128 : 256) * C * 2 ** -24 * maxAbs(x) * maxAbs(w);
      for (const bias of [undefined, b]) {
        const prev = setWinogradConv(false);
        let viaGemm: Float32Array;
        try {
          viaGemm = conv(x, [N, C, H, W], w, [M, C, KH!, KW!], attrs, bias);
        } finally {
          setWinogradConv(prev);
        }
        const before = winogradConvStats.calls;
        const got = conv(x, [N, C, H, W], w, [M, C, KH!, KW!], attrs, bias);
        expect(winogradConvStats.calls - before, 'the Winograd path ran').toBe(1);
        const ref = reference(x, [N, C, H, W], w, M, pads, bias, [KH!, KW!]);
        expectClose(got, ref, tol, 'float64 reference');
        expectClose(got, viaGemm, tol, 'GEMM path');
        // Mostly much closer than the worst-case bound: a typical error of a few roundings.
        let sq = 0;
        for (let i = 0; i < got.length; i++) sq += (got[i]! - ref[i]!) ** 2;
        expect(Math.sqrt(sq / got.length)).toBeLessThan(tol / 16);
      }
    });
  }

  it('1-D convs with 3 taps take F(4,3) or F(2,3) as 1x3 (batch 2, pads, bias)', () => {
    const [N, C, L, M] = [2, 40, 61, 24];
    const x = new Float32Array(N * C * L).map((_, i) => Math.sin(i * 0.37));
    const w = new Float32Array(M * C * 3).map((_, i) => Math.cos(i * 0.91) * 0.5);
    const b = new Float32Array(M).map((_, i) => 0.25 * i);
    const attrs = { kernel_shape: ints([3]), pads: ints([2, 1]) };
    const before = winogradConvStats.calls;
    const got = conv(x, [N, C, L], w, [M, C, 3], attrs, b);
    expect(winogradConvStats.calls - before).toBe(1);
    const ref = reference(x, [N, C, 1, L], w, M, [0, 2, 0, 1], b, [1, 3]);
    expectClose(got, ref, 256 * C * 2 ** -24 * maxAbs(x) * maxAbs(w), 'float64 reference');
  });

  it('ran every form: F(2x2,3x3), F(2,3) and F(4,3) along rows and columns', () => {
    for (const k of ['3x3', '3x1', '1x3', '3x1m4', '1x3m4'] as const) expect(winogradConvStats.kinds[k] ?? 0, k).toBeGreaterThan(0);
  });

  it('keeps the transformed weights of a constant weight array (resident) and reuses them', () => {
    const [N, C, H, W, M] = [1, 24, 9, 10, 16];
    const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.7));
    const w = new Float32Array(M * C * 9).map((_, i) => Math.cos(i * 0.3));
    markConstant(w);
    const attrs = { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) };
    const ref = reference(x, [N, C, H, W], w, M, [1, 1, 1, 1]);
    const tol = 128 * C * 2 ** -24 * maxAbs(x) * maxAbs(w);
    const first = conv(x, [N, C, H, W], w, [M, C, 3, 3], attrs);
    // A larger conv in between grows the scratch region, which moves the resident blocks.
    const big = new Float32Array(64 * 40 * 40).fill(0.5);
    conv(big, [1, 64, 40, 40], new Float32Array(32 * 64 * 9).fill(0.25), [32, 64, 3, 3], attrs);
    const second = conv(x, [N, C, H, W], w, [M, C, 3, 3], attrs);
    expectClose(first, ref, tol, 'first call');
    expect(Array.from(second)).toEqual(Array.from(first));
  });

  it('is not taken for strides, dilations, groups, other kernels, few channels, tiny maps, or with the SIMD GEMM off', () => {
    const x = new Float32Array(16 * 12 * 12).map((_, i) => Math.sin(i));
    const w = (m: number, c: number, k: number) => new Float32Array(m * c * k * k).map((_, i) => Math.cos(i));
    const before = winogradConvStats.calls;
    conv(x, [1, 16, 12, 12], w(16, 16, 3), [16, 16, 3, 3], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    conv(x, [1, 16, 12, 12], w(16, 16, 3), [16, 16, 3, 3], { kernel_shape: ints([3, 3]), dilations: ints([2, 2]) });
    conv(x, [1, 16, 12, 12], w(16, 8, 3), [16, 8, 3, 3], { kernel_shape: ints([3, 3]), group: { kind: 'int', value: 2 } as Attr });
    conv(x, [1, 16, 12, 12], w(16, 16, 5), [16, 16, 5, 5], { kernel_shape: ints([5, 5]) });
    conv(x, [1, 16, 12, 12], new Float32Array(16 * 16 * 3).fill(0.5), [16, 16, 1, 3], { kernel_shape: ints([1, 3]), dilations: ints([1, 2]) });
    conv(x, [1, 16, 12, 12], new Float32Array(16 * 16 * 3).fill(0.5), [16, 16, 3, 1], { kernel_shape: ints([3, 1]), strides: ints([2, 1]) });
    conv(x, [1, 16, 12, 12], w(4, 16, 3), [4, 16, 3, 3], { kernel_shape: ints([3, 3]) });
    conv(x.subarray(0, 3 * 144), [1, 3, 12, 12], w(16, 3, 3), [16, 3, 3, 3], { kernel_shape: ints([3, 3]) });
    conv(x.subarray(0, 16 * 9), [1, 16, 3, 3], w(16, 16, 3), [16, 16, 3, 3], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }); // 4 tiles pad an 8-column GEMM tile
    const prev = setGemmSimd(false);
    try {
      conv(x, [1, 16, 12, 12], w(16, 16, 3), [16, 16, 3, 3], { kernel_shape: ints([3, 3]) });
    } finally {
      setGemmSimd(prev);
    }
    expect(winogradConvStats.calls).toBe(before);
  });

  it('leaves Inf and NaN inputs and weights to the GEMM (the transforms would turn an Inf into NaN)', () => {
    const [C, H, W, M] = [16, 8, 8, 8];
    const attrs = { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) };
    const x = new Float32Array(C * H * W).map((_, i) => Math.sin(i));
    const w = new Float32Array(M * C * 9).map((_, i) => Math.cos(i));
    const xInf = x.slice(); xInf[3 * 64 + 27] = Infinity;
    const xNaN = x.slice(); xNaN[100] = NaN;
    const wInf = w.slice(); wInf[17] = -Infinity;
    markConstant(wInf);
    for (const [xs, ws] of [[xInf, w], [xNaN, w], [x, wInf], [x, wInf]] as const) {
      const before = winogradConvStats.calls;
      const got = conv(xs, [1, C, H, W], ws, [M, C, 3, 3], attrs);
      expect(winogradConvStats.calls, 'not taken').toBe(before);
      const prev = setWinogradConv(false);
      let want: Float32Array;
      try {
        want = conv(xs, [1, C, H, W], ws, [M, C, 3, 3], attrs);
      } finally {
        setWinogradConv(prev);
      }
      for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) expect([i, got[i]]).toEqual([i, want[i]]);
    }
    // An Inf in the third image, found after the first two (folded into one product) were written: all redone.
    const xb = new Float32Array(3 * 24 * 32 * 32).map((_, i) => Math.sin(i * 0.1));
    xb[2 * 24 * 1024 + 500] = Infinity;
    const wb = new Float32Array(8 * 24 * 9).map((_, i) => Math.cos(i));
    const before = winogradConvStats.calls;
    const gotB = conv(xb, [3, 24, 32, 32], wb, [8, 24, 3, 3], attrs);
    expect(winogradConvStats.calls).toBe(before);
    const prevB = setWinogradConv(false);
    try {
      const wantB = conv(xb, [3, 24, 32, 32], wb, [8, 24, 3, 3], attrs);
      for (let i = 0; i < gotB.length; i++) if (!Object.is(gotB[i], wantB[i])) expect([i, gotB[i]]).toEqual([i, wantB[i]]);
    } finally {
      setWinogradConv(prevB);
    }
    // The direct sums keep an Inf where every term beside it is finite.
    const y = conv(xInf, [1, C, H, W], w, [M, C, 3, 3], attrs);
    expect(y.some((v) => v === Infinity || v === -Infinity)).toBe(true);
  });

  it('ConvInteger stays exact (no Winograd: its transforms halve and reassociate)', () => {
    const [C, H, W, M] = [16, 8, 8, 8];
    const xs = new Uint8Array(C * H * W).map((_, i) => (i * 37) % 256);
    const ws = new Int8Array(M * C * 9).map((_, i) => ((i * 53) % 255) - 127);
    const node: Node = { name: 'n', opType: 'ConvInteger', domain: '', inputs: ['x', 'w'], outputs: ['y'], attributes: { pads: ints([1, 1, 1, 1]) } };
    const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
    const before = winogradConvStats.calls;
    const y = (CPU_KERNELS.ConvInteger([{ kind: 'tensor', dtype: 'uint8', dims: [1, C, H, W], data: xs }, { kind: 'tensor', dtype: 'int8', dims: [M, C, 3, 3], data: ws }] as HostTensor[], ctx)[0] as HostTensor).data as Int32Array;
    expect(winogradConvStats.calls).toBe(before);
    const ref = reference(Float32Array.from(xs), [1, C, H, W], Float32Array.from(ws), M, [1, 1, 1, 1]);
    expect(Array.from(y)).toEqual(Array.from(ref));
  });
});
