// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is flattened to 2-D at `axis` (default 1)
// and the op works on each row of the flattened trailing dims; from 13 it works along the one axis (default -1).
import { allocTensor, sizeOf, type HostTensor, UNINIT } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';
import { simdExpShifted } from './elementwise-simd.js';
import { simdSoftmaxRows } from './reduce-simd.js';

/** The input seen as [outer, len, inner]: the op runs along `len` for each (outer, inner) pair. */
export function softmaxLayout(dims: readonly number[], ctx: CpuContext): { outer: number; len: number; inner: number } {
  const rank = dims.length;
  const legacy = ctx.opset < 13;
  const axis0 = ctx.attrs.int('axis', legacy ? 1 : -1);
  // A scalar is treated as a 1-element vector.
  const r = Math.max(rank, 1);
  const axis = axis0 < 0 ? axis0 + r : axis0;
  if (axis < 0 || axis >= r) throw new KernelInputError(ctx, `axis ${axis0} is out of range for rank ${rank}`);
  const outer = sizeOf(dims.slice(0, axis));
  if (legacy) return { outer, len: sizeOf(dims.slice(axis)), inner: 1 };
  return { outer, len: rank === 0 ? 1 : dims[axis]!, inner: sizeOf(dims.slice(axis + 1)) };
}

type Mode = 'softmax' | 'log' | 'hard';

/**
 * Softmax of float32 rows (inner = 1): exp(x - max) by SIMD (a few float32 ulps), summed in float64 and
 * scaled as below. Monomorphic loops; false where the SIMD path is off.
 */
function softmaxRowsF32(x: Float32Array, y: Float32Array, outer: number, len: number): boolean {
  for (let o = 0; o < outer; o++) {
    const base = o * len, end = base + len;
    let mx = -Infinity;
    for (let p = base; p < end; p++) {
      const v = x[p]!;
      if (v > mx) mx = v;
    }
    if (mx === -Infinity) mx = 0;
    if (!simdExpShifted(x, base, y, base, len, mx)) return false;
    let sum = 0;
    for (let p = base; p < end; p++) sum += y[p]!;
    const inv = 1 / sum;
    for (let p = base; p < end; p++) y[p] = y[p]! * inv;
  }
  return true;
}

/** Softmax-like op over [outer, len, inner] float data (float32 or float64). */
export function softmaxInto(mode: Mode, x: ArrayLike<number>, y: Float32Array | Float64Array, outer: number, len: number, inner: number): void {
  if (mode === 'softmax' && inner === 1 && x instanceof Float32Array && y instanceof Float32Array) {
    // One wasm pass per block of rows (reduce-simd.ts), else SIMD exp per row with the rest in JS.
    if (simdSoftmaxRows(x, y, outer, len)) return;
    if (len >= 32 && softmaxRowsF32(x, y, outer, len)) return;
  }
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const base = o * len * inner + k;
      let mx = -Infinity;
      let arg = 0;
      for (let i = 0, p = base; i < len; i++, p += inner) {
        const v = x[p]!;
        if (v > mx) { mx = v; arg = i; }
      }
      if (mode === 'hard') {
        for (let i = 0, p = base; i < len; i++, p += inner) y[p] = i === arg ? 1 : 0;
        continue;
      }
      if (mx === -Infinity) mx = 0; // all -inf (or NaN): avoid -inf - -inf
      let sum = 0;
      if (mode === 'softmax') {
        for (let i = 0, p = base; i < len; i++, p += inner) {
          const e = Math.exp(x[p]! - mx);
          y[p] = e;
          sum += e;
        }
        // Divide by the float64 sum; y holds rounded exps for float32, which is within tolerance of numpy.
        const inv = 1 / sum;
        for (let i = 0, p = base; i < len; i++, p += inner) y[p] = y[p]! * inv;
      } else {
        for (let i = 0, p = base; i < len; i++, p += inner) sum += Math.exp(x[p]! - mx);
        const lse = mx + Math.log(sum);
        for (let i = 0, p = base; i < len; i++, p += inner) y[p] = x[p]! - lse;
      }
    }
  }
}

export function softmaxTensor(mode: Mode, x: HostTensor, ctx: CpuContext): HostTensor {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new KernelInputError(ctx, `expects a float tensor, got ${x.dtype}`);
  const { outer, len, inner } = softmaxLayout(x.dims, ctx);
  const y = allocTensor(x.dtype, x.dims, UNINIT); // every row is written whole (the JS loop redoes a row SIMD gave up on)
  softmaxInto(mode, x.data as Float32Array, y.data as Float32Array, outer, len, inner);
  return y;
}

export function softmaxKernel(mode: Mode): CpuKernel {
  return viaF32((inputs, ctx) => [softmaxTensor(mode, tensorArg(inputs, 0, ctx), ctx)]);
}
