// Which nodes of a model the registry (and a backend's kernel table) cannot run, listed all at once.
import type { UnsupportedOpInfo } from './errors.js';
import type { Graph, Model } from './ir.js';
import { findSchema, opKey } from './ops/index.js';

/** The newest ai.onnx opset tgraph knows. */
export const MAX_ONNX_OPSET = 28;

export function* allNodes(g: Graph): Generator<{ node: Graph['nodes'][number]; graph: Graph }> {
  for (const node of g.nodes) {
    yield { node, graph: g };
    for (const a of Object.values(node.attributes)) {
      if (a.kind === 'graph') yield* allNodes(a.value);
      else if (a.kind === 'graphs') for (const sg of a.value) yield* allNodes(sg);
    }
  }
}

/**
 * Ops that tgraph cannot run, grouped by op. `hasKernel` says whether the chosen backend
 * has a kernel for a registry key (the CPU backend has one for every registry entry).
 */
export function findUnsupported(model: Model, hasKernel: (key: string) => boolean = () => true): UnsupportedOpInfo[] {
  const byOp = new Map<string, UnsupportedOpInfo>();
  const add = (op: string, domain: string, opset: number, node: string, reason: string) => {
    const k = `${domain}:${op}:${reason}`;
    const e = byOp.get(k);
    if (e) e.nodes.push(node);
    else byOp.set(k, { op, domain, opset, nodes: [node], reason });
  };
  for (const { node } of allNodes(model.graph)) {
    const opset = model.opsets[node.domain];
    if (opset === undefined) {
      add(node.opType, node.domain, 0, node.name, `the model imports no opset for domain '${node.domain || 'ai.onnx'}'`);
      continue;
    }
    if (node.domain === '' && opset > MAX_ONNX_OPSET) {
      add(node.opType, node.domain, opset, node.name, `opset ${opset} is newer than the newest tgraph knows (${MAX_ONNX_OPSET})`);
      continue;
    }
    const schema = findSchema(node.domain, node.opType);
    if (!schema) {
      add(node.opType, node.domain, opset, node.name, 'not in the op registry');
      continue;
    }
    if (opset < schema.since) {
      add(node.opType, node.domain, opset, node.name, `needs opset ${schema.since} or newer`);
      continue;
    }
    if (!hasKernel(opKey(node.domain, node.opType))) add(node.opType, node.domain, opset, node.name, 'no kernel on this backend');
  }
  return [...byOp.values()];
}
