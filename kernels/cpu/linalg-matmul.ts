// MatMul and Gemm over the core GEMM routines (linalg-gemm.ts).
import { allocTensor, sizeOf, type HostTensor, UNINIT } from '../../graph/tensor.js';
import { matmulDims } from '../../graph/ops/linalg.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { bgemm, dgemm, igemm32, sgemm } from './linalg-gemm.js';
import { broadcastOffsets, broadcastShapes, optTensorArg, sameDType, tensorArg, viaF32 } from './util.js';

/** A batched product: for batch b, A at aOffs[b] ([M,K]) times B at bOffs[b] ([K,N]) into output b*M*N. */
export interface MatMulPlan {
  M: number;
  N: number;
  K: number;
  outDims: number[];
  aOffs: Int32Array;
  bOffs: Int32Array;
  /** Batch index of each A/B operand in its own (unbroadcast) batch, for per-batch zero points. */
  aBatch: Int32Array;
  bBatch: Int32Array;
}

export function planMatMul(aDims: readonly number[], bDims: readonly number[], ctx: CpuContext): MatMulPlan {
  let outDims: number[];
  try {
    outDims = matmulDims(aDims, bDims) as number[];
  } catch (e) {
    throw new KernelInputError(ctx, (e as Error).message);
  }
  const a2 = aDims.length === 1 ? [1, aDims[0]!] : aDims;
  const b2 = bDims.length === 1 ? [bDims[0]!, 1] : bDims;
  const M = a2[a2.length - 2]!;
  const K = a2[a2.length - 1]!;
  const N = b2[b2.length - 1]!;
  const ab = a2.slice(0, -2);
  const bb = b2.slice(0, -2);
  const outBatch = broadcastShapes(ab, bb)!;
  const [aBatch, bBatch] = broadcastOffsets(outBatch, [ab, bb]) as [Int32Array, Int32Array];
  const aOffs = aBatch.map((o) => o * M * K);
  const bOffs = bBatch.map((o) => o * K * N);
  return { M, N, K, outDims, aOffs, bOffs, aBatch, bBatch };
}

/** numpy.matmul of two tensors of the same dtype (float32/float64/int32/uint32/int64/uint64). */
export function matmul(a: HostTensor, b: HostTensor, ctx: CpuContext): HostTensor {
  const dtype = sameDType(a, b, ctx);
  const p = planMatMul(a.dims, b.dims, ctx);
  // Every path writes each output element (beta 0 GEMMs, whole-row integer products).
  const y = allocTensor(dtype, p.outDims, UNINIT);
  const { M, N, K } = p;
  const batches = p.aOffs.length;
  if (y.data.length === 0) return y;
  if (dtype === 'float32' || dtype === 'float64') {
    const gemm = (dtype === 'float32' ? sgemm : dgemm) as typeof sgemm;
    const A = a.data as Float32Array;
    const B = b.data as Float32Array;
    const Y = y.data as Float32Array;
    // One B for every batch and A unbroadcast: the batches stack into one taller product.
    if (batches > 1 && sizeOf(b.dims.slice(0, -2)) === 1 && b.dims.length >= 2 && a.data.length === batches * M * K) {
      gemm(false, false, batches * M, N, K, 1, A, 0, K, B, 0, N, 0, Y, 0, N);
      return y;
    }
    for (let i = 0; i < batches; i++) gemm(false, false, M, N, K, 1, A, p.aOffs[i]!, K, B, p.bOffs[i]!, N, 0, Y, i * M * N, N);
    return y;
  }
  if (dtype === 'int32' || dtype === 'uint32') {
    for (let i = 0; i < batches; i++) igemm32(M, N, K, a.data as Int32Array, p.aOffs[i]!, b.data as Int32Array, p.bOffs[i]!, y.data as Int32Array, i * M * N);
    return y;
  }
  if (dtype === 'int64' || dtype === 'uint64') {
    for (let i = 0; i < batches; i++) bgemm(M, N, K, a.data as BigInt64Array, p.aOffs[i]!, b.data as BigInt64Array, p.bOffs[i]!, y.data as BigInt64Array, i * M * N);
    return y;
  }
  throw new KernelInputError(ctx, `MatMul does not support ${dtype}`);
}

const matMulKernel: CpuKernel = viaF32((inputs, ctx) => [matmul(tensorArg(inputs, 0, ctx), tensorArg(inputs, 1, ctx), ctx)]);

/** A 2-D matrix transposed (for the integer paths, which have no transposed GEMM). */
function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.dims as [number, number];
  const out = allocTensor(t.dtype, [c, r]);
  const s = t.data as Float64Array;
  const d = out.data as Float64Array;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) d[j * r + i] = s[i * c + j]!;
  return out;
}

const gemmKernel: CpuKernel = viaF32((inputs, ctx) => {
  const a = tensorArg(inputs, 0, ctx);
  const b = tensorArg(inputs, 1, ctx);
  const c = optTensorArg(inputs, 2, ctx);
  const dtype = sameDType(a, b, ctx);
  if (c && c.dtype !== dtype) throw new KernelInputError(ctx, `C is ${c.dtype} but A and B are ${dtype}`);
  if (a.dims.length !== 2 || b.dims.length !== 2) throw new KernelInputError(ctx, `A and B must be 2-D, got [${a.dims.join(',')}] and [${b.dims.join(',')}]`);
  const tA = ctx.attrs.int('transA', 0) !== 0;
  const tB = ctx.attrs.int('transB', 0) !== 0;
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const [M, K] = tA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
  const [Kb, N] = tB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (K !== Kb) throw new KernelInputError(ctx, `inner dims differ: op(A) is ${M}x${K}, op(B) is ${Kb}x${N}`);
  if (c && (c.dims.length > 2 || !broadcastShapes(c.dims, [M, N])?.every((d, i) => d === [M, N][i]))) {
    throw new KernelInputError(ctx, `C of shape [${c.dims.join(',')}] does not broadcast to [${M},${N}]`);
  }
  if (dtype === 'float32' || dtype === 'float64') {
    // Written whole: from beta * C below, or by the GEMM with beta 0.
    const y = allocTensor(dtype, [M, N], UNINIT);
    const Y = y.data as Float32Array;
    let betaLeft = 0;
    if (c && beta !== 0) {
      // Y starts as beta * C broadcast; the product then accumulates onto it.
      const C = c.data as Float32Array;
      if (beta === 1 && C.length === N && (c.dims.length === 1 || c.dims[0] === 1)) {
        // A bias row (the usual C): copied per row, no offset table.
        for (let i = 0; i < M; i++) Y.set(C, i * N);
      } else {
        const [cOff] = broadcastOffsets([M, N], [c.dims]) as [Int32Array];
        for (let i = 0; i < Y.length; i++) Y[i] = beta * C[cOff[i]!]!;
      }
      betaLeft = 1;
    }
    const gemm = (dtype === 'float32' ? sgemm : dgemm) as typeof sgemm;
    gemm(tA, tB, M, N, K, alpha, a.data as Float32Array, 0, a.dims[1]!, b.data as Float32Array, 0, b.dims[1]!, betaLeft, Y, 0, N);
    return [y];
  }
  // Integer Gemm (opset 13+): exact product, then alpha/beta applied in the type's arithmetic.
  const p = matmul(tA ? transpose2d(a) : a, tB ? transpose2d(b) : b, ctx);
  const y = allocTensor(dtype, [M, N]);
  const cOff = c ? (broadcastOffsets([M, N], [c.dims])[0] as Int32Array) : undefined;
  if (dtype === 'int64' || dtype === 'uint64') {
    if (!Number.isInteger(alpha) || !Number.isInteger(beta)) throw new KernelInputError(ctx, `alpha and beta must be integers for ${dtype}`);
    const P = p.data as BigInt64Array;
    const Y = y.data as BigInt64Array;
    const C = c?.data as BigInt64Array | undefined;
    const al = BigInt(alpha);
    const be = BigInt(beta);
    for (let i = 0; i < Y.length; i++) Y[i] = al * P[i]! + (C ? be * C[cOff![i]!]! : 0n);
    return [y];
  }
  const P = p.data as Int32Array;
  const Y = y.data as Int32Array;
  const C = c?.data as Int32Array | undefined;
  for (let i = 0; i < Y.length; i++) Y[i] = alpha * P[i]! + (C ? beta * C[cOff![i]!]! : 0);
  return [y];
});

export const matmulKernels = {
  MatMul: matMulKernel,
  Gemm: gemmKernel,
};
