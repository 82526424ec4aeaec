// Evaluate one node on constant inputs with the CPU kernels (constant propagation and folding).
import type { ConstantEvaluator } from '../../graph/infer.js';
import type { RtValue } from '../../graph/tensor.js';
import { runNode } from './interpreter.js';

export const evaluateConstantNode: ConstantEvaluator = (node, inputs, opsets) => {
  const outs = runNode(node, inputs as (RtValue | undefined)[], { values: new Map() }, { opsets });
  return outs.map((o) => (o && o.kind === 'tensor' ? o : undefined)).filter((o) => o !== undefined);
};
