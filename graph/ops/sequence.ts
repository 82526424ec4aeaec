// Op schemas and shape rules: sequence family (tensor sequences and optionals).
import { dtypeFromOnnx } from '../dtype.js';
import type { Dim, ValueType } from '../ir.js';
import { mergeTypes } from './control.js';
import { constInts, fail, shapeOf, tensorIn } from './shape-util.js';
import { op, type InferContext, type OpSchema } from './types.js';

function seqIn(ctx: InferContext, i: number): Extract<ValueType, { kind: 'sequence' }> | undefined {
  const t = ctx.inputs[i];
  if (t && t.kind !== 'sequence') fail(ctx, `input ${i} should be a sequence, got a ${t.kind}`);
  return t;
}

const seqOf = (elem: ValueType | undefined): ValueType => ({ kind: 'sequence', elem });

/** The element type of a sequence input, as a tensor type. */
function elemOf(ctx: InferContext, i: number): ValueType | undefined {
  const e = seqIn(ctx, i)?.elem;
  return e && e.kind === 'tensor' ? e : undefined;
}

const sym = (ctx: InferContext, what: string): string => `${ctx.node.name}_${what}`;

const splitToSequence = (ctx: InferContext): (ValueType | undefined)[] => {
  const x = tensorIn(ctx, 0);
  if (!x) return [seqOf(undefined)];
  if (!x.shape) return [seqOf({ kind: 'tensor', dtype: x.dtype })];
  const r = x.shape.length;
  const a0 = ctx.attrs.int('axis', 0);
  if (a0 < -r || a0 >= r) fail(ctx, `axis ${a0} is out of range for rank ${r}`);
  const axis = a0 < 0 ? a0 + r : a0;
  const shape: Dim[] = [...x.shape];
  if (ctx.inputCount < 2) {
    if (ctx.attrs.int('keepdims', 1) !== 0) shape[axis] = 1;
    else shape.splice(axis, 1);
  } else {
    const split = constInts(ctx, 1);
    // Equal sizes make the item shape exact; otherwise the split axis is unknown.
    const even = split && shapeOf(ctx, 1)?.length === 1 && split.every((s) => s === split[0]) ? split[0] : undefined;
    shape[axis] = even ?? sym(ctx, 'split');
  }
  return [seqOf({ kind: 'tensor', dtype: x.dtype, shape })];
};

const concatFromSequence = (ctx: InferContext): (ValueType | undefined)[] => {
  const e = elemOf(ctx, 0);
  if (!e || e.kind !== 'tensor') return [undefined];
  if (!e.shape) return [{ kind: 'tensor', dtype: e.dtype }];
  const newAxis = ctx.attrs.int('new_axis', 0) !== 0;
  const r = e.shape.length + (newAxis ? 1 : 0);
  const a0 = ctx.attrs.int('axis', 0);
  if (a0 < -r || a0 >= r) fail(ctx, `axis ${a0} is out of range for rank ${r}`);
  const axis = a0 < 0 ? a0 + r : a0;
  const shape = [...e.shape];
  if (newAxis) shape.splice(axis, 0, sym(ctx, 'count'));
  else shape[axis] = sym(ctx, 'concat');
  return [{ kind: 'tensor', dtype: e.dtype, shape }];
};

const sequenceMap = (ctx: InferContext): (ValueType | undefined)[] => {
  const body = ctx.attrs.graph('body');
  if (!body) fail(ctx, "attribute 'body' (a graph) is required");
  return body.outputs.map((o) => {
    const t = o.type;
    return seqOf(t && t.kind === 'tensor' ? { kind: 'tensor', dtype: t.dtype, ...(t.shape ? { shape: t.shape.map((d, i) => (typeof d === 'number' ? d : `${ctx.node.name}_${o.name}_d${i}`)) } : {}) } : undefined);
  });
};

export const sequenceOps = {
  SequenceEmpty: op((ctx) => {
    const code = ctx.attrs.int('dtype', 1);
    const dtype = dtypeFromOnnx(code);
    if (!dtype) fail(ctx, `dtype ${code} is not supported`);
    return [seqOf({ kind: 'tensor', dtype })];
  }, { since: 11, doc: 'An empty sequence of the given dtype' }),
  SequenceConstruct: op((ctx) => {
    let e: ValueType | undefined = ctx.inputs[0];
    for (let i = 1; i < ctx.inputCount; i++) e = mergeTypes(e, ctx.inputs[i], sym(ctx, 'elem'));
    return [seqOf(e)];
  }, { since: 11, doc: 'A sequence of the input tensors' }),
  SequenceInsert: op((ctx) => [seqOf(mergeTypes(elemOf(ctx, 0), ctx.inputs[1], sym(ctx, 'elem')))], { since: 11, doc: 'Inserts a tensor at a position' }),
  SequenceAt: op((ctx) => [elemOf(ctx, 0)], { since: 11, doc: 'The tensor at a position' }),
  SequenceErase: op((ctx) => [seqIn(ctx, 0) ?? seqOf(undefined)], { since: 11, doc: 'Removes the tensor at a position' }),
  SequenceLength: op(() => [{ kind: 'tensor', dtype: 'int64', shape: [] }], { since: 11, doc: 'Number of tensors in a sequence' }),
  SplitToSequence: op(splitToSequence, { since: 11, doc: 'Splits a tensor into a sequence along an axis' }),
  ConcatFromSequence: op(concatFromSequence, { since: 11, doc: 'Concatenates (or stacks) a sequence along an axis' }),
  SequenceMap: op(sequenceMap, { since: 17, doc: 'Runs body on each element of the input sequences' }),
  Optional: op((ctx) => {
    if (ctx.inputCount > 0) return [{ kind: 'optional', elem: ctx.inputs[0] }];
    const t = ctx.attrs.type('type');
    if (!t) fail(ctx, "an Optional without input needs the 'type' attribute");
    return [{ kind: 'optional', elem: t }];
  }, { since: 15, doc: 'An optional holding the input, or an empty one of the given type' }),
  OptionalHasElement: op(() => [{ kind: 'tensor', dtype: 'bool', shape: [] }], { since: 15, doc: 'Whether an optional holds a value' }),
  OptionalGetElement: op((ctx) => {
    const t = ctx.inputs[0];
    return [t && t.kind === 'optional' ? t.elem : t];
  }, { since: 15, doc: 'The value an optional holds' }),
} satisfies Record<string, OpSchema>;
