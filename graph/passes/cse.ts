// Common-subexpression elimination: nodes with the same op, inputs and attributes compute the same
// values (inputs of commutative ops are normalized by sorting).
import type { Attr, Node } from '../ir.js';
import type { Pass } from './types.js';
import { isGraphOutput, replaceUses } from './util.js';

const COMMUTATIVE = new Set(['Add', 'Mul', 'Max', 'Min', 'Sum', 'Mean', 'And', 'Or', 'Xor', 'Equal', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor']);
const NONDETERMINISTIC = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial', 'Dropout']);

function attrKey(a: Attr): string | undefined {
  switch (a.kind) {
    case 'graph': case 'graphs': case 'tensor': case 'tensors': case 'sparse': return undefined;
    default: return JSON.stringify(a);
  }
}

function keyOf(n: Node): string | undefined {
  if (NONDETERMINISTIC.has(n.opType)) return undefined;
  const attrs: string[] = [];
  for (const k of Object.keys(n.attributes).sort()) {
    const v = attrKey(n.attributes[k]!);
    if (v === undefined) return undefined;
    attrs.push(`${k}=${v}`);
  }
  const inputs = COMMUTATIVE.has(n.opType) && n.domain === '' ? [...n.inputs].sort() : n.inputs;
  return `${n.domain}|${n.opType}|${inputs.join(',')}|${n.outputs.length}|${attrs.join(';')}`;
}

export const commonSubexpressionElimination: Pass = {
  name: 'common-subexpression-elimination',
  level: 'basic',
  doc: 'merges nodes with the same op, inputs and attributes (commutative inputs sorted)',
  run(model) {
    const g = model.graph;
    const seen = new Map<string, Node>();
    let merged = 0;
    for (const node of [...g.nodes]) {
      const key = keyOf(node);
      if (!key) continue;
      const prev = seen.get(key);
      if (!prev) {
        seen.set(key, node);
        continue;
      }
      if (node.outputs.some((o) => isGraphOutput(g, o))) continue;
      node.outputs.forEach((o, i) => o && replaceUses(g, o, prev.outputs[i]!));
      g.nodes.splice(g.nodes.indexOf(node), 1);
      merged++;
    }
    return { merged };
  },
};
