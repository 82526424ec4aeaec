// The core GEMM routines every matrix product uses (MatMul, Gemm, Einsum, Conv via im2col).
// sgemm is GotoBLAS-shaped: B is packed into KC x 4 column panels and A into 4 x KC row panels (transposes
// are absorbed by the packing), and a 4x4 micro-kernel keeps its 16 accumulators in locals (float64
// registers) while streaming both panels sequentially.

/** Row-major matrix operand: element (i, j) of op(X) is X[off + i*ld + j], or X[off + j*ld + i] when transposed. */

import { gemmF32, gemmF32TransB } from './nn-gemm.js';
import { gemvF32, gemvWeights } from './linalg-gemv-simd.js';
import { isConstant } from './constants.js';

const MR = 4;
const NR = 4;
const KC = 256;
const MC = 128;
const NC = 2048;

/** Rows of A up to which a product with a constant B goes to the GEMV kernel. */
const GEMV_MAX_ROWS = 8;

let packA = new Float32Array(MC * KC);
let packB = new Float32Array(KC * NC);

/**
 * C[M,N] = alpha * op(A)[M,K] @ op(B)[K,N] + beta * C, on float32 row-major data with leading dims.
 * C may be a Float64Array: sums then stay exact for integer data (the quantized products use this).
 */
export function sgemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  beta: number, C: Float32Array | Float64Array, cOff: number, ldc: number,
): void {
  if (M === 0 || N === 0) return;
  if (C instanceof Float32Array && M <= GEMV_MAX_ROWS && N >= 8 && N * K >= 4096 && alpha === 1 && (beta === 0 || beta === 1) && isConstant(B)) {
    // A few rows against a constant weight: the weight stays laid out in wasm memory (linalg-gemv-simd.ts).
    const w = gemvWeights(B, bOff, ldb, N, K, transB);
    if (w) {
      gemvF32(w, M, A, aOff, transA ? 1 : lda, transA ? lda : 1, C, cOff, ldc, beta === 1);
      return;
    }
  }
  if (C instanceof Float32Array && !transB && alpha === 1 && (beta === 0 || beta === 1) && M >= MR && N >= NR) {
    // The common case goes to the WebAssembly SIMD kernel (about 4x the JS micro-kernel); a transposed A
    // is read through strides there.
    gemmF32(M, N, K, A, aOff, transA ? 1 : lda, transA ? lda : 1, B, bOff, ldb, C, cOff, ldc, beta === 1);
    return;
  }
  if (C instanceof Float32Array && transB && alpha === 1 && (beta === 0 || beta === 1) &&
    gemmF32TransB(M, N, K, A, aOff, transA ? 1 : lda, transA ? lda : 1, B, bOff, ldb, C, cOff, ldc, beta === 1)) return;
  if (C instanceof Float32Array && M < MR && (M >= 2 || transB) && N >= 16 && K > 0 && alpha === 1 && (beta === 0 || beta === 1)) {
    thinViaTranspose(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, beta, C, cOff, ldc);
    return;
  }
  scaleC(M, N, beta, C, cOff, ldc);
  if (K === 0 || alpha === 0) return;
  if (M < MR || N < NR) {
    // A few rows (e.g. one token's activations) or columns: packing would cost as much as the product,
    // and the 4x4 tiles would mostly be padding.
    gemmThin(transA, transB, M, N, K, alpha, A, aOff, lda, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  if (packB.length < KC * Math.min(NC, roundUp(N, NR))) packB = new Float32Array(KC * Math.min(NC, roundUp(N, NR)));
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = Math.min(KC, K - pc);
      packPanelsB(B, bOff, ldb, transB, pc, jc, kc, nc);
      for (let ic = 0; ic < M; ic += MC) {
        const mc = Math.min(MC, M - ic);
        packPanelsA(A, aOff, lda, transA, ic, pc, mc, kc);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = Math.min(NR, nc - jr);
          const bp = (jr / NR) * kc * NR;
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = Math.min(MR, mc - ir);
            micro4x4(kc, packA, (ir / MR) * kc * MR, packB, bp, C, cOff + (ic + ir) * ldc + jc + jr, ldc, alpha, mr, nr);
          }
        }
      }
    }
  }
}

let rowAcc = new Float64Array(256);
let thinA = new Float32Array(256);
let thinC = new Float32Array(256);

/**
 * 1-3 rows of A (a small batch through a linear layer, as the LSTM-as-Gemm exports): computed as
 * C^T = op(B)^T op(A)^T so the long side becomes the SIMD kernel's rows (its 1-3 columns are padded,
 * still well ahead of scalar dot products); op(A)^T and C^T are staged in small scratch arrays. One row
 * against a non-transposed B stays in JS (its axpy loop measured faster).
 */
function thinViaTranspose(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number, B: Float32Array, bOff: number, ldb: number,
  beta: number, C: Float32Array, cOff: number, ldc: number,
): void {
  if (thinA.length < K * M) thinA = new Float32Array(K * M);
  if (thinC.length < N * M) thinC = new Float32Array(N * M);
  const at = thinA;
  const ai = transA ? 1 : lda;
  const ak = transA ? lda : 1;
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) at[k * M + i] = A[aOff + i * ai + k * ak]!;
  // op(B)^T (j, k) = op(B)(k, j).
  gemmF32(N, M, K, B, bOff, transB ? ldb : 1, transB ? 1 : ldb, at, 0, M, thinC, 0, M, false);
  const ct = thinC;
  for (let i = 0; i < M; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) for (let j = 0; j < N; j++) C[r + j] = ct[j * M + i]!;
    else for (let j = 0; j < N; j++) C[r + j] = C[r + j]! + ct[j * M + i]!;
  }
}

function gemmThin(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float32Array, aOff: number, lda: number, B: Float32Array, bOff: number, ldb: number,
  C: Float32Array | Float64Array, cOff: number, ldc: number,
): void {
  if (rowAcc.length < N) rowAcc = new Float64Array(N);
  const acc = rowAcc;
  const ai = transA ? 1 : lda;
  const ak = transA ? lda : 1;
  for (let i = 0; i < M; i++) {
    const ar = aOff + i * ai;
    const cr = cOff + i * ldc;
    if (transB || N < NR) {
      // Each output is a dot product (of contiguous rows when B is transposed).
      for (let j = 0; j < N; j++) {
        const br = bOff + (transB ? j * ldb : j);
        const bk = transB ? 1 : ldb;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ar + k * ak]! * B[br + k * bk]!;
        C[cr + j]! += alpha * s;
      }
      continue;
    }
    acc.fill(0, 0, N);
    for (let k = 0; k < K; k++) {
      const a = A[ar + k * ak]!;
      if (a === 0) continue;
      const br = bOff + k * ldb;
      for (let j = 0; j < N; j++) acc[j]! += a * B[br + j]!;
    }
    for (let j = 0; j < N; j++) C[cr + j]! += alpha * acc[j]!;
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

function scaleC(M: number, N: number, beta: number, C: Float32Array | Float64Array, cOff: number, ldc: number): void {
  if (beta === 1) return;
  for (let i = 0; i < M; i++) {
    const r = cOff + i * ldc;
    if (beta === 0) C.fill(0, r, r + N);
    else for (let j = r; j < r + N; j++) C[j]! *= beta;
  }
}

/** Pack op(B)[pc:pc+kc, jc:jc+nc] into column panels of NR: panel q holds (k, c) at q*kc*NR + k*NR + c, zero-padded. */
function packPanelsB(B: Float32Array, off: number, ld: number, trans: boolean, pc: number, jc: number, kc: number, nc: number): void {
  const dst = packB;
  for (let jr = 0, q = 0; jr < nc; jr += NR, q += kc * NR) {
    const nr = Math.min(NR, nc - jr);
    for (let c = 0; c < NR; c++) {
      if (c >= nr) {
        for (let k = 0; k < kc; k++) dst[q + k * NR + c] = 0;
        continue;
      }
      const j = jc + jr + c;
      if (trans) {
        // op(B)(k, j) = B[j, k]: contiguous along k.
        const s = off + j * ld + pc;
        for (let k = 0; k < kc; k++) dst[q + k * NR + c] = B[s + k]!;
      } else {
        const s = off + pc * ld + j;
        for (let k = 0; k < kc; k++) dst[q + k * NR + c] = B[s + k * ld]!;
      }
    }
  }
}

/** Pack op(A)[ic:ic+mc, pc:pc+kc] into row panels of MR: panel p holds (r, k) at p*kc*MR + k*MR + r, zero-padded. */
function packPanelsA(A: Float32Array, off: number, ld: number, trans: boolean, ic: number, pc: number, mc: number, kc: number): void {
  const dst = packA;
  for (let ir = 0, p = 0; ir < mc; ir += MR, p += kc * MR) {
    const mr = Math.min(MR, mc - ir);
    for (let r = 0; r < MR; r++) {
      if (r >= mr) {
        for (let k = 0; k < kc; k++) dst[p + k * MR + r] = 0;
        continue;
      }
      const i = ic + ir + r;
      if (trans) {
        const s = off + pc * ld + i;
        for (let k = 0; k < kc; k++) dst[p + k * MR + r] = A[s + k * ld]!;
      } else {
        const s = off + i * ld + pc;
        for (let k = 0; k < kc; k++) dst[p + k * MR + r] = A[s + k]!;
      }
    }
  }
}

/** C[0:mr, 0:nr] += alpha * (4 x kc panel of A) @ (kc x 4 panel of B). */
function micro4x4(kc: number, a: Float32Array, ap: number, b: Float32Array, bp: number, C: Float32Array | Float64Array, c0: number, ldc: number, alpha: number, mr: number, nr: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++, ap += 4, bp += 4) {
    const b0 = b[bp]!, b1 = b[bp + 1]!, b2 = b[bp + 2]!, b3 = b[bp + 3]!;
    const a0 = a[ap]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    const a1 = a[ap + 1]!;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    const a2 = a[ap + 2]!;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    const a3 = a[ap + 3]!;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    let r = c0;
    C[r]! += alpha * c00; C[r + 1]! += alpha * c01; C[r + 2]! += alpha * c02; C[r + 3]! += alpha * c03;
    r += ldc;
    C[r]! += alpha * c10; C[r + 1]! += alpha * c11; C[r + 2]! += alpha * c12; C[r + 3]! += alpha * c13;
    r += ldc;
    C[r]! += alpha * c20; C[r + 1]! += alpha * c21; C[r + 2]! += alpha * c22; C[r + 3]! += alpha * c23;
    r += ldc;
    C[r]! += alpha * c30; C[r + 1]! += alpha * c31; C[r + 2]! += alpha * c32; C[r + 3]! += alpha * c33;
    return;
  }
  // Edge tile: write only the rows and columns inside C.
  storeRow(C, c0, nr, alpha, c00, c01, c02, c03);
  if (mr > 1) storeRow(C, c0 + ldc, nr, alpha, c10, c11, c12, c13);
  if (mr > 2) storeRow(C, c0 + 2 * ldc, nr, alpha, c20, c21, c22, c23);
  if (mr > 3) storeRow(C, c0 + 3 * ldc, nr, alpha, c30, c31, c32, c33);
}

function storeRow(C: Float32Array | Float64Array, r: number, nr: number, alpha: number, x0: number, x1: number, x2: number, x3: number): void {
  C[r]! += alpha * x0;
  if (nr > 1) C[r + 1]! += alpha * x1;
  if (nr > 2) C[r + 2]! += alpha * x2;
  if (nr > 3) C[r + 3]! += alpha * x3;
}

/** The float64 GEMM (same contract as sgemm); float64 models are rare, so a plain i-k-j loop. */
export function dgemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Float64Array, aOff: number, lda: number,
  B: Float64Array, bOff: number, ldb: number,
  beta: number, C: Float64Array, cOff: number, ldc: number,
): void {
  if (M === 0 || N === 0) return;
  scaleC(M, N, beta, C, cOff, ldc);
  if (K === 0 || alpha === 0) return;
  const as = transA ? 1 : lda; // step of i in A
  const ak = transA ? lda : 1; // step of k in A
  const bk = transB ? 1 : ldb;
  const bj = transB ? ldb : 1;
  for (let i = 0; i < M; i++) {
    const cr = cOff + i * ldc;
    for (let k = 0; k < K; k++) {
      const a = alpha * A[aOff + i * as + k * ak]!;
      if (a === 0) continue;
      const br = bOff + k * bk;
      for (let j = 0; j < N; j++) C[cr + j]! += a * B[br + j * bj]!;
    }
  }
}

/** C[M,N] (+)= A[M,K] @ B[K,N] on int32/uint32 data, wrapping modulo 2^32 like C (Math.imul is exact). */
export function igemm32(M: number, N: number, K: number, A: ArrayLike<number>, aOff: number, B: ArrayLike<number>, bOff: number, C: Int32Array | Uint32Array, cOff: number): void {
  const row = new Int32Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const a = A[aOff + i * K + k]! | 0;
      if (a === 0) continue;
      const br = bOff + k * N;
      for (let j = 0; j < N; j++) row[j] = (row[j]! + Math.imul(a, B[br + j]! | 0)) | 0;
    }
    C.set(row, cOff + i * N); // Uint32Array stores the same bits
  }
}

/** C[M,N] = A[M,K] @ B[K,N] on int64/uint64 data, wrapping to 64 bits. */
export function bgemm(M: number, N: number, K: number, A: BigInt64Array | BigUint64Array, aOff: number, B: BigInt64Array | BigUint64Array, bOff: number, C: BigInt64Array | BigUint64Array, cOff: number): void {
  const unsigned = C instanceof BigUint64Array;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0n;
      for (let k = 0; k < K; k++) s += A[aOff + i * K + k]! * B[bOff + k * N + j]!;
      C[cOff + i * N + j] = unsigned ? BigInt.asUintN(64, s) : BigInt.asIntN(64, s);
    }
  }
}
