// Memory planning (an analysis: the graph is not changed).
//
// Every value a node produces gets a liveness interval in node order, [def, last]: def is the index
// of its producer, last the index of the last node reading it (a node holding a subgraph reads what
// the subgraph reads from outside), or the end of the graph for graph outputs. Values are then
// assigned to buffers greedily in node order: an elementwise unary/binary node whose input dies at
// that node and has the same shape and dtype as its output writes in place (the output takes the
// input's buffer); otherwise the smallest free buffer that is large enough (best fit), else the
// largest free buffer grown to fit, else a new one. A buffer is free once the value it holds has
// had its last reader. Graph inputs (owned by the caller) and initializers (weights) are not
// planned; their bytes are reported apart.
//
// planned bytes is the sum of the buffer sizes (an arena that holds every buffer at once); it is
// compared with allocating every value separately and with the lower bound, the most bytes live at
// any one node.
import type { Dim, Model, ValueType } from '../ir.js';
import { typesOf } from './partition.js';
import { DimResolver, producers, readsOfNode } from './values.js';

export interface MemoryPlanOptions {
  /** Sizes of symbolic dims; unbound ones count as 1 and are listed in `unboundDims`. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Types of values (from `inferGraph`); defaults to the graph's inputs, initializers and valueInfo. */
  readonly types?: ReadonlyMap<string, ValueType>;
  /** Allow in-place elementwise updates (default true). */
  readonly inPlace?: boolean;
}

export interface PlannedValue {
  readonly name: string;
  readonly def: number;
  /** Index of the last reading node; the node count for graph outputs. */
  readonly last: number;
  readonly bytes: number;
  /** False when the type or shape is unknown (planned as 0 bytes). */
  readonly sized: boolean;
  readonly buffer: number;
  /** The input whose buffer this value took over in place. */
  readonly inPlaceOf?: string;
}

export interface PlannedBuffer {
  readonly id: number;
  readonly size: number;
  /** Value names in the order they occupy the buffer. */
  readonly values: string[];
}

export interface MemoryPlan {
  readonly values: PlannedValue[];
  readonly buffers: PlannedBuffer[];
  /** Sum of buffer sizes. */
  readonly plannedBytes: number;
  /** Sum of the bytes of every planned value (no reuse). */
  readonly totalBytes: number;
  /** Most bytes live at one node (no plan can do better). */
  readonly liveLowerBound: number;
  readonly inPlaceCount: number;
  readonly inputBytes: number;
  readonly weightBytes: number;
  readonly unboundDims: string[];
  readonly unsized: string[];
}

/** Elementwise ops whose output may overwrite an input of the same shape and dtype. */
export const IN_PLACE_OPS = new Set([
  'Abs', 'Acos', 'Acosh', 'Asin', 'Asinh', 'Atan', 'Atanh', 'Ceil', 'Celu', 'Clip', 'Cos', 'Cosh', 'Elu', 'Erf', 'Exp',
  'Floor', 'Gelu', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Log', 'Mish', 'Neg', 'Not', 'Reciprocal', 'Relu', 'Round',
  'Selu', 'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Softplus', 'Softsign', 'Sqrt', 'Tan', 'Tanh', 'ThresholdedRelu',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min', 'Mod', 'PRelu', 'And', 'Or', 'Xor', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor',
  'BitwiseNot', 'Sum', 'Mean', 'Where',
]);

function sameType(a: ValueType | undefined, b: ValueType | undefined): boolean {
  if (!a || !b || a.kind !== 'tensor' || b.kind !== 'tensor' || !a.shape || !b.shape) return false;
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d: Dim, i) => d === b.shape![i]);
}

export function planMemory(model: Model, opts: MemoryPlanOptions = {}): MemoryPlan {
  const graph = model.graph;
  const types = typesOf(graph, opts.types);
  const dims = new DimResolver(opts.dims);
  const nodes = graph.nodes;
  const n = nodes.length;
  const prod = producers(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));

  const last = new Map<string, number>();
  for (const [v, i] of prod) last.set(v, outputs.has(v) ? n : i);
  nodes.forEach((node, j) => {
    for (const r of readsOfNode(node)) if (prod.has(r) && last.get(r)! < j) last.set(r, j);
  });

  const bytesOf = new Map<string, number>();
  const unsized: string[] = [];
  for (const v of prod.keys()) {
    const b = dims.bytes(types.get(v));
    if (b === undefined) unsized.push(v);
    bytesOf.set(v, b ?? 0);
  }

  const sizes: number[] = [];
  const held: string[][] = [];
  const free = new Set<number>();
  const bufOf = new Map<string, number>();
  const inPlaceOf = new Map<string, string>();
  const allowInPlace = opts.inPlace ?? true;

  const take = (need: number): number => {
    let best = -1;
    for (const b of free) if (sizes[b]! >= need && (best === -1 || sizes[b]! < sizes[best]!)) best = b;
    if (best === -1) for (const b of free) if (best === -1 || sizes[b]! > sizes[best]!) best = b;
    if (best === -1) { sizes.push(0); held.push([]); best = sizes.length - 1; }
    free.delete(best);
    sizes[best] = Math.max(sizes[best]!, need);
    return best;
  };

  nodes.forEach((node, j) => {
    const handedOver = new Set<string>();
    for (const o of node.outputs) {
      if (!o || bufOf.has(o)) continue;
      let buf = -1;
      if (allowInPlace && node.domain === '' && IN_PLACE_OPS.has(node.opType)) {
        for (const x of node.inputs) {
          if (!x || !prod.has(x) || handedOver.has(x) || last.get(x) !== j || outputs.has(x)) continue;
          if (!sameType(types.get(x), types.get(o))) continue;
          buf = bufOf.get(x)!;
          handedOver.add(x);
          inPlaceOf.set(o, x);
          break;
        }
      }
      if (buf === -1) buf = take(bytesOf.get(o)!);
      bufOf.set(o, buf);
      held[buf]!.push(o);
    }
    // Release what dies here: inputs read for the last time (unless handed over) and unread outputs.
    for (const r of readsOfNode(node)) if (prod.has(r) && last.get(r) === j && !handedOver.has(r)) free.add(bufOf.get(r)!);
    for (const o of node.outputs) if (o && last.get(o) === j) free.add(bufOf.get(o)!);
  });

  const values: PlannedValue[] = [...prod.keys()].map((name) => ({
    name,
    def: prod.get(name)!,
    last: last.get(name)!,
    bytes: bytesOf.get(name)!,
    sized: !unsized.includes(name),
    buffer: bufOf.get(name)!,
    ...(inPlaceOf.has(name) ? { inPlaceOf: inPlaceOf.get(name)! } : {}),
  }));

  // Lower bound: bytes live at each node; an in-place pair shares its bytes at the node joining them.
  const live = new Array<number>(n + 1).fill(0);
  for (const v of values) for (let t = v.def; t <= Math.min(v.last, n); t++) live[t]! += v.bytes;
  for (const v of values) if (v.inPlaceOf) live[v.def]! -= v.bytes;

  let inputBytes = 0;
  for (const i of graph.inputs) if (!graph.initializers.has(i.name)) inputBytes += dims.bytes(types.get(i.name) ?? i.type) ?? 0;
  let weightBytes = 0;
  for (const t of graph.initializers.values()) weightBytes += dims.bytes({ kind: 'tensor', dtype: t.dtype, shape: [...t.dims] }) ?? 0;

  return {
    values,
    buffers: sizes.map((size, id) => ({ id, size, values: held[id]! })),
    plannedBytes: sizes.reduce((a, b) => a + b, 0),
    totalBytes: values.reduce((a, v) => a + v.bytes, 0),
    liveLowerBound: Math.max(0, ...live),
    inPlaceCount: inPlaceOf.size,
    inputBytes,
    weightBytes,
    unboundDims: [...dims.unbound],
    unsized,
  };
}

/**
 * The plan's invariant, checked: in every buffer, each value's interval ends before the next one
 * begins, except that an in-place value begins at the node where the value it took over ends; and
 * no value is larger than its buffer. Returns the violations (empty when the plan is sound).
 */
export function checkPlan(plan: MemoryPlan): string[] {
  const errors: string[] = [];
  const byName = new Map(plan.values.map((v) => [v.name, v]));
  for (const b of plan.buffers) {
    const vs = b.values.map((x) => byName.get(x)!).sort((a, c) => a.def - c.def);
    for (const v of vs) if (v.bytes > b.size) errors.push(`${v.name} (${v.bytes} B) exceeds buffer ${b.id} (${b.size} B)`);
    for (let k = 0; k + 1 < vs.length; k++) {
      const a = vs[k]!, c = vs[k + 1]!;
      const ok = a.last < c.def || (a.last === c.def && c.inPlaceOf === a.name);
      if (!ok) errors.push(`buffer ${b.id}: ${a.name} [${a.def},${a.last}] overlaps ${c.name} [${c.def},${c.last}]`);
    }
  }
  for (const v of plan.values) if (v.buffer === undefined || !plan.buffers[v.buffer]?.values.includes(v.name)) errors.push(`${v.name} has no buffer`);
  return errors;
}

export function formatBytes(b: number): string {
  if (b >= 1 << 30) return `${(b / (1 << 30)).toFixed(2)} GiB`;
  if (b >= 1 << 20) return `${(b / (1 << 20)).toFixed(2)} MiB`;
  if (b >= 1 << 10) return `${(b / (1 << 10)).toFixed(1)} KiB`;
  return `${b} B`;
}

export function formatMemoryPlan(p: MemoryPlan, maxRows = 12): string {
  const pct = p.totalBytes ? ((100 * p.plannedBytes) / p.totalBytes).toFixed(1) : '100';
  const lines = ['memory plan'];
  lines.push(`  values          ${p.values.length} planned (${p.inPlaceCount} in place) in ${p.buffers.length} buffer${p.buffers.length === 1 ? '' : 's'}`);
  lines.push(`  planned peak    ${formatBytes(p.plannedBytes)} (${p.plannedBytes} B), ${pct}% of allocating every value: ${formatBytes(p.totalBytes)} (${p.totalBytes} B)`);
  lines.push(`  lower bound     ${formatBytes(p.liveLowerBound)} live at the busiest node`);
  lines.push(`  not planned     inputs ${formatBytes(p.inputBytes)}, weights ${formatBytes(p.weightBytes)}`);
  const rows = [...p.buffers].sort((a, b) => b.size - a.size);
  lines.push('  buffer      size  values  first value');
  for (const b of rows.slice(0, maxRows)) lines.push(`  ${String(b.id).padStart(6)} ${formatBytes(b.size).padStart(10)} ${String(b.values.length).padStart(7)}  ${b.values[0] ?? ''}`);
  if (rows.length > maxRows) lines.push(`  ... ${rows.length - maxRows} more buffers`);
  if (p.unboundDims.length) lines.push(`  note            symbolic dims ${p.unboundDims.join(', ')} unbound: counted as 1`);
  if (p.unsized.length) lines.push(`  note            ${p.unsized.length} value${p.unsized.length === 1 ? '' : 's'} of unknown size planned as 0 B (${p.unsized.slice(0, 5).join(', ')}${p.unsized.length > 5 ? ', ...' : ''})`);
  return lines.join('\n');
}
