// nn kernels on what the ONNX node tests miss (GEMM blocking edges, groups/depthwise with multipliers,
// 3-D and asymmetric pads, ConvTranspose output_shape/auto_pad, MaxPool indices in column-major order,
// ceil_mode with count_include_pad, per-channel integer convs, RoI pooling), against onnxruntime-node.
import { describe, expect, it } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import { numberToF16Bits } from '../../graph/dtype.js';
import type { Attr, Dim, Node } from '../../graph/ir.js';
import { nnOps } from '../../graph/ops/nn.js';
import type { InferContext, OpSchema } from '../../graph/ops/types.js';
import { type HostTensor, makeTensor } from '../../graph/tensor.js';
import { AttrReader } from '../../graph/attrs.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { KernelInputError } from '../../kernels/cpu/errors.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { gemmF32, gemmF32TransB, im2colStaged2d, setGemmPackBStride, setGemmSimd } from '../../kernels/cpu/nn-gemm.js';
import { im2colRows2d } from '../../kernels/cpu/nn-im2col.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { setConvColLimit } from '../../kernels/cpu/nn-conv.js';
import { convTransposeTilesStats, setConvTransposeTilesSimd } from '../../kernels/cpu/nn-convt-simd.js';
import { plainSimdGemm, setResidentLimit, simdGemm } from '../../kernels/cpu/nn-gemm-simd.js';
import { oneNodeVsOrt } from '../helpers/ort.js';

let seed = 12345;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
const prod = (d: number[]) => d.reduce((a, b) => a * b, 1);

function T(dtype: DType, dims: number[], values: readonly (number | bigint)[]): HostTensor {
  const data = dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v))
    : dtype === 'float32' ? Float32Array.from(values as number[])
      : dtype === 'float64' ? Float64Array.from(values as number[])
        : dtype === 'int32' ? Int32Array.from(values as number[])
          : dtype === 'int8' ? Int8Array.from(values as number[])
            : dtype === 'uint8' ? Uint8Array.from(values as number[])
              : dtype === 'float16' ? Uint16Array.from(values as number[], (v) => numberToF16Bits(v))
                : Uint16Array.from(values as number[]);
  return makeTensor(dtype, dims, data as never);
}
const R = (dims: number[], lo = -1, hi = 1, dtype: DType = 'float32') => T(dtype, dims, Array.from({ length: prod(dims) }, () => lo + (hi - lo) * rnd()));
const I = (dims: number[], lo: number, hi: number, dtype: DType) => T(dtype, dims, Array.from({ length: prod(dims) }, () => Math.floor(lo + (hi - lo + 1) * rnd())));

const ints = (v: number[]): Attr => ({ kind: 'ints', value: v });
const int = (v: number): Attr => ({ kind: 'int', value: v });
const flt = (v: number): Attr => ({ kind: 'float', value: v });
const str = (v: string): Attr => ({ kind: 'string', value: v });

/** Run one node on tgraph and on onnxruntime-node; every output must agree (floats, float16 by value, to rtol * (|want| + max|want| / 100) + 1e-6). */
function vsOrt(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: { opset?: number; outputs?: number; rtol?: number } = {}): Promise<HostTensor[]> {
  const rtol = opts.rtol ?? 1e-4;
  return oneNodeVsOrt(op, inputs, attributes, { ...opts, tol: { rtol, ofMax: rtol * 0.01, atol: 1e-6, float16: 'close' } });
}

function ctxOf(op: string, attributes: Record<string, Attr> = {}, opset = 21, outputs = 1): CpuContext {
  const node: Node = { name: `${op}_node`, opType: op, domain: '', inputs: [], outputs: Array.from({ length: outputs }, (_, i) => `y${i}`), attributes };
  return { node, opset, attrs: new AttrReader(node), runGraph: () => [] };
}
function run(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opset = 21): HostTensor[] {
  const k = (CPU_KERNELS as Record<string, (i: typeof inputs, c: CpuContext) => HostTensor[]>)[op]!;
  return k(inputs, ctxOf(op, attributes, opset));
}

describe('gemmF32', () => {
  it('has the WebAssembly SIMD kernel on Node', () => {
    expect(simdGemm()).toBeDefined();
    expect(plainSimdGemm()?.relaxed).toBe(false);
  });
  // Odd sizes around the 4x8 tile and the 256-deep K block, thin and wide shapes, and every path:
  // JS, SIMD reading B in place, SIMD with B repacked into panels.
  const shapes = [[1, 1, 1], [5, 7, 3], [3, 17, 33], [17, 33, 1], [33, 17, 257], [67, 517, 259], [3, 2, 300], [130, 9, 20], [4, 8, 128], [9, 300, 5], [12, 1000, 120], [131, 1, 385], [67, 3, 259]] as const;
  const paths = [['JS', false, 256], ['SIMD', true, 1 << 30], ['SIMD packed B', true, 1]] as const;
  for (const [M, N, K] of shapes) {
    for (const [path, simd, packMin] of paths) {
      it(`${M}x${N}x${K} ${path} matches a float64 reference: transposed A, strided B and C, accumulate, bias`, () => {
        const prevSimd = setGemmSimd(simd);
        const prevPack = setGemmPackBStride(packMin);
        try {
          const A = Float32Array.from({ length: M * K }, () => rnd() - 0.5);
          // B and C live inside wider rows (ld = N + 3), at an offset.
          const ldb = N + 3, ldc = N + 3, bOff = 5, cOff = 2;
          const B = Float32Array.from({ length: bOff + K * ldb }, () => rnd() - 0.5);
          const C0 = Float32Array.from({ length: cOff + M * ldc }, () => rnd());
          const bias = Float32Array.from({ length: M + 1 }, () => rnd() - 0.5);
          for (const trans of [false, true]) {
            for (const accumulate of [false, true]) {
              for (const withBias of [false, true]) {
                // Transposed: A stored as [K, M].
                const At = trans ? Float32Array.from({ length: M * K }, (_, p) => A[(p % M) * K + Math.floor(p / M)]!) : A;
                const C = C0.slice();
                gemmF32(M, N, K, At, 0, trans ? 1 : K, trans ? M : 1, B, bOff, ldb, C, cOff, ldc, accumulate, withBias ? bias : undefined, 1);
                let worst = 0;
                for (let i = 0; i < M; i++) {
                  for (let j = 0; j < N; j++) {
                    let acc = (accumulate ? C0[cOff + i * ldc + j]! : 0) + (withBias ? bias[1 + i]! : 0);
                    for (let k = 0; k < K; k++) acc += A[i * K + k]! * B[bOff + k * ldb + j]!;
                    worst = Math.max(worst, Math.abs(C[cOff + i * ldc + j]! - acc) / (1 + Math.abs(acc)));
                  }
                  // The padding between rows is untouched.
                  for (let j = N; j < ldc && i < M - 1; j++) expect(C[cOff + i * ldc + j]).toBe(C0[cOff + i * ldc + j]);
                }
                expect(worst).toBeLessThan(1e-5);
              }
            }
          }
        } finally {
          setGemmSimd(prevSimd);
          setGemmPackBStride(prevPack);
        }
      });
    }
  }
  it('packs a constant A once per (offset, strides, shape) and never caches other arrays', () => {
    const M = 13, N = 40, K = 70;
    const A = Float32Array.from({ length: 2 * M * K }, () => rnd() - 0.5);
    const B = Float32Array.from({ length: K * N }, () => rnd() - 0.5);
    const product = (a: Float32Array, aOff: number, trans: boolean) => {
      const C = new Float32Array(M * N);
      gemmF32(M, N, K, a, aOff, trans ? 1 : K, trans ? M : 1, B, 0, N, C, 0, N, false);
      return C;
    };
    const reference = (a: Float32Array, aOff: number, trans: boolean) => {
      const prev = setGemmSimd(false);
      try { return product(a, aOff, trans); } finally { setGemmSimd(prev); }
    };
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThan(1e-5));
    // Not registered: a changed array gives the changed product.
    const feed = A.slice();
    close(product(feed, 0, false), reference(feed, 0, false));
    feed[0] = 7;
    close(product(feed, 0, false), reference(feed, 0, false));
    // Registered: the first and later products (cache filled, then used) match, for each view of the array.
    const W = A.slice();
    markConstant(W);
    for (let rep = 0; rep < 2; rep++) {
      for (const [off, trans] of [[0, false], [M * K, false], [0, true]] as const) close(product(W, off, trans), reference(W, off, trans));
    }
  });
  it('keeps packed constants resident in wasm memory: they survive scratch growth that moves them, and a full region falls back to copies', () => {
    const M = 21, N = 37, K = 90;
    const B = Float32Array.from({ length: K * N }, () => rnd() - 0.5);
    const run = (a: Float32Array, simd: boolean) => {
      const prev = setGemmSimd(simd);
      try {
        const C = new Float32Array(M * N);
        gemmF32(M, N, K, a, 0, K, 1, B, 0, N, C, 0, N, false);
        return C;
      } finally { setGemmSimd(prev); }
    };
    // Transposed-B products (Gemm transB) keep the transposed constant resident the same way.
    const runT = (bt: Float32Array) => {
      const A = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
      const C = new Float32Array(M * N);
      expect(gemmF32TransB(M, N, K, A, 0, K, 1, bt, 0, K, C, 0, N, false)).toBe(true);
      const ref = new Float32Array(M * N);
      const Bk = new Float32Array(K * N);
      for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) Bk[k * N + j] = bt[j * K + k]!;
      const prev = setGemmSimd(false);
      gemmF32(M, N, K, A, 0, K, 1, Bk, 0, N, ref, 0, N, false);
      setGemmSimd(prev);
      return [C, ref] as const;
    };
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThan(1e-5));
    for (const limit of [1 << 27, 0]) {
      const prevLimit = setResidentLimit(limit);
      try {
        const W = Float32Array.from({ length: M * K }, () => rnd() - 0.5);
        const Wt = Float32Array.from({ length: N * K }, () => rnd() - 0.5);
        markConstant(W);
        markConstant(Wt);
        const want = run(W, false);
        close(run(W, true), want); // packs and keeps
        close(...runT(Wt));
        // A product bigger than any before grows the scratch region past the resident blocks, moving them.
        // Scratch is free between operations: fill it with garbage, as a product that size would.
        const grown = simdGemm()!.f32.buffer.byteLength + (4 << 20);
        simdGemm()!.reserve(grown);
        simdGemm()!.f32.fill(NaN, 0, grown >> 2);
        close(run(W, true), want);
        close(...runT(Wt));
      } finally {
        setResidentLimit(prevLimit);
      }
    }
  });
  it('packs a constant B (a MatMul weight) into column panels once: strided, offset, accumulate and bias; resident (moved by scratch growth) or copied in', () => {
    const M = 12, N = 45, K = 130, ldb = N + 3, ldc = N + 2;
    const A = Float32Array.from({ length: M * K }, () => rnd() - 0.5);
    const bias = Float32Array.from({ length: M }, () => rnd() - 0.5);
    const C0 = Float32Array.from({ length: M * ldc }, () => rnd());
    const run = (b: Float32Array, bOff: number, simd: boolean, accumulate: boolean) => {
      const prev = setGemmSimd(simd);
      try {
        const C = C0.slice();
        gemmF32(M, N, K, A, 0, K, 1, b, bOff, ldb, C, 0, ldc, accumulate, bias, 0);
        return C;
      } finally { setGemmSimd(prev); }
    };
    const close = (x: Float32Array, y: Float32Array) => x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThan(1e-5));
    for (const limit of [1 << 27, 0]) {
      const prevLimit = setResidentLimit(limit);
      try {
        // Two weights in one array (a batched MatMul's constant B): each offset has its own panels.
        const W = Float32Array.from({ length: 2 * K * ldb }, () => rnd() - 0.5);
        markConstant(W);
        for (let rep = 0; rep < 2; rep++) {
          for (const off of [0, K * ldb]) for (const acc of [false, true]) close(run(W, off, true, acc), run(W, off, false, acc));
          const grown = simdGemm()!.f32.buffer.byteLength + (4 << 20);
          simdGemm()!.reserve(grown);
          simdGemm()!.f32.fill(NaN, 0, grown >> 2);
        }
        // The same values in an unregistered array, then changed: never served from the cache.
        const feed = W.slice();
        close(run(feed, 0, true, false), run(W, 0, false, false));
        feed[3] = 9;
        close(run(feed, 0, true, false), run(feed, 0, false, false));
      } finally {
        setResidentLimit(prevLimit);
      }
    }
  });
  it('the plain-SIMD and the selected build agree with the JS reference on one product', () => {
    const M = 37, N = 45, K = 300;
    const A = Float32Array.from({ length: M * K }, () => rnd() - 0.5);
    const B = Float32Array.from({ length: K * N }, () => rnd() - 0.5);
    const ref = new Float32Array(M * N);
    const prev = setGemmSimd(false);
    gemmF32(M, N, K, A, 0, K, 1, B, 0, N, ref, 0, N, false);
    setGemmSimd(true);
    const got = new Float32Array(M * N);
    gemmF32(M, N, K, A, 0, K, 1, B, 0, N, got, 0, N, false);
    setGemmSimd(prev);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-4);
  });
});

describe('Conv', () => {
  const cases: [string, number[], number[], Record<string, Attr>, boolean][] = [
    ['1-D dilated strided asymmetric pads', [2, 3, 17], [4, 3, 3], { dilations: ints([2]), strides: ints([2]), pads: ints([1, 3]) }, true],
    ['1-D STFT-like: wide kernel, stride, 3 positions (1-D im2col, GEMV over 3 positions)', [2, 1, 300], [130, 1, 129], { strides: ints([64]), pads: ints([5, 0]) }, true],
    ['1-D 2 positions, taps past both pads, dilated', [1, 67, 5], [66, 67, 3], { strides: ints([2]), pads: ints([2, 3]), dilations: ints([2]) }, true],
    ['2-D groups=2 through the GEMM blocks', [1, 40, 21, 19], [70, 20, 3, 3], { group: int(2), pads: ints([1, 1, 1, 1]) }, true],
    ['2-D K beyond one block', [1, 64, 9, 9], [8, 64, 3, 3], {}, false],
    ['depthwise with multiplier', [1, 4, 9, 8], [8, 1, 3, 3], { group: int(4), pads: ints([1, 0, 2, 1]) }, true],
    ['depthwise strided dilated', [2, 6, 13, 11], [6, 1, 3, 3], { group: int(6), strides: ints([2, 3]), dilations: ints([2, 1]), pads: ints([2, 1, 0, 2]) }, true],
    ['depthwise SAME_LOWER', [1, 3, 10, 7], [3, 1, 4, 4], { group: int(3), auto_pad: str('SAME_LOWER'), strides: ints([2, 2]) }, false],
    ['2-D strided dilated asymmetric pads (wasm im2col)', [1, 5, 17, 33], [6, 5, 3, 3], { strides: ints([2, 3]), dilations: ints([2, 1]), pads: ints([0, 2, 3, 1]) }, true],
    ['2-D 5x5 stride 2 wider than the image', [2, 3, 4, 3], [7, 3, 5, 5], { strides: ints([2, 2]), pads: ints([2, 2, 2, 2]) }, true],
    // First layers (3 channels, group 1): im2col with the stride-2 vector loop, then the GEMM.
    ['2-D first layer: 3 channels, stride 2, odd width', [1, 3, 20, 37], [8, 3, 3, 3], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, true],
    ['2-D first layer, batch 2, no bias, 5 output channels', [2, 3, 11, 30], [5, 3, 3, 3], { strides: ints([2, 2]), pads: ints([1, 0, 1, 1]) }, false],
    // Groups of few input channels: the direct SIMD conv (no im2col).
    ['2-D groups of 2 channels (direct)', [1, 4, 9, 11], [6, 2, 3, 3], { group: int(2), pads: ints([1, 1, 1, 1]) }, true],
    ['2-D groups of 4 channels, dilated, strides 2x1, batch 2 (direct)', [2, 8, 13, 21], [6, 4, 3, 3], { group: int(2), dilations: ints([2, 2]), strides: ints([2, 1]), pads: ints([2, 1, 0, 2]) }, true],
    ['2-D groups of 3 channels, 5x5, rows of 5 vectors, no bias (direct)', [1, 6, 8, 19], [4, 3, 5, 5], { group: int(2), pads: ints([2, 2, 2, 2]) }, false],
    ['2-D depthwise x3 multiplier, column stride 2 (direct)', [1, 5, 9, 26], [15, 1, 3, 3], { group: int(5), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, true],
    ['1-D groups of 3 channels, stride 2 (direct)', [2, 6, 30], [4, 3, 5], { group: int(2), strides: ints([2]), pads: ints([2, 2]) }, true],
    ['2-D groups of 2 channels, column stride 3 (im2col: the direct path takes strides 1-2)', [1, 4, 10, 20], [4, 2, 3, 3], { group: int(2), strides: ints([1, 3]) }, true],
    ['2-D groups of 5 channels (im2col: above the direct path channel limit)', [1, 10, 7, 9], [4, 5, 3, 3], { group: int(2), pads: ints([1, 1, 1, 1]) }, true],
    ['2-D 1x3 over a single row (sequence conv)', [1, 33, 1, 17], [9, 33, 1, 3], { pads: ints([0, 1, 0, 1]) }, true],
    ['1x1 pointwise', [2, 16, 7, 5], [12, 16, 1, 1], {}, true],
    // 1x1 over few positions: Y^T = X^T W^T, tiled over output channels (and not taken where it pads more).
    ['1x1 on a 3x3 map (transposed product)', [2, 40, 3, 3], [24, 40, 1, 1], {}, true],
    ['1x1 on a 3x3 map, no bias (transposed product)', [1, 40, 3, 3], [24, 40, 1, 1], {}, false],
    ['1x1 over one row of 12 (transposed product)', [1, 33, 1, 12], [24, 33, 1, 1], {}, true],
    ['1-D 1x1 over 9 positions (transposed product)', [1, 40, 9], [16, 40, 1], {}, true],
    ['grouped 1x1 on a 3x4 map (transposed product per group)', [1, 32, 3, 4], [48, 16, 1, 1], { group: int(2) }, true],
    ['3x3 on a 3x3 map, padded (im2col, not transposed)', [1, 16, 3, 3], [32, 16, 3, 3], { pads: ints([1, 1, 1, 1]) }, true],
    ['1x1 strided', [1, 8, 9, 9], [4, 8, 1, 1], { strides: ints([2, 2]) }, true],
    // 1-3 output positions: a matrix-vector product against the laid-out weight (linalg-gemv-simd.ts).
    ['1x1 on a 1x1 map, squeeze-excite (GEMV)', [2, 120, 1, 1], [40, 120, 1, 1], {}, true],
    // Batches of small maps: one product over every image's positions.
    ['1x1 on a 2x3 map, batch 3 (one transposed product)', [3, 48, 2, 3], [36, 48, 1, 1], {}, true],
    ['1x1 on a 1x1 map, batch 4, no bias (one GEMV of four rows)', [4, 128, 1, 1], [40, 128, 1, 1], {}, false],
    ['3x1 onto one position, no bias (GEMV over im2col)', [1, 48, 3, 1], [37, 48, 3, 1], {}, false],
    ['1x3 onto 3 positions, padded (GEMV, transposed out)', [1, 80, 1, 3], [24, 80, 1, 3], { pads: ints([0, 1, 0, 1]) }, true],
    ['1-D onto 2 positions, grouped (GEMV per group)', [1, 128, 4], [48, 64, 3], { group: int(2) }, true],
    ['3-D SAME_UPPER strided', [1, 2, 7, 6, 5], [3, 2, 3, 2, 3], { auto_pad: str('SAME_UPPER'), strides: ints([2, 1, 2]) }, true],
    ['3-D VALID dilated', [1, 2, 8, 7, 6], [2, 2, 2, 3, 2], { auto_pad: str('VALID'), dilations: ints([2, 1, 2]) }, false],
  ];
  for (const [name, xs, ws, attrs, bias] of cases) {
    it(name, async () => {
      await vsOrt('Conv', [R(xs), R(ws), bias ? R([ws[0]!]) : undefined], attrs);
    });
  }
  it('float16', async () => {
    await vsOrt('Conv', [R([1, 3, 6, 6], -1, 1, 'float16'), R([4, 3, 3, 3], -1, 1, 'float16')], { pads: ints([1, 1, 1, 1]) }, { rtol: 3e-3 });
  });
  it('float64 against float32 onnxruntime', () => {
    const x = R([1, 3, 8, 8]), w = R([5, 3, 3, 3]);
    const a = run('Conv', [x, w], { pads: ints([1, 1, 1, 1]) })[0]!;
    const x64 = T('float64', [1, 3, 8, 8], Array.from(x.data as Float32Array));
    const w64 = T('float64', [5, 3, 3, 3], Array.from(w.data as Float32Array));
    const b = run('Conv', [x64, w64], { pads: ints([1, 1, 1, 1]) })[0]!;
    expect(b.dtype).toBe('float64');
    (a.data as Float32Array).forEach((v, i) => expect(Math.abs(v - (b.data as Float64Array)[i]!)).toBeLessThan(1e-5));
  });
  it('rejects mismatched channels with a KernelInputError', () => {
    expect(() => run('Conv', [R([1, 3, 5, 5]), R([2, 4, 3, 3])])).toThrow(KernelInputError);
    expect(() => run('Conv', [R([1, 4, 5, 5]), R([3, 2, 3, 3])], { group: int(2) })).toThrow(KernelInputError);
  });
});

describe('ConvTranspose', () => {
  const cases: [string, number[], number[], Record<string, Attr>][] = [
    ['stride 2 output_padding', [1, 3, 5, 4], [3, 2, 3, 3], { strides: ints([2, 2]), output_padding: ints([1, 0]), pads: ints([1, 0, 0, 1]) }],
    ['output_shape', [1, 2, 4, 4], [2, 3, 3, 3], { strides: ints([2, 2]), output_shape: ints([9, 10]) }],
    ['SAME_UPPER', [1, 2, 3, 5], [2, 2, 4, 3], { strides: ints([2, 2]), auto_pad: str('SAME_UPPER') }],
    ['SAME_LOWER', [1, 2, 3, 5], [2, 2, 4, 3], { strides: ints([2, 2]), auto_pad: str('SAME_LOWER') }],
    ['groups and dilations', [2, 4, 5, 5], [4, 3, 3, 2], { group: int(2), dilations: ints([2, 1]), strides: ints([1, 2]) }],
    ['1-D', [1, 3, 7], [3, 2, 4], { strides: ints([3]), pads: ints([1, 2]) }],
    ['3-D', [1, 2, 3, 4, 3], [2, 2, 2, 3, 2], { strides: ints([2, 1, 2]) }],
    // Kernel = stride (every output element takes one tap: the permutation path), batch 2, groups, 2x2 and 3x2.
    ['2x2/2 upsampling', [2, 5, 3, 4], [5, 3, 2, 2], { strides: ints([2, 2]) }],
    ['3x2 tiles with groups', [1, 4, 3, 5], [4, 2, 3, 2], { strides: ints([3, 2]), group: int(2) }],
    // The wasm permutation (KH x 2 tiles): odd widths (a partial group of 4 blocks), batch 3, groups.
    ['2x2/2 upsampling, width 5', [1, 6, 4, 5], [6, 4, 2, 2], { strides: ints([2, 2]) }],
    ['2x2/2 upsampling, width 7, batch 3', [3, 5, 3, 7], [5, 3, 2, 2], { strides: ints([2, 2]) }],
    ['2x2/2 upsampling with groups, width 6', [2, 6, 5, 6], [6, 2, 2, 2], { strides: ints([2, 2]), group: int(3) }],
    ['3x2 tiles, width 9', [1, 4, 2, 9], [4, 3, 3, 2], { strides: ints([3, 2]) }],
  ];
  for (const [name, xs, ws, attrs] of cases) {
    it(name, async () => {
      const g = (attrs.group?.value as number | undefined) ?? 1;
      await vsOrt('ConvTranspose', [R(xs), R(ws), R([ws[1]! * g])], attrs);
    });
  }
  it('2x2/2 upsampling without a bias', async () => {
    await vsOrt('ConvTranspose', [R([1, 3, 4, 6]), R([3, 2, 2, 2])], { strides: ints([2, 2]) });
  });
  it('KH x 2 tiles: the wasm permutation equals col2imTilesF32 bit for bit, and ran', () => {
    const shapes: [number[], number[], number, number][] = [
      [[1, 24, 24, 24], [24, 24, 2, 2], 1, 2], [[3, 5, 3, 7], [5, 3, 2, 2], 1, 2], [[2, 6, 5, 5], [6, 2, 2, 2], 3, 2],
      [[1, 4, 2, 9], [4, 3, 3, 2], 1, 3], [[1, 8, 2, 2], [8, 4, 2, 2], 1, 2], [[2, 4, 6, 3], [4, 5, 1, 2], 2, 1],
    ];
    for (const [xs, ws, g, kh] of shapes) {
      for (const variant of ['bias', 'no bias', '-0'] as const) {
        // '-0': all-(-0) weights (zero products): both paths must give the same signs of zero.
        const x = variant === '-0' ? R(xs, 0.5, 2) : R(xs, -2, 2);
        const w = variant === '-0' ? T('float32', ws, new Array<number>(prod(ws)).fill(-0)) : R(ws);
        const withBias = variant === 'bias';
        const inputs = [x, w, withBias ? R([ws[1]! * g]) : undefined];
        const attrs = { strides: ints([kh, 2]), group: int(g) };
        const before = convTransposeTilesStats.calls;
        const got = run('ConvTranspose', inputs, attrs)[0]!;
        expect(convTransposeTilesStats.calls - before, 'the wasm permutation ran').toBe(xs[0]! * g);
        const prev = setConvTransposeTilesSimd(false);
        let want: HostTensor;
        try {
          want = run('ConvTranspose', inputs, attrs)[0]!;
        } finally {
          setConvTransposeTilesSimd(prev);
        }
        expect(convTransposeTilesStats.calls - before).toBe(xs[0]! * g);
        expect(got.dims).toEqual(want.dims);
        expect(new Uint32Array((got.data as Float32Array).buffer)).toEqual(new Uint32Array((want.data as Float32Array).buffer));
      }
    }
  });
});

describe('pooling', () => {
  it('MaxPool indices, row- and column-major, ceil_mode and dilations', async () => {
    const x = R([2, 3, 9, 8]);
    for (const order of [0, 1]) {
      await vsOrt('MaxPool', [x], { kernel_shape: ints([3, 2]), strides: ints([2, 2]), pads: ints([1, 0, 1, 1]), ceil_mode: int(1), storage_order: int(order) }, { outputs: 2 });
    }
    await vsOrt('MaxPool', [x], { kernel_shape: ints([2, 2]), dilations: ints([2, 3]), ceil_mode: int(1) }, { outputs: 2 });
  });
  it('MaxPool int8 and 3-D', async () => {
    await vsOrt('MaxPool', [I([1, 2, 7, 7], -128, 127, 'int8')], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    await vsOrt('MaxPool', [R([1, 2, 5, 6, 7])], { kernel_shape: ints([2, 3, 2]), auto_pad: str('SAME_UPPER'), strides: ints([2, 2, 3]) });
  });
  it('AveragePool count_include_pad with ceil_mode', async () => {
    const x = R([1, 2, 10, 9]);
    for (const cip of [0, 1]) {
      await vsOrt('AveragePool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 0, 1]), ceil_mode: int(1), count_include_pad: int(cip) });
      await vsOrt('AveragePool', [x], { kernel_shape: ints([2, 3]), auto_pad: str('SAME_LOWER'), count_include_pad: int(cip) });
    }
  });
  it('LpPool p=3 and GlobalLpPool', async () => {
    await vsOrt('LpPool', [R([1, 2, 7, 6])], { kernel_shape: ints([3, 2]), p: int(3), pads: ints([1, 1, 1, 1]) }, { opset: 18 });
    await vsOrt('GlobalLpPool', [R([2, 3, 4, 5])], { p: int(3) });
    await vsOrt('GlobalMaxPool', [R([2, 3, 4, 5, 2])]);
    await vsOrt('GlobalAveragePool', [R([2, 3, 7])]);
  });
  it('MaxUnpool inverts MaxPool; with output_shape each element keeps its coordinates', async () => {
    const k = (CPU_KERNELS as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>).MaxPool!;
    const [y, idx] = k([R([1, 2, 6, 6])], ctxOf('MaxPool', { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, 12, 2));
    const plain = (await vsOrt('MaxUnpool', [y!, idx!], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, { opset: 11 }))[0]!;
    // As the ONNX test data (test_maxunpool_export_with_output_shape) expects; onnxruntime places indices
    // as flat offsets into the larger output instead.
    const big = run('MaxUnpool', [y!, idx!, T('int64', [4], [1, 2, 7, 7])], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, 11)[0]!;
    expect([...big.dims]).toEqual([1, 2, 7, 7]);
    for (let c = 0; c < 2; c++) for (let h = 0; h < 6; h++) for (let w = 0; w < 6; w++) {
      expect((big.data as Float32Array)[(c * 7 + h) * 7 + w]).toBe((plain.data as Float32Array)[(c * 6 + h) * 6 + w]);
    }
  });
});

describe('normalization', () => {
  it('BatchNormalization inference with 1-D and 3-D inputs', async () => {
    for (const xs of [[4, 3], [2, 3, 4, 5, 2]]) {
      await vsOrt('BatchNormalization', [R(xs), R([3]), R([3]), R([3]), R([3], 0.5, 2)], { epsilon: flt(1e-3) }, { opset: 15 });
    }
  });
  it('InstanceNormalization and LRN', async () => {
    await vsOrt('InstanceNormalization', [R([2, 3, 5, 4]), R([3]), R([3])], { epsilon: flt(1e-4) });
    await vsOrt('LRN', [R([2, 7, 3, 3])], { size: int(5), alpha: flt(0.01), beta: flt(0.6), bias: flt(2) });
  });
  it('LayerNormalization with broadcast scale and statistics outputs', async () => {
    await vsOrt('LayerNormalization', [R([2, 3, 4, 5]), R([4, 5]), R([5])], { axis: int(-2) }, { opset: 17, outputs: 3 });
    await vsOrt('LayerNormalization', [R([6, 8]), R([1, 8])], { axis: int(1), epsilon: flt(1e-2) }, { opset: 17, outputs: 3 });
  });
  it('LayerNormalization float16 keeps float32 statistics', () => {
    const k = (CPU_KERNELS as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>).LayerNormalization!;
    const outs = k([R([2, 4], -1, 1, 'float16'), R([4], -1, 1, 'float16')], ctxOf('LayerNormalization', {}, 17, 3));
    expect(outs.map((o) => o.dtype)).toEqual(['float16', 'float32', 'float32']);
    expect([...outs[1]!.dims]).toEqual([2, 1]);
  });
  it('GroupNormalization opset 21 (per channel) and 18 (per group)', async () => {
    await vsOrt('GroupNormalization', [R([2, 6, 3, 2]), R([6]), R([6])], { num_groups: int(3) }, { opset: 21 });
    const x = R([2, 6, 5]);
    const s = R([3]), b = R([3]);
    const got = run('GroupNormalization', [x, s, b], { num_groups: int(3) }, 18)[0]!;
    // Opset 18 = opset 21 with each group's value repeated over its channels.
    const rep = (t: HostTensor) => T('float32', [6], [0, 0, 1, 1, 2, 2].map((g) => (t.data as Float32Array)[g]!));
    const want = run('GroupNormalization', [x, rep(s), rep(b)], { num_groups: int(3) }, 21)[0]!;
    expect(Array.from(got.data as Float32Array)).toEqual(Array.from(want.data as Float32Array));
  });
  it('LpNormalization and MeanVarianceNormalization', async () => {
    await vsOrt('LpNormalization', [R([3, 4, 5])], { axis: int(0), p: int(1) });
    await vsOrt('LpNormalization', [R([3, 4, 5])], { axis: int(1) });
    await vsOrt('MeanVarianceNormalization', [R([2, 3, 4])], { axes: ints([1]) });
    await vsOrt('MeanVarianceNormalization', [R([2, 3, 4, 2])]);
  });
});

describe('integer convolutions', () => {
  it('ConvInteger uint8 x int8 weights, padded with the zero point', async () => {
    await vsOrt('ConvInteger', [I([1, 3, 6, 5], 0, 255, 'uint8'), I([4, 3, 3, 3], -128, 127, 'int8'), T('uint8', [], [120]), T('int8', [], [-3])], { pads: ints([1, 1, 1, 1]) }, { opset: 10 });
    await vsOrt('ConvInteger', [I([2, 4, 5, 5], 0, 255, 'uint8'), I([6, 2, 2, 2], 0, 255, 'uint8')], { group: int(2), strides: ints([2, 1]) }, { opset: 10 });
  });
  it('ConvInteger sums past 2^24 stay exact (the float32 path takes input channels in chunks)', async () => {
    // 128 channels x 3x3 of ~255 x ~127: sums near 3.7e7, where float32 alone would round.
    const x = T('uint8', [1, 128, 5, 5], Array.from({ length: 3200 }, (_, i) => 255 - (i % 7)));
    const w = T('int8', [3, 128, 3, 3], Array.from({ length: 3456 }, (_, i) => 127 - (i % 5)));
    await vsOrt('ConvInteger', [x, w], { pads: ints([1, 1, 1, 1]) }, { opset: 10 });
    await vsOrt('ConvInteger', [x, T('int8', [4, 64, 3, 3], Array.from({ length: 2304 }, (_, i) => -128 + (i % 3)))], { group: int(2) }, { opset: 10 });
    // uint8 weights: onnxruntime's u8s8 path on x86 saturates pairs of products in int16.
    const wu = T('uint8', [3, 128, 3, 3], Array.from({ length: 3456 }, (_, i) => 255 - (i % 5)));
    await vsOrt('QLinearConv', [x, T('float32', [], [0.5]), T('uint8', [], [0]), wu, T('float32', [], [1]), T('uint8', [], [0]),
      T('float32', [], [400000]), T('uint8', [], [3]), T('int32', [3], [7, -12345677, 2 ** 27])], {}, { opset: 10 });
  });
  it('QLinearConv uint8 with per-channel scales and bias', async () => {
    await vsOrt('QLinearConv', [
      I([1, 4, 7, 7], 0, 255, 'uint8'), T('float32', [], [0.02]), T('uint8', [], [128]),
      I([6, 2, 3, 3], 0, 255, 'uint8'), R([6], 0.001, 0.01), I([6], 128, 128, 'uint8'),
      T('float32', [], [0.05]), T('uint8', [], [100]), I([6], -500, 500, 'int32'),
    ], { group: int(2), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, { opset: 10 });
  });
});

describe('RoI pooling', () => {
  it('RoiAlign avg and max, both coordinate modes', async () => {
    const x = R([2, 3, 10, 12]);
    const rois = T('float32', [3, 4], [0, 0, 9, 9, 1.5, 2.2, 7.7, 5.1, 3, 3, 20, 8]);
    const bi = T('int64', [3], [0, 1, 1]);
    for (const mode of ['avg', 'max']) {
      for (const ctm of ['half_pixel', 'output_half_pixel']) {
        await vsOrt('RoiAlign', [x, rois, bi], { mode: str(mode), coordinate_transformation_mode: str(ctm), output_height: int(3), output_width: int(4), spatial_scale: flt(0.8), sampling_ratio: int(0) }, { opset: 16 });
      }
    }
  });
  it('MaxRoiPool', async () => {
    const x = R([2, 2, 8, 9]);
    const rois = T('float32', [2, 5], [0, 1, 1, 6, 5, 1, 0, 2, 8, 7]);
    await vsOrt('MaxRoiPool', [x, rois], { pooled_shape: ints([2, 3]), spatial_scale: flt(1) }, { opset: 12 });
  });
});

describe('Conv 1-D depthwise and single-row GEMM paths', () => {
  it('1-D depthwise strided, dilated, padded', async () => {
    await vsOrt('Conv', [R([2, 5, 23]), R([5, 1, 4]), R([5])], { group: int(5), strides: ints([2]), dilations: ints([2]), pads: ints([3, 1]) });
  });
  it('one output channel', async () => {
    await vsOrt('Conv', [R([1, 7, 9, 9]), R([1, 7, 3, 3])], { pads: ints([1, 1, 1, 1]) });
  });
});

describe('nn shape rules', () => {
  function infer(op: string, inputs: (Dim[] | undefined)[], attributes: Record<string, Attr> = {}, opset = 21, outputs = 1) {
    const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: Array.from({ length: outputs }, (_, i) => `y${i}`), attributes };
    const ctx: InferContext = {
      node, opset, attrs: new AttrReader(node), inputCount: inputs.length, constant: () => undefined,
      inputs: inputs.map((s) => (s ? { kind: 'tensor', dtype: 'float32', shape: s } : undefined)),
    };
    return (nnOps as Record<string, OpSchema>)[op]!.infer(ctx).map((t) => (t && t.kind === 'tensor' ? t.shape : undefined));
  }
  it('Conv keeps symbolic batch, SAME keeps symbolic spatial dims at stride 1', () => {
    // Explicit pads that match the kernel at stride 1 keep the symbol too (residual Adds then see equal shapes).
    expect(infer('Conv', [['N', 3, 32, 'W'], [8, 3, 3, 3]], { pads: ints([1, 1, 1, 1]) })[0]).toEqual(['N', 8, 32, 'W']);
    expect(infer('Conv', [['N', 3, 32, 'W'], [8, 3, 3, 3]], { pads: ints([0, 0, 0, 0]) })[0]).toEqual(['N', 8, 30, 'n:d3']);
    expect(infer('Conv', [['N', 3, 'H', 'W'], [8, 3, 3, 3]], { auto_pad: str('SAME_UPPER') })[0]).toEqual(['N', 8, 'H', 'W']);
    expect(infer('Conv', [[1, 4, 10, 10], [6, 2, 3, 3]], { group: int(2), strides: ints([2, 2]) })[0]).toEqual([1, 6, 4, 4]);
  });
  it('Conv with an unknown weight shape and no kernel_shape leaves spatial dims unknown', () => {
    expect(infer('Conv', [[1, 3, 8, 8], undefined])[0]).toEqual([1, 'n:d1', 'n:d2', 'n:d3']);
  });
  it('ConvTranspose output_shape and pads', () => {
    expect(infer('ConvTranspose', [[1, 2, 4, 4], [2, 3, 3, 3]], { strides: ints([2, 2]), output_shape: ints([9, 10]) })[0]).toEqual([1, 3, 9, 10]);
    expect(infer('ConvTranspose', [[1, 2, 4, 4], [2, 3, 3, 3]], { strides: ints([2, 2]), group: int(2), pads: ints([1, 1, 1, 1]) })[0]).toEqual([1, 6, 7, 7]);
  });
  it('pools, ceil_mode, indices and statistics outputs', () => {
    expect(infer('MaxPool', [[1, 3, 9, 8]], { kernel_shape: ints([3, 2]), strides: ints([2, 2]), ceil_mode: int(1) }, 12, 2)).toEqual([[1, 3, 4, 4], [1, 3, 4, 4]]);
    expect(infer('AveragePool', [[1, 3, 6]], { kernel_shape: ints([3]), strides: ints([2]), ceil_mode: int(1) })[0]).toEqual([1, 3, 3]);
    // A last window that would start in the tail padding is dropped.
    expect(infer('AveragePool', [[1, 3, 5]], { kernel_shape: ints([2]), strides: ints([2]), pads: ints([1, 1]), ceil_mode: int(1) })[0]).toEqual([1, 3, 3]);
    expect(infer('LayerNormalization', [[2, 3, 4], [4]], { axis: int(-1) }, 17, 3)).toEqual([[2, 3, 4], [2, 3, 1], [2, 3, 1]]);
    expect(() => infer('Conv', [[1, 3, 2, 2], [8, 3, 3, 3]])).toThrow(/empty output/);
  });
});

describe('depthwise fused rows', () => {
  for (const kw of [3, 5]) {
    it(`${kw}-wide kernels, strided and dilated, narrow images`, async () => {
      await vsOrt('Conv', [R([1, 3, 9, 11]), R([3, 1, 2, kw])], { group: int(3), pads: ints([1, 2, 0, 2]), strides: ints([1, 2]), dilations: ints([1, 2]) });
      await vsOrt('Conv', [R([1, 2, 6, kw - 1]), R([2, 1, 3, kw])], { group: int(2), pads: ints([1, 1, 1, 1]) });
      await vsOrt('Conv', [R([2, 4, 12, 13]), R([4, 1, kw, kw])], { group: int(4), pads: ints([kw >> 1, kw >> 1, kw >> 1, kw >> 1]) });
    });
  }
});

describe('wasm im2col', () => {
  // Against the TypeScript im2colRows2d on odd geometries: strides 1-3, dilations, pads on every side
  // (some wider than the image), band offsets, one and several channels.
  const geos: [number, number, number, number, number, number, number, number, number, number, number, number, number][] = [
    // C, IH, IW, KH, KW, SH, SW, DH, DW, padTop, padLeft, padBottom, padRight
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
    [3, 17, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1],
    [2, 9, 11, 3, 5, 2, 3, 1, 2, 0, 4, 2, 1],
    [1, 4, 3, 5, 5, 2, 2, 1, 1, 2, 2, 2, 2],
    [5, 7, 6, 2, 3, 3, 1, 2, 1, 3, 0, 0, 3],
    // Column stride 2 over rows long enough for the 4-wide vector loop, odd and even widths, with its
    // scalar tail, dilation and a padding-only first column.
    [3, 13, 41, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1],
    [2, 8, 30, 3, 5, 1, 2, 1, 2, 0, 2, 0, 3],
    [1, 5, 19, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0],
  ];
  for (const [C, IH, IW, KH, KW, SH, SW, DH, DW, pt, pl, pb, pr] of geos) {
    it(`C${C} ${IH}x${IW} kernel ${KH}x${KW} strides ${SH},${SW} dilations ${DH},${DW} pads ${pt},${pl},${pb},${pr}`, () => {
      const OH = Math.floor((IH + pt + pb - (DH * (KH - 1) + 1)) / SH) + 1;
      const OW = Math.floor((IW + pl + pr - (DW * (KW - 1) + 1)) / SW) + 1;
      const g = { img: [IH, IW], out: [OH, OW], kernel: [KH, KW], strides: [SH, SW], dilations: [DH, DW], padHead: [pt, pl] };
      const x = Float32Array.from({ length: 3 + C * IH * IW }, () => rnd() - 0.5);
      for (const [oh0, oh1] of [[0, OH], [Math.floor(OH / 2), OH]] as const) {
        if (oh1 <= oh0) continue;
        const N = (oh1 - oh0) * OW, K = C * KH * KW;
        const want = new Float32Array(K * N);
        im2colRows2d(x, 3, C, g, want, oh0, oh1);
        // M = 64 puts even tiny products on the SIMD path.
        expect(im2colStaged2d(x, 3, C, g, oh0, oh1, 64) || K * N * 64 < 4096).toBe(true);
        if (K * N * 64 < 4096) continue;
        const got = simdGemm()!.f32.subarray(0, K * N);
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    });
  }
});

describe('Conv over bands of output rows', () => {
  it('matches onnxruntime when the im2col buffer holds only a few rows', async () => {
    const prev = setConvColLimit(500);
    try {
      await vsOrt('Conv', [R([2, 3, 11, 9]), R([4, 3, 3, 3]), R([4])], { pads: ints([1, 2, 1, 0]), strides: ints([2, 1]) });
      await vsOrt('Conv', [R([1, 4, 10, 10]), R([6, 2, 3, 2])], { group: int(2), dilations: ints([2, 1]) });
    } finally {
      setConvColLimit(prev);
    }
  });
});
