// CPU kernels of the manip family that move elements around: Transpose, Concat, Split, Slice, Expand,
// Tile, Pad, CenterCropPad, DepthToSpace, SpaceToDepth, Trilu, ReverseSequence.
import type { HostData } from '../../graph/dtype.js';
import { sliceRange, splitSizes } from '../../graph/ops/manip-util.js';
import { type HostTensor, UNINIT, allocTensor, getNumber, setElement, stridesOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastShapes, broadcastStrides, optTensorArg, sameItems, tensorArg } from './util.js';
import { type Elems, type Words, copyElems, copyWords, intList, normAxesK, normAxisK, prod, stridedCopy, transposeData, viaIndexWords, words } from './manip-util.js';

const transpose: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  const perm = ctx.attrs.ints('perm') ?? x.dims.map((_, i) => r - 1 - i);
  if (perm.length !== r || [...perm].sort((a, b) => a - b).some((v, i) => v !== i)) {
    throw new KernelInputError(ctx, `perm [${perm.join(',')}] is not a permutation of rank ${r}`);
  }
  // Transpose, Concat, Slice and Expand write every element: their outputs are not zeroed first.
  const out = allocTensor(x.dtype, perm.map((p) => x.dims[p]!), UNINIT);
  transposeData(x, perm, out.data);
  return [out];
};

const concat: CpuKernel = (inputs, ctx) => {
  const xs = inputs.map((_, i) => tensorArg(inputs, i, ctx));
  if (!xs.length) throw new KernelInputError(ctx, 'Concat needs at least one input');
  const first = xs[0]!;
  const r = first.dims.length;
  const axis = normAxisK(ctx.attrs.int('axis', 1), r, ctx);
  let total = 0;
  for (const x of xs) {
    if (x.dtype !== first.dtype) throw new KernelInputError(ctx, `inputs differ in dtype (${first.dtype}, ${x.dtype})`);
    if (x.dims.length !== r || x.dims.some((d, i) => i !== axis && d !== first.dims[i])) {
      throw new KernelInputError(ctx, `input shapes [${first.dims.join(',')}] and [${x.dims.join(',')}] differ outside axis ${axis}`);
    }
    total += x.dims[axis]!;
  }
  const dims = [...first.dims];
  dims[axis] = total;
  const out = allocTensor(first.dtype, dims, UNINIT);
  const outer = prod(dims, 0, axis);
  const inner = prod(dims, axis + 1);
  let o = 0;
  const O = words(out.data);
  const W = xs.map((x) => words(x.data));
  for (let n = 0; n < outer; n++) {
    for (let i = 0; i < xs.length; i++) {
      const len = xs[i]!.dims[axis]! * inner;
      copyElems(O, o, W[i]!, n * len, len);
      o += len;
    }
  }
  return [out];
};

const split: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const axis = normAxisK(ctx.attrs.int('axis', 0), x.dims.length, ctx);
  const count = ctx.node.outputs.length;
  let sizes: number[] | undefined;
  if (ctx.opset >= 13 || ctx.opset < 2) {
    const s = optTensorArg(inputs, 1, ctx);
    if (s) sizes = intList(s, ctx, 'split');
  }
  if (ctx.opset < 13) sizes ??= ctx.attrs.ints('split');
  const numOutputs = ctx.attrs.int('num_outputs');
  if (numOutputs !== undefined && sizes) throw new KernelInputError(ctx, 'both split and num_outputs are given');
  if (numOutputs !== undefined && numOutputs !== count) throw new KernelInputError(ctx, `num_outputs ${numOutputs} but the node has ${count} outputs`);
  const parts = splitSizes(x.dims[axis]!, count, sizes, ctx.opset >= 18 && numOutputs !== undefined);
  if (typeof parts === 'string') throw new KernelInputError(ctx, parts);
  const outer = prod(x.dims, 0, axis);
  const inner = prod(x.dims, axis + 1);
  const rowLen = x.dims[axis]! * inner;
  let at = 0;
  const X = words(x.data);
  return parts.map((p) => {
    const dims = [...x.dims];
    dims[axis] = p;
    const out = allocTensor(x.dtype, dims);
    const len = p * inner;
    const O = words(out.data);
    for (let n = 0; n < outer; n++) copyElems(O, n * len, X, n * rowLen + at, len);
    at += len;
    return out;
  });
};

const slice: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = ctx.attrs.required('starts', 'ints');
    ends = ctx.attrs.required('ends', 'ints');
    axes = ctx.attrs.ints('axes');
  } else {
    starts = intList(tensorArg(inputs, 1, ctx), ctx, 'starts');
    ends = intList(tensorArg(inputs, 2, ctx), ctx, 'ends');
    const a = optTensorArg(inputs, 3, ctx);
    const s = optTensorArg(inputs, 4, ctx);
    axes = a && intList(a, ctx, 'axes');
    steps = s && intList(s, ctx, 'steps');
  }
  if (starts.length !== ends.length) throw new KernelInputError(ctx, `starts (${starts.length}) and ends (${ends.length}) differ in length`);
  const ax = normAxesK(axes ?? starts.map((_, i) => i), r, ctx);
  if (ax.length !== starts.length || (steps && steps.length !== starts.length)) {
    throw new KernelInputError(ctx, `starts, ends, axes and steps differ in length`);
  }
  const inStrides = stridesOf(x.dims);
  const dims = [...x.dims];
  const strides = [...inStrides];
  let base = 0;
  ax.forEach((a, k) => {
    const step = steps?.[k] ?? 1;
    if (step === 0) throw new KernelInputError(ctx, 'slice step is 0');
    const { start, len } = sliceRange(x.dims[a]!, starts[k]!, ends[k]!, step);
    dims[a] = len;
    strides[a] = inStrides[a]! * step;
    if (len > 0) base += start * inStrides[a]!;
  });
  const out = allocTensor(x.dtype, dims, UNINIT);
  stridedCopy(out.data, x.data, dims, strides, base);
  return [out];
};

const expand: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const shape = intList(tensorArg(inputs, 1, ctx), ctx, 'shape');
  const dims = broadcastShapes(x.dims, shape);
  if (!dims) throw new KernelInputError(ctx, `cannot expand [${x.dims.join(',')}] to [${shape.join(',')}]`);
  const out = allocTensor(x.dtype, dims, UNINIT);
  stridedCopy(out.data, x.data, dims, broadcastStrides(x.dims, dims), 0);
  return [out];
};

/**
 * out[idx] = src[sum(maps[d][idx_d] * stride_d)], skipping positions where any map entry is -1
 * (those keep what `dst` already holds: a pad value or zeros).
 */
function mapGather(dst: HostData, src: HostData, srcDims: readonly number[], outDims: readonly number[], maps: readonly Int32Array[]): void {
  if (Array.isArray(dst)) return viaIndexWords(dst, src as string[], (D, S) => gatherWords(D, S, srcDims, outDims, maps));
  const D = words(dst);
  const S = words(src);
  if (D.w === 2) {
    // Two words per element: gather words, with one more dim of 2 mapped to itself.
    srcDims = [...srcDims, 2];
    outDims = [...outDims, 2];
    maps = [...maps, Int32Array.of(0, 1)];
  }
  gatherWords(D, S, srcDims, outDims, maps);
}

function gatherWords(D: Words, S: Words, srcDims: readonly number[], outDims: readonly number[], maps: readonly Int32Array[]): void {
  const r = outDims.length;
  const da = D.a as Uint32Array;
  const sa = S.a as Uint32Array;
  if (r === 0) {
    da[0] = sa[0]!;
    return;
  }
  const total = prod(outDims);
  if (total === 0) return;
  const strides = stridesOf(srcDims);
  const inner = outDims[r - 1]!;
  const im = maps[r - 1]!;
  const is = strides[r - 1]!;
  // When the inner map is a contiguous run, whole rows are block copies.
  let contiguous = is === 1 && im[0]! >= 0;
  for (let j = 1; j < inner && contiguous; j++) contiguous = im[j] === im[0]! + j;
  const idx = new Int32Array(r);
  for (let o = 0; o < total; o += inner) {
    let off = 0;
    let skip = false;
    for (let d = 0; d < r - 1; d++) {
      const m = maps[d]![idx[d]!]!;
      if (m < 0) {
        skip = true;
        break;
      }
      off += m * strides[d]!;
    }
    if (!skip) {
      if (contiguous) copyWords(da, o, sa, off + im[0]!, inner);
      else {
        for (let j = 0; j < inner; j++) {
          const m = im[j]!;
          if (m >= 0) da[o + j] = sa[off + m * is]!;
        }
      }
    }
    for (let d = r - 2; d >= 0; d--) {
      if (++idx[d]! < outDims[d]!) break;
      idx[d] = 0;
    }
  }
}

const tile: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  let reps = intList(tensorArg(inputs, 1, ctx), ctx, 'repeats');
  if (ctx.opset < 6) {
    // Tile-1: `tiles` copies along input 2's axis.
    const axis = normAxisK(intList(tensorArg(inputs, 2, ctx), ctx, 'axis')[0] ?? 0, r, ctx);
    const rr = x.dims.map(() => 1);
    rr[axis] = reps[0] ?? 1;
    reps = rr;
  }
  if (reps.length !== r) throw new KernelInputError(ctx, `repeats has ${reps.length} entries for rank ${r}`);
  if (reps.some((v) => v < 0)) throw new KernelInputError(ctx, `repeats [${reps.join(',')}] has a negative count`);
  const dims = x.dims.map((d, i) => d * reps[i]!);
  const out = allocTensor(x.dtype, dims);
  mapGather(out.data, x.data, x.dims, dims, dims.map((n, a) => Int32Array.from({ length: n }, (_, o) => o % x.dims[a]!)));
  return [out];
};

/** Source index along an axis of size d for output position o of a pad with `before` leading pads. */
function padMap(mode: string, d: number, n: number, before: number, ctx: CpuContext): Int32Array {
  const m = new Int32Array(n);
  if (d === 0 && mode !== 'constant' && n > 0) throw new KernelInputError(ctx, `${mode} padding of an empty axis`);
  for (let o = 0; o < n; o++) {
    const i = o - before;
    if (i >= 0 && i < d) m[o] = i;
    else if (mode === 'constant') m[o] = -1;
    else if (mode === 'edge') m[o] = i < 0 ? 0 : d - 1;
    else if (mode === 'wrap') m[o] = ((i % d) + d) % d;
    else {
      // reflect (NumPy): mirror without repeating the edge, period 2(d-1).
      if (d === 1) m[o] = 0;
      else {
        const p = 2 * (d - 1);
        const k = ((i % p) + p) % p;
        m[o] = k < d ? k : p - k;
      }
    }
  }
  return m;
}

const pad: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  const mode = ctx.attrs.string('mode', 'constant');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw new KernelInputError(ctx, `unknown mode '${mode}'`);
  let pads: number[];
  let axes = x.dims.map((_, i) => i);
  let value: HostTensor | number | undefined;
  if (ctx.opset < 11) {
    const p = ctx.attrs.ints('pads') ?? ctx.attrs.ints('paddings');
    if (!p) throw new KernelInputError(ctx, 'required attribute pads is missing');
    pads = p;
    value = ctx.attrs.float('value', 0);
  } else {
    pads = intList(tensorArg(inputs, 1, ctx), ctx, 'pads');
    const v = optTensorArg(inputs, 2, ctx);
    if (v && v.data.length > 0) {
      if (v.dtype !== x.dtype) throw new KernelInputError(ctx, `constant_value dtype ${v.dtype} differs from the input's ${x.dtype}`);
      value = v;
    }
    const a = ctx.opset >= 18 ? optTensorArg(inputs, 3, ctx) : undefined;
    if (a) axes = normAxesK(intList(a, ctx, 'axes'), r, ctx);
  }
  if (pads.length !== 2 * axes.length) throw new KernelInputError(ctx, `pads has ${pads.length} entries for ${axes.length} axes (needs ${2 * axes.length})`);
  const before = new Array<number>(r).fill(0);
  const after = new Array<number>(r).fill(0);
  axes.forEach((a, k) => {
    before[a] = pads[k]!;
    after[a] = pads[k + axes.length]!;
  });
  const dims = x.dims.map((d, i) => d + before[i]! + after[i]!);
  if (dims.some((d) => d < 0)) throw new KernelInputError(ctx, `pads [${pads.join(',')}] leave a negative dim`);
  const out = allocTensor(x.dtype, dims);
  if (mode === 'constant' && value !== undefined) {
    if (typeof value === 'number') {
      if (value !== 0) for (let i = 0; i < out.data.length; i++) setElement(out, i, value);
    } else (out.data as { fill(v: unknown): unknown }).fill((value.data as Elems)[0]);
  }
  mapGather(out.data, x.data, x.dims, dims, padMaps(ctx, mode, x.dims, dims, before));
  return [out];
};

// A node's last pad maps with what they were made from: a model pads the same shapes every run, and
// making the maps (a % per position) was most of silero VAD's 704-sample reflect pad.
const lastPadMaps = new WeakMap<object, { mode: string; src: readonly number[]; dims: readonly number[]; before: readonly number[]; maps: Int32Array[] }>();

function padMaps(ctx: CpuContext, mode: string, src: readonly number[], dims: readonly number[], before: readonly number[]): Int32Array[] {
  const hit = lastPadMaps.get(ctx.node);
  if (hit && hit.mode === mode && sameItems(hit.src, src) && sameItems(hit.dims, dims) && sameItems(hit.before, before)) return hit.maps;
  const maps = dims.map((n, a) => padMap(mode, src[a]!, n, before[a]!, ctx));
  lastPadMaps.set(ctx.node, { mode, src: [...src], dims: [...dims], before: [...before], maps });
  return maps;
}

const centerCropPad: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  const shape = intList(tensorArg(inputs, 1, ctx), ctx, 'shape');
  const axes = normAxesK(ctx.attrs.ints('axes') ?? x.dims.map((_, i) => i), r, ctx);
  if (shape.length !== axes.length) throw new KernelInputError(ctx, `shape has ${shape.length} entries for ${axes.length} axes`);
  const dims = [...x.dims];
  axes.forEach((a, k) => {
    if (shape[k]! < 0) throw new KernelInputError(ctx, `shape [${shape.join(',')}] has a negative dim`);
    dims[a] = shape[k]!;
  });
  const out = allocTensor(x.dtype, dims);
  // Crop takes the middle (floor of half the difference off the start); pad centers with zeros the same way.
  const maps = dims.map((n, a) => {
    const d = x.dims[a]!;
    const shift = n < d ? Math.floor((d - n) / 2) : -Math.floor((n - d) / 2);
    return Int32Array.from({ length: n }, (_, o) => (o + shift >= 0 && o + shift < d ? o + shift : -1));
  });
  mapGather(out.data, x.data, x.dims, dims, maps);
  return [out];
};

/** Copy `src` viewed with `viewDims` and permuted by `perm` into a new tensor of `outDims`. */
function permuteView(x: HostTensor, viewDims: number[], perm: number[], outDims: number[]): HostTensor {
  const out = allocTensor(x.dtype, outDims);
  const s = stridesOf(viewDims);
  stridedCopy(out.data, x.data, perm.map((p) => viewDims[p]!), perm.map((p) => s[p]!), 0);
  return out;
}

function blockArgs(inputs: Parameters<CpuKernel>[0], ctx: CpuContext): [HostTensor, number, number[]] {
  const x = tensorArg(inputs, 0, ctx);
  const b = ctx.attrs.required('blocksize', 'int');
  if (b <= 0) throw new KernelInputError(ctx, `blocksize ${b} must be positive`);
  if (x.dims.length !== 4) throw new KernelInputError(ctx, `input must be 4-D, got rank ${x.dims.length}`);
  return [x, b, [...x.dims]];
}

const depthToSpace: CpuKernel = (inputs, ctx) => {
  const [x, b, [n, c, h, w]] = blockArgs(inputs, ctx) as [HostTensor, number, [number, number, number, number]];
  if (c % (b * b) !== 0) throw new KernelInputError(ctx, `channels ${c} are not divisible by blocksize² ${b * b}`);
  const c2 = c / (b * b);
  const outDims = [n, c2, h * b, w * b];
  const mode = ctx.attrs.string('mode', 'DCR');
  if (mode === 'DCR') return [permuteView(x, [n, b, b, c2, h, w], [0, 3, 4, 1, 5, 2], outDims)];
  if (mode === 'CRD') return [permuteView(x, [n, c2, b, b, h, w], [0, 1, 4, 2, 5, 3], outDims)];
  throw new KernelInputError(ctx, `unknown mode '${mode}' (DCR or CRD)`);
};

const spaceToDepth: CpuKernel = (inputs, ctx) => {
  const [x, b, [n, c, h, w]] = blockArgs(inputs, ctx) as [HostTensor, number, [number, number, number, number]];
  if (h % b !== 0 || w % b !== 0) throw new KernelInputError(ctx, `spatial dims ${h}x${w} are not divisible by blocksize ${b}`);
  return [permuteView(x, [n, c, h / b, b, w / b, b], [0, 3, 5, 1, 2, 4], [n, c * b * b, h / b, w / b])];
};

const trilu: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  if (r < 2) throw new KernelInputError(ctx, `input must have rank 2 or more, got ${r}`);
  const kt = optTensorArg(inputs, 1, ctx);
  const k = kt ? getNumber(kt, 0) : 0;
  const upper = ctx.attrs.int('upper', 1) === 1;
  const rows = x.dims[r - 2]!;
  const cols = x.dims[r - 1]!;
  const out = allocTensor(x.dtype, x.dims);
  const mats = prod(x.dims, 0, r - 2);
  const O = words(out.data);
  const X = words(x.data);
  // Kept columns of row i: j - i >= k (upper) or j - i <= k (lower); the rest stay zero.
  for (let m = 0; m < mats; m++) {
    for (let i = 0; i < rows; i++) {
      const lo = upper ? Math.min(Math.max(i + k, 0), cols) : 0;
      const hi = upper ? cols : Math.min(Math.max(i + k + 1, 0), cols);
      const row = (m * rows + i) * cols;
      if (hi > lo) copyElems(O, row + lo, X, row + lo, hi - lo);
    }
  }
  return [out];
};

const reverseSequence: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  if (r < 2) throw new KernelInputError(ctx, `input must have rank 2 or more, got ${r}`);
  const bAx = ctx.attrs.int('batch_axis', 1);
  const tAx = ctx.attrs.int('time_axis', 0);
  if (!((bAx === 0 && tAx === 1) || (bAx === 1 && tAx === 0))) {
    throw new KernelInputError(ctx, `batch_axis ${bAx} and time_axis ${tAx} must be 0 and 1 in some order`);
  }
  const lens = intList(tensorArg(inputs, 1, ctx), ctx, 'sequence_lens');
  const B = x.dims[bAx]!;
  const T = x.dims[tAx]!;
  if (lens.length !== B) throw new KernelInputError(ctx, `sequence_lens has ${lens.length} entries for batch size ${B}`);
  const inner = prod(x.dims, 2);
  const s = stridesOf(x.dims);
  const bs = s[bAx]!;
  const ts = s[tAx]!;
  const out = allocTensor(x.dtype, x.dims);
  const O = words(out.data);
  const X = words(x.data);
  for (let b = 0; b < B; b++) {
    const len = lens[b]!;
    if (len < 0 || len > T) throw new KernelInputError(ctx, `sequence_lens[${b}] = ${len} is outside [0, ${T}]`);
    for (let t = 0; t < T; t++) {
      const from = t < len ? len - 1 - t : t;
      copyElems(O, b * bs + t * ts, X, b * bs + from * ts, inner);
    }
  }
  return [out];
};

export const layoutKernels = {
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Expand: expand,
  Tile: tile,
  Pad: pad,
  CenterCropPad: centerCropPad,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  Trilu: trilu,
  ReverseSequence: reverseSequence,
} satisfies Record<string, CpuKernel>;
