// A cache-blocked float32 GEMM for the conv kernels (private to the nn family until a shared one exists).
// GotoBLAS layout: B is packed in KC x NC blocks of 4-column panels, A in MC x KC blocks of 4-row panels,
// and a 4x4 register tile accumulates over KC, so the inner loop reads two sequential streams.

import { type SimdGemm, simdGemm } from './nn-gemm-simd.js';

const MC = 64;
const KC = 256;
const NC = 512;

let useSimd = true;
/** Turn the WebAssembly SIMD path off or on (tests cover both paths); returns the previous setting. */
export function setGemmSimd(on: boolean): boolean {
  const prev = useSimd;
  useSimd = on;
  return prev;
}

let packA = new Float32Array(MC * KC);
let packB = new Float32Array(KC * NC);
const edge = new Float64Array(16);

/**
 * C[M,N] = (accumulate ? C : 0) + A[M,K] * B[K,N].
 * A element (i,k) is A[aOff + i*aRow + k*aCol] (so a transposed A costs nothing); B and C are row-major
 * with leading dims ldb and ldc.
 */
export function gemmF32(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  if (M === 0 || N === 0 || K === 0) return;
  if (N < 4) {
    gemvCols(M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  // Few rows (1-D depthwise, tiny output channel counts): packing would pad rows to 4; stream B instead.
  if (M < 4 || M * N * K < 4096) {
    gemmSmall(M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  const simd = useSimd ? simdGemm(MC * KC, KC * (NC + 4), MC * (NC + 4)) : undefined;
  if (simd) {
    gemmSimd(simd, M, N, K, A, aOff, aRow, aCol, B, bOff, ldb, C, cOff, ldc);
    return;
  }
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    const npan = (nc + 3) >> 2;
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      if (packB.length < npan * 4 * kc) packB = new Float32Array(npan * 4 * kc);
      packPanelsB(packB, B, bOff + k0 * ldb + j0, ldb, kc, nc, npan);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        const mpan = (mc + 3) >> 2;
        if (packA.length < mpan * 4 * kc) packA = new Float32Array(mpan * 4 * kc);
        packPanelsA(packA, A, aOff + i0 * aRow + k0 * aCol, aRow, aCol, mc, kc, mpan);
        for (let jp = 0; jp < npan; jp++) {
          const jw = Math.min(4, nc - jp * 4);
          for (let ip = 0; ip < mpan; ip++) {
            const iw = Math.min(4, mc - ip * 4);
            micro4x4(kc, ip * kc * 4, jp * kc * 4, C, cOff + (i0 + ip * 4) * ldc + j0 + jp * 4, ldc, iw, jw);
          }
        }
      }
    }
  }
}

/** The same blocking with the WebAssembly SIMD micro-kernel; the C block is staged in wasm memory. */
function gemmSimd(
  s: SimdGemm, M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  const cb = s.c;
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    const npan = (nc + 7) >> 3;
    // 4 floats past the panels: a power-of-two row stride would map the B column reads of one panel to a few cache sets.
    const ldp = npan * 8 + 4;
    for (let k0 = 0; k0 < K; k0 += KC) {
      const kc = Math.min(KC, K - k0);
      // B rows copied as blocks; columns past nc hold stale values that only reach C columns never copied out.
      const sb = s.b;
      for (let k = 0; k < kc; k++) {
        const src = bOff + (k0 + k) * ldb + j0;
        sb.set(B.subarray(src, src + nc), k * ldp);
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        const mpan = (mc + 3) >> 2;
        packPanelsA(s.a, A, aOff + i0 * aRow + k0 * aCol, aRow, aCol, mc, kc, mpan);
        for (let r = 0; r < mc; r++) {
          const src = cOff + (i0 + r) * ldc + j0;
          cb.set(C.subarray(src, src + nc), r * ldp);
        }
        s.run(mpan, npan, kc, ldp);
        for (let r = 0; r < mc; r++) C.set(cb.subarray(r * ldp, r * ldp + nc), cOff + (i0 + r) * ldc + j0);
      }
    }
  }
}

/** B[kc, nc] as panels of `w` columns: p[(jp*kc + k)*w + c]; columns past nc are 0. */
function packPanelsB(p: Float32Array, B: Float32Array, off: number, ldb: number, kc: number, nc: number, npan: number, w = 4): void {
  for (let jp = 0; jp < npan; jp++) {
    const jb = jp * w;
    const base = jp * kc * w;
    if (w === 4 && jb + 4 <= nc) {
      for (let k = 0, s = off + jb, d = base; k < kc; k++, s += ldb, d += 4) {
        p[d] = B[s]!; p[d + 1] = B[s + 1]!; p[d + 2] = B[s + 2]!; p[d + 3] = B[s + 3]!;
      }
    } else if (jb + w <= nc) {
      for (let k = 0; k < kc; k++) {
        const s = off + k * ldb + jb;
        const d = base + k * w;
        for (let c = 0; c < w; c++) p[d + c] = B[s + c]!;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const s = off + k * ldb + jb;
        const d = base + k * w;
        for (let c = 0; c < w; c++) p[d + c] = jb + c < nc ? B[s + c]! : 0;
      }
    }
  }
}

function packPanelsA(p: Float32Array, A: Float32Array, off: number, aRow: number, aCol: number, mc: number, kc: number, mpan: number): void {
  for (let ip = 0; ip < mpan; ip++) {
    const base = ip * kc * 4;
    if (ip * 4 + 4 <= mc) {
      const s0 = off + ip * 4 * aRow;
      for (let k = 0, s = s0, d = base; k < kc; k++, s += aCol, d += 4) {
        p[d] = A[s]!; p[d + 1] = A[s + aRow]!; p[d + 2] = A[s + 2 * aRow]!; p[d + 3] = A[s + 3 * aRow]!;
      }
      continue;
    }
    for (let r = 0; r < 4; r++) {
      const i = ip * 4 + r;
      if (i < mc) {
        let s = off + i * aRow;
        for (let k = 0; k < kc; k++, s += aCol) p[base + k * 4 + r] = A[s]!;
      } else {
        for (let k = 0; k < kc; k++) p[base + k * 4 + r] = 0;
      }
    }
  }
}

function micro4x4(kc: number, ao: number, bo: number, C: Float32Array, co: number, ldc: number, iw: number, jw: number): void {
  const a = packA;
  const b = packB;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  for (let k = 0; k < kc; k++) {
    const ak = ao + k * 4;
    const bk = bo + k * 4;
    const a0 = a[ak]!, a1 = a[ak + 1]!, a2 = a[ak + 2]!, a3 = a[ak + 3]!;
    const b0 = b[bk]!, b1 = b[bk + 1]!, b2 = b[bk + 2]!, b3 = b[bk + 3]!;
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  if (iw === 4 && jw === 4) {
    let o = co;
    C[o] = C[o]! + c00; C[o + 1] = C[o + 1]! + c01; C[o + 2] = C[o + 2]! + c02; C[o + 3] = C[o + 3]! + c03; o += ldc;
    C[o] = C[o]! + c10; C[o + 1] = C[o + 1]! + c11; C[o + 2] = C[o + 2]! + c12; C[o + 3] = C[o + 3]! + c13; o += ldc;
    C[o] = C[o]! + c20; C[o + 1] = C[o + 1]! + c21; C[o + 2] = C[o + 2]! + c22; C[o + 3] = C[o + 3]! + c23; o += ldc;
    C[o] = C[o]! + c30; C[o + 1] = C[o + 1]! + c31; C[o + 2] = C[o + 2]! + c32; C[o + 3] = C[o + 3]! + c33;
    return;
  }
  // Edge tile: write through a scratch buffer (rows/columns past iw/jw are padding).
  const t = edge;
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03; t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13;
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23; t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33;
  for (let r = 0; r < iw; r++) for (let c = 0; c < jw; c++) C[co + r * ldc + c] = C[co + r * ldc + c]! + t[r * 4 + c]!;
}

function gemmSmall(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  for (let i = 0; i < M; i++) {
    const c = cOff + i * ldc;
    for (let k = 0; k < K; k++) {
      const av = A[aOff + i * aRow + k * aCol]!;
      const b = bOff + k * ldb;
      for (let j = 0; j < N; j++) C[c + j] = C[c + j]! + av * B[b + j]!;
    }
  }
}

/** Few output columns (matrix-vector shapes): one dot product per output, no packing. */
function gemvCols(
  M: number, N: number, K: number,
  A: Float32Array, aOff: number, aRow: number, aCol: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): void {
  for (let j = 0; j < N; j++) {
    for (let i = 0; i < M; i++) {
      let acc = 0;
      let a = aOff + i * aRow;
      let b = bOff + j;
      for (let k = 0; k < K; k++, a += aCol, b += ldb) acc += A[a]! * B[b]!;
      C[cOff + i * ldc + j] = C[cOff + i * ldc + j]! + acc;
    }
  }
}

/** Float64 GEMM for exact integer convolutions and float64 models (plain i-k-j order; rare path). */
export function gemmF64(
  M: number, N: number, K: number,
  A: Float64Array, aOff: number, aRow: number, aCol: number,
  B: Float64Array, bOff: number, ldb: number,
  C: Float64Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (!accumulate) for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  for (let i = 0; i < M; i++) {
    const c = cOff + i * ldc;
    for (let k = 0; k < K; k++) {
      const av = A[aOff + i * aRow + k * aCol]!;
      const b = bOff + k * ldb;
      for (let j = 0; j < N; j++) C[c + j] = C[c + j]! + av * B[b + j]!;
    }
  }
}
