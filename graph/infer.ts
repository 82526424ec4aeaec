// Shape and dtype inference over a graph: each node's registry rule, with constants propagated
// through small shape-arithmetic nodes (Shape -> Gather -> Concat -> Reshape) by the CPU kernels.
import { AttrReader } from './attrs.js';
import { ShapeError, TgraphError } from './errors.js';
import type { Dim, Graph, Node, ValueType } from './ir.js';
import { manipValueRules } from './ops/manip-values.js';
import { findSchema } from './ops/index.js';
import type { InferContext } from './ops/types.js';
import type { HostTensor } from './tensor.js';

/** Runs one node on constant inputs (the CPU kernels); injected to keep this layer below the kernels. */
export type ConstantEvaluator = (node: Node, inputs: (HostTensor | undefined)[], opsets: Readonly<Record<string, number>>) => HostTensor[] | undefined;

export interface InferOptions {
  readonly opsets: Readonly<Record<string, number>>;
  /** Throw the first ShapeError instead of recording it. */
  readonly strict?: boolean;
  readonly evaluate?: ConstantEvaluator;
  /** Largest constant (elements) that propagation will compute. */
  readonly maxConstantElements?: number;
}

export interface InferResult {
  readonly types: Map<string, ValueType>;
  readonly constants: Map<string, HostTensor>;
  readonly errors: ShapeError[];
}

export function typeOfTensor(t: HostTensor): ValueType {
  return { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] };
}

/** Infer the types of every value of `graph` (and of its subgraphs); fills `graph.valueInfo`. */
export function inferGraph(graph: Graph, opts: InferOptions, outer?: ReadonlyMap<string, ValueType>, outerConstants?: ReadonlyMap<string, HostTensor>): InferResult {
  const types = new Map<string, ValueType>(outer ?? []);
  const constants = new Map<string, HostTensor>(outerConstants ?? []);
  const errors: ShapeError[] = [];
  for (const [name, t] of graph.initializers) {
    types.set(name, typeOfTensor(t));
    constants.set(name, t);
  }
  for (const i of graph.inputs) {
    if (i.type) types.set(i.name, i.type);
    // An initializer listed as an input may be overridden by a feed: not a constant.
    if (graph.initializers.has(i.name)) constants.delete(i.name);
  }
  const maxConst = opts.maxConstantElements ?? 4096;
  // Symbolic contents of shape tensors (ONNX data propagation), for Reshape/Expand targets.
  const symbolic = new Map<string, Dim[]>();
  for (const node of graph.nodes) {
    const schema = findSchema(node.domain, node.opType);
    const inputs = node.inputs.map((n) => (n ? types.get(n) : undefined));
    let inputCount = node.inputs.length;
    while (inputCount > 0 && !node.inputs[inputCount - 1]) inputCount--;
    let outs: (ValueType | undefined)[] = [];
    if (schema) {
      const ctx: InferContext = {
        node,
        opset: opts.opsets[node.domain] ?? 1,
        attrs: new AttrReader(node),
        inputs,
        inputCount,
        constant: (i) => (node.inputs[i] ? constants.get(node.inputs[i]!) : undefined),
        symbolicValue: (i) => (node.inputs[i] ? symbolic.get(node.inputs[i]!) : undefined),
      };
      try {
        outs = schema.infer(ctx);
        const rule = node.domain === '' ? manipValueRules[node.opType] : undefined;
        const v = rule?.(ctx);
        if (v && node.outputs[0]) symbolic.set(node.outputs[0], v);
      } catch (e) {
        if (opts.strict) throw e;
        if (e instanceof ShapeError) errors.push(e);
        else errors.push(new ShapeError(`shape rule failed: ${(e as Error).message}`, node.name, node.opType));
      }
    }
    // Propagate constants through small nodes whose inputs are all known.
    if (opts.evaluate && !hasSubgraph(node) && !RANDOM_OPS.has(node.opType)) {
      const vals = node.inputs.map((n) => (n ? constants.get(n) : undefined));
      const allConst = node.inputs.every((n, i) => !n || vals[i]);
      const shapeOfKnown = node.opType === 'Shape' && isFullyKnown(inputs[0]);
      if ((allConst && vals.every((v) => !v || v.data.length <= maxConst)) || shapeOfKnown) {
        try {
          const args = shapeOfKnown ? [placeholder(inputs[0]!)] : vals;
          const res = args.every((a) => a !== null) ? opts.evaluate(node, args as (HostTensor | undefined)[], opts.opsets) : undefined;
          res?.forEach((t, i) => {
            const name = node.outputs[i];
            if (name && t && t.kind === 'tensor' && t.data.length <= maxConst) {
              constants.set(name, t);
              outs[i] = typeOfTensor(t);
            }
          });
        } catch (e) {
          if (opts.strict && e instanceof TgraphError) throw e;
        }
      }
    }
    node.outputs.forEach((name, i) => {
      const t = outs[i];
      if (name && t) types.set(name, t);
      else if (name && !t && graph.valueInfo.has(name)) types.set(name, graph.valueInfo.get(name)!);
    });
    for (const a of Object.values(node.attributes)) {
      const gs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const sg of gs) {
        const r = inferGraph(sg, opts, types, constants);
        errors.push(...r.errors);
      }
    }
  }
  for (const [name, t] of types) if (!outer?.has(name) || outer.get(name) !== t) graph.valueInfo.set(name, t);
  return { types, constants, errors };
}

const RANDOM_OPS = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'Dropout']);

function hasSubgraph(node: Node): boolean {
  return Object.values(node.attributes).some((a) => a.kind === 'graph' || a.kind === 'graphs');
}

function isFullyKnown(t: ValueType | undefined): boolean {
  return !!t && t.kind === 'tensor' && !!t.shape && t.shape.every((d) => typeof d === 'number');
}

/** A tensor with the right dims and no meaningful data, for Shape of a statically known input. */
function placeholder(t: ValueType): HostTensor | null {
  if (t.kind !== 'tensor' || !t.shape) return null;
  const dims = t.shape as number[];
  return { kind: 'tensor', dtype: t.dtype, dims, data: { length: dims.reduce((a, b) => a * b, 1) } as never };
}
