// CPU kernels of the manip family that only change shapes or make new tensors:
// Identity, Constant, Reshape, Squeeze, Unsqueeze, Flatten, Shape, Size, ConstantOfShape, Range, EyeLike, Dropout.
import { dtypeFromOnnx, isBig, type DType } from '../../graph/dtype.js';
import { shapeRange, rangeCount } from '../../graph/ops/manip-util.js';
import { type HostTensor, allocTensor, checkedSize, getNumber, makeTensor, setElement } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg, optTensorArg } from './util.js';
import { type Elems, intList, normAxesK, withDims, prod } from './manip-util.js';

const identity: CpuKernel = (inputs, ctx) => {
  const v = inputs[0];
  if (v === undefined) throw new KernelInputError(ctx, 'input 0 is required');
  return [v];
};

const constant: CpuKernel = (_inputs, ctx) => {
  const a = ctx.node.attributes;
  const t = a.value ?? a.sparse_value;
  if (t && (t.kind === 'tensor' || t.kind === 'sparse')) return [t.value];
  const vec = <D extends DType>(dtype: D, vals: readonly (number | string)[], dims: number[]) => {
    const out = allocTensor(dtype, dims);
    vals.forEach((v, i) => setElement(out, i, v));
    return out;
  };
  if (a.value_float?.kind === 'float' || a.value_float?.kind === 'int') return [vec('float32', [a.value_float.value], [])];
  if (a.value_floats?.kind === 'floats' || a.value_floats?.kind === 'ints') return [vec('float32', a.value_floats.value, [a.value_floats.value.length])];
  if (a.value_int?.kind === 'int') return [vec('int64', [a.value_int.value], [])];
  if (a.value_ints?.kind === 'ints') return [vec('int64', a.value_ints.value, [a.value_ints.value.length])];
  if (a.value_string?.kind === 'string') return [vec('string', [a.value_string.value], [])];
  if (a.value_strings?.kind === 'strings') return [vec('string', a.value_strings.value, [a.value_strings.value.length])];
  throw new KernelInputError(ctx, 'Constant needs one of value, sparse_value, value_float(s), value_int(s), value_string(s)');
};

/** Reshape's output dims: 0 copies the input dim (unless allowzero), one -1 takes what is left. */
export function reshapeDims(inDims: readonly number[], target: readonly number[], allowzero: boolean, ctx: CpuContext): number[] {
  const out: number[] = [];
  let neg = -1;
  let known = 1;
  for (let i = 0; i < target.length; i++) {
    let t = target[i]!;
    if (t === -1) {
      if (neg >= 0) throw new KernelInputError(ctx, `shape [${target.join(',')}] has more than one -1`);
      neg = i;
      out.push(1);
      continue;
    }
    if (t === 0 && !allowzero) {
      if (i >= inDims.length) throw new KernelInputError(ctx, `shape [${target.join(',')}] copies dim ${i} (0), which input rank ${inDims.length} lacks`);
      t = inDims[i]!;
    } else if (t < 0) throw new KernelInputError(ctx, `shape [${target.join(',')}] has an invalid dim ${t}`);
    out.push(t);
    known *= t;
  }
  const total = prod(inDims);
  if (neg >= 0) {
    if (allowzero && target.includes(0)) throw new KernelInputError(ctx, 'shape has both 0 and -1 while allowzero is set');
    if (known === 0 || total % known !== 0) {
      throw new KernelInputError(ctx, `cannot reshape [${inDims.join(',')}] into [${target.join(',')}]: the -1 dim does not divide evenly`);
    }
    out[neg] = total / known;
  } else if (known !== total) {
    throw new KernelInputError(ctx, `cannot reshape [${inDims.join(',')}] (${total} elements) into [${out.join(',')}] (${known})`);
  }
  return out;
}

const reshape: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const target = ctx.opset < 5 ? ctx.attrs.required('shape', 'ints') : intList(tensorArg(inputs, 1, ctx), ctx, 'shape');
  return [withDims(x, reshapeDims(x.dims, target, ctx.attrs.int('allowzero', 0) === 1, ctx))];
};

/** Axes from the attribute (before `inputFrom`) or from input 1. */
function axesArg(inputs: Parameters<CpuKernel>[0], ctx: CpuContext, inputFrom: number): number[] | undefined {
  if (ctx.opset < inputFrom) return ctx.attrs.ints('axes');
  const t = optTensorArg(inputs, 1, ctx);
  return t ? intList(t, ctx, 'axes') : undefined;
}

const squeeze: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const axes = axesArg(inputs, ctx, 13);
  if (!axes) return [withDims(x, x.dims.filter((d) => d !== 1))];
  const ax = normAxesK(axes, x.dims.length, ctx);
  for (const a of ax) if (x.dims[a] !== 1) throw new KernelInputError(ctx, `cannot squeeze axis ${a} of size ${x.dims[a]}`);
  return [withDims(x, x.dims.filter((_, i) => !ax.includes(i)))];
};

const unsqueeze: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const axes = axesArg(inputs, ctx, 13);
  if (!axes) throw new KernelInputError(ctx, 'Unsqueeze needs axes');
  const rank = x.dims.length + axes.length;
  const ax = normAxesK(axes, rank, ctx);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : x.dims[k++]!);
  return [withDims(x, out)];
};

const flatten: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const r = x.dims.length;
  let axis = ctx.attrs.int('axis', 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis > r) throw new KernelInputError(ctx, `axis ${ctx.attrs.int('axis', 1)} is out of range for rank ${r}`);
  return [withDims(x, [prod(x.dims, 0, axis), prod(x.dims, axis)])];
};

const shape: CpuKernel = (inputs, ctx) => {
  // Only dims are read: shape inference calls this with a data-less placeholder.
  const x = tensorArg(inputs, 0, ctx);
  const [a, b] = shapeRange(x.dims.length, ctx.attrs.int('start', 0), ctx.attrs.int('end'));
  const out = allocTensor('int64', [b - a]);
  for (let i = a; i < b; i++) out.data[i - a] = BigInt(x.dims[i]!);
  return [out];
};

const size: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  return [makeTensor('int64', [], BigInt64Array.of(BigInt(prod(x.dims))))];
};

const constantOfShape: CpuKernel = (inputs, ctx) => {
  const dims = intList(tensorArg(inputs, 0, ctx), ctx, 'shape');
  if (dims.some((d) => d < 0)) throw new KernelInputError(ctx, `shape [${dims.join(',')}] has a negative dim`);
  const v = ctx.attrs.tensor('value');
  if (v && v.data.length !== 1) throw new KernelInputError(ctx, `value must hold one element, has ${v.data.length}`);
  const out = allocTensor(v?.dtype ?? 'float32', dims);
  if (v) (out.data as { fill(x: unknown): unknown }).fill((v.data as Elems)[0]);
  return [out];
};

const range: CpuKernel = (inputs, ctx) => {
  const [s, l, d] = [0, 1, 2].map((i) => tensorArg(inputs, i, ctx)) as [HostTensor, HostTensor, HostTensor];
  for (const t of [s, l, d]) {
    if (t.data.length !== 1) throw new KernelInputError(ctx, `start, limit and delta must be scalars, got [${t.dims.join(',')}]`);
    if (t.dtype !== s.dtype) throw new KernelInputError(ctx, `start, limit and delta differ in dtype (${s.dtype}, ${t.dtype})`);
  }
  if (isBig(s.dtype)) {
    // Exact bigint arithmetic: int64 ranges may go past 2^53.
    const a = (s.data as BigInt64Array)[0]!, b = (l.data as BigInt64Array)[0]!, c = (d.data as BigInt64Array)[0]!;
    if (c === 0n) throw new KernelInputError(ctx, 'Range delta is 0');
    const diff = b - a;
    let n = diff / c + (diff % c !== 0n && (diff > 0n) === (c > 0n) ? 1n : 0n);
    if (n < 0n) n = 0n;
    const out = allocTensor(s.dtype, [checkedSize([Number(n)], 'Range output')]);
    const o = out.data as BigInt64Array;
    for (let i = 0; i < o.length; i++) o[i] = a + BigInt(i) * c;
    return [out];
  }
  const a = getNumber(s, 0), b = getNumber(l, 0), c = getNumber(d, 0);
  if (c === 0) throw new KernelInputError(ctx, 'Range delta is 0');
  const n = rangeCount(a, b, c);
  if (!Number.isFinite(n)) throw new KernelInputError(ctx, `Range(${a}, ${b}, ${c}) has no finite length`);
  const out = allocTensor(s.dtype, [n]);
  if (s.dtype === 'float16' || s.dtype === 'bfloat16') for (let i = 0; i < n; i++) setElement(out, i, a + i * c);
  else {
    const o = out.data as Float64Array;
    for (let i = 0; i < n; i++) o[i] = a + i * c;
  }
  return [out];
};

const eyeLike: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (x.dims.length !== 2) throw new KernelInputError(ctx, `input must be 2-D, got rank ${x.dims.length}`);
  const code = ctx.attrs.int('dtype');
  const dt = code === undefined ? x.dtype : dtypeFromOnnx(code);
  if (!dt || dt === 'string') throw new KernelInputError(ctx, `dtype ${code} is not supported by EyeLike`);
  const k = ctx.attrs.int('k', 0);
  const [r, c] = x.dims as [number, number];
  const out = allocTensor(dt, [r, c]);
  for (let i = Math.max(0, -k); i < r && i + k < c; i++) setElement(out, i * c + i + k, 1);
  return [out];
};

/** Dropout: identity in inference; training mode with ratio > 0 drops at random (scaled by 1/(1-ratio)). */
const dropout: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  let ratio = ctx.attrs.float('ratio', 0.5);
  let training = false;
  if (ctx.opset >= 12) {
    const r = optTensorArg(inputs, 1, ctx);
    if (r) ratio = getNumber(r, 0);
    const t = optTensorArg(inputs, 2, ctx);
    training = !!t && getNumber(t, 0) !== 0;
  }
  if (ratio < 0 || ratio >= 1) {
    if (training) throw new KernelInputError(ctx, `ratio ${ratio} must be in [0, 1)`);
  }
  const wantMask = ctx.node.outputs.length > 1 && !!ctx.node.outputs[1];
  const maskType: DType = ctx.opset >= 10 ? 'bool' : x.dtype;
  if (!training || ratio === 0) {
    if (!wantMask) return [x];
    const mask = allocTensor(maskType, x.dims);
    if (maskType === 'bool') (mask.data as Uint8Array).fill(1);
    else for (let i = 0; i < mask.data.length; i++) setElement(mask, i, 1);
    return [x, mask];
  }
  const y = allocTensor(x.dtype, x.dims);
  const mask = allocTensor('bool', x.dims);
  const rand = seededRandom(ctx.attrs.int('seed'));
  const scale = 1 / (1 - ratio);
  for (let i = 0; i < x.data.length; i++) {
    const keep = rand() >= ratio;
    mask.data[i] = keep ? 1 : 0;
    setElement(y, i, keep ? getNumber(x, i) * scale : 0);
  }
  return wantMask ? [y, mask] : [y];
};

/** mulberry32: a small seeded generator; unseeded runs draw their seed from Math.random. */
function seededRandom(seed: number | undefined): () => number {
  let s = (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const shapeKernels = {
  Identity: identity,
  Constant: constant,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Flatten: flatten,
  Shape: shape,
  Size: size,
  ConstantOfShape: constantOfShape,
  Range: range,
  EyeLike: eyeLike,
  Dropout: dropout,
} satisfies Record<string, CpuKernel>;
