// Op schemas and shape rules: linalg family (matrix products, Einsum, Det).
import type { DType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import type { Dim } from '../ir.js';
import type { InferContext, OpSchema, ShapeRule } from './types.js';
import { op } from './types.js';
import { broadcastDims, dtypeOf, fail, shapeOf, tensorOut } from './shape-util.js';

/** Output dims of numpy.matmul on two shapes (1-D operands are promoted and the added dim dropped). */
export function matmulDims(a: readonly Dim[], b: readonly Dim[], ctx?: InferContext): Dim[] {
  const err = (m: string): never => {
    if (ctx) fail(ctx, m);
    throw new ShapeError(m);
  };
  if (a.length === 0 || b.length === 0) err('MatMul operands must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const ka = a2[a2.length - 1]!;
  const kb = b2[b2.length - 2]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    err(`inner dims differ: [${a.join(',')}] @ [${b.join(',')}]`);
  }
  const batch = broadcastDims(a2.slice(0, -2), b2.slice(0, -2), ctx);
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]!);
  if (b.length > 1) out.push(b2[b2.length - 1]!);
  return out;
}

function matmulRule(dtype: (ctx: InferContext) => DType | undefined): ShapeRule {
  return (ctx) => {
    const bi = ctx.node.opType === 'QLinearMatMul' ? 3 : 1;
    const a = shapeOf(ctx, 0);
    const b = shapeOf(ctx, bi);
    return [tensorOut(dtype(ctx), a && b ? matmulDims(a, b, ctx) : undefined)];
  };
}

const gemmRule: ShapeRule = (ctx) => {
  const a = shapeOf(ctx, 0);
  const b = shapeOf(ctx, 1);
  const dtype = dtypeOf(ctx, 0);
  if (!a || !b) return [tensorOut(dtype)];
  if (a.length !== 2 || b.length !== 2) fail(ctx, `A and B must be 2-D, got [${a.join(',')}] and [${b.join(',')}]`);
  const tA = ctx.attrs.int('transA', 0) !== 0;
  const tB = ctx.attrs.int('transB', 0) !== 0;
  const [M, Ka] = tA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [Kb, N] = tB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (typeof Ka === 'number' && typeof Kb === 'number' && Ka !== Kb) fail(ctx, `inner dims differ: ${Ka} and ${Kb}`);
  return [tensorOut(dtype, [M, N])];
};

/** An Einsum equation with ellipses expanded: one label per axis of each operand, and the output labels. */
export interface EinsumSpec {
  inputs: string[][];
  output: string[];
}

/**
 * Parse an Einsum equation for operands of the given ranks. Ellipsis dims get labels '.0', '.1', ...
 * aligned from the right across operands (they broadcast). Without '->' the output is the ellipsis dims
 * followed by the labels used once, in alphabetical order.
 */
export function parseEinsum(equation: string, ranks: readonly number[]): EinsumSpec {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const rhs = arrow >= 0 ? eq.slice(arrow + 2) : undefined;
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) throw new ShapeError(`equation '${equation}' has ${terms.length} operands but the node has ${ranks.length} inputs`);
  const split = (term: string): { letters: string[]; ell: number } => {
    const letters: string[] = [];
    let ell = -1;
    for (let i = 0; i < term.length; i++) {
      if (term.startsWith('...', i)) {
        if (ell >= 0) throw new ShapeError(`equation '${equation}' has two ellipses in one term`);
        ell = letters.length;
        i += 2;
      } else if (/[a-zA-Z]/.test(term[i]!)) letters.push(term[i]!);
      else throw new ShapeError(`equation '${equation}' has an invalid character '${term[i]}'`);
    }
    return { letters, ell };
  };
  const parsed = terms.map(split);
  let maxEll = 0;
  parsed.forEach((p, k) => {
    const e = ranks[k]! - p.letters.length;
    if (e < 0 || (e > 0 && p.ell < 0)) throw new ShapeError(`equation term '${terms[k]}' does not fit an operand of rank ${ranks[k]}`);
    maxEll = Math.max(maxEll, e);
  });
  const ellLabels = (n: number) => Array.from({ length: n }, (_, i) => `.${maxEll - n + i}`);
  const inputs = parsed.map((p, k) => {
    if (p.ell < 0) return p.letters;
    const e = ranks[k]! - p.letters.length;
    return [...p.letters.slice(0, p.ell), ...ellLabels(e), ...p.letters.slice(p.ell)];
  });
  let output: string[];
  if (rhs !== undefined) {
    const o = split(rhs);
    output = o.ell < 0 ? o.letters : [...o.letters.slice(0, o.ell), ...ellLabels(maxEll), ...o.letters.slice(o.ell)];
    const seen = new Set<string>();
    for (const l of o.letters) {
      if (seen.has(l)) throw new ShapeError(`equation '${equation}' repeats '${l}' in the output`);
      seen.add(l);
      if (!parsed.some((p) => p.letters.includes(l))) throw new ShapeError(`equation '${equation}' has output label '${l}' no operand has`);
    }
  } else {
    const count = new Map<string, number>();
    for (const p of parsed) for (const l of p.letters) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, c]) => c === 1).map(([l]) => l).sort();
    output = [...ellLabels(maxEll), ...once];
  }
  return { inputs, output };
}

const einsumRule: ShapeRule = (ctx) => {
  const dtype = dtypeOf(ctx, 0);
  const shapes = Array.from({ length: ctx.inputCount }, (_, i) => shapeOf(ctx, i));
  if (shapes.some((s) => !s)) return [tensorOut(dtype)];
  let spec: EinsumSpec;
  try {
    spec = parseEinsum(ctx.attrs.required('equation', 'string'), shapes.map((s) => s!.length));
  } catch (e) {
    fail(ctx, (e as Error).message);
  }
  const sizes = new Map<string, Dim>();
  spec.inputs.forEach((labels, k) => {
    labels.forEach((l, ax) => {
      const d = shapes[k]![ax]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      else if (d !== 1 && d !== prev) {
        if (typeof d === 'number' && typeof prev === 'number') fail(ctx, `label '${l}' has sizes ${prev} and ${d}`);
        if (typeof prev === 'string' && typeof d === 'number') sizes.set(l, d);
      }
    });
  });
  return [tensorOut(dtype, spec.output.map((l) => sizes.get(l)!))];
};

const detRule: ShapeRule = (ctx) => {
  const s = shapeOf(ctx, 0);
  const dtype = dtypeOf(ctx, 0);
  if (!s) return [tensorOut(dtype)];
  if (s.length < 2) fail(ctx, `input must have rank >= 2, got ${s.length}`);
  const [m, n] = s.slice(-2);
  if (typeof m === 'number' && typeof n === 'number' && m !== n) fail(ctx, `matrices must be square, got ${m}x${n}`);
  return [tensorOut(dtype, s.slice(0, -2))];
};

export const linalgOps = {
  MatMul: op(matmulRule((ctx) => dtypeOf(ctx, 0)), { doc: 'numpy.matmul: batched, broadcasting matrix product' }),
  Gemm: op(gemmRule, { doc: 'alpha * op(A) @ op(B) + beta * C' }),
  Einsum: op(einsumRule, { since: 12, doc: 'Einstein summation' }),
  MatMulInteger: op(matmulRule(() => 'int32'), { since: 10, doc: 'Integer matmul with zero points, int32 result' }),
  QLinearMatMul: op(matmulRule((ctx) => dtypeOf(ctx, 7) ?? dtypeOf(ctx, 0)), { since: 10, doc: 'Quantized matmul' }),
  Det: op(detRule, { since: 11, doc: 'Determinant of square matrices' }),
} satisfies Record<string, OpSchema>;
