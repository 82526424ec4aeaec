// Graph queries and edits shared by the passes.
import type { Graph, Node } from '../ir.js';
import { outerReferences, subgraphsOf } from '../ir.js';
import type { HostTensor } from '../tensor.js';

/** How many times each value is read: by nodes, by subgraphs (outer references) and as a graph output. */
export function useCounts(g: Graph): Map<string, number> {
  const uses = new Map<string, number>();
  const add = (n: string) => n && uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const node of g.nodes) {
    node.inputs.forEach(add);
    for (const sg of subgraphsOf(node)) for (const r of outerReferences(sg)) add(r);
  }
  for (const o of g.outputs) add(o.name);
  return uses;
}

export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  }
  return m;
}

/** Replace every read of `from` by `to`, in nodes, nested subgraphs (unless shadowed) and outputs. */
export function replaceUses(g: Graph, from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    for (const sg of subgraphsOf(n)) {
      const shadowed = sg.inputs.some((i) => i.name === from) || sg.initializers.has(from) || sg.nodes.some((x) => x.outputs.includes(from));
      if (!shadowed) replaceUses(sg, from, to);
    }
  }
  for (const o of g.outputs) if (o.name === from) o.name = to;
}

export function isGraphOutput(g: Graph, name: string): boolean {
  return g.outputs.some((o) => o.name === name);
}
export function isGraphInput(g: Graph, name: string): boolean {
  return g.inputs.some((i) => i.name === name);
}

/** A constant value: an initializer that no feed can override. */
export function constantOf(g: Graph, name: string): HostTensor | undefined {
  if (!name || isGraphInput(g, name)) return undefined;
  return g.initializers.get(name);
}

/**
 * Make `node` go away by letting its output `out` be read as `input` instead.
 * When `out` is a graph output, the producer of `input` is renamed to write `out` (if it may be).
 * Returns false when the rewrite is not possible.
 */
export function bypass(g: Graph, node: Node, input: string, out: string): boolean {
  if (isGraphOutput(g, out)) {
    const prod = g.nodes.find((n) => n.outputs.includes(input));
    if (!prod || isGraphOutput(g, input) || isGraphInput(g, input)) return false;
    prod.outputs = prod.outputs.map((o) => (o === input ? out : o));
    replaceUses(g, input, out);
    g.nodes.splice(g.nodes.indexOf(node), 1);
    return true;
  }
  replaceUses(g, out, input);
  g.nodes.splice(g.nodes.indexOf(node), 1);
  return true;
}

/** Every value `g` itself defines: its inputs, initializers and node outputs. */
export function valueNames(g: Graph): Set<string> {
  const s = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) n.outputs.forEach((o) => o && s.add(o));
  return s;
}

export function uniqueValueName(g: Graph, base: string): string {
  const taken = valueNames(g);
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

export function countValues(g: Graph): number {
  return valueNames(g).size;
}
