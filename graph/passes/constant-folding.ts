// Constant folding with the CPU kernels: Constant nodes become initializers, and every node whose
// inputs are constant (including Shape of a statically known shape, so shape-arithmetic chains such
// as Shape -> Gather -> Concat -> Reshape fold away) is computed once, up to a size limit. An If whose
// condition folded to a constant is replaced by the branch it takes (inline-if.ts).
import { inferGraph } from '../infer.js';
import { inlineConstantIfs } from './inline-if.js';
import type { Pass } from './types.js';
import { isGraphOutput } from './util.js';

const NONDETERMINISTIC = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial']);

export const constantFolding: Pass = {
  name: 'constant-folding',
  level: 'basic',
  doc: 'computes nodes with constant inputs (and Shape of static shapes) once with the CPU kernels',
  run(model, ctx) {
    const g = model.graph;
    const { constants } = inferGraph(g, { opsets: model.opsets, evaluate: ctx.evaluate, maxConstantElements: ctx.maxFoldElements }, ctx.outerTypes);
    const counts = { constant: 0, folded: 0, shape: 0 };
    g.nodes = g.nodes.filter((node) => {
      if (NONDETERMINISTIC.has(node.opType) || node.domain !== '' && node.domain !== 'ai.onnx.ml') return true;
      const outs = node.outputs.filter(Boolean);
      if (!outs.length || outs.some((o) => !constants.has(o) || isGraphOutput(g, o))) return true;
      for (const o of outs) g.initializers.set(o, constants.get(o)!);
      if (node.opType === 'Constant') counts.constant++;
      else if (node.opType === 'Shape' || node.opType === 'Size') counts.shape++;
      else counts.folded++;
      return false;
    });
    const ifs = inlineConstantIfs(g);
    return ifs ? { ...counts, 'if-inlined': ifs } : counts;
  },
};
