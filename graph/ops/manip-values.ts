// Symbolic values of small shape tensors (ONNX "data propagation"): Shape(x) of a symbolic x is not a
// constant, but its contents are known dims ('N', 3, ...). Models build Reshape/Expand targets with
// Shape -> Gather/Slice -> Concat -> Reshape; following the dims through these ops keeps shapes precise.
//
// Wiring (proposed for graph/infer.ts, a shared file): keep a Map<value, Dim[]> beside the constants,
// give InferContext `symbolicValue(i)` reading it (constants count too), and after each node call
// `manipValueRules[opType]?.(ctx)` and store the result for output 0. Until then these rules are unused
// and the shape rules fall back to constants only.
import type { Dim } from '../ir.js';
import { constInts, shapeOf } from './shape-util.js';
import type { InferContext } from './types.js';
import { shapeRange, sliceRange } from './manip-util.js';

/** The proposed InferContext extension. */
export interface SymbolicValues {
  symbolicValue?(i: number): Dim[] | undefined;
}

/** Longest constant read as a list of dims: shape tensors are tiny, weights (e.g. a Concat of them) are not. */
const MAX_SHAPE_VALUES = 256;

/** Contents of a 1-D (or scalar) integer input: constant, else symbolic where the context propagates them. */
export function shapeInput(ctx: InferContext, i: number): Dim[] | undefined {
  const c = ctx.constant(i);
  if (c) return (c.dtype === 'int64' || c.dtype === 'int32') && c.data.length <= MAX_SHAPE_VALUES ? constInts(ctx, i) : undefined;
  return (ctx as InferContext & SymbolicValues).symbolicValue?.(i);
}

type ValueRule = (ctx: InferContext) => Dim[] | undefined;

export const manipValueRules: Record<string, ValueRule> = {
  Shape: (ctx) => {
    const s = shapeOf(ctx, 0);
    if (!s) return undefined;
    const [a, b] = shapeRange(s.length, ctx.attrs.int('start', 0), ctx.attrs.int('end'));
    return s.slice(a, b);
  },
  Size: (ctx) => {
    const s = shapeOf(ctx, 0);
    return s?.every((d) => typeof d === 'number') ? [s.reduce<number>((p, d) => p * (d as number), 1)] : undefined;
  },
  Identity: (ctx) => shapeInput(ctx, 0),
  Gather: (ctx) => {
    const v = shapeInput(ctx, 0);
    const idx = constInts(ctx, 1);
    if (!v || !idx || ctx.attrs.int('axis', 0) !== 0 || (shapeOf(ctx, 0)?.length ?? 1) > 1) return undefined;
    const out: Dim[] = [];
    for (const i of idx) {
      const j = i < 0 ? i + v.length : i;
      if (j < 0 || j >= v.length) return undefined;
      out.push(v[j]!);
    }
    return out;
  },
  Slice: (ctx) => {
    const v = shapeInput(ctx, 0);
    if (!v || ctx.opset < 10) return undefined;
    const [s, e] = [constInts(ctx, 1), constInts(ctx, 2)];
    const axes = ctx.node.inputs[3] ? constInts(ctx, 3) : [0];
    const steps = ctx.node.inputs[4] ? constInts(ctx, 4) : [1];
    if (!s || !e || !axes || !steps || s.length !== 1 || axes[0]! % 1 !== 0) return undefined;
    const { start, len } = sliceRange(v.length, s[0]!, e[0]!, steps[0]!);
    return Array.from({ length: len }, (_, k) => v[start + k * steps[0]!]!);
  },
  Concat: (ctx) => {
    const out: Dim[] = [];
    for (let i = 0; i < ctx.inputCount; i++) {
      const v = shapeInput(ctx, i);
      if (!v) return undefined;
      out.push(...v);
    }
    return out;
  },
  // Rank changes of a scalar or 1-D value leave its contents as they are.
  Unsqueeze: (ctx) => shapeInput(ctx, 0),
  Squeeze: (ctx) => shapeInput(ctx, 0),
  Reshape: (ctx) => {
    const v = shapeInput(ctx, 0);
    return v && v.length <= 1 ? v : undefined;
  },
  Cast: (ctx) => {
    const to = ctx.attrs.int('to');
    return to === 7 || to === 6 ? shapeInput(ctx, 0) : undefined;
  },
};
