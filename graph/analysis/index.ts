// Graph analyses that report and do not rewrite: parallel partitioning and memory planning.
import { type ConstantEvaluator, inferGraph } from '../infer.js';
import type { Dim, Model, Node, ValueType } from '../ir.js';
import { checkPlan, formatMemoryPlan, planMemory, type MemoryPlan } from './memory-plan.js';
import { type Device, formatPartition, partitionModel, type PartitionReport } from './partition.js';

export { checkPlan, formatMemoryPlan, planMemory, formatBytes, IN_PLACE_OPS, type MemoryPlan, type PlannedBuffer, type PlannedValue, type MemoryPlanOptions } from './memory-plan.js';
export { formatPartition, nodeCost, partitionModel, type Device, type PartitionReport, type PartitionOptions, type Branch, type Island } from './partition.js';

export interface AnalyzeOptions {
  /** Sizes of symbolic dims (ONNX dim_param); unbound ones count as 1 and the reports say so. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Concrete shapes of graph inputs (as `--input x=1,3,224,224`); their symbolic dims join `dims`. */
  readonly inputShapes?: ReadonlyMap<string, readonly number[]>;
  readonly placeNode?: (node: Node, types: ReadonlyMap<string, ValueType>) => Device;
  /** Constant propagation for shape inference (the CPU kernels' `evaluateConstantNode`). */
  readonly evaluate?: ConstantEvaluator;
}

export interface ModelAnalysis {
  readonly partition: PartitionReport;
  readonly memory: MemoryPlan;
  /** Types the analyses used (inferred with the inputs bound). */
  readonly types: ReadonlyMap<string, ValueType>;
}

/** Infer types with the inputs' shapes bound, then partition and plan. The model is not modified. */
export function analyzeModel(model: Model, opts: AnalyzeOptions = {}): ModelAnalysis {
  const dims: Record<string, number> = { ...opts.dims };
  const g = model.graph;
  for (const i of g.inputs) {
    const shape = opts.inputShapes?.get(i.name);
    if (!shape || i.type?.kind !== 'tensor' || !i.type.shape) continue;
    i.type.shape.forEach((d, k) => { if (typeof d === 'string' && shape[k] !== undefined && dims[d] === undefined) dims[d] = shape[k]!; });
  }
  const bind = (t: ValueType | undefined, name: string): ValueType | undefined => {
    if (t?.kind !== 'tensor' || !t.shape) return t;
    const given = opts.inputShapes?.get(name);
    const shape: Dim[] = given ? [...given] : t.shape.map((d) => (typeof d === 'string' && dims[d] !== undefined ? dims[d]! : d));
    return { kind: 'tensor', dtype: t.dtype, shape };
  };
  // A copy of the top-level graph with its own valueInfo: inference fills that map.
  const graph = { ...g, inputs: g.inputs.map((i) => ({ name: i.name, type: bind(i.type, i.name) })), valueInfo: new Map(g.valueInfo) };
  const { types } = inferGraph(graph, { opsets: model.opsets, evaluate: opts.evaluate });
  const bound: Model = { ...model, graph };
  const partition = partitionModel(bound, { dims, types, placeNode: opts.placeNode });
  const memory = planMemory(bound, { dims, types });
  return { partition, memory, types };
}

export function formatAnalysis(a: ModelAnalysis): string {
  const problems = checkPlan(a.memory);
  return [formatPartition(a.partition), formatMemoryPlan(a.memory), ...(problems.length ? [`  PLAN INVALID: ${problems.join('; ')}`] : [])].join('\n');
}
