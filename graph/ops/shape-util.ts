// Helpers for shape rules: broadcasting with symbolic dims, axis handling, common rules.
import type { DType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import type { Dim, TensorType, ValueType } from '../ir.js';
import type { InferContext, ShapeRule } from './types.js';

export function tensorIn(ctx: InferContext, i: number): TensorType | undefined {
  const t = ctx.inputs[i];
  return t && t.kind === 'tensor' ? t : undefined;
}

export function shapeOf(ctx: InferContext, i: number): Dim[] | undefined {
  return tensorIn(ctx, i)?.shape;
}

export function dtypeOf(ctx: InferContext, i: number): DType | undefined {
  return tensorIn(ctx, i)?.dtype;
}

export function fail(ctx: InferContext, message: string): never {
  throw new ShapeError(message, ctx.node.name, ctx.node.opType);
}

/** NumPy broadcasting of two shapes; symbolic dims broadcast against 1 and against equal symbols. */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[], ctx?: InferContext): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = new Array<Dim>(n);
  for (let i = 0; i < n; i++) {
    const x = i - (n - a.length) >= 0 ? a[i - (n - a.length)]! : 1;
    const y = i - (n - b.length) >= 0 ? b[i - (n - b.length)]! : 1;
    if (x === y) out[i] = x;
    else if (x === 1) out[i] = y;
    else if (y === 1) out[i] = x;
    else if (typeof x === 'string') out[i] = y; // a symbol must equal the concrete size to broadcast
    else if (typeof y === 'string') out[i] = x;
    else {
      const msg = `shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`;
      if (ctx) fail(ctx, msg);
      throw new ShapeError(msg);
    }
  }
  return out;
}

/** Broadcast all given input shapes; undefined if any rank is unknown. */
export function broadcastInputs(ctx: InferContext, indices?: number[]): Dim[] | undefined {
  const idx = indices ?? [...Array(ctx.inputCount).keys()];
  let out: Dim[] = [];
  for (const i of idx) {
    const s = shapeOf(ctx, i);
    if (!s) return undefined;
    out = broadcastDims(out, s, ctx);
  }
  return out;
}

/** Normalize a possibly negative axis against a rank, with a typed error when out of range. */
export function normAxis(axis: number, rank: number, ctx?: InferContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    const msg = `axis ${axis} is out of range for rank ${rank}`;
    if (ctx) fail(ctx, msg);
    throw new ShapeError(msg);
  }
  return a;
}

export function tensorOut(dtype: DType | undefined, shape?: Dim[]): ValueType | undefined {
  if (!dtype) return undefined;
  return shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype };
}

/** Output 0 has input 0's type. */
export const sameAsInput: ShapeRule = (ctx) => [ctx.inputs[0]];

/** Output has the broadcast shape of all inputs and input 0's dtype. */
export const broadcastSameType: ShapeRule = (ctx) => [tensorOut(dtypeOf(ctx, 0), broadcastInputs(ctx))];

/** Output has the broadcast shape and bool dtype (comparisons). */
export const broadcastBool: ShapeRule = (ctx) => [tensorOut('bool', broadcastInputs(ctx))];

/** Multiply dims that may be symbolic: a known product, else a symbol naming the expression. */
export function mulDims(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (a === 1) return b;
  if (b === 1) return a;
  return `${a}*${b}`;
}

/** Integer list from a constant input (e.g. Reshape's shape), or undefined when not constant. */
export function constInts(ctx: InferContext, i: number): number[] | undefined {
  const t = ctx.constant(i);
  if (!t) return undefined;
  const out: number[] = [];
  for (let k = 0; k < t.data.length; k++) out.push(Number((t.data as ArrayLike<number | bigint>)[k]));
  return out;
}
