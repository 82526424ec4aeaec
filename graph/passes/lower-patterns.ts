// lower-patterns: exported subgraphs that the model's opset has no standard op for, as one tgraph op
// (which ones: the backend's LoweringCapabilities.patterns). fuse-patterns makes standard ops where the
// opset has them; this takes the rest, with the same matcher (pattern-match.ts):
//   LayerNormalization: below opset 17 (hey_jarvis, opset 13, has four), or exported without a scale
//                       (LayerNormalization-17 requires one) -> tgraph.LayerNormalization.
// It runs before lower-epilogue and lower-elementwise, which would otherwise take the pattern's tail
// (Add eps, Sqrt, Div, Mul, Add) into a FusedElementwise and leave the reductions as separate kernels.
import { inferGraph } from '../infer.js';
import { type Graph, subgraphsOf } from '../ir.js';
import { FUSED_DOMAIN } from '../ops/fused.js';
import type { HostTensor } from '../tensor.js';
import { sameShape, shapeOf, type Types, typesOf } from './lower-groups.js';
import { matchLayerNorm, patternEnv, replaceNodes } from './pattern-match.js';
import { visibleConstants } from './scopes.js';
import type { Pass } from './types.js';

function layerNorms(g: Graph, opset: number, types: Types, consts: ReadonlyMap<string, HostTensor>): number {
  let fused = 0;
  const scope = { constant: (v: string) => consts.get(v), rank: (v: string) => shapeOf(types, v)?.length };
  let env = patternEnv(g, opset, scope);
  for (const div of [...g.nodes]) {
    if (!g.nodes.includes(div)) continue;
    const m = matchLayerNorm(div, env);
    if (!m || (opset >= 17 && m.scale)) continue; // fuse-patterns' (standard LayerNormalization)
    const t = types.get(m.x);
    // Same shape in and out: a constant of higher rank or a scale on a last axis of 1 would have broadcast.
    if (t?.kind !== 'tensor' || t.dtype !== 'float32' || !sameShape(shapeOf(types, m.x), shapeOf(types, m.output))) continue;
    replaceNodes(g, m.nodes, {
      name: `${div.name}/LayerNormalization`, opType: 'LayerNormalization', domain: FUSED_DOMAIN,
      inputs: m.bias ? [m.x, m.scale ?? '', m.bias] : m.scale ? [m.x, m.scale] : [m.x], outputs: [m.output],
      attributes: { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: m.epsilon } },
    });
    fused++;
    env = patternEnv(g, opset, scope);
  }
  return fused;
}

export const lowerPatterns: Pass = {
  name: 'lower-patterns',
  level: 'extended',
  doc: 'runs exported layer norms below opset 17 (or without a scale) as one tgraph.LayerNormalization (backends that declare it)',
  run(model, ctx): Record<string, number> {
    if (!ctx.capabilities?.patterns?.includes('LayerNormalization')) return {};
    const opset = model.opsets[''] ?? 1;
    inferGraph(model.graph, { opsets: model.opsets, evaluate: ctx.evaluate });
    let fused = 0;
    // Each scope sees its enclosing scopes' types and constants (a branch's layer norm reads the outer graph's weights).
    const visit = (g: Graph, outerTypes: Types, outerConsts: ReadonlyMap<string, HostTensor>) => {
      const types = typesOf(g, outerTypes);
      const consts = visibleConstants(g, outerConsts);
      fused += layerNorms(g, opset, types, consts);
      for (const n of [...g.nodes]) for (const sg of subgraphsOf(n)) visit(sg, types, consts);
    };
    visit(model.graph, new Map(), new Map());
    if (fused) model.opsets = { ...model.opsets, [FUSED_DOMAIN]: 1 };
    return { LayerNormalization: fused };
  },
};
