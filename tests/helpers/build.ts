// Small IR models for tests, exported to ONNX bytes.
import type { DType } from '../../graph/dtype.js';
import type { Attr, Dim, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import type { HostTensor } from '../../graph/tensor.js';

export interface BuildSpec {
  inputs: [string, DType, Dim[]][];
  outputs: [string, DType, Dim[]?][];
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, Attr>; domain?: string; name?: string }[];
  initializers?: Record<string, HostTensor>;
  opset?: number;
}

export function buildModel(spec: BuildSpec): Model {
  const nodes: Node[] = spec.nodes.map((n, i) => ({
    name: n.name ?? `${n.op}_${i}`,
    opType: n.op,
    domain: n.domain ?? '',
    inputs: n.inputs,
    outputs: n.outputs,
    attributes: n.attrs ?? {},
  }));
  return {
    irVersion: 8,
    opsets: { '': spec.opset ?? 17 },
    graph: {
      name: 'test',
      inputs: spec.inputs.map(([name, dtype, shape]) => ({ name, type: { kind: 'tensor', dtype, shape } })),
      outputs: spec.outputs.map(([name, dtype, shape]) => ({ name, type: shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype } })),
      initializers: new Map(Object.entries(spec.initializers ?? {})),
      nodes,
      valueInfo: new Map(),
    },
  };
}

export function buildBytes(spec: BuildSpec): Uint8Array {
  return exportModel(buildModel(spec));
}
