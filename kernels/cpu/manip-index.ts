// CPU kernels of the manip family that index by data: Gather, GatherElements, GatherND, Scatter,
// ScatterElements, ScatterND, TensorScatter, OneHot, NonZero, Compress.
import { type DType, bf16BitsToNumber, f16BitsToNumber, numberToBf16Bits, numberToF16Bits } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, cloneData, getNumber, stridesOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';
import { type Elems, copyElem, copyElems, indexValues, normAxisK, normIndex, prod, words } from './manip-util.js';

const gather: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const it = tensorArg(inputs, 1, ctx);
  const r = x.dims.length;
  if (r === 0) throw new KernelInputError(ctx, 'data must have rank 1 or more');
  const axis = normAxisK(ctx.attrs.int('axis', 0), r, ctx);
  const n = x.dims[axis]!;
  const idx = indexValues(it, ctx);
  for (let k = 0; k < idx.length; k++) idx[k] = normIndex(idx[k]!, n, ctx);
  const out = allocTensor(x.dtype, [...x.dims.slice(0, axis), ...it.dims, ...x.dims.slice(axis + 1)]);
  const outer = prod(x.dims, 0, axis);
  const inner = prod(x.dims, axis + 1);
  const K = idx.length;
  const O = words(out.data);
  const X = words(x.data);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < K; k++) copyElems(O, (o * K + k) * inner, X, (o * n + idx[k]!) * inner, inner);
  }
  return [out];
};

/**
 * Visit each position of `idxDims` (row-major, position i), with the offset into a tensor of strides
 * `xs` built from every coordinate except `axis`; `visit(i, base)` adds the axis coordinate itself.
 */
function forEachAlongAxis(idxDims: readonly number[], xs: readonly number[], axis: number, visit: (i: number, base: number) => void): void {
  const r = idxDims.length;
  const total = prod(idxDims);
  const idx = new Int32Array(r);
  let base = 0;
  for (let i = 0; i < total; i++) {
    visit(i, base);
    for (let d = r - 1; d >= 0; d--) {
      if (d !== axis) base += xs[d]!;
      if (++idx[d]! < idxDims[d]!) break;
      if (d !== axis) base -= xs[d]! * idxDims[d]!;
      idx[d] = 0;
    }
  }
}

function checkElementsShapes(x: HostTensor, it: HostTensor, axis: number, ctx: CpuContext): void {
  if (it.dims.length !== x.dims.length) throw new KernelInputError(ctx, `data rank ${x.dims.length} and indices rank ${it.dims.length} differ`);
  it.dims.forEach((d, i) => {
    if (i !== axis && d > x.dims[i]!) throw new KernelInputError(ctx, `indices dim ${i} (${d}) exceeds data dim (${x.dims[i]})`);
  });
}

const gatherElements: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const it = tensorArg(inputs, 1, ctx);
  const axis = normAxisK(ctx.attrs.int('axis', 0), x.dims.length, ctx);
  checkElementsShapes(x, it, axis, ctx);
  const idx = indexValues(it, ctx);
  const out = allocTensor(x.dtype, it.dims);
  const xs = stridesOf(x.dims);
  const n = x.dims[axis]!;
  const sa = xs[axis]!;
  const O = words(out.data);
  const X = words(x.data);
  forEachAlongAxis(it.dims, xs, axis, (i, base) => copyElem(O, i, X, base + normIndex(idx[i]!, n, ctx) * sa));
  return [out];
};

const gatherND: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const it = tensorArg(inputs, 1, ctx);
  const b = ctx.attrs.int('batch_dims', 0);
  const r = x.dims.length;
  const q = it.dims.length;
  if (q < 1) throw new KernelInputError(ctx, 'indices must have rank 1 or more');
  if (b < 0 || b >= Math.min(r, q)) throw new KernelInputError(ctx, `batch_dims ${b} must be less than both ranks (${r}, ${q})`);
  for (let i = 0; i < b; i++) {
    if (x.dims[i] !== it.dims[i]) throw new KernelInputError(ctx, `batch dim ${i} differs: data ${x.dims[i]}, indices ${it.dims[i]}`);
  }
  const k = it.dims[q - 1]!;
  if (k < 1 || b + k > r) throw new KernelInputError(ctx, `indices' last dim ${k} plus batch_dims ${b} exceeds data rank ${r}`);
  const idx = indexValues(it, ctx);
  const out = allocTensor(x.dtype, [...it.dims.slice(0, -1), ...x.dims.slice(b + k)]);
  const xs = stridesOf(x.dims);
  const B = prod(x.dims, 0, b);
  const perBatch = prod(x.dims, b);
  const nPer = prod(it.dims, b, q - 1);
  const inner = prod(x.dims, b + k);
  const O = words(out.data);
  const X = words(x.data);
  for (let bi = 0; bi < B; bi++) {
    for (let m = 0; m < nPer; m++) {
      const row = bi * nPer + m;
      let off = bi * perBatch;
      for (let j = 0; j < k; j++) off += normIndex(idx[row * k + j]!, x.dims[b + j]!, ctx) * xs[b + j]!;
      copyElems(O, row * inner, X, off, inner);
    }
  }
  return [out];
};

type Apply = (D: Elems, i: number, v: unknown) => void;

/** How an update combines with the current value, per dtype (float16 via float32, int64 as bigint). */
function reducer(dtype: DType, reduction: string, ctx: CpuContext): Apply {
  if (reduction === 'none') return (D, i, v) => void (D[i] = v);
  if (!['add', 'mul', 'max', 'min'].includes(reduction)) throw new KernelInputError(ctx, `unknown reduction '${reduction}'`);
  if (dtype === 'string') throw new KernelInputError(ctx, `reduction '${reduction}' does not apply to strings`);
  if (dtype === 'int64' || dtype === 'uint64') {
    const f = { add: (a: bigint, b: bigint) => a + b, mul: (a: bigint, b: bigint) => a * b, max: (a: bigint, b: bigint) => (a > b ? a : b), min: (a: bigint, b: bigint) => (a < b ? a : b) }[reduction as 'add']!;
    return (D, i, v) => void (D[i] = f(D[i] as bigint, v as bigint));
  }
  const f = {
    add: dtype === 'bool' ? (a: number, b: number) => a | b : (a: number, b: number) => a + b,
    mul: dtype === 'int32' || dtype === 'uint32' ? Math.imul : (a: number, b: number) => a * b,
    max: (a: number, b: number) => (a >= b || Number.isNaN(a) ? a : b),
    min: (a: number, b: number) => (a <= b || Number.isNaN(a) ? a : b),
  }[reduction as 'add'];
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const dec = dtype === 'float16' ? f16BitsToNumber : bf16BitsToNumber;
    const enc = dtype === 'float16' ? numberToF16Bits : numberToBf16Bits;
    return (D, i, v) => void (D[i] = enc(f(dec(D[i] as number), dec(v as number))));
  }
  return (D, i, v) => void (D[i] = f(D[i] as number, v as number));
}

const scatterElements: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const it = tensorArg(inputs, 1, ctx);
  const u = tensorArg(inputs, 2, ctx);
  const axis = normAxisK(ctx.attrs.int('axis', 0), x.dims.length, ctx);
  checkElementsShapes(x, it, axis, ctx);
  if (u.dtype !== x.dtype) throw new KernelInputError(ctx, `updates dtype ${u.dtype} differs from data's ${x.dtype}`);
  if (u.dims.length !== it.dims.length || u.dims.some((d, i) => d !== it.dims[i])) {
    throw new KernelInputError(ctx, `indices [${it.dims.join(',')}] and updates [${u.dims.join(',')}] differ in shape`);
  }
  const apply = reducer(x.dtype, ctx.attrs.string('reduction', 'none'), ctx);
  const idx = indexValues(it, ctx);
  const out: HostTensor = { kind: 'tensor', dtype: x.dtype, dims: [...x.dims], data: cloneData(x.dtype, x.data) };
  const xs = stridesOf(x.dims);
  const n = x.dims[axis]!;
  const sa = xs[axis]!;
  const D = out.data as Elems;
  const U = u.data as Elems;
  if (ctx.attrs.string('reduction', 'none') === 'none') {
    const O = words(out.data);
    const W = words(u.data);
    forEachAlongAxis(it.dims, xs, axis, (i, base) => copyElem(O, base + normIndex(idx[i]!, n, ctx) * sa, W, i));
  } else forEachAlongAxis(it.dims, xs, axis, (i, base) => apply(D, base + normIndex(idx[i]!, n, ctx) * sa, U[i]));
  return [out];
};

const scatterND: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const it = tensorArg(inputs, 1, ctx);
  const u = tensorArg(inputs, 2, ctx);
  const q = it.dims.length;
  if (q < 1) throw new KernelInputError(ctx, 'indices must have rank 1 or more');
  const k = it.dims[q - 1]!;
  if (k > x.dims.length) throw new KernelInputError(ctx, `indices' last dim ${k} exceeds data rank ${x.dims.length}`);
  const want = [...it.dims.slice(0, -1), ...x.dims.slice(k)];
  if (u.dims.length !== want.length || u.dims.some((d, i) => d !== want[i])) {
    throw new KernelInputError(ctx, `updates [${u.dims.join(',')}] should have shape [${want.join(',')}]`);
  }
  if (u.dtype !== x.dtype) throw new KernelInputError(ctx, `updates dtype ${u.dtype} differs from data's ${x.dtype}`);
  const reduction = ctx.attrs.string('reduction', 'none');
  const apply = reducer(x.dtype, reduction, ctx);
  const idx = indexValues(it, ctx);
  const out: HostTensor = { kind: 'tensor', dtype: x.dtype, dims: [...x.dims], data: cloneData(x.dtype, x.data) };
  const xs = stridesOf(x.dims);
  const inner = prod(x.dims, k);
  const rows = prod(it.dims, 0, q - 1);
  const D = out.data as Elems;
  const U = u.data as Elems;
  const O = words(out.data);
  const W = words(u.data);
  for (let m = 0; m < rows; m++) {
    let off = 0;
    for (let j = 0; j < k; j++) off += normIndex(idx[m * k + j]!, x.dims[j]!, ctx) * xs[j]!;
    if (reduction === 'none') copyElems(O, off, W, m * inner, inner);
    else for (let e = 0; e < inner; e++) apply(D, off + e, U[m * inner + e]);
  }
  return [out];
};

/** TensorScatter (KV-cache update): writes update[b] into the cache at write_indices[b] along `axis`. */
const tensorScatter: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const u = tensorArg(inputs, 1, ctx);
  const w = optTensorArg(inputs, 2, ctx);
  const r = x.dims.length;
  const axis = normAxisK(ctx.attrs.int('axis', -2), r, ctx);
  if (axis === 0) throw new KernelInputError(ctx, 'axis cannot be the batch axis 0');
  const mode = ctx.attrs.string('mode', 'linear');
  if (mode !== 'linear' && mode !== 'circular') throw new KernelInputError(ctx, `unknown mode '${mode}'`);
  if (u.dtype !== x.dtype) throw new KernelInputError(ctx, `update dtype ${u.dtype} differs from the cache's ${x.dtype}`);
  if (u.dims.length !== r || u.dims.some((d, i) => i !== axis && d !== x.dims[i])) {
    throw new KernelInputError(ctx, `update [${u.dims.join(',')}] must match the cache [${x.dims.join(',')}] outside axis ${axis}`);
  }
  const B = x.dims[0]!;
  const maxLen = x.dims[axis]!;
  const seq = u.dims[axis]!;
  const starts = w ? indexValues(w, ctx, 'write_indices') : new Float64Array(B);
  if (starts.length !== B) throw new KernelInputError(ctx, `write_indices has ${starts.length} entries for batch size ${B}`);
  const out: HostTensor = { kind: 'tensor', dtype: x.dtype, dims: [...x.dims], data: cloneData(x.dtype, x.data) };
  const mid = prod(x.dims, 1, axis);
  const inner = prod(x.dims, axis + 1);
  const O = words(out.data);
  const W = words(u.data);
  for (let b = 0; b < B; b++) {
    const s = starts[b]!;
    if (s < 0 || (mode === 'linear' && s + seq > maxLen) || (mode === 'circular' && s >= maxLen && seq > 0)) {
      throw new KernelInputError(ctx, `write_indices[${b}] = ${s} does not fit ${seq} steps into a cache of ${maxLen}`);
    }
    for (let m = 0; m < mid; m++) {
      const row = b * mid + m;
      for (let j = 0; j < seq; j++) {
        const t = mode === 'linear' ? s + j : (s + j) % maxLen;
        copyElems(O, (row * maxLen + t) * inner, W, (row * seq + j) * inner, inner);
      }
    }
  }
  return [out];
};

const oneHot: CpuKernel = (inputs, ctx) => {
  const it = tensorArg(inputs, 0, ctx);
  const dt = tensorArg(inputs, 1, ctx);
  const vals = tensorArg(inputs, 2, ctx);
  if (dt.data.length !== 1) throw new KernelInputError(ctx, `depth must hold one value, has ${dt.data.length}`);
  if (vals.data.length !== 2) throw new KernelInputError(ctx, `values must hold [off, on], has ${vals.data.length} elements`);
  const depth = Math.trunc(getNumber(dt, 0));
  if (!(depth >= 0)) throw new KernelInputError(ctx, `depth ${depth} must be non-negative`);
  const r = it.dims.length;
  const axis = normAxisK(ctx.attrs.int('axis', -1), r + 1, ctx);
  const dims = [...it.dims];
  dims.splice(axis, 0, depth);
  const out = allocTensor(vals.dtype, dims);
  const V = vals.data as Elems;
  (out.data as { fill(v: unknown): unknown }).fill(V[0]);
  const on = V[1];
  const D = out.data as Elems;
  const inner = prod(it.dims, axis);
  const outer = prod(it.dims, 0, axis);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let v = Math.trunc(getNumber(it, o * inner + i));
      if (v < 0) v += depth;
      if (v >= 0 && v < depth) D[(o * depth + v) * inner + i] = on;
    }
  }
  return [out];
};

/**
 * Whether element i is nonzero, tested on the element's bits (word views keep the loop monomorphic-ish):
 * float sign bits are masked off so -0 is zero and NaN nonzero; strings: non-empty.
 */
function nonzeroTest(t: HostTensor): (i: number) => boolean {
  if (t.dtype === 'string') {
    const d = t.data as string[];
    return (i) => d[i] !== '';
  }
  const { a, w } = words(t.data);
  const v = a as Uint32Array;
  if (w === 2) {
    const hi = t.dtype === 'float64' ? 0x7fffffff : 0xffffffff; // little-endian: the high word holds the sign
    return (i) => (v[2 * i]! | (v[2 * i + 1]! & hi)) !== 0;
  }
  const m = t.dtype === 'float32' ? 0x7fffffff : t.dtype === 'float16' || t.dtype === 'bfloat16' ? 0x7fff : 0xffffffff;
  return (i) => (v[i]! & m) !== 0;
}

const nonZero: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const test = nonzeroTest(x);
  const n = x.data.length;
  const hits: number[] = [];
  for (let i = 0; i < n; i++) if (test(i)) hits.push(i);
  // A scalar counts as rank 1 (NumPy's nonzero of a 0-d array).
  const dims = x.dims.length ? x.dims : [1];
  const r = dims.length;
  const strides = stridesOf(dims);
  const out = allocTensor('int64', [r, hits.length]);
  const o = out.data as BigInt64Array;
  hits.forEach((flat, j) => {
    for (let d = 0; d < r; d++) o[d * hits.length + j] = BigInt(Math.floor(flat / strides[d]!) % dims[d]!);
  });
  return [out];
};

const compress: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const c = tensorArg(inputs, 1, ctx);
  if (c.dims.length !== 1) throw new KernelInputError(ctx, `condition must be 1-D, got rank ${c.dims.length}`);
  const axisAttr = ctx.attrs.int('axis');
  const dims = axisAttr === undefined ? [x.data.length] : [...x.dims];
  const axis = axisAttr === undefined ? 0 : normAxisK(axisAttr, x.dims.length, ctx);
  const n = dims[axis]!;
  const keep: number[] = [];
  for (let i = 0; i < c.data.length; i++) {
    if (!getNumber(c, i)) continue;
    if (i >= n) throw new KernelInputError(ctx, `condition selects index ${i}, beyond the axis size ${n}`);
    keep.push(i);
  }
  const outDims = [...dims];
  outDims[axis] = keep.length;
  const out = allocTensor(x.dtype, outDims);
  const outer = prod(dims, 0, axis);
  const inner = prod(dims, axis + 1);
  const O = words(out.data);
  const X = words(x.data);
  for (let o = 0; o < outer; o++) {
    keep.forEach((k, j) => copyElems(O, (o * keep.length + j) * inner, X, (o * n + k) * inner, inner));
  }
  return [out];
};

export const indexKernels = {
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  Scatter: scatterElements,
  ScatterElements: scatterElements,
  ScatterND: scatterND,
  TensorScatter: tensorScatter,
  OneHot: oneHot,
  NonZero: nonZero,
  Compress: compress,
} satisfies Record<string, CpuKernel>;
