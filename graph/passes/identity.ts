// Removal of Identity and inference-time Dropout.
import { AttrReader } from '../attrs.js';
import type { Pass } from './types.js';
import { bypass, constantOf } from './util.js';

export const eliminateIdentity: Pass = {
  name: 'eliminate-identity',
  level: 'basic',
  doc: 'removes Identity nodes and Dropout in inference mode (its mask unused)',
  run(model) {
    const g = model.graph;
    const counts = { identity: 0, dropout: 0 };
    for (const node of [...g.nodes]) {
      if (node.domain !== '') continue;
      if (node.opType === 'Identity' && node.inputs[0]) {
        // Identity of a sequence/optional is fine too: values are passed by name.
        if (bypass(g, node, node.inputs[0], node.outputs[0]!)) counts.identity++;
      } else if (node.opType === 'Dropout' && node.inputs[0]) {
        const maskUsed = !!node.outputs[1] && (g.nodes.some((n) => n.inputs.includes(node.outputs[1]!)) || g.outputs.some((o) => o.name === node.outputs[1]));
        if (maskUsed) continue;
        const training = node.inputs[2] ? constantOf(g, node.inputs[2]) : undefined;
        if (node.inputs[2] && (!training || Number((training.data as ArrayLike<number>)[0]) !== 0)) continue;
        if (new AttrReader(node).int('is_test', 1) === 0 && model.opsets[''] !== undefined && model.opsets['']! < 7) continue;
        if (bypass(g, node, node.inputs[0], node.outputs[0]!)) counts.dropout++;
      }
    }
    return counts;
  },
};
