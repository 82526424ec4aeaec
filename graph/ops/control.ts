// Op schemas and shape rules: control family. Output types come from the subgraphs' declared
// output types (the subgraphs are inferred after the node), merged where branches differ.
import type { Dim, Graph, ValueType } from '../ir.js';
import { fail, tensorIn } from './shape-util.js';
import { op, type InferContext, type OpSchema } from './types.js';

function graphOf(ctx: InferContext, name: string): Graph {
  const g = ctx.attrs.graph(name);
  if (!g) fail(ctx, `attribute '${name}' (a graph) is required`);
  return g;
}

/** A type both `a` and `b` fit: differing dims become fresh symbols, differing ranks unknown. */
export function mergeTypes(a: ValueType | undefined, b: ValueType | undefined, sym: string): ValueType | undefined {
  if (!a || !b) return a ?? b;
  if (a.kind === 'tensor' && b.kind === 'tensor') {
    if (a.dtype !== b.dtype) return undefined;
    if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { kind: 'tensor', dtype: a.dtype };
    return { kind: 'tensor', dtype: a.dtype, shape: a.shape.map((d, i) => (d === b.shape![i] ? d : `${sym}_d${i}`)) };
  }
  if (a.kind === 'sequence' && b.kind === 'sequence') return { kind: 'sequence', elem: mergeTypes(a.elem, b.elem, sym) };
  if (a.kind === 'optional' && b.kind === 'optional') return { kind: 'optional', elem: mergeTypes(a.elem, b.elem, sym) };
  return undefined;
}

const ifRule = (ctx: InferContext): (ValueType | undefined)[] => {
  const thenG = graphOf(ctx, 'then_branch');
  const elseG = graphOf(ctx, 'else_branch');
  if (thenG.outputs.length !== elseG.outputs.length) fail(ctx, `then_branch has ${thenG.outputs.length} outputs, else_branch ${elseG.outputs.length}`);
  return thenG.outputs.map((o, i) => {
    const sym = `${ctx.node.name}_out${i}`;
    return mergeTypes(o.type, elseG.outputs[i]!.type, sym);
  });
};

/** Scan outputs: the per-iteration type with the iteration count inserted at `axis`. */
function stacked(t: ValueType | undefined, axis: number, count: Dim): ValueType | undefined {
  if (!t || t.kind !== 'tensor') return undefined;
  if (!t.shape) return { kind: 'tensor', dtype: t.dtype };
  const r = t.shape.length + 1;
  const a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r) return { kind: 'tensor', dtype: t.dtype };
  const shape = [...t.shape];
  shape.splice(a, 0, count);
  return { kind: 'tensor', dtype: t.dtype, shape };
}

const loopRule = (ctx: InferContext): (ValueType | undefined)[] => {
  const body = graphOf(ctx, 'body');
  const N = ctx.node.inputs.length - 2;
  if (body.inputs.length !== N + 2) fail(ctx, `body has ${body.inputs.length} inputs, expected ${N + 2}`);
  const K = body.outputs.length - 1 - N;
  if (K < 0) fail(ctx, `body has ${body.outputs.length} outputs, expected at least ${N + 1}`);
  const out: (ValueType | undefined)[] = [];
  for (let i = 0; i < N; i++) {
    const sym = `${ctx.node.name}_v${i}`;
    // A carried value keeps its initial type when the body agrees; an optional may turn into its element.
    const body_t = body.outputs[1 + i]!.type;
    const init = ctx.inputs[2 + i];
    out.push(init && body_t && init.kind === body_t.kind ? mergeTypes(init, body_t, sym) : body_t ?? init);
  }
  // The trip count stays symbolic: even without a cond input, onnxruntime stops when the body's cond turns false.
  const trips: Dim = `${ctx.node.name}_trips`;
  for (let k = 0; k < K; k++) out.push(stacked(body.outputs[1 + N + k]!.type, 0, trips));
  return out;
};

const scanRule = (ctx: InferContext): (ValueType | undefined)[] => {
  const body = graphOf(ctx, 'body');
  const M = ctx.attrs.int('num_scan_inputs', 0);
  const first = ctx.opset >= 9 ? 0 : 1;
  const N = ctx.node.inputs.length - first - M;
  if (M < 1 || N < 0) fail(ctx, `num_scan_inputs = ${M} does not fit ${ctx.node.inputs.length} inputs`);
  const K = body.outputs.length - N;
  if (K < 0) fail(ctx, `body has ${body.outputs.length} outputs, expected at least ${N}`);
  const out: (ValueType | undefined)[] = [];
  for (let i = 0; i < N; i++) out.push(ctx.inputs[first + i] ?? body.outputs[i]!.type);
  // The scan length, from the first scan input's shape.
  const scan0 = tensorIn(ctx, first + N);
  let len: Dim = `${ctx.node.name}_len`;
  let batch: Dim | undefined;
  if (ctx.opset >= 9) {
    const ax = ctx.attrs.ints('scan_input_axes')?.[0] ?? 0;
    if (scan0?.shape) {
      const a = ax < 0 ? ax + scan0.shape.length : ax;
      if (scan0.shape[a] !== undefined) len = scan0.shape[a]!;
    }
  } else if (scan0?.shape && scan0.shape.length >= 2) {
    batch = scan0.shape[0];
    len = scan0.shape[1]!;
  }
  const axes = ctx.opset >= 9 ? ctx.attrs.ints('scan_output_axes') : undefined;
  for (let k = 0; k < K; k++) {
    const per = body.outputs[N + k]!.type;
    const t = stacked(per, axes?.[k] ?? 0, len);
    out.push(batch !== undefined ? stacked(t, 0, batch) : ctx.opset >= 9 ? t : t && t.kind === 'tensor' ? { kind: 'tensor', dtype: t.dtype } : undefined);
  }
  return out;
};

export const controlOps = {
  If: op(ifRule, { since: 1, doc: 'Runs then_branch or else_branch' }),
  Loop: op(loopRule, { since: 1, doc: 'Runs body while the trip count and condition allow; stacks scan outputs' }),
  Scan: op(scanRule, { since: 8, doc: 'Runs body over slices of the scan inputs, carrying state' }),
} satisfies Record<string, OpSchema>;
