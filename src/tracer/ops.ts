// The tensor operations, each mapped onto IR ops (ai.onnx opset 18). Composites (gelu, silu,
// layerNorm without weights, stack, linear) are written here once and serve eager and traced code.
import type { DType } from '../../graph/dtype.js';
import { InputError } from '../../graph/errors.js';
import type { Attr, Dim } from '../../graph/ir.js';
import { apply1, attr, int64s, pair, toTg, hostFrom } from './core.js';
import { TracerOpError } from './errors.js';
import { userSourceLine } from './source.js';
import { currentTrace } from './trace.js';
import { type TensorLike, TgTensor, bindOps } from './tensor.js';
import { ONNX_CODE } from '../../graph/dtype.js';
import * as self from './ops.js';

type Axes = number | readonly number[] | undefined;
const axesList = (a: number | readonly number[]): number[] => (typeof a === 'number' ? [a] : [...a]);

// ---- creation ----

/** A tensor from a typed array or nested arrays: `tg.tensor([[1, 2], [3, 4]])`, `tg.tensor(f32, [2, 2])`. */
export function tensor(data: TensorLike | readonly unknown[], dims?: readonly number[], dtype?: DType): TgTensor {
  if (data instanceof TgTensor) return dtype && dtype !== data.dtype ? cast(data, dtype) : data;
  if (typeof data === 'number' || typeof data === 'boolean' || typeof data === 'bigint') return TgTensor.fromHost(hostFrom([data], dims ?? [], dtype), currentTrace() === undefined);
  const t = toTg(data as TensorLike, dtype);
  // A fresh tensor the caller owns (tracked by tg.memory); made inside a trace it is a constant of
  // the graph, not a tensor the caller holds, so it is not counted.
  return TgTensor.fromHost(dims ? hostFrom(t.host().data, dims, dtype) : t.host(), currentTrace() === undefined);
}
export function scalar(value: number | boolean | bigint, dtype?: DType): TgTensor {
  return tensor(value, [], dtype);
}
export function zeros(shape: readonly number[], dtype: DType = 'float32'): TgTensor {
  return TgTensor.fromHost(hostFrom(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape, dtype));
}
export function ones(shape: readonly number[], dtype: DType = 'float32'): TgTensor {
  return TgTensor.fromHost(hostFrom(new Float64Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape, dtype));
}

// ---- elementwise ----

function binary(op: string, sameType = true) {
  return (a: TensorLike, b: TensorLike): TgTensor => {
    const [x, y] = pair(a, b);
    if (sameType && x.dtype !== y.dtype) {
      throw new TracerOpError(op, [x.dtype, y.dtype], `operands have different dtypes (${x.dtype} and ${y.dtype}); convert one with tg.cast`, userSourceLine());
    }
    return apply1(op, [x, y]);
  };
}
function unary(op: string) {
  return (x: TensorLike): TgTensor => apply1(op, [toTg(x)]);
}

export const add = binary('Add');
export const sub = binary('Sub');
export const mul = binary('Mul');
export const div = binary('Div');
export const pow = binary('Pow', false);
export const maximum = binary('Max');
export const minimum = binary('Min');
export const equal = binary('Equal');
export const greater = binary('Greater');
export const greaterEqual = binary('GreaterOrEqual');
export const less = binary('Less');
export const lessEqual = binary('LessOrEqual');
export const logicalAnd = binary('And');
export const logicalOr = binary('Or');
export const logicalXor = binary('Xor');
export const logicalNot = unary('Not');
export function notEqual(a: TensorLike, b: TensorLike): TgTensor {
  return logicalNot(equal(a, b));
}
export function mod(a: TensorLike, b: TensorLike): TgTensor {
  const [x, y] = pair(a, b);
  const float = x.dtype.startsWith('float') || x.dtype === 'bfloat16';
  return apply1('Mod', [x, y], float ? { fmod: attr.int(1) } : {});
}

export const neg = unary('Neg');
export const abs = unary('Abs');
export const exp = unary('Exp');
export const log = unary('Log');
export const sqrt = unary('Sqrt');
export const reciprocal = unary('Reciprocal');
export const sin = unary('Sin');
export const cos = unary('Cos');
export const tanh = unary('Tanh');
export const sigmoid = unary('Sigmoid');
export const relu = unary('Relu');
export const erf = unary('Erf');
export const floor = unary('Floor');
export const ceil = unary('Ceil');
export const round = unary('Round');
export const sign = unary('Sign');
export const softplus = unary('Softplus');
export const identity = unary('Identity');
export function rsqrt(x: TensorLike): TgTensor {
  return reciprocal(sqrt(x));
}
export function square(x: TensorLike): TgTensor {
  const t = toTg(x);
  return mul(t, t);
}
export function leakyRelu(x: TensorLike, alpha = 0.01): TgTensor {
  return apply1('LeakyRelu', [toTg(x)], { alpha: attr.float(alpha) });
}
export function elu(x: TensorLike, alpha = 1): TgTensor {
  return apply1('Elu', [toTg(x)], { alpha: attr.float(alpha) });
}
/** GELU (erf form): 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: TensorLike): TgTensor {
  const t = toTg(x);
  return mul(mul(t, 0.5), add(erf(div(t, Math.SQRT2)), 1));
}
/** SiLU / swish: x * sigmoid(x). */
export function silu(x: TensorLike): TgTensor {
  const t = toTg(x);
  return mul(t, sigmoid(t));
}
export function clip(x: TensorLike, min?: number, max?: number): TgTensor {
  const t = toTg(x);
  return apply1('Clip', [t, min === undefined ? undefined : toTg(min, t.dtype), max === undefined ? undefined : toTg(max, t.dtype)]);
}
/** Elementwise choice: `cond ? a : b` with broadcasting. */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): TgTensor {
  const [x, y] = pair(a, b);
  return apply1('Where', [toTg(cond, 'bool'), x, y]);
}
export function cast(x: TensorLike, dtype: DType): TgTensor {
  return apply1('Cast', [toTg(x)], { to: attr.int(ONNX_CODE[dtype]) });
}

// ---- linear algebra and nn ----

export const matmul = binary('MatMul');
/** x @ w + b (w is [in, out]). */
export function linear(x: TensorLike, w: TensorLike, b?: TensorLike): TgTensor {
  const y = matmul(x, w);
  return b === undefined ? y : add(y, b);
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  /** Zero padding per side, [top, left, bottom, right] (ONNX order), or 'same' / 'valid'. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number] | 'same' | 'valid';
  dilation?: number | readonly [number, number];
  groups?: number;
}
const two = (v: number | readonly number[] | undefined, dflt: number): number[] => (v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [...v]);

function padAttrs(padding: Conv2dOptions['padding']): Record<string, Attr> {
  if (padding === 'same') return { auto_pad: attr.string('SAME_UPPER') };
  if (padding === undefined || padding === 'valid') return {};
  const p = typeof padding === 'number' ? [padding, padding, padding, padding] : padding.length === 2 ? [padding[0]!, padding[1]!, padding[0]!, padding[1]!] : [...padding];
  return { pads: attr.ints(p) };
}

/** 2-D convolution, NCHW input, weight [out, in/groups, kh, kw]. */
export function conv2d(x: TensorLike, w: TensorLike, b?: TensorLike, opts: Conv2dOptions = {}): TgTensor {
  const xt = toTg(x);
  const wt = toTg(w, xt.dtype);
  return apply1('Conv', [xt, wt, b === undefined ? undefined : toTg(b, xt.dtype)], {
    strides: attr.ints(two(opts.stride, 1)),
    dilations: attr.ints(two(opts.dilation, 1)),
    group: attr.int(opts.groups ?? 1),
    ...padAttrs(opts.padding),
  });
}

export interface Pool2dOptions {
  stride?: number | readonly [number, number];
  padding?: Conv2dOptions['padding'];
}
function pool(op: string, x: TensorLike, kernel: number | readonly [number, number], opts: Pool2dOptions): TgTensor {
  const k = two(kernel, 1);
  return apply1(op, [toTg(x)], { kernel_shape: attr.ints(k), strides: attr.ints(opts.stride === undefined ? k : two(opts.stride, 1)), ...padAttrs(opts.padding) });
}
export function maxPool2d(x: TensorLike, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): TgTensor {
  return pool('MaxPool', x, kernel, opts);
}
export function avgPool2d(x: TensorLike, kernel: number | readonly [number, number], opts: Pool2dOptions = {}): TgTensor {
  return pool('AveragePool', x, kernel, opts);
}
export function globalAvgPool(x: TensorLike): TgTensor {
  return apply1('GlobalAveragePool', [toTg(x)]);
}

export function softmax(x: TensorLike, axis = -1): TgTensor {
  return apply1('Softmax', [toTg(x)], { axis: attr.int(axis) });
}
export function logSoftmax(x: TensorLike, axis = -1): TgTensor {
  return apply1('LogSoftmax', [toTg(x)], { axis: attr.int(axis) });
}

export interface LayerNormOptions {
  /** First normalized axis (normalizes it and every later axis); default -1. */
  axis?: number;
  epsilon?: number;
}
/** Layer normalization over the trailing axes from `axis`; weight and bias are optional. */
export function layerNorm(x: TensorLike, weight?: TensorLike, bias?: TensorLike, opts: LayerNormOptions = {}): TgTensor {
  const xt = toTg(x);
  const axis = opts.axis ?? -1;
  const epsilon = opts.epsilon ?? 1e-5;
  if (weight !== undefined) {
    return apply1('LayerNormalization', [xt, toTg(weight, xt.dtype), bias === undefined ? undefined : toTg(bias, xt.dtype)], { axis: attr.int(axis), epsilon: attr.float(epsilon) });
  }
  // Composite (no scale to give LayerNormalization): (x - mean) / sqrt(var + eps) (+ bias).
  const rank = xt.rank;
  const first = axis < 0 ? axis + rank : axis;
  const axes = Array.from({ length: rank - first }, (_, i) => first + i);
  const centered = sub(xt, mean(xt, axes, true));
  const y = div(centered, sqrt(add(mean(mul(centered, centered), axes, true), epsilon)));
  return bias === undefined ? y : add(y, bias);
}

// ---- reductions ----

function reduce(op: string, x: TensorLike, axes: Axes, keepDims: boolean): TgTensor {
  const t = toTg(x);
  return apply1(op, [t, axes === undefined ? undefined : int64s(axesList(axes))], { keepdims: attr.int(keepDims ? 1 : 0) });
}
export function sum(x: TensorLike, axes?: Axes, keepDims = false): TgTensor {
  return reduce('ReduceSum', x, axes, keepDims);
}
export function mean(x: TensorLike, axes?: Axes, keepDims = false): TgTensor {
  return reduce('ReduceMean', x, axes, keepDims);
}
export function max(x: TensorLike, axes?: Axes, keepDims = false): TgTensor {
  return reduce('ReduceMax', x, axes, keepDims);
}
export function min(x: TensorLike, axes?: Axes, keepDims = false): TgTensor {
  return reduce('ReduceMin', x, axes, keepDims);
}
export function prod(x: TensorLike, axes?: Axes, keepDims = false): TgTensor {
  return reduce('ReduceProd', x, axes, keepDims);
}
export function argMax(x: TensorLike, axis = 0, keepDims = false): TgTensor {
  return apply1('ArgMax', [toTg(x)], { axis: attr.int(axis), keepdims: attr.int(keepDims ? 1 : 0) });
}
export function argMin(x: TensorLike, axis = 0, keepDims = false): TgTensor {
  return apply1('ArgMin', [toTg(x)], { axis: attr.int(axis), keepdims: attr.int(keepDims ? 1 : 0) });
}

// ---- shape and layout ----

/** Reshape; a -1 entry takes the remaining size, 0 copies the input dim. */
export function reshape(x: TensorLike, shape: readonly number[] | TgTensor): TgTensor {
  return apply1('Reshape', [toTg(x), shape instanceof TgTensor ? shape : int64s(shape)]);
}
export function transpose(x: TensorLike, perm?: readonly number[]): TgTensor {
  const t = toTg(x);
  return apply1('Transpose', [t], { perm: attr.ints(perm ?? Array.from({ length: t.rank }, (_, i) => t.rank - 1 - i)) });
}
export function flatten(x: TensorLike, axis = 1): TgTensor {
  return apply1('Flatten', [toTg(x)], { axis: attr.int(axis) });
}
export function squeeze(x: TensorLike, axes?: Axes): TgTensor {
  return apply1('Squeeze', [toTg(x), axes === undefined ? undefined : int64s(axesList(axes))]);
}
export function unsqueeze(x: TensorLike, axes: number | readonly number[]): TgTensor {
  return apply1('Unsqueeze', [toTg(x), int64s(axesList(axes))]);
}
export function expand(x: TensorLike, shape: readonly number[]): TgTensor {
  return apply1('Expand', [toTg(x), int64s(shape)]);
}
export function slice(x: TensorLike, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): TgTensor {
  if (starts.length !== ends.length) throw new InputError(`slice: ${starts.length} starts but ${ends.length} ends`);
  return apply1('Slice', [toTg(x), int64s(starts), int64s(ends), axes ? int64s(axes) : undefined, steps ? int64s(steps) : undefined]);
}
export function concat(xs: readonly TensorLike[], axis = 0): TgTensor {
  if (xs.length === 0) throw new InputError('concat needs at least one tensor');
  const first = toTg(xs[0]!);
  return apply1('Concat', xs.map((x) => toTg(x, first.dtype)), { axis: attr.int(axis) });
}
export function stack(xs: readonly TensorLike[], axis = 0): TgTensor {
  return concat(xs.map((x) => unsqueeze(x, axis)), axis);
}
export function gather(x: TensorLike, indices: TensorLike, axis = 0): TgTensor {
  return apply1('Gather', [toTg(x), toTg(indices, 'int64')], { axis: attr.int(axis) });
}
export interface PadOptions {
  mode?: 'constant' | 'reflect' | 'edge';
  value?: number;
}
/** Pad with `pads` in ONNX order: [begin of each axis..., end of each axis...]. */
export function pad(x: TensorLike, pads: readonly number[], opts: PadOptions = {}): TgTensor {
  const t = toTg(x);
  return apply1('Pad', [t, int64s(pads), opts.value === undefined ? undefined : toTg(opts.value, t.dtype)], { mode: attr.string(opts.mode ?? 'constant') });
}
/** The shape as an int64 tensor (works with symbolic dims). */
export function shapeOf(x: TensorLike): TgTensor {
  return apply1('Shape', [toTg(x)]);
}
/** The dims of a tensor (a symbolic dim is a string inside a traced function). */
export function dims(x: TgTensor): readonly Dim[] {
  return x.shape;
}

bindOps(self);
