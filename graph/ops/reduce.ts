// Op schemas and shape rules: reduce family (reductions, arg-reductions, softmax-likes, scans, TopK, losses).
import type { Dim, ValueType } from '../ir.js';
import type { InferContext, OpSchema, ShapeRule } from './types.js';
import { op } from './types.js';
import { constInts, dtypeOf, fail, normAxis, sameAsInput, shapeOf, tensorOut } from './shape-util.js';

/** The opset from which a reduction reads `axes` from input 1 instead of the attribute. */
export function axesInputSince(opType: string): number {
  return opType === 'ReduceSum' ? 13 : 18;
}

/** Output dims of a reduction over `axes` (already normalized; empty = all). */
export function reducedDims<T>(dims: readonly T[], axes: readonly number[], keepdims: boolean, one: T): T[] {
  const all = axes.length === 0;
  const out: T[] = [];
  dims.forEach((d, i) => {
    if (all || axes.includes(i)) {
      if (keepdims) out.push(one);
    } else out.push(d);
  });
  return out;
}

const reduceRule: ShapeRule = (ctx) => {
  const dtype = dtypeOf(ctx, 0);
  const shape = shapeOf(ctx, 0);
  const keep = ctx.attrs.int('keepdims', 1) !== 0;
  const fromInput = ctx.opset >= axesInputSince(ctx.node.opType);
  let axes: number[] | undefined;
  if (fromInput) {
    if (ctx.inputCount < 2) axes = [];
    else axes = constInts(ctx, 1);
  } else axes = ctx.attrs.ints('axes', []);
  const noop = fromInput && ctx.attrs.int('noop_with_empty_axes', 0) !== 0;
  if (!shape) return [tensorOut(dtype)];
  if (axes === undefined) return [keep ? tensorOut(dtype, shape.map((_, i) => `${ctx.node.name}_d${i}`)) : tensorOut(dtype)];
  if (axes.length === 0 && noop) return [tensorOut(dtype, shape)];
  const norm = axes.map((a) => normAxis(a, shape.length, ctx));
  return [tensorOut(dtype, reducedDims<Dim>(shape, norm, keep, 1))];
};

const argRule: ShapeRule = (ctx) => {
  const shape = shapeOf(ctx, 0);
  if (!shape) return [tensorOut('int64')];
  const axis = normAxis(ctx.attrs.int('axis', 0), shape.length, ctx);
  return [tensorOut('int64', reducedDims<Dim>(shape, [axis], ctx.attrs.int('keepdims', 1) !== 0, 1))];
};

const softmaxRule: ShapeRule = (ctx) => {
  const shape = shapeOf(ctx, 0);
  if (shape) normAxis(ctx.attrs.int('axis', ctx.opset >= 13 ? -1 : 1), Math.max(shape.length, 1), ctx);
  return [ctx.inputs[0]];
};

const scanRule: ShapeRule = sameAsInput;

const topkRule: ShapeRule = (ctx) => {
  const dtype = dtypeOf(ctx, 0);
  const shape = shapeOf(ctx, 0);
  if (!shape) return [tensorOut(dtype), tensorOut('int64')];
  const axis = normAxis(ctx.attrs.int('axis', -1), shape.length, ctx);
  let k: Dim | undefined;
  if (ctx.opset < 10) k = ctx.attrs.required('k', 'int');
  else k = constInts(ctx, 1)?.[0];
  if (k === undefined) return [tensorOut(dtype), tensorOut('int64')];
  const d = shape[axis]!;
  if (typeof d === 'number' && (k < 0 || k > d)) fail(ctx, `k = ${k} is out of range for axis ${axis} of size ${d}`);
  const out = shape.slice();
  out[axis] = k;
  return [tensorOut(dtype, out), tensorOut('int64', out)];
};

function lossShape(ctx: InferContext): Dim[] | undefined {
  const reduction = ctx.attrs.string('reduction', 'mean');
  if (reduction !== 'none' && reduction !== 'mean' && reduction !== 'sum') fail(ctx, `unknown reduction '${reduction}'`);
  if (reduction !== 'none') return [];
  const x = shapeOf(ctx, 0);
  const t = shapeOf(ctx, 1);
  if (t) return t;
  if (x) {
    if (x.length < 2) fail(ctx, `input should have rank >= 2 (N, C, ...), got rank ${x.length}`);
    return [x[0]!, ...x.slice(2)];
  }
  return undefined;
}

const nllRule: ShapeRule = (ctx) => [tensorOut(dtypeOf(ctx, 0), lossShape(ctx))];

const sceRule: ShapeRule = (ctx) => {
  const outs: (ValueType | undefined)[] = [tensorOut(dtypeOf(ctx, 0), lossShape(ctx))];
  if (ctx.node.outputs.length > 1) outs.push(ctx.inputs[0]);
  return outs;
};

export const reduceOps = {
  ReduceSum: op(reduceRule, { doc: 'Sum over axes' }),
  ReduceMean: op(reduceRule, { doc: 'Mean over axes' }),
  ReduceMax: op(reduceRule, { doc: 'Maximum over axes' }),
  ReduceMin: op(reduceRule, { doc: 'Minimum over axes' }),
  ReduceProd: op(reduceRule, { doc: 'Product over axes' }),
  ReduceL1: op(reduceRule, { doc: 'Sum of absolute values over axes' }),
  ReduceL2: op(reduceRule, { doc: 'Euclidean norm over axes' }),
  ReduceLogSum: op(reduceRule, { doc: 'log(sum(x)) over axes' }),
  ReduceLogSumExp: op(reduceRule, { doc: 'log(sum(exp(x))) over axes' }),
  ReduceSumSquare: op(reduceRule, { doc: 'Sum of squares over axes' }),
  ArgMax: op(argRule, { doc: 'Index of the maximum along an axis' }),
  ArgMin: op(argRule, { doc: 'Index of the minimum along an axis' }),
  Softmax: op(softmaxRule, { doc: 'exp(x) / sum(exp(x)) along an axis' }),
  LogSoftmax: op(softmaxRule, { doc: 'log of Softmax' }),
  Hardmax: op(softmaxRule, { doc: '1 at the first maximum along an axis, else 0' }),
  CumSum: op(scanRule, { since: 11, doc: 'Cumulative sum along an axis' }),
  CumProd: op(scanRule, { since: 26, doc: 'Cumulative product along an axis' }),
  TopK: op(topkRule, { doc: 'The k largest (or smallest) elements along an axis, and their indices' }),
  NegativeLogLikelihoodLoss: op(nllRule, { since: 12, doc: 'Negative log likelihood loss' }),
  SoftmaxCrossEntropyLoss: op(sceRule, { since: 12, doc: 'Softmax cross-entropy loss' }),
} satisfies Record<string, OpSchema>;
