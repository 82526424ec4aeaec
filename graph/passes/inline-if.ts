// An If whose condition is a constant is replaced by the branch it takes. Exporters test shapes this
// way (silero VAD: "is the input 3-D?", "is the sample rate 16 kHz?"), and once the shapes fold the
// test is a constant; while the If stays, the branches' outputs have no type (they may differ in rank),
// so everything after it is untyped and nothing downstream fuses. onnxruntime inlines such Ifs too.
import type { Graph, Node } from '../ir.js';
import { constantOf, replaceUses, valueNames } from './util.js';

/** Inline the Ifs of `g` with constant conditions; returns how many. */
export function inlineConstantIfs(g: Graph): number {
  let inlined = 0;
  for (const node of [...g.nodes]) {
    if (node.opType !== 'If' || node.domain !== '' || !node.inputs[0]) continue;
    const cond = constantOf(g, node.inputs[0]);
    if (!cond || cond.data.length !== 1) continue;
    const c = (cond.data as ArrayLike<number | bigint | string>)[0];
    const taken = typeof c === 'string' ? c !== '' : Number(c) !== 0;
    const attr = node.attributes[taken ? 'then_branch' : 'else_branch'];
    if (attr?.kind !== 'graph' || attr.value.outputs.length !== node.outputs.length || attr.value.inputs.length) continue;
    if (inline(g, node, attr.value)) inlined++;
  }
  return inlined;
}

function inline(g: Graph, ifNode: Node, branch: Graph): boolean {
  const parentNames = valueNames(g);
  const branchNames = valueNames(branch);
  // Names are unique across scopes in a well-formed model; one that shadows a parent value stays as it is.
  for (const n of branchNames) if (parentNames.has(n)) return false;
  const b: Graph = { ...branch, nodes: branch.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs] })), outputs: branch.outputs.map((o) => ({ ...o })), initializers: new Map(branch.initializers) };
  const extra: Node[] = [];
  const renamed = new Set<string>();
  b.outputs.forEach((o, k) => {
    const target = ifNode.outputs[k];
    if (!target) return;
    const own = branchNames.has(o.name) && !renamed.has(o.name) && b.outputs.filter((x) => x.name === o.name).length === 1;
    if (!own) {
      // An enclosing value, or one output twice: a copy under the If's output name.
      extra.push({ name: `${ifNode.name}/output_${k}`, opType: 'Identity', domain: '', inputs: [o.name], outputs: [target], attributes: {} });
      return;
    }
    const from = o.name;
    renamed.add(from);
    const init = b.initializers.get(from);
    if (init) {
      b.initializers.delete(from);
      b.initializers.set(target, init);
    }
    for (const n of b.nodes) n.outputs = n.outputs.map((x) => (x === from ? target : x));
    replaceUses(b, from, target);
  });
  for (const [name, t] of b.initializers) g.initializers.set(name, t);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  const moved = [...b.nodes, ...extra].map((n) => (nodeNames.has(n.name) ? { ...n, name: `${ifNode.name}/${n.name}` } : n));
  const at = g.nodes.indexOf(ifNode);
  g.nodes.splice(at, 1, ...moved);
  return true;
}

