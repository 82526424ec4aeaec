// Small model builders for the control/sequence kernel tests, and a comparison against onnxruntime-node.
import { expect } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Dim, Graph, Model, Node, ValueInfo, ValueType } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { fromOrt, ort, toOrt } from '../helpers/ort.js';

let count = 0;
export function node(opType: string, inputs: string[], outputs: string[], attributes: Record<string, Attr> = {}): Node {
  return { name: `${opType}_${count++}`, opType, domain: '', inputs, outputs, attributes };
}

export const T = (dtype: DType, shape?: Dim[]): ValueType => (shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype });
export const vi = (name: string, type: ValueType): ValueInfo => ({ name, type });

export function graph(inputs: ValueInfo[], outputs: ValueInfo[], nodes: Node[], initializers: Record<string, HostTensor> = {}): Graph {
  return { name: `g${count++}`, inputs, outputs, nodes, initializers: new Map(Object.entries(initializers)), valueInfo: new Map() };
}

export const int = (value: number): Attr => ({ kind: 'int', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const sub = (value: Graph): Attr => ({ kind: 'graph', value });

export function f32(dims: number[], values?: number[]): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { kind: 'tensor', dtype: 'float32', dims, data: Float32Array.from(values ?? Array.from({ length: n }, (_, i) => i + 1)) };
}
export function i64(dims: number[], values: number[]): HostTensor {
  return { kind: 'tensor', dtype: 'int64', dims, data: BigInt64Array.from(values.map(BigInt)) };
}
export const bool = (v: boolean): HostTensor => ({ kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(v ? 1 : 0) });

/** Run `g` (opset `opset`) on tgraph's interpreter and on onnxruntime-node; tensor outputs must agree exactly (floats to 1e-5). */
export async function compareWithOrt(g: Graph, feeds: Record<string, HostTensor>, opset: number): Promise<Map<string, RtValue>> {
  const model: Model = { irVersion: 8, opsets: { '': opset }, graph: g };
  const sess = await ort.InferenceSession.create(exportModel(model));
  const want = await sess.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
  const got = interpret(g, new Map(Object.entries(feeds)), { opsets: model.opsets });
  for (const o of g.outputs) {
    const w = fromOrt(want[o.name]!);
    const t = got.get(o.name) as HostTensor;
    expect(t.kind, o.name).toBe('tensor');
    expect(t.dtype, `${o.name} dtype`).toBe(w.dtype);
    expect([...t.dims], `${o.name} dims`).toEqual([...w.dims]);
    const a = Array.from(t.data as ArrayLike<number | bigint>, Number);
    const b = Array.from(w.data as ArrayLike<number | bigint>, Number);
    a.forEach((x, i) => expect(Math.abs(x - b[i]!), `${o.name}[${i}]: ${x} vs ${b[i]}`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(b[i]!))));
  }
  await sess.release();
  return got;
}
