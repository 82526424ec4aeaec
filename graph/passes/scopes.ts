// Portable passes inside subgraphs (If branches, Loop/Scan bodies). A model exported with control
// flow often keeps most of its work in a branch (silero VAD's whole network sits in an If on the
// sample rate; openwakeword's verifier MLP in another), and onnxruntime optimizes those too.
// Each pass sees a subgraph as a model of its own, with what it may use from the enclosing scopes:
// their initializers, visible as the subgraph's own while the pass runs (so folding and fusions
// that need constant weights fire), and their values' types (PassContext.outerTypes).
import { inferGraph } from '../infer.js';
import { type Graph, type Model, subgraphsOf, type ValueType } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import type { Pass, PassContext } from './types.js';

/** Run `pass` on every subgraph of `model` (depth first, each after its enclosing graph); adds its rewrite counts to `counts`. */
export function runInSubgraphs(pass: Pass, model: Model, ctx: PassContext, counts: Record<string, number>): void {
  visit(model.graph, new Map(), new Map());

  function visit(g: Graph, outerConsts: ReadonlyMap<string, HostTensor>, outerTypes: ReadonlyMap<string, ValueType>): void {
    if (!g.nodes.some((n) => subgraphsOf(n).length)) return;
    const { types } = inferGraph(g, { opsets: model.opsets, evaluate: ctx.evaluate }, outerTypes);
    const consts = visibleConstants(g, outerConsts);
    for (const node of g.nodes) {
      for (const sg of subgraphsOf(node)) {
        const own = sg.initializers;
        const inherited = new Map<string, HostTensor>();
        const shadowed = definedIn(sg);
        for (const [name, t] of consts) if (!shadowed.has(name) && !own.has(name)) inherited.set(name, t);
        sg.initializers = new Map([...inherited, ...own]);
        try {
          const r = pass.run({ ...model, graph: sg }, { ...ctx, outerTypes: types, inherited: new Set(inherited.keys()) });
          for (const [k, v] of Object.entries(r)) counts[k] = (counts[k] ?? 0) + v;
        } finally {
          // Keep the subgraph's own initializers and those the pass made; inherited ones stay outside.
          const kept = new Map<string, HostTensor>();
          for (const [name, t] of sg.initializers) if (own.has(name) || inherited.get(name) !== t) kept.set(name, t);
          sg.initializers = kept;
          // A fresh node list: caches keyed on it (the interpreter's plan) must not outlive an edit.
          sg.nodes = [...sg.nodes];
        }
        visit(sg, consts, types);
      }
    }
  }
}

/** Constants visible in `g` and its subgraphs: the enclosing ones not redefined in `g`, and `g`'s initializers that no feed overrides. */
export function visibleConstants(g: Graph, outer: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  const shadowed = definedIn(g);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of outer) if (!shadowed.has(name)) out.set(name, t);
  const inputs = new Set(g.inputs.map((i) => i.name));
  for (const [name, t] of g.initializers) if (!inputs.has(name)) out.set(name, t);
  return out;
}

/** Names `g` itself defines (inputs and node outputs), which hide enclosing values of the same name. */
function definedIn(g: Graph): Set<string> {
  const s = new Set(g.inputs.map((i) => i.name));
  for (const n of g.nodes) for (const o of n.outputs) if (o) s.add(o);
  return s;
}
