// Shape rules of the training-preview optimizers and the random generators.
import { type DType, dtypeFromOnnx } from '../dtype.js';
import type { ValueType } from '../ir.js';
import { dtypeOf, fail, shapeOf, tensorOut } from './shape-util.js';
import { op, type InferContext, type OpSchema, type ShapeRule } from './types.js';

const TRAIN = { domain: 'ai.onnx.preview.training' };

/** Optimizer outputs: each group of state tensors has the types of the matching X inputs' groups. */
function optimizerRule(groups: number): ShapeRule {
  return (ctx) => {
    const rest = ctx.inputCount - 2;
    if (rest <= 0 || rest % groups !== 0) fail(ctx, `expected R, T and ${groups} equal groups of tensors, got ${ctx.inputCount} inputs`);
    const n = rest / groups;
    const out: (ValueType | undefined)[] = [];
    // Outputs: new X's, then one group per state input (V/H), each typed like its input.
    for (let g = 0; g < groups; g++) if (g !== 1) for (let i = 0; i < n; i++) out.push(ctx.inputs[2 + g * n + i]);
    return out;
  };
}

function dtypeAttr(ctx: InferContext, dflt: DType | undefined): DType | undefined {
  const code = ctx.attrs.int('dtype');
  return code === undefined ? dflt : dtypeFromOnnx(code);
}

const randomRule: ShapeRule = (ctx) => [tensorOut(dtypeAttr(ctx, 'float32'), ctx.attrs.ints('shape'))];
const randomLikeRule: ShapeRule = (ctx) => [tensorOut(dtypeAttr(ctx, dtypeOf(ctx, 0)), shapeOf(ctx, 0))];
const multinomialRule: ShapeRule = (ctx) => {
  const s = shapeOf(ctx, 0);
  return [tensorOut(dtypeAttr(ctx, 'int32'), s ? [s[0]!, ctx.attrs.int('sample_size', 1)] : undefined)];
};

export const trainOps = {
  'ai.onnx.preview.training:Adagrad': op(optimizerRule(3), { ...TRAIN, doc: 'Adagrad step' }),
  'ai.onnx.preview.training:Momentum': op(optimizerRule(3), { ...TRAIN, doc: 'SGD with (Nesterov) momentum step' }),
  'ai.onnx.preview.training:Adam': op(optimizerRule(4), { ...TRAIN, doc: 'Adam step' }),
} satisfies Record<string, OpSchema>;

export const randomOps = {
  RandomNormal: op(randomRule, { since: 1, doc: 'Normal samples of a given shape' }),
  RandomUniform: op(randomRule, { since: 1, doc: 'Uniform samples of a given shape' }),
  RandomNormalLike: op(randomLikeRule, { since: 1, doc: 'Normal samples shaped like the input' }),
  RandomUniformLike: op(randomLikeRule, { since: 1, doc: 'Uniform samples shaped like the input' }),
  Bernoulli: op(randomLikeRule, { since: 15, doc: 'Bernoulli draws with the input as probabilities' }),
  Multinomial: op(multinomialRule, { since: 7, doc: 'Class samples from unnormalized log-probabilities' }),
} satisfies Record<string, OpSchema>;
