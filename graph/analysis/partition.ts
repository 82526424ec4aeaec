// Parallel partitioning of a graph (an analysis: the graph is not changed).
//
// - stages: node levels by longest path from the sources (graph inputs and initializers); the nodes
//   of one stage never depend on each other, so an executor may run a stage's nodes concurrently.
// - branches: weakly connected components of the node graph once the shared sources are removed
//   (edges only through values some node produces): branches share nothing but inputs and weights.
// - chains: maximal runs i -> j where i has one reader node and j one producer node; the unit a
//   dataflow scheduler would hand out without a sync in between.
// - critical path: the path whose summed cost is largest. A node's cost estimates its FLOPs:
//   Conv 2·out·(Cin/group)·kernel, ConvTranspose 2·in·(Cout/group)·kernel, MatMul/Gemm 2·M·N·K,
//   anything else one per output element (bytes are not used: cost is work, not traffic).
// - device islands: with `placeNode`, maximal connected groups of nodes on one device; a copy is one
//   value needed on a device other than the one that produced it (counted once per value and
//   destination device, which is the fewest copies that placement allows). Graph inputs read on
//   the GPU are uploads, graph outputs produced there downloads; initializers are uploaded once
//   at load and not counted.
import type { Graph, Model, Node, ValueType } from '../ir.js';
import { AttrReader } from '../attrs.js';
import { DimResolver, producers, readsOfNode } from './values.js';

export type Device = 'gpu' | 'cpu';

export interface PartitionOptions {
  /** Sizes of symbolic dims; unbound ones count as 1 and are listed in `unboundDims`. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Types of values (from `inferGraph`); defaults to the graph's inputs, initializers and valueInfo. */
  readonly types?: ReadonlyMap<string, ValueType>;
  /** Where each node runs (given the value types too); without it no islands are computed. */
  readonly placeNode?: (node: Node, types: ReadonlyMap<string, ValueType>) => Device;
}

export interface Branch { readonly nodes: number; readonly cost: number; readonly outputs: string[] }
export interface Island { readonly device: Device; readonly nodes: number; readonly firstNode: string }

export interface PartitionReport {
  readonly nodes: number;
  /** Node indices per stage (longest-path level). */
  readonly stages: number[][];
  readonly maxStageWidth: number;
  readonly branches: Branch[];
  /** Node indices per chain, in graph order of their first node. */
  readonly chains: number[][];
  readonly costs: number[];
  readonly totalCost: number;
  readonly criticalPath: { readonly nodes: number[]; readonly cost: number };
  readonly islands?: {
    readonly islands: Island[];
    /** Island index of each node. */
    readonly islandOf: number[];
    readonly copies: number;
    readonly uploads: number;
    readonly downloads: number;
    readonly byDevice: Record<Device, number>;
  };
  readonly unboundDims: string[];
  /** Node names in graph order (for the report). */
  readonly names: string[];
}

export function typesOf(graph: Graph, types?: ReadonlyMap<string, ValueType>): ReadonlyMap<string, ValueType> {
  if (types) return types;
  const t = new Map<string, ValueType>(graph.valueInfo);
  for (const i of graph.inputs) if (i.type) t.set(i.name, i.type);
  for (const o of graph.outputs) if (o.type && !t.has(o.name)) t.set(o.name, o.type);
  for (const [k, v] of graph.initializers) t.set(k, { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] });
  return t;
}

/** Estimated FLOPs of a node (see the file comment). */
export function nodeCost(node: Node, types: ReadonlyMap<string, ValueType>, dims: DimResolver): number {
  const shape = (name: string | undefined) => (name ? dims.shape(types.get(name)) : undefined);
  const outElems = node.outputs.reduce((s, o) => s + (o ? dims.elements(types.get(o)) ?? 0 : 0), 0);
  if (node.domain !== '') return outElems;
  const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);
  switch (node.opType) {
    case 'Conv': {
      const w = shape(node.inputs[1]);
      // The weight is [Cout, Cin/group, k...]: each output element sums Cin/group·k products.
      return w && w.length >= 2 ? 2 * outElems * w[1]! * prod(w.slice(2)) : outElems;
    }
    case 'ConvTranspose': {
      const w = shape(node.inputs[1]);
      const x = dims.elements(types.get(node.inputs[0] ?? ''));
      if (w && w.length >= 2 && x !== undefined) return 2 * x * w[1]! * prod(w.slice(2));
      return outElems;
    }
    case 'MatMul': {
      const a = shape(node.inputs[0]);
      const k = a && a.length ? a[a.length - 1]! : 1;
      return 2 * outElems * k;
    }
    case 'Gemm': {
      const a = shape(node.inputs[0]);
      const transA = new AttrReader(node).int('transA', 0);
      const k = a && a.length === 2 ? a[transA ? 0 : 1]! : 1;
      return 2 * outElems * k;
    }
    default:
      return outElems;
  }
}

export function partitionModel(model: Model, opts: PartitionOptions = {}): PartitionReport {
  const graph = model.graph;
  const types = typesOf(graph, opts.types);
  const dims = new DimResolver(opts.dims);
  const nodes = graph.nodes;
  const n = nodes.length;
  const prod = producers(graph);
  // Predecessors / successors through produced values (deduplicated).
  const preds: number[][] = nodes.map((node) => [...new Set(readsOfNode(node).map((r) => prod.get(r)).filter((p): p is number => p !== undefined))]);
  const succs: number[][] = nodes.map(() => []);
  preds.forEach((ps, j) => ps.forEach((i) => succs[i]!.push(j)));

  // Stages by longest path (nodes are in topological order: the verifier guarantees define-before-read).
  const level = new Array<number>(n).fill(0);
  for (let j = 0; j < n; j++) for (const i of preds[j]!) level[j] = Math.max(level[j]!, level[i]! + 1);
  const stages: number[][] = [];
  level.forEach((l, j) => (stages[l] ??= []).push(j));

  // Costs and the critical path.
  const costs = nodes.map((node) => nodeCost(node, types, dims));
  const dist = new Array<number>(n).fill(0);
  const via = new Array<number>(n).fill(-1);
  for (let j = 0; j < n; j++) {
    let best = 0;
    for (const i of preds[j]!) if (via[j] === -1 || dist[i]! > best) { best = dist[i]!; via[j] = i; }
    dist[j] = best + costs[j]!;
  }
  let end = -1;
  for (let j = 0; j < n; j++) if (end === -1 || dist[j]! > dist[end]!) end = j;
  const path: number[] = [];
  for (let j = end; j !== -1; j = via[j]!) path.unshift(j);

  // Branches: union-find over produced-value edges.
  const parent = nodes.map((_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x]!)));
  preds.forEach((ps, j) => ps.forEach((i) => { parent[find(i)] = find(j); }));
  const comp = new Map<number, number[]>();
  for (let j = 0; j < n; j++) { const r = find(j); if (!comp.has(r)) comp.set(r, []); comp.get(r)!.push(j); }
  const graphOutputs = new Set(graph.outputs.map((o) => o.name));
  const branches: Branch[] = [...comp.values()].map((js) => ({
    nodes: js.length,
    cost: js.reduce((s, j) => s + costs[j]!, 0),
    outputs: js.flatMap((j) => nodes[j]!.outputs.filter((o) => graphOutputs.has(o))),
  }));

  // Chains.
  const chainOf = new Array<number>(n).fill(-1);
  const chains: number[][] = [];
  for (let j = 0; j < n; j++) {
    const p = preds[j]!;
    if (p.length === 1 && succs[p[0]!]!.length === 1) {
      const c = chainOf[p[0]!]!;
      chains[c]!.push(j);
      chainOf[j] = c;
    } else {
      chainOf[j] = chains.length;
      chains.push([j]);
    }
  }

  let islands: PartitionReport['islands'];
  if (opts.placeNode) {
    const dev = nodes.map((node) => opts.placeNode!(node, types));
    const ip = nodes.map((_, i) => i);
    const f = (x: number): number => (ip[x] === x ? x : (ip[x] = f(ip[x]!)));
    preds.forEach((ps, j) => ps.forEach((i) => { if (dev[i] === dev[j]) ip[f(i)] = f(j); }));
    const index = new Map<number, number>();
    const list: { device: Device; nodes: number; firstNode: string }[] = [];
    const islandOf = nodes.map((node, j) => {
      const r = f(j);
      if (!index.has(r)) { index.set(r, list.length); list.push({ device: dev[j]!, nodes: 0, firstNode: node.name }); }
      const k = index.get(r)!;
      list[k]!.nodes++;
      return k;
    });
    const moved = new Set<string>();
    let uploads = 0;
    const inputs = new Set(graph.inputs.map((i) => i.name).filter((x) => !graph.initializers.has(x)));
    nodes.forEach((node, j) => {
      for (const r of readsOfNode(node)) {
        const p = prod.get(r);
        const key = `${r}\u0000${dev[j]}`;
        if (moved.has(key)) continue;
        if (p !== undefined && dev[p] !== dev[j]) moved.add(key);
        else if (p === undefined && inputs.has(r) && dev[j] === 'gpu') { moved.add(key); uploads++; }
      }
    });
    let downloads = 0;
    for (const o of graphOutputs) { const p = prod.get(o); if (p !== undefined && dev[p] === 'gpu') downloads++; }
    islands = {
      islands: list,
      islandOf,
      copies: moved.size - uploads,
      uploads,
      downloads,
      byDevice: { gpu: dev.filter((d) => d === 'gpu').length, cpu: dev.filter((d) => d === 'cpu').length },
    };
  }

  return {
    nodes: n,
    stages,
    maxStageWidth: stages.reduce((m, s) => Math.max(m, s.length), 0),
    branches,
    chains,
    costs,
    totalCost: costs.reduce((a, b) => a + b, 0),
    criticalPath: { nodes: path, cost: end === -1 ? 0 : dist[end]! },
    islands,
    unboundDims: [...dims.unbound],
    names: nodes.map((x) => x.name),
  };
}

function si(x: number): string {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return `${x}`;
}

export function formatPartition(r: PartitionReport): string {
  const lines = ['parallel partitioning'];
  lines.push(`  nodes           ${r.nodes}, estimated ${si(r.totalCost)}FLOP`);
  lines.push(`  stages          ${r.stages.length} (longest-path levels), widest ${r.maxStageWidth} node${r.maxStageWidth === 1 ? '' : 's'}`);
  const bs = [...r.branches].sort((a, b) => b.cost - a.cost);
  lines.push(`  branches        ${r.branches.length} independent (sharing only inputs and weights)`);
  for (const b of bs.slice(0, 8)) lines.push(`    ${String(b.nodes).padStart(5)} nodes  ${si(b.cost).padStart(9)}FLOP  ${b.outputs.length ? '-> ' + b.outputs.join(', ') : '(no graph output)'}`);
  if (bs.length > 8) lines.push(`    ... ${bs.length - 8} more`);
  lines.push(`  chains          ${r.chains.length} (longest ${r.chains.reduce((m, c) => Math.max(m, c.length), 0)} nodes)`);
  const cp = r.criticalPath;
  const share = r.totalCost ? ((100 * cp.cost) / r.totalCost).toFixed(1) : '0';
  lines.push(`  critical path   ${cp.nodes.length} nodes, ${si(cp.cost)}FLOP (${share}% of the total; parallel speedup bound ${cp.cost ? (r.totalCost / cp.cost).toFixed(2) : '1'}x)`);
  if (cp.nodes.length) lines.push(`    ${r.names[cp.nodes[0]!]} -> ... -> ${r.names[cp.nodes[cp.nodes.length - 1]!]}`);
  if (r.islands) {
    const i = r.islands;
    lines.push(`  device islands  ${i.islands.length} (gpu nodes ${i.byDevice.gpu}, cpu nodes ${i.byDevice.cpu}); ${i.copies} cross-device cop${i.copies === 1 ? 'y' : 'ies'}, ${i.uploads} input upload${i.uploads === 1 ? '' : 's'}, ${i.downloads} output download${i.downloads === 1 ? '' : 's'}`);
    for (const x of i.islands.slice(0, 8)) lines.push(`    ${x.device}  ${String(x.nodes).padStart(5)} nodes  from ${x.firstNode}`);
    if (i.islands.length > 8) lines.push(`    ... ${i.islands.length - 8} more`);
  }
  if (r.unboundDims.length) lines.push(`  note            symbolic dims ${r.unboundDims.join(', ')} unbound: counted as 1`);
  return lines.join('\n');
}
