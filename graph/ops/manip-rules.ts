// Helpers for the manip family's shape rules: fresh symbols for data-dependent dims, dim arithmetic.
import { type DType, dtypeFromOnnx } from '../dtype.js';
import type { Dim } from '../ir.js';
import { constInts, fail } from './shape-util.js';
import type { InferContext } from './types.js';

/** Whether optional input i was given (not omitted with ''). */
export function given(ctx: InferContext, i: number): boolean {
  return !!ctx.node.inputs[i];
}

/**
 * A symbol for a dim whose size is not known statically. Named after the output value (unique in
 * its graph), so two unknown dims never compare equal by accident.
 */
export function fresh(ctx: InferContext, out: number, i: number | string): Dim {
  return `${ctx.node.outputs[out] || ctx.node.name}:${i}`;
}

export function freshDims(ctx: InferContext, out: number, rank: number): Dim[] {
  return Array.from({ length: rank }, (_, i) => fresh(ctx, out, i));
}

/** d + n for a dim that may be symbolic. */
export function addDim(d: Dim, n: number): Dim {
  if (n === 0) return d;
  if (typeof d === 'number') return d + n;
  return n > 0 ? `${d}+${n}` : `${d}-${-n}`;
}

export function sumDims(ds: readonly Dim[]): Dim {
  let num = 0;
  const syms: string[] = [];
  for (const d of ds) {
    if (typeof d === 'number') num += d;
    else syms.push(d);
  }
  if (!syms.length) return num;
  return num ? `${syms.join('+')}+${num}` : syms.join('+');
}

/** Integer list from an attribute (before `inputFrom`) or from constant input i (from `inputFrom` on). */
export function intsAttrOrInput(ctx: InferContext, name: string, i: number, inputFrom: number): { known: boolean; value?: number[] } {
  if (ctx.opset < inputFrom) {
    const v = ctx.attrs.ints(name);
    return { known: true, value: v };
  }
  if (!given(ctx, i)) return { known: true, value: undefined };
  const v = constInts(ctx, i);
  return v ? { known: true, value: v } : { known: false };
}

/** Normalize axes against a rank, refusing out-of-range and repeated axes. */
export function normAxes(ctx: InferContext, axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) fail(ctx, `axis ${a} is out of range for rank ${rank}`);
    return n;
  });
  if (new Set(out).size !== out.length) fail(ctx, `axes [${axes.join(',')}] repeat an axis`);
  return out;
}

export function dtypeAttr(ctx: InferContext, name: string): DType | undefined {
  const code = ctx.attrs.int(name);
  if (code === undefined) return undefined;
  const d = dtypeFromOnnx(code);
  if (!d) fail(ctx, `attribute '${name}' names an unsupported element type (${code})`);
  return d;
}

/** Product of dims when all are numbers. */
export function numProduct(ds: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of ds) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}
