// The graph verifier: a graph is well formed when it is acyclic in node order, every value is
// defined once (input, initializer or node output), every read value is defined before it is read
// (or in an enclosing scope), outputs exist, and known types agree with the registry's rules.
import { GraphError } from './errors.js';
import type { Graph } from './ir.js';
import { formatType } from './ir.js';

export interface VerifyOptions {
  /** Names visible from enclosing graphs (for subgraphs). */
  readonly outer?: ReadonlySet<string>;
}

/** Throws a GraphError naming the first problem found. */
export function verifyGraph(g: Graph, opts: VerifyOptions = {}): void {
  const problems = findProblems(g, opts);
  if (problems.length) throw new GraphError(`graph '${g.name}' is not well formed: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
}

export function findProblems(g: Graph, opts: VerifyOptions = {}): string[] {
  const problems: string[] = [];
  const defined = new Set<string>();
  const define = (name: string, by: string) => {
    if (!name) return;
    if (defined.has(name)) problems.push(`value '${name}' is defined more than once (again by ${by})`);
    defined.add(name);
  };
  for (const i of g.inputs) define(i.name, 'graph input');
  for (const name of g.initializers.keys()) if (!g.inputs.some((i) => i.name === name)) define(name, 'initializer');
  const visible = (n: string) => defined.has(n) || (opts.outer?.has(n) ?? false);
  const nodeNames = new Set<string>();
  for (const node of g.nodes) {
    if (nodeNames.has(node.name)) problems.push(`node name '${node.name}' is used twice`);
    nodeNames.add(node.name);
    node.inputs.forEach((x, k) => {
      if (x && !visible(x)) problems.push(`node '${node.name}' (${node.opType}) input ${k} reads '${x}', which is not defined before it (a cycle, or a dangling input)`);
    });
    for (const a of Object.values(node.attributes)) {
      const gs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      const outer = new Set<string>([...defined, ...(opts.outer ?? [])]);
      for (const sg of gs) problems.push(...findProblems(sg, { outer }).map((p) => `in subgraph of '${node.name}': ${p}`));
    }
    for (const o of node.outputs) define(o, `node '${node.name}'`);
  }
  for (const o of g.outputs) if (!visible(o.name)) problems.push(`graph output '${o.name}' is never defined`);
  for (const [name, t] of g.initializers) {
    const decl = g.inputs.find((i) => i.name === name)?.type;
    if (decl && decl.kind === 'tensor' && decl.dtype !== t.dtype) problems.push(`initializer '${name}' is ${t.dtype} but its input declares ${formatType(decl)}`);
  }
  return problems;
}
