// ArgMax, ArgMin and TopK: index-returning reductions along one axis.
import { allocTensor, sizeOf, toIntList, type HostTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';

function normAxisOrThrow(axis: number, rank: number, ctx: CpuContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new KernelInputError(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

type Vals = ArrayLike<number> | ArrayLike<bigint>;

function argKernel(max: boolean): CpuKernel {
  return viaF32((inputs, ctx) => {
    const x = tensorArg(inputs, 0, ctx);
    if (x.dtype === 'string') throw new KernelInputError(ctx, 'string input is not supported');
    const rank = x.dims.length;
    const axis = normAxisOrThrow(ctx.attrs.int('axis', 0), Math.max(rank, 1), ctx);
    const keep = ctx.attrs.int('keepdims', 1) !== 0;
    const last = ctx.attrs.int('select_last_index', 0) !== 0;
    const len = rank === 0 ? 1 : x.dims[axis]!;
    if (len === 0) throw new KernelInputError(ctx, `axis ${axis} is empty: there is no ${max ? 'maximum' : 'minimum'}`);
    const outer = sizeOf(x.dims.slice(0, axis));
    const inner = sizeOf(x.dims.slice(axis + 1));
    const dims = rank === 0 ? [] : x.dims.map((d, i) => (i === axis ? 1 : d)).filter((_, i) => keep || i !== axis);
    const y = allocTensor('int64', dims);
    const v = x.data as ArrayLike<number>; // bigints compare the same way with < and >
    const out = y.data;
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < inner; k++) {
        const base = o * len * inner + k;
        let best = v[base]!;
        let bi = 0;
        // The first NaN wins, as in numpy.
        if (best === best) {
          for (let i = 1, p = base + inner; i < len; i++, p += inner) {
            const e = v[p]!;
            if (e !== e) { bi = i; break; }
            if (max ? e > best || (last && e === best) : e < best || (last && e === best)) { best = e; bi = i; }
          }
        }
        out[o * inner + k] = BigInt(bi);
      }
    }
    return [y];
  });
}

/** Whether element (va, ia) ranks before (vb, ib): larger (or smaller) value, then lower index. */
function before<T extends number | bigint>(largest: boolean, va: T, ia: number, vb: T, ib: number): boolean {
  if (va === vb) return ia < ib;
  // NaN ranks as larger than everything (numpy's sort order).
  if (typeof va === 'number' && va !== va) return largest;
  if (typeof vb === 'number' && vb !== vb) return !largest;
  return largest ? va > vb : va < vb;
}

/** Indices of the k best elements of one strided slice, best first, into `sel`. */
function selectTopK(v: Vals, base: number, stride: number, n: number, k: number, largest: boolean, sel: Int32Array, scratch: Int32Array): void {
  const val = (i: number) => (v as ArrayLike<number>)[base + i * stride]!;
  if (k * 8 < n) {
    // Few wanted: keep a sorted buffer of the best k and insert only what beats its worst.
    let m = 0;
    for (let i = 0; i < n; i++) {
      const x = val(i);
      if (m === k && !before(largest, x, i, val(sel[k - 1]!), sel[k - 1]!)) continue;
      let j = m < k ? m++ : k - 1;
      while (j > 0 && before(largest, x, i, val(sel[j - 1]!), sel[j - 1]!)) {
        sel[j] = sel[j - 1]!;
        j--;
      }
      sel[j] = i;
    }
    return;
  }
  for (let i = 0; i < n; i++) scratch[i] = i;
  const order = scratch.subarray(0, n).sort((a, b) => (before(largest, val(a), a, val(b), b) ? -1 : 1));
  sel.set(order.subarray(0, k));
}

const topK: CpuKernel = viaF32((inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (x.dtype === 'string' || x.dtype === 'bool') throw new KernelInputError(ctx, `${x.dtype} input is not supported`);
  const rank = x.dims.length;
  if (rank === 0) throw new KernelInputError(ctx, 'input must have rank >= 1');
  const axis = normAxisOrThrow(ctx.attrs.int('axis', -1), rank, ctx);
  let k: number;
  if (ctx.opset < 10) k = ctx.attrs.required('k', 'int');
  else {
    const kt = optTensorArg(inputs, 1, ctx);
    if (!kt || kt.data.length !== 1) throw new KernelInputError(ctx, 'K must be a 1-element tensor');
    k = toIntList(kt)[0]!;
  }
  const n = x.dims[axis]!;
  if (k < 0 || k > n) throw new KernelInputError(ctx, `k = ${k} is out of range for axis ${axis} of size ${n}`);
  const largest = ctx.attrs.int('largest', 1) !== 0;
  // `sorted = 0` leaves the order unspecified; sorted order is a valid choice.
  const outer = sizeOf(x.dims.slice(0, axis));
  const inner = sizeOf(x.dims.slice(axis + 1));
  const dims = x.dims.slice();
  dims[axis] = k;
  const values: HostTensor = allocTensor(x.dtype, dims);
  const indices = allocTensor('int64', dims);
  const src = x.data as ArrayLike<number>;
  const dst = values.data as Float32Array;
  const idx = indices.data;
  const sel = new Int32Array(k);
  const scratch = new Int32Array(n);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const base = o * n * inner + r;
      selectTopK(src, base, inner, n, k, largest, sel, scratch);
      const ob = o * k * inner + r;
      for (let j = 0; j < k; j++) {
        const s = sel[j]!;
        (dst as unknown as unknown[])[ob + j * inner] = src[base + s * inner]!;
        idx[ob + j * inner] = BigInt(s);
      }
    }
  }
  return [values, indices];
});

export const argKernels = {
  ArgMax: argKernel(true),
  ArgMin: argKernel(false),
  TopK: topK,
};
