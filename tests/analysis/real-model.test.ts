// The analyses on a real model (PP-OCR mobile v2 direction classifier), with the memory plan
// checked programmatically and by simulation on the CPU interpreter.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeModel, checkPlan, formatAnalysis, type MemoryPlan, type ModelAnalysis } from '../../graph/analysis/index.js';
import type { Graph, Model, Node } from '../../graph/ir.js';
import { importModel } from '../../graph/onnx/import.js';
import { makeTensor, type RtValue } from '../../graph/tensor.js';
import { DTYPE_BYTES } from '../../graph/analysis/values.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { interpret } from '../../kernels/cpu/interpreter.js';

const MODEL = path.resolve(import.meta.dirname, '../../models/ppocr-mobile-v2-cls.onnx');
const SHAPE = [1, 3, 48, 192];

function load(): { model: Model; analysis: ModelAnalysis } {
  const model = importModel(new Uint8Array(fs.readFileSync(MODEL)), { source: MODEL });
  const analysis = analyzeModel(model, { inputShapes: new Map([['x', SHAPE]]), evaluate: evaluateConstantNode, placeNode: (n) => (n.opType === 'Conv' ? 'gpu' : 'cpu') });
  return { model, analysis };
}

describe('analyses of ppocr-mobile-v2-cls', () => {
  const { model, analysis } = load();
  const { memory: plan, partition } = analysis;

  it('plans a peak below allocating every value, every value in a buffer no other live value shares', () => {
    expect(plan.values.length).toBeGreaterThan(100);
    expect(plan.unsized).toEqual([]);
    expect(plan.unboundDims).toEqual([]);
    expect(plan.plannedBytes).toBeLessThan(plan.totalBytes);
    expect(plan.plannedBytes).toBeGreaterThanOrEqual(plan.liveLowerBound);
    expect(plan.inPlaceCount).toBeGreaterThan(0);
    expect(checkPlan(plan)).toEqual([]);
    // The invariant again, pairwise over every two values of a buffer.
    const byBuf = new Map<number, typeof plan.values>();
    for (const v of plan.values) byBuf.set(v.buffer, [...(byBuf.get(v.buffer) ?? []), v]);
    for (const vs of byBuf.values()) {
      for (const a of vs) for (const b of vs) {
        if (a === b) continue;
        const disjoint = a.last < b.def || b.last < a.def;
        const handover = (a.last === b.def && b.inPlaceOf === a.name) || (b.last === a.def && a.inPlaceOf === b.name);
        expect(disjoint || handover, `${a.name} and ${b.name} share buffer ${a.buffer}`).toBe(true);
      }
      for (const v of vs) expect(v.bytes).toBeLessThanOrEqual(plan.buffers[v.buffer]!.size);
    }
    const text = formatAnalysis(analysis);
    expect(text).toMatch(/planned peak/);
    expect(text).not.toMatch(/PLAN INVALID/);
  });

  it('partitions into stages with a critical path through the convolutions', () => {
    expect(partition.nodes).toBe(model.graph.nodes.length);
    expect(partition.stages.flat().sort((a, b) => a - b)).toEqual(model.graph.nodes.map((_, i) => i));
    expect(partition.branches.length).toBe(1);
    expect(partition.criticalPath.cost).toBeLessThanOrEqual(partition.totalCost);
    expect(partition.criticalPath.cost).toBeGreaterThan(0);
    const conv = partition.criticalPath.nodes.filter((i) => model.graph.nodes[i]!.opType === 'Conv').length;
    expect(conv).toBeGreaterThan(10);
    const isl = partition.islands!;
    expect(isl.byDevice.gpu + isl.byDevice.cpu).toBe(partition.nodes);
    expect(isl.islands.reduce((s, x) => s + x.nodes, 0)).toBe(partition.nodes);
    expect(isl.copies).toBeGreaterThan(0);
  });

  it('the plan holds when the CPU interpreter runs the model', () => {
    const { order, clashes, outs } = simulate(model, plan);
    expect(order).toEqual(model.graph.nodes.map((_, i) => i));
    expect(clashes).toEqual([]);
    for (const v of plan.values) {
      const t = outs.get(v.name)!;
      expect(t.kind).toBe('tensor');
      if (t.kind === 'tensor') expect(t.data.length * DTYPE_BYTES[t.dtype], v.name).toBe(v.bytes);
    }
  });

  it('the checks catch a broken plan', () => {
    // Put the first Conv's output into the buffer of the value produced right after it.
    const a = plan.values[0]!;
    const b = plan.values.find((v) => v.def > a.def && v.def <= a.last && v.buffer !== a.buffer)!;
    const broken = { ...plan, values: plan.values.map((v) => (v === b ? { ...v, buffer: a.buffer } : v)), buffers: plan.buffers.map((x) => (x.id === a.buffer ? { ...x, values: [...x.values, b.name] } : x)) };
    expect(checkPlan(broken).length).toBeGreaterThan(0);
    expect(simulate(model, broken).clashes.length).toBeGreaterThan(0);
  });
});

/** Run the model on the CPU interpreter, tracking from an independent read count which values are live at each node. */
function simulate(model: Model, plan: MemoryPlan): { order: number[]; clashes: string[]; outs: Map<string, RtValue> } {
  const g = model.graph;
  const bufOf = new Map(plan.values.map((v) => [v.name, v]));
  // Expose every value so that its real size can be compared with the plan.
  const probe: Graph = { ...g, nodes: [...g.nodes], outputs: [...g.outputs, ...plan.values.filter((v) => !g.outputs.some((o) => o.name === v.name)).map((v) => ({ name: v.name }))] };
  // An oracle independent of the planner: remaining reads per value, counted from the graph.
  const remaining = new Map<string, number>();
  for (const n of g.nodes) for (const x of new Set(n.inputs)) if (x) remaining.set(x, (remaining.get(x) ?? 0) + 1);
  const graphOutputs = new Set(g.outputs.map((o) => o.name));
  const live = new Set<string>();
  const index = new Map(g.nodes.map((n, i) => [n, i]));
  const order: number[] = [];
  const clashes: string[] = [];
  const onNode = (node: Node) => {
    const i = index.get(node);
    if (i === undefined) return;
    order.push(i);
    const now = [...live, ...node.outputs.filter((o) => bufOf.has(o))];
    for (let a = 0; a < now.length; a++) for (let b = a + 1; b < now.length; b++) {
      const va = bufOf.get(now[a]!)!, vb = bufOf.get(now[b]!)!;
      if (va.buffer !== vb.buffer) continue;
      const inPlace = (vb.inPlaceOf === va.name && node.inputs.includes(va.name) && remaining.get(va.name) === 1) || (va.inPlaceOf === vb.name && node.inputs.includes(vb.name) && remaining.get(vb.name) === 1);
      if (!inPlace) clashes.push(`${node.name}: ${va.name} and ${vb.name} both live in buffer ${va.buffer}`);
    }
    for (const o of node.outputs) if (bufOf.has(o)) live.add(o);
    for (const x of new Set(node.inputs)) {
      if (!x) continue;
      remaining.set(x, remaining.get(x)! - 1);
      if (remaining.get(x) === 0 && !graphOutputs.has(x)) live.delete(x);
    }
    for (const o of node.outputs) if (live.has(o) && !remaining.get(o) && !graphOutputs.has(o)) live.delete(o);
  };
  const x = makeTensor('float32', SHAPE, Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i)));
  const outs = interpret(probe, new Map<string, RtValue>([['x', x]]), { opsets: model.opsets, onNode });
  return { order, clashes, outs };
}
