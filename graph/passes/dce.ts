// Dead-code elimination: nodes none of whose outputs reach a graph output, and unused initializers.
import { outerReferences, subgraphsOf } from '../ir.js';
import type { Graph } from '../ir.js';
import type { Pass } from './types.js';

/** `outerInits`: initializers visible in `g` that belong to an enclosing scope (never counted or removed here). */
export function eliminateDeadCode(g: Graph, outerInits?: ReadonlySet<string>): { nodes: number; initializers: number } {
  const needed = new Set<string>(g.outputs.map((o) => o.name));
  const keep: boolean[] = new Array(g.nodes.length).fill(false);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    keep[i] = true;
    for (const x of n.inputs) if (x) needed.add(x);
    for (const sg of subgraphsOf(n)) {
      eliminateDeadCode(sg);
      for (const r of outerReferences(sg)) needed.add(r);
    }
  }
  const before = g.nodes.length;
  g.nodes = g.nodes.filter((_, i) => keep[i]);
  let inits = 0;
  const inputs = new Set(g.inputs.map((i) => i.name));
  for (const name of [...g.initializers.keys()]) {
    if (!needed.has(name) && !inputs.has(name) && !outerInits?.has(name)) {
      g.initializers.delete(name);
      inits++;
    }
  }
  for (const name of [...g.valueInfo.keys()]) if (!needed.has(name) && !inputs.has(name)) g.valueInfo.delete(name);
  return { nodes: before - g.nodes.length, initializers: inits };
}

export const deadCodeElimination: Pass = {
  name: 'dead-code-elimination',
  level: 'basic',
  doc: 'removes nodes whose outputs reach no graph output, and unused initializers',
  run(model, ctx) {
    const r = eliminateDeadCode(model.graph, ctx.inherited);
    return { 'dead-node': r.nodes, 'unused-initializer': r.initializers };
  },
};
