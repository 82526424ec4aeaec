// The optimizer: a readable, ordered list of named passes, run by level, with per-pass statistics
// and the verifier between passes.
import { GraphError } from '../errors.js';
import type { Graph, Model } from '../ir.js';
import { verifyGraph } from '../verify.js';
import { constantFolding } from './constant-folding.js';
import { commonSubexpressionElimination } from './cse.js';
import { deadCodeElimination } from './dce.js';
import { fuseBatchNorm } from './fuse-bn.js';
import { fuseMatMulAdd } from './fuse-gemm.js';
import { fusePatterns } from './fuse-patterns.js';
import { eliminateIdentity } from './identity.js';
import { LOWERING_PASSES } from './lower-fusion.js';
import type { LoweringCapabilities } from './lower-types.js';
import { runInSubgraphs } from './scopes.js';
import { simplify } from './simplify.js';
import { foldShapeArithmetic } from './shape-fold.js';
import { LEVELS, type OptimizeReport, type OptLevel, type Pass, type PassContext, type PassReport } from './types.js';
import { countValues } from './util.js';

/** In order. Earlier passes expose work for later ones; DCE runs last to sweep. */
export const PASSES: readonly Pass[] = [
  eliminateIdentity,
  constantFolding,
  foldShapeArithmetic,
  constantFolding,
  simplify,
  commonSubexpressionElimination,
  fuseBatchNorm,
  fuseMatMulAdd,
  fusePatterns,
  constantFolding,
  deadCodeElimination,
];

export interface OptimizeOptions {
  level?: OptLevel;
  /** Pass names to run even if their level is above `level`. */
  enable?: readonly string[];
  /** Pass names to skip. */
  disable?: readonly string[];
  /** Verify the graph after every pass (throws GraphError naming the pass). */
  verify?: boolean;
  /**
   * Called after each pass that changed the graph with the graph before and after; returns a
   * description of any output that moved (the session's `verify` mode runs both on generated inputs).
   */
  check?: (before: Model, after: Model, pass: string) => string | undefined;
  maxFoldElements?: number;
}

/** Portable and lowering pass names (the session's `disabledOptimizers` may name either). */
export function passNames(): string[] {
  return [...new Set([...PASSES, ...LOWERING_PASSES].map((p) => p.name))];
}

export function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    inputs: g.inputs.map((i) => ({ ...i })),
    outputs: g.outputs.map((o) => ({ ...o })),
    initializers: new Map(g.initializers),
    valueInfo: new Map(g.valueInfo),
    nodes: g.nodes.map((n) => ({
      ...n,
      inputs: [...n.inputs],
      outputs: [...n.outputs],
      attributes: Object.fromEntries(Object.entries(n.attributes).map(([k, a]) => [k, a.kind === 'graph' ? { kind: 'graph', value: cloneGraph(a.value) } : a.kind === 'graphs' ? { kind: 'graphs', value: a.value.map(cloneGraph) } : a])),
    })),
  };
}

export function cloneModel(m: Model): Model {
  return { ...m, opsets: { ...m.opsets }, graph: cloneGraph(m.graph) };
}

/** Optimize a copy of `model`; returns it with the per-pass report. */
export function optimize(model: Model, evaluate: PassContext['evaluate'], opts: OptimizeOptions = {}): { model: Model; report: OptimizeReport } {
  return runPasses(PASSES, model, { evaluate, maxFoldElements: opts.maxFoldElements ?? 1 << 20 }, opts, true);
}

/**
 * Lower a copy of an optimized model for a backend (tgraph's own plan, not standard ONNX): the
 * lowering passes at or below `level`, each consulting `capabilities`. Same options and report as optimize().
 */
export function lower(model: Model, capabilities: LoweringCapabilities, evaluate: PassContext['evaluate'], opts: OptimizeOptions = {}): { model: Model; report: OptimizeReport } {
  return runPasses(LOWERING_PASSES, model, { evaluate, maxFoldElements: opts.maxFoldElements ?? 1 << 20, capabilities }, opts);
}

/** `inSubgraphs`: also run each pass in If/Loop/Scan bodies (the lowering passes visit those themselves). */
function runPasses(list: readonly Pass[], model: Model, ctx: PassContext, opts: OptimizeOptions, inSubgraphs = false): { model: Model; report: OptimizeReport } {
  const level = opts.level ?? 'all';
  const unknown = [...(opts.enable ?? []), ...(opts.disable ?? [])].filter((n) => !passNames().includes(n));
  if (unknown.length) throw new GraphError(`unknown pass ${unknown.map((n) => `'${n}'`).join(', ')} (passes: ${passNames().join(', ')})`);
  const t0 = performance.now();
  let current = cloneModel(model);
  const reports: PassReport[] = [];
  const rank = LEVELS.indexOf(level);
  for (const pass of list) {
    const on = (LEVELS.indexOf(pass.level) <= rank || opts.enable?.includes(pass.name)) && !opts.disable?.includes(pass.name);
    if (!on) continue;
    const before = opts.check ? cloneModel(current) : undefined;
    const nodesBefore = current.graph.nodes.length;
    const valuesBefore = countValues(current.graph);
    const t = performance.now();
    const rewrites = pass.run(current, ctx);
    if (inSubgraphs) runInSubgraphs(pass, current, ctx, rewrites);
    const ms = performance.now() - t;
    // A fresh node list: caches keyed on it (the interpreter's liveness) must not outlive an edit.
    current.graph.nodes = [...current.graph.nodes];
    if (opts.verify) {
      try {
        verifyGraph(current.graph);
      } catch (e) {
        throw new GraphError(`after pass '${pass.name}': ${(e as Error).message}`);
      }
    }
    const changed = Object.values(rewrites).some((v) => v > 0);
    if (before && changed) {
      const moved = opts.check!(before, current, pass.name);
      if (moved) throw new GraphError(`pass '${pass.name}' changed the outputs: ${moved}`);
    }
    reports.push({ name: pass.name, nodesBefore, nodesAfter: current.graph.nodes.length, valuesBefore, valuesAfter: countValues(current.graph), rewrites: Object.fromEntries(Object.entries(rewrites).filter(([, v]) => v > 0)), ms: Math.round(ms * 100) / 100 });
  }
  current.graph.valueInfo.clear();
  return { model: current, report: { level, passes: reports, nodesBefore: model.graph.nodes.length, nodesAfter: current.graph.nodes.length, ms: Math.round((performance.now() - t0) * 100) / 100 } };
}

export function formatReport(r: OptimizeReport): string {
  const rows = r.passes.map((p) => `  ${p.name.padEnd(34)} nodes ${String(p.nodesBefore).padStart(5)} -> ${String(p.nodesAfter).padEnd(5)} values ${String(p.valuesBefore).padStart(5)} -> ${String(p.valuesAfter).padEnd(5)} ${p.ms.toFixed(1).padStart(7)} ms  ${Object.entries(p.rewrites).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return [`optimize --level ${r.level}: ${r.nodesBefore} -> ${r.nodesAfter} nodes in ${r.ms.toFixed(1)} ms`, ...rows].join('\n');
}

export { expandGradients } from './gradient.js';
export type { OptLevel, OptimizeReport, PassReport, Pass } from './types.js';
