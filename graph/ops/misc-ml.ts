// Shape rules of the ai.onnx.ml ops with node tests.
import type { DType } from '../dtype.js';
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

export const mlOps = {
  'ai.onnx.ml:ArrayFeatureExtractor': op(arrayFeatureRule, { ...ML, doc: 'Gather along the last axis' }),
  'ai.onnx.ml:Binarizer': op((ctx) => [ctx.inputs[0]], { ...ML, doc: '1 where x > threshold, else 0' }),
  'ai.onnx.ml:LabelEncoder': op(labelEncoderRule, { ...ML, doc: 'Map keys to values with a default' }),
  'ai.onnx.ml:TreeEnsemble': op(treeEnsembleRule, { ...ML, since: 5, doc: 'Tree ensemble regression' }),
} satisfies Record<string, OpSchema>;
