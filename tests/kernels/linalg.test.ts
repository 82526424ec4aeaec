// Linalg kernels on what the ONNX node tests miss: the blocked GEMM path (edges, several K and N blocks,
// transposes), batch broadcasting and folding, integer products, Einsum forms, quantized products and Det;
// checked against onnxruntime-node.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { KernelInputError } from '../../kernels/cpu/errors.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { sgemm } from '../../kernels/cpu/linalg-gemm.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import type { HostTensor } from '../../graph/tensor.js';
import { T, attr, rand, vsOrt } from './linalg-oracle.js';

const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const F = (dims: number[], seed = 1) => T('float32', dims, rand(n(dims), seed));

function run(op: string, inputs: (HostTensor | undefined)[], attributes: Node['attributes'] = {}, opset = 21): HostTensor[] {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: [], outputs: ['y'], attributes };
  const ctx: CpuContext = { node, opset, attrs: new AttrReader(node), runGraph: () => [] };
  return (CPU_KERNELS as Record<string, (i: typeof inputs, c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx);
}

describe('sgemm', () => {
  // alpha/beta other than 1/0-or-1 take the JS kernel; 1 with 0 or 1 takes the SIMD one (1-3 rows of A
  // as the transposed product C^T = B^T A^T; transposed B
  // included, staged transposed, and cached per array when B is a registered constant: run twice).
  it('matches a float64 reference across block edges, transposes, alpha and beta, constant B', () => {
    for (const [M, N, K] of [[1, 7, 5], [3, 5, 300], [37, 53, 71], [130, 9, 520], [5, 2100, 3], [40, 2, 300], [9, 1, 7], [6, 5, 1], [17, 33, 257], [3, 517, 129], [2, 64, 33], [1, 40, 300]] as const) {
      for (const [alpha, beta, constant] of [[0.5, 2, false], [1, 0, false], [1, 1, false], [1, 1, true]] as const) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const A = Float32Array.from(rand(M * K, 3));
            const B = Float32Array.from(rand(K * N, 4));
            if (constant) markConstant(B);
            const C0 = Float32Array.from(rand(M * N, 5));
            const lda = tA ? M : K;
            const ldb = tB ? K : N;
            for (let rep = 0; rep < (constant ? 2 : 1); rep++) {
              const C = C0.slice();
              sgemm(tA, tB, M, N, K, alpha, A, 0, lda, B, 0, ldb, beta, C, 0, N);
              let worst = 0;
              for (let i = 0; i < M; i++) {
                for (let j = 0; j < N; j++) {
                  let s = 0;
                  for (let k = 0; k < K; k++) s += A[tA ? k * M + i : i * K + k]! * B[tB ? j * K + k : k * N + j]!;
                  worst = Math.max(worst, Math.abs(C[i * N + j]! - (alpha * s + beta * C0[i * N + j]!)));
                }
              }
              expect(worst, `${M}x${N}x${K} tA=${tA} tB=${tB} alpha=${alpha} beta=${beta}`).toBeLessThan(1e-4);
            }
          }
        }
      }
    }
  });
});

describe('MatMul', () => {
  const cases: [number[], number[]][] = [
    [[37, 53], [53, 71]], [[2, 3, 130, 30], [30, 67]], [[5, 1, 4, 20], [3, 20, 9]], [[20], [3, 20, 9]], [[2, 6, 20], [20]],
    [[1, 64], [64, 40]], [[0, 5], [5, 3]], [[4, 0], [0, 3]], [[9, 9], [2, 9, 9]],
  ];
  for (const [a, b] of cases) {
    it(`float32 [${a}] @ [${b}]`, async () => {
      await vsOrt('MatMul', [F(a, 1), F(b, 2)], {}, 13);
    });
  }
  it('float64 and int types wrap like onnxruntime', async () => {
    await vsOrt('MatMul', [T('float64', [6, 7], rand(42, 1)), T('float64', [7, 5], rand(35, 2))], {}, 13, 1e-12);
    const big = rand(12, 7, 2 ** 20);
    await vsOrt('MatMul', [T('int32', [3, 4], big), T('int32', [4, 3], rand(12, 8, 2 ** 20))], {}, 13);
    await vsOrt('MatMul', [T('int64', [2, 3, 4], rand(24, 7, 1000)), T('int64', [4, 2], rand(8, 8, 1000))], {}, 13);
    await vsOrt('MatMul', [T('uint32', [3, 4], rand(12, 7, 100).map(Math.abs)), T('uint32', [4, 3], rand(12, 8, 100).map(Math.abs))], {}, 13);
  });
  it('float16 goes through float32', async () => {
    const a = T('float16', [3, 8], rand(24, 1).map((v) => Math.round(v * 8) / 8)) as HostTensor;
    // Build float16 bits from the float values.
    const { numberToF16Bits } = await import('../../graph/dtype.js');
    const bits = (t: HostTensor) => ({ ...t, data: Uint16Array.from(t.data as Uint16Array, (v) => numberToF16Bits(v)) }) as HostTensor;
    const a16 = bits({ ...a, data: Float32Array.from(rand(24, 1)) } as unknown as HostTensor);
    const b16 = bits({ ...a, dims: [8, 5], data: Float32Array.from(rand(40, 2)) } as unknown as HostTensor);
    await vsOrt('MatMul', [a16, b16], {}, 13, 2e-3);
  });
  it('rejects mismatched inner dims', () => {
    expect(() => run('MatMul', [F([2, 3]), F([4, 2])])).toThrow(KernelInputError);
  });
});

describe('Gemm', () => {
  for (const [tA, tB] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
    it(`transA=${tA} transB=${tB} with alpha, beta and broadcast C`, async () => {
      const [M, N, K] = [9, 13, 300];
      const a = F(tA ? [K, M] : [M, K], 1);
      const b = F(tB ? [N, K] : [K, N], 2);
      const at = { transA: attr.int(tA), transB: attr.int(tB), alpha: attr.float(0.75), beta: attr.float(-1.5) };
      for (const c of [F([M, N], 3), F([N], 4), F([M, 1], 5), F([], 6), undefined]) await vsOrt('Gemm', [a, b, c], at, 13);
    });
  }
  it('float64 and int32', async () => {
    await vsOrt('Gemm', [T('float64', [4, 6], rand(24, 1)), T('float64', [5, 6], rand(30, 2)), T('float64', [5], rand(5, 3))], { transB: attr.int(1), alpha: attr.float(2) }, 13, 1e-12);
  });
  it('int32 (onnxruntime has no int Gemm): alpha * A^T B + beta * C', () => {
    const y = run('Gemm', [T('int32', [2, 3], [1, 2, 3, 4, 5, 6]), T('int32', [2, 2], [1, -1, 2, 0]), T('int32', [2], [5, -7])], { transA: attr.int(1), alpha: attr.float(2), beta: attr.float(3) }, 13)[0]!;
    // A^T = [[1,4],[2,5],[3,6]]; A^T B = [[9,-1],[12,-2],[15,-3]].
    expect(Array.from(y.data as Int32Array)).toEqual([33, -23, 39, -25, 45, -27]);
  });
  it('rejects C that does not broadcast', () => {
    expect(() => run('Gemm', [F([2, 3]), F([3, 4]), F([3])])).toThrow(KernelInputError);
  });
});

describe('Einsum', () => {
  const cases: [string, number[][]][] = [
    ['bhqd,bhkd->bhqk', [[2, 3, 5, 8], [2, 3, 7, 8]]],
    ['ij,jk', [[4, 5], [5, 6]]],
    ['ij,jk->ki', [[4, 5], [5, 6]]],
    ['ii->i', [[5, 5]]],
    ['ii', [[5, 5]]],
    ['i,j->ij', [[3], [4]]],
    ['ij,ij->ij', [[3, 4], [3, 4]]],
    ['abc,cd->abd', [[2, 3, 4], [4, 5]]],
    ['bij->bji', [[2, 3, 4]]],
    ['ijk->', [[2, 3, 4]]],
    ['ij,jk,kl->il', [[2, 3], [3, 4], [4, 5]]],
    ['iij->ij', [[3, 3, 4]]],
    ['ab,cd->abcd', [[2, 2], [3, 1]]],
    ['bn,anm,bm->ba', [[2, 3], [4, 3, 5], [2, 5]]],
    ['ij,jk->i', [[4, 5], [5, 6]]],
    ['ijk,jl->il', [[3, 4, 5], [4, 2]]],
    ['bij,bjk->b', [[2, 3, 4], [2, 4, 5]]],
  ];
  cases.forEach(([eq, shapes], ci) => {
    it(`'${eq}'`, async () => {
      await vsOrt('Einsum', shapes.map((s, i) => F(s, ci * 10 + i + 1)), { equation: attr.string(eq) }, 12);
    });
  });
  it('ellipsis broadcasting and upper-case labels agree with MatMul', () => {
    const a = F([2, 1, 3, 4], 1);
    const b = F([5, 4, 2], 2);
    const want = run('MatMul', [a, b], {}, 13)[0]!;
    for (const eq of ['...ij,...jk->...ik', '...Ij,...jk']) {
      const got = run('Einsum', [a, b], { equation: attr.string(eq) }, 12)[0]!;
      expect(got.dims).toEqual(want.dims);
      Array.from(got.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo((want.data as Float32Array)[i]!, 5));
    }
  });
  it('int32 and int64 through the general loop', async () => {
    await vsOrt('Einsum', [T('int32', [3, 4], rand(12, 1, 20)), T('int32', [4, 2], rand(8, 2, 20))], { equation: attr.string('ij,jk->ik') }, 12);
    await vsOrt('Einsum', [T('int64', [3, 3], rand(9, 1, 20))], { equation: attr.string('ii->i') }, 12);
  });
  it('rejects a bad equation', () => {
    expect(() => run('Einsum', [F([2, 3])], { equation: attr.string('ijk->i') }, 12)).toThrow(KernelInputError);
    expect(() => run('Einsum', [F([2, 3]), F([4, 3])], { equation: attr.string('ij,jk->ik') }, 12)).toThrow(KernelInputError);
  });
});

describe('quantized products', () => {
  it('MatMulInteger with a per-column B zero point and batches', async () => {
    const a = T('uint8', [2, 3, 5], rand(30, 1, 256).map((v) => v + 128));
    const b = T('int8', [5, 4], rand(20, 2, 256));
    const bz = [1, -2, 3, 0];
    // onnxruntime's u8 x s8 kernel saturates pairs in int16 (pmaddubsw), so u8 x s8 is checked by hand.
    const y = run('MatMulInteger', [a, b, T('uint8', [], [7]), T('int8', [4], bz)], {}, 10)[0]!;
    const A = a.data as Uint8Array;
    const B = b.data as Int8Array;
    const want = Array.from({ length: 24 }, (_, o) => {
      const [bt, r, c] = [Math.floor(o / 12), Math.floor(o / 4) % 3, o % 4];
      let s = 0;
      for (let k = 0; k < 5; k++) s += (A[bt * 15 + r * 5 + k]! - 7) * (B[k * 4 + c]! - bz[c]!);
      return s;
    });
    expect(Array.from(y.data as Int32Array)).toEqual(want);
    await vsOrt('MatMulInteger', [a, T('uint8', [5, 4], rand(20, 2, 256).map((v) => v + 128)), T('uint8', [], [3]), T('uint8', [4], [1, 200, 3, 0])], {}, 10);
    // Large enough for the blocked GEMM path (several K blocks, edge tiles).
    const u8 = (dims: number[], seed: number) => T('uint8', dims, rand(n(dims), seed, 256).map((v) => v + 128));
    await vsOrt('MatMulInteger', [u8([2, 9, 600], 5), u8([600, 13], 6), T('uint8', [], [130]), T('uint8', [], [120])], {}, 10);
  });
  it('QLinearMatMul saturates and rounds half to even', async () => {
    const a = T('uint8', [3, 6], rand(18, 1, 256).map((v) => v + 128));
    const b = T('uint8', [6, 4], rand(24, 2, 256).map((v) => v + 128));
    const f = (v: number) => T('float32', [], [v]);
    const u = (v: number) => T('uint8', [], [v]);
    await vsOrt('QLinearMatMul', [a, f(0.05), u(120), b, f(0.02), u(130), f(0.01), u(128)], {}, 10);
    const i8 = (k: number[], v: number[]) => T('int8', k, v);
    await vsOrt('QLinearMatMul', [i8([2, 2, 5], rand(20, 3, 256)), f(0.1), i8([], [3]), i8([5, 3], rand(15, 4, 256)), f(0.05), i8([], [-2]), f(0.3), i8([], [1])], {}, 10);
  });
});

describe('Det', () => {
  it('batches of 3x3 and 5x5, singular included', async () => {
    // onnxruntime has no Det kernel: compare with cofactor expansion.
    const det3 = (m: ArrayLike<number>, o: number) => m[o]! * (m[o + 4]! * m[o + 8]! - m[o + 5]! * m[o + 7]!)
      - m[o + 1]! * (m[o + 3]! * m[o + 8]! - m[o + 5]! * m[o + 6]!) + m[o + 2]! * (m[o + 3]! * m[o + 7]! - m[o + 4]! * m[o + 6]!);
    const x = T('float64', [4, 3, 3], rand(36, 1));
    const y = run('Det', [x], {}, 11)[0]!;
    expect(y.dims).toEqual([4]);
    for (let b = 0; b < 4; b++) expect((y.data as Float64Array)[b]).toBeCloseTo(det3(x.data as Float64Array, b * 9), 12);
    const perm = run('Det', [T('float32', [3, 3], [0, 1, 0, 0, 0, 2, 3, 0, 0])], {}, 11)[0]!;
    expect(perm.data[0]).toBeCloseTo(6, 6);
    const sing = run('Det', [T('float32', [2, 2], [1, 2, 2, 4])], {}, 11)[0]!;
    expect(sing.data[0]).toBe(0);
  });
  it('rejects non-square input', () => {
    expect(() => run('Det', [F([2, 3])], {}, 11)).toThrow(KernelInputError);
  });
});
