// Reductions over a set of axes (ReduceSum, ReduceMean, ... ReduceLogSumExp).
// The input's dims are coalesced into alternating runs of kept and reduced dims, so the innermost loop
// walks one contiguous run; accumulation is in float64 (or bigint for int64/uint64) and rounded once.
import { isBig, isFloat, type DType } from '../../graph/dtype.js';
import { allocTensor, toIntList, type HostTensor } from '../../graph/tensor.js';
import { axesInputSince, reducedDims } from '../../graph/ops/reduce.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';
import { stageSums } from './reduce-simd.js';

export type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsq';

/** Coalesced view of a reduction: runs of dims, each kept or reduced, with input and output strides. */
export interface ReducePlan {
  sizes: number[];
  inStrides: number[];
  /** 0 for reduced runs. */
  outStrides: number[];
  outSize: number;
  /** Number of input elements folded into each output element. */
  count: number;
}

/** Plan a reduction of `dims` over the normalized `axes` (empty = all). */
export function planReduce(dims: readonly number[], axes: readonly number[]): ReducePlan {
  const all = axes.length === 0;
  const runs: { size: number; red: boolean }[] = [];
  let count = 1;
  let outSize = 1;
  dims.forEach((d, i) => {
    const red = all || axes.includes(i);
    if (red) count *= d;
    else outSize *= d;
    if (d === 1) return; // size-1 dims do not move data
    const last = runs[runs.length - 1];
    if (last && last.red === red) last.size *= d;
    else runs.push({ size: d, red });
  });
  if (runs.length === 0) runs.push({ size: 1, red: false });
  const n = runs.length;
  const inStrides = new Array<number>(n);
  const outStrides = new Array<number>(n);
  let si = 1;
  let so = 1;
  for (let i = n - 1; i >= 0; i--) {
    inStrides[i] = si;
    si *= runs[i]!.size;
    outStrides[i] = runs[i]!.red ? 0 : so;
    if (!runs[i]!.red) so *= runs[i]!.size;
  }
  return { sizes: runs.map((r) => r.size), inStrides, outStrides, outSize, count };
}

/**
 * Call `inner(inOff, outOff, len, outStep)` for each innermost run of the plan: elements
 * inOff .. inOff+len-1 of the input fold into outputs outOff + j*outStep.
 */
export function forEachRun(p: ReducePlan, inner: (inOff: number, outOff: number, len: number, outStep: number) => void): void {
  const n = p.sizes.length;
  for (const s of p.sizes) if (s === 0) return;
  const len = p.sizes[n - 1]!;
  const step = p.outStrides[n - 1]!;
  const idx = new Array<number>(n).fill(0);
  let inOff = 0;
  let outOff = 0;
  for (;;) {
    inner(inOff, outOff, len, step);
    let d = n - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      inOff += p.inStrides[d]!;
      outOff += p.outStrides[d]!;
      if (idx[d]! < p.sizes[d]!) break;
      inOff -= p.inStrides[d]! * p.sizes[d]!;
      outOff -= p.outStrides[d]! * p.sizes[d]!;
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295], bool: [0, 1],
};

function initValue(kind: ReduceKind): number {
  switch (kind) {
    case 'prod': return 1;
    case 'max': return -Infinity;
    case 'min': return Infinity;
    default: return 0;
  }
}

/** Fold x into acc (float64) for one kind. `m` holds the per-output maxima for logsumexp. */
function foldNumbers(kind: ReduceKind, x: ArrayLike<number>, acc: Float64Array, p: ReducePlan, m?: Float64Array): void {
  forEachRun(p, (i0, o0, len, step) => {
    if (step === 0) {
      // The run folds into one output: accumulate in a local.
      let a = acc[o0]!;
      const end = i0 + len;
      switch (kind) {
        case 'sum': case 'mean': case 'logsum': for (let i = i0; i < end; i++) a += x[i]!; break;
        case 'sumsq': case 'l2': for (let i = i0; i < end; i++) { const v = x[i]!; a += v * v; } break;
        case 'l1': for (let i = i0; i < end; i++) a += Math.abs(x[i]!); break;
        case 'prod': for (let i = i0; i < end; i++) a *= x[i]!; break;
        // NaN propagates: once a is NaN, v > a is false and it stays.
        case 'max': for (let i = i0; i < end; i++) { const v = x[i]!; if (v > a || v !== v) a = v; } break;
        case 'min': for (let i = i0; i < end; i++) { const v = x[i]!; if (v < a || v !== v) a = v; } break;
        case 'logsumexp': { const mx = m![o0]!; for (let i = i0; i < end; i++) a += Math.exp(x[i]! - mx); break; }
      }
      acc[o0] = a;
      return;
    }
    // The run is kept: element j folds into output o0 + j.
    switch (kind) {
      case 'sum': case 'mean': case 'logsum': for (let j = 0; j < len; j++) acc[o0 + j]! += x[i0 + j]!; break;
      case 'sumsq': case 'l2': for (let j = 0; j < len; j++) { const v = x[i0 + j]!; acc[o0 + j]! += v * v; } break;
      case 'l1': for (let j = 0; j < len; j++) acc[o0 + j]! += Math.abs(x[i0 + j]!); break;
      case 'prod': for (let j = 0; j < len; j++) acc[o0 + j]! *= x[i0 + j]!; break;
      case 'max': for (let j = 0; j < len; j++) { const v = x[i0 + j]!; if (v > acc[o0 + j]! || v !== v) acc[o0 + j] = v; } break;
      case 'min': for (let j = 0; j < len; j++) { const v = x[i0 + j]!; if (v < acc[o0 + j]! || v !== v) acc[o0 + j] = v; } break;
      case 'logsumexp': for (let j = 0; j < len; j++) acc[o0 + j]! += Math.exp(x[i0 + j]! - m![o0 + j]!); break;
    }
  });
}

/** Float32 sums by wasm SIMD (reduce-simd.ts: runs into one output in lane order, runs into many exactly); false where unavailable. */
function sumsF32(x: Float32Array, acc: Float64Array, p: ReducePlan): boolean {
  // Short runs cost more in calls than they save.
  if (p.sizes[p.sizes.length - 1]! < 16) return false;
  const st = stageSums(x, acc);
  if (!st) return false;
  forEachRun(p, (i0, o0, len, step) => {
    if (step === 0) acc[o0] = acc[o0]! + st.sumRun(i0, len);
    else st.accRun(o0, i0, len);
  });
  // Outputs a run summed into were set in acc directly; those accumulated by runs are in the stage.
  if (p.outStrides[p.outStrides.length - 1] !== 0) st.readAcc(acc);
  return true;
}

/** Reduce numbers (every dtype but int64/uint64/string) into a float64 result per output. */
function reduceNumbers(kind: ReduceKind, x: ArrayLike<number>, p: ReducePlan): Float64Array {
  let m: Float64Array | undefined;
  if (kind === 'logsumexp') {
    m = new Float64Array(p.outSize).fill(-Infinity);
    foldNumbers('max', x, m, p);
  }
  const acc = new Float64Array(p.outSize).fill(initValue(kind));
  if (!((kind === 'sum' || kind === 'mean') && x instanceof Float32Array && sumsF32(x, acc, p))) foldNumbers(kind, x, acc, p, m);
  for (let o = 0; o < acc.length; o++) {
    const a = acc[o]!;
    switch (kind) {
      case 'mean': acc[o] = a / p.count; break;
      case 'l2': acc[o] = Math.sqrt(a); break;
      case 'logsum': acc[o] = Math.log(a); break;
      case 'logsumexp': { const mx = m![o]!; acc[o] = Number.isFinite(mx) ? mx + Math.log(a) : mx; break; }
    }
  }
  return acc;
}

/** Exact reductions of int64/uint64 data; kinds that need logs or roots go through float64. */
function reduceBig(kind: ReduceKind, x: BigInt64Array | BigUint64Array, p: ReducePlan, out: BigInt64Array | BigUint64Array): void {
  if (kind === 'l2' || kind === 'logsum' || kind === 'logsumexp') {
    const nums = Float64Array.from(x, (v) => Number(v));
    const r = reduceNumbers(kind, nums, p);
    for (let o = 0; o < r.length; o++) out[o] = Number.isFinite(r[o]!) ? BigInt(Math.trunc(r[o]!)) : 0n;
    return;
  }
  const unsigned = x instanceof BigUint64Array;
  const empty = p.count === 0;
  const acc: bigint[] = new Array<bigint>(p.outSize).fill(kind === 'prod' ? 1n : 0n);
  const seen = new Uint8Array(p.outSize);
  forEachRun(p, (i0, o0, len, step) => {
    for (let j = 0; j < len; j++) {
      const o = o0 + j * step;
      const v = x[i0 + j]!;
      switch (kind) {
        case 'sum': case 'mean': acc[o]! += v; break;
        case 'sumsq': acc[o]! += v * v; break;
        case 'l1': acc[o]! += v < 0n ? -v : v; break;
        case 'prod': acc[o]! *= v; break;
        case 'max': if (!seen[o] || v > acc[o]!) acc[o] = v; seen[o] = 1; break;
        case 'min': if (!seen[o] || v < acc[o]!) acc[o] = v; seen[o] = 1; break;
      }
    }
  });
  for (let o = 0; o < acc.length; o++) {
    let a = acc[o]!;
    if (kind === 'mean') a = p.count === 0 ? 0n : a / BigInt(p.count);
    if (empty && kind === 'max') a = unsigned ? 0n : -(1n << 63n);
    if (empty && kind === 'min') a = unsigned ? (1n << 64n) - 1n : (1n << 63n) - 1n;
    out[o] = a; // the typed array wraps to 64 bits
  }
}

/** Axes of a reduction: from input 1 (from the op's opset) or the `axes` attribute; null means identity. */
export function reductionAxes(inputs: Parameters<CpuKernel>[0], ctx: CpuContext, rank: number): number[] | null {
  const fromInput = ctx.opset >= axesInputSince(ctx.node.opType);
  let axes: number[];
  if (fromInput) {
    const a = optTensorArg(inputs, 1, ctx);
    axes = a ? toIntList(a) : [];
    if (axes.length === 0 && ctx.attrs.int('noop_with_empty_axes', 0) !== 0) return null;
  } else axes = ctx.attrs.ints('axes', []);
  const norm = axes.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= Math.max(rank, 1)) throw new KernelInputError(ctx, `axis ${a} is out of range for rank ${rank}`);
    return n;
  });
  if (new Set(norm).size !== norm.length) throw new KernelInputError(ctx, `axes [${axes.join(',')}] repeat an axis`);
  return norm;
}

/** Reduce a tensor over normalized axes (empty = all); the result has the input's dtype. */
export function reduceTensor(kind: ReduceKind, x: HostTensor, axes: readonly number[], keepdims: boolean, ctx: CpuContext): HostTensor {
  if (x.dtype === 'string') throw new KernelInputError(ctx, 'string tensors cannot be reduced');
  const p = planReduce(x.dims, axes);
  const out = allocTensor(x.dtype, reducedDims(x.dims, axes, keepdims, 1));
  if (isBig(x.dtype)) {
    reduceBig(kind, x.data as BigInt64Array, p, out.data as BigInt64Array);
    return out;
  }
  const r = reduceNumbers(kind, x.data as ArrayLike<number>, p);
  const o = out.data as Float32Array;
  const range = INT_RANGE[x.dtype];
  if (range && p.count === 0 && (kind === 'max' || kind === 'min')) {
    // Empty max/min of an integer type: the type's lowest/highest value (there is no infinity).
    o.fill(kind === 'max' ? range[0] : range[1]);
  } else if (!isFloat(x.dtype)) {
    // Integer outputs truncate toward zero as numpy's astype does; non-finite values have no integer.
    for (let i = 0; i < r.length; i++) o[i] = Number.isFinite(r[i]!) ? Math.trunc(r[i]!) : 0;
  } else o.set(r);
  return out;
}

export function reduceKernel(kind: ReduceKind): CpuKernel {
  return viaF32((inputs, ctx) => {
    const x = tensorArg(inputs, 0, ctx);
    const axes = reductionAxes(inputs, ctx, x.dims.length);
    if (axes === null) return [x];
    return [reduceTensor(kind, x, axes, ctx.attrs.int('keepdims', 1) !== 0, ctx)];
  });
}
