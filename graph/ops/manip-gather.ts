// Shape rules of the manip family's indexing ops: Gather*, Scatter*, TensorScatter.
import type { Dim, ValueType } from '../ir.js';
import { dtypeOf, fail, normAxis, shapeOf, tensorOut } from './shape-util.js';
import { op, type InferContext, type OpSchema } from './types.js';

function checkIndexType(ctx: InferContext, i: number): void {
  const d = dtypeOf(ctx, i);
  if (d && d !== 'int32' && d !== 'int64') fail(ctx, `indices must be int32 or int64, got ${d}`);
}

function gatherRule(ctx: InferContext): (ValueType | undefined)[] {
  checkIndexType(ctx, 1);
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const q = shapeOf(ctx, 1);
  if (!s || !q) return [tensorOut(dt)];
  if (!s.length) fail(ctx, 'data must have rank 1 or more');
  const axis = normAxis(ctx.attrs.int('axis', 0), s.length, ctx);
  return [tensorOut(dt, [...s.slice(0, axis), ...q, ...s.slice(axis + 1)])];
}

function gatherElementsRule(ctx: InferContext): (ValueType | undefined)[] {
  checkIndexType(ctx, 1);
  const s = shapeOf(ctx, 0);
  const q = shapeOf(ctx, 1);
  if (s && q && s.length !== q.length) fail(ctx, `data rank ${s.length} and indices rank ${q.length} differ`);
  if (s) normAxis(ctx.attrs.int('axis', 0), s.length, ctx);
  return [tensorOut(dtypeOf(ctx, 0), q)];
}

function gatherNDRule(ctx: InferContext): (ValueType | undefined)[] {
  checkIndexType(ctx, 1);
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const q = shapeOf(ctx, 1);
  const b = ctx.attrs.int('batch_dims', 0);
  if (!s || !q) return [tensorOut(dt)];
  if (!q.length) fail(ctx, 'indices must have rank 1 or more');
  const k = q[q.length - 1]!;
  if (typeof k !== 'number') return [tensorOut(dt)];
  if (b < 0 || b >= Math.min(s.length, q.length)) fail(ctx, `batch_dims ${b} must be less than both ranks (${s.length}, ${q.length})`);
  if (k < 1 || b + k > s.length) fail(ctx, `indices' last dim ${k} plus batch_dims ${b} exceeds data rank ${s.length}`);
  return [tensorOut(dt, [...q.slice(0, -1), ...s.slice(b + k)])];
}

/** Scatter ops: output is data's type; indices/updates shapes checked where known. */
function scatterElementsRule(ctx: InferContext): (ValueType | undefined)[] {
  checkIndexType(ctx, 1);
  const s = shapeOf(ctx, 0);
  const q = shapeOf(ctx, 1);
  const u = shapeOf(ctx, 2);
  if (s && q && s.length !== q.length) fail(ctx, `data rank ${s.length} and indices rank ${q.length} differ`);
  if (q && u && (q.length !== u.length || q.some((d, i) => typeof d === 'number' && typeof u[i] === 'number' && d !== u[i]))) {
    fail(ctx, `indices [${q.join(',')}] and updates [${u.join(',')}] differ in shape`);
  }
  return [ctx.inputs[0]];
}

function scatterNDRule(ctx: InferContext): (ValueType | undefined)[] {
  checkIndexType(ctx, 1);
  const s = shapeOf(ctx, 0);
  const q = shapeOf(ctx, 1);
  const u = shapeOf(ctx, 2);
  if (s && q && u && q.length) {
    const k = q[q.length - 1]!;
    if (typeof k === 'number') {
      if (k > s.length) fail(ctx, `indices' last dim ${k} exceeds data rank ${s.length}`);
      const want: Dim[] = [...q.slice(0, -1), ...s.slice(k)];
      const bad = want.length !== u.length || want.some((d, i) => typeof d === 'number' && typeof u[i] === 'number' && d !== u[i]);
      if (bad) fail(ctx, `updates [${u.join(',')}] should have shape [${want.join(',')}]`);
    }
  }
  return [ctx.inputs[0]];
}

export const gatherOps = {
  Gather: op(gatherRule),
  GatherElements: op(gatherElementsRule, { since: 11 }),
  GatherND: op(gatherNDRule, { since: 11 }),
  Scatter: op(scatterElementsRule, { since: 9 }),
  ScatterElements: op(scatterElementsRule, { since: 11 }),
  ScatterND: op(scatterNDRule, { since: 11 }),
  TensorScatter: op((ctx) => [ctx.inputs[0]], { since: 24 }),
} satisfies Record<string, OpSchema>;
