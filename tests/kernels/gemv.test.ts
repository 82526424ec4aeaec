// The GEMV kernel (kernels/cpu/linalg-gemv-simd.ts) against a float64 reference: odd sizes, both weight
// layouts, strided A, bias and accumulation, resident (constant) and temporary weights, and the routing
// of thin products with a constant B from sgemm.
import { describe, expect, it } from 'vitest';
import { markConstant } from '../../kernels/cpu/constants.js';
import { gemvF32, gemvWeights, setGemvSimd } from '../../kernels/cpu/linalg-gemv-simd.js';
import { sgemm } from '../../kernels/cpu/linalg-gemm.js';

let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
const rand = (n: number) => Float32Array.from({ length: n }, rnd);

/** C (+)= A * op(B) in float64: A element (i,k) at aOff + i*aRow + k*aCol, op(B)(k,n) as gemvWeights reads it. */
function reference(M: number, N: number, K: number, A: Float32Array, aOff: number, aRow: number, aCol: number, B: Float32Array, bOff: number, ldb: number, transB: boolean, C0: Float32Array | undefined, bias?: Float32Array): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s = C0 ? C0[i * N + n]! : bias ? bias[n]! : 0;
      for (let k = 0; k < K; k++) s += A[aOff + i * aRow + k * aCol]! * B[bOff + (transB ? n * ldb + k : k * ldb + n)]!;
      out[i * N + n] = s;
    }
  }
  return out;
}

function expectClose(got: ArrayLike<number>, want: Float64Array, K: number): void {
  // float32 sums of K products of values in [-0.5, 0.5): a few ulps per term at most.
  const tol = 4e-7 * K + 1e-6;
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) expect.fail(`element ${i}: ${got[i]} vs ${want[i]} (tolerance ${tol})`);
  }
}

describe('gemvF32', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [1, 33, 7], [2, 31, 64], [3, 65, 129], [4, 128, 1536], [8, 40, 3], [5, 257, 64]];
  for (const [M, N, K] of shapes) {
    for (const transB of [false, true]) {
      for (const constant of [false, true]) {
        it(`M ${M} N ${N} K ${K}${transB ? ' transB' : ''}${constant ? ' resident' : ' temporary'}`, () => {
          const ldb = (transB ? K : N) + 3;
          const bOff = 5;
          const B = rand(bOff + (transB ? N : K) * ldb);
          if (constant) markConstant(B);
          // A transposed and offset: element (i, k) at 2 + k*M + i.
          const A = rand(2 + M * K);
          const bias = rand(N);
          for (let rep = 0; rep < 2; rep++) {
            const w = gemvWeights(B, bOff, ldb, N, K, transB)!;
            expect(w).toBeDefined();
            const C = new Float32Array(M * N);
            gemvF32(w, M, A, 2, 1, M, C, 0, N, false, bias);
            expectClose(C, reference(M, N, K, A, 2, 1, M, B, bOff, ldb, transB, undefined, bias), K);
            const C0 = rand(M * N);
            const acc = C0.slice();
            gemvF32(gemvWeights(B, bOff, ldb, N, K, transB)!, M, A, 2, 1, M, acc, 0, N, true);
            expectClose(acc, reference(M, N, K, A, 2, 1, M, B, bOff, ldb, transB, C0), K);
          }
        });
      }
    }
  }

  it('writes rows with a stride and leaves the gaps alone; float64 outputs', () => {
    const M = 3, N = 20, K = 50;
    const B = rand(K * N);
    const A = rand(M * K);
    const C = new Float64Array(M * 30).fill(9);
    gemvF32(gemvWeights(B, 0, N, N, K, false)!, M, A, 0, K, 1, C, 0, 30, false);
    const want = reference(M, N, K, A, 0, K, 1, B, 0, N, false, undefined);
    for (let i = 0; i < M; i++) {
      expectClose(C.subarray(i * 30, i * 30 + N), want.subarray(i * N, i * N + N), K);
      for (let j = N; j < 30; j++) expect(C[i * 30 + j]).toBe(9);
    }
  });

  it('lays a temporary weight out again once another replaced it; resident ones stay', () => {
    const B1 = rand(64 * 64), B2 = rand(64 * 64), R = rand(64 * 64), x = rand(64);
    markConstant(R);
    const r = gemvWeights(R, 0, 64, 64, 64, true)!;
    const t1 = gemvWeights(B1, 0, 64, 64, 64, true)!;
    const t2 = gemvWeights(B2, 0, 64, 64, 64, true)!;
    expect(t2.addr).toBe(t1.addr);
    for (const [w, B] of [[t1, B1], [r, R], [t2, B2]] as const) {
      const C = new Float32Array(64);
      gemvF32(w, 1, x, 0, 64, 1, C, 0, 64, false);
      expectClose(C, reference(1, 64, 64, x, 0, 64, 1, B, 0, 64, true, undefined), 64);
    }
  });

  it('sgemm sends thin products with a constant B here and matches its other paths', () => {
    for (const [M, N, K, tA, tB] of [[1, 128, 1536, false, true], [3, 512, 128, false, true], [2, 100, 70, true, false], [8, 64, 33, false, false]] as const) {
      const A = rand(M * K);
      const B = rand(K * N);
      markConstant(B);
      const lda = tA ? M : K, ldb = tB ? K : N;
      const run = () => {
        const C = rand(M * N);
        sgemm(tA, tB, M, N, K, 1, A, 0, lda, B, 0, ldb, 1, C, 0, N);
        return C;
      };
      const seed0 = seed;
      const got = run();
      seed = seed0;
      const prev = setGemvSimd(false);
      const other = run();
      setGemvSimd(prev);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - other[i]!)).toBeLessThan(1e-4);
    }
  });
});
