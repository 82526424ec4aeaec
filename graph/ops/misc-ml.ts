// Shape rules of the ai.onnx.ml ops with node tests.
import type { DType } from '../dtype.js';
import type { Dim } from '../ir.js';
import { dtypeOf, shapeOf, tensorOut } from './shape-util.js';
import { op, type OpSchema, type ShapeRule } from './types.js';

const ML = { domain: 'ai.onnx.ml' };

const arrayFeatureRule: ShapeRule = (ctx) => {
  const x = shapeOf(ctx, 0);
  const y = shapeOf(ctx, 1);
  if (!x || !y || x.length === 0) return [tensorOut(dtypeOf(ctx, 0))];
  let k = 1;
  for (const d of y) {
    if (typeof d !== 'number') return [tensorOut(dtypeOf(ctx, 0))];
    k *= d;
  }
  return [tensorOut(dtypeOf(ctx, 0), [...(x.length === 1 ? [1] : x.slice(0, -1)), k])];
};

const labelEncoderRule: ShapeRule = (ctx) => {
  const a = ctx.attrs;
  let dt: DType | undefined;
  if (ctx.opset < 2) dt = dtypeOf(ctx, 0) === 'string' ? 'int64' : 'string';
  else if (a.has('values_tensor')) dt = a.tensor('values_tensor')!.dtype;
  else if (a.has('values_strings')) dt = 'string';
  else if (a.has('values_int64s')) dt = 'int64';
  else dt = 'float32';
  return [tensorOut(dt, shapeOf(ctx, 0))];
};

const treeEnsembleRule: ShapeRule = (ctx) => {
  const x = shapeOf(ctx, 0);
  const n = ctx.attrs.int('n_targets');
  return [tensorOut(dtypeOf(ctx, 0), x && n !== undefined ? [x[0]!, n] : undefined)];
};

/** Rows of a [N, F] or [F] input. */
function rowsOf(ctx: Parameters<ShapeRule>[0]): Dim | undefined {
  const x = shapeOf(ctx, 0);
  if (!x) return undefined;
  return x.length === 2 ? x[0] : 1;
}

const featuresF32Rule: ShapeRule = (ctx) => {
  const x = shapeOf(ctx, 0);
  return [tensorOut('float32', x ? (x.length === 1 ? [...x] : x) : undefined)];
};

const perRowRule = (count: (ctx: Parameters<ShapeRule>[0]) => number): ShapeRule => (ctx) => {
  const n = rowsOf(ctx);
  return [tensorOut('float32', n === undefined ? undefined : [n, count(ctx)])];
};

export const mlOps = {
  'ai.onnx.ml:ArrayFeatureExtractor': op(arrayFeatureRule, { ...ML, doc: 'Gather along the last axis' }),
  'ai.onnx.ml:Binarizer': op((ctx) => [ctx.inputs[0]], { ...ML, doc: '1 where x > threshold, else 0' }),
  'ai.onnx.ml:LabelEncoder': op(labelEncoderRule, { ...ML, doc: 'Map keys to values with a default' }),
  'ai.onnx.ml:TreeEnsemble': op(treeEnsembleRule, { ...ML, since: 5, doc: 'Tree ensemble regression' }),
  'ai.onnx.ml:TreeEnsembleRegressor': op(perRowRule((ctx) => ctx.attrs.int('n_targets', 1)), { ...ML, doc: 'Tree ensemble regression (deprecated form)' }),
  'ai.onnx.ml:TreeEnsembleClassifier': op((ctx) => {
    const n = rowsOf(ctx);
    const strs = ctx.attrs.strings('classlabels_strings');
    const labels = strs && strs.length ? strs.length : ctx.attrs.ints('classlabels_int64s', []).length;
    return [tensorOut(strs && strs.length ? 'string' : 'int64', n === undefined ? undefined : [n]), tensorOut('float32', n === undefined ? undefined : [n, labels])];
  }, { ...ML, doc: 'Tree ensemble classification: labels and class scores' }),
  'ai.onnx.ml:Scaler': op(featuresF32Rule, { ...ML, doc: '(x - offset) * scale' }),
  'ai.onnx.ml:Normalizer': op(featuresF32Rule, { ...ML, doc: 'Row normalization by MAX, L1 or L2' }),
  'ai.onnx.ml:LinearRegressor': op(perRowRule((ctx) => ctx.attrs.int('targets', 1)), { ...ML, doc: 'Linear regression' }),
  'ai.onnx.ml:Imputer': op((ctx) => [ctx.inputs[0]], { ...ML, doc: 'Replace missing values' }),
  'ai.onnx.ml:OneHotEncoder': op((ctx) => {
    const x = shapeOf(ctx, 0);
    const n = (ctx.attrs.strings('cats_strings') ?? ctx.attrs.ints('cats_int64s') ?? []).length;
    return [tensorOut('float32', x ? [...x, n] : undefined)];
  }, { ...ML, doc: 'One-hot encoding over listed categories' }),
  'ai.onnx.ml:CategoryMapper': op((ctx) => [tensorOut(dtypeOf(ctx, 0) === 'string' ? 'int64' : 'string', shapeOf(ctx, 0))], { ...ML, doc: 'Map strings to ints or back' }),
} satisfies Record<string, OpSchema>;
