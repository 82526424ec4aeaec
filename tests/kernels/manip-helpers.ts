// One-node models for the manip kernel tests, run on tgraph's interpreter and on onnxruntime-node.
import { expect } from 'vitest';
import * as ort from 'onnxruntime-node';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Graph, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import type { HostTensor } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';

export const int = (value: number): Attr => ({ kind: 'int', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const str = (value: string): Attr => ({ kind: 'string', value });
export const tensorAttr = (value: HostTensor): Attr => ({ kind: 'tensor', value });

export function t<D extends DType>(dtype: D, dims: number[], values: readonly (number | bigint | string | boolean)[]): HostTensor {
  const data =
    dtype === 'string' ? values.map(String)
    : dtype === 'int64' ? BigInt64Array.from(values.map((v) => BigInt(v as number)))
    : dtype === 'uint64' ? BigUint64Array.from(values.map((v) => BigInt(v as number)))
    : dtype === 'float32' ? Float32Array.from(values as number[])
    : dtype === 'float64' ? Float64Array.from(values as number[])
    : dtype === 'int32' ? Int32Array.from(values as number[])
    : dtype === 'int8' ? Int8Array.from(values as number[])
    : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(values.map(Number))
    : dtype === 'float16' || dtype === 'uint16' ? Uint16Array.from(values as number[])
    : undefined;
  if (!data) throw new Error(`test helper lacks dtype ${dtype}`);
  return { kind: 'tensor', dtype, dims, data: data as HostTensor['data'] };
}

/** 0..n-1 (as the dtype) in a tensor of `dims`. */
export function iota(dtype: DType, dims: number[], from = 0): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return t(dtype, dims, Array.from({ length: n }, (_, i) => (dtype === 'string' ? `s${i + from}` : dtype === 'bool' ? (i + from) % 3 === 0 : i + from)));
}

let count = 0;

/**
 * A graph of one node: `feeds` become graph inputs, `consts` initializers (in node input order given by
 * `inputs`; '' omits an optional input). Returns tgraph's outputs (and checks them against ORT when `ort` is true).
 */
export async function runOne(
  opType: string,
  inputs: string[],
  vals: Record<string, HostTensor>,
  attrs: Record<string, Attr>,
  opset: number,
  outputs = ['y'],
  opts: { ort?: boolean; consts?: string[] } = {},
): Promise<HostTensor[]> {
  const consts = new Set(opts.consts ?? []);
  const node: Node = { name: `n${count++}`, opType, domain: '', inputs, outputs, attributes: attrs };
  const g: Graph = {
    name: `g${count++}`,
    inputs: inputs.filter((n) => n && !consts.has(n)).map((name) => ({ name, type: { kind: 'tensor', dtype: vals[name]!.dtype, shape: [...vals[name]!.dims] } })),
    outputs: outputs.map((name) => ({ name })),
    initializers: new Map([...consts].map((n) => [n, vals[n]!])),
    nodes: [node],
    valueInfo: new Map(),
  };
  const feeds = new Map(inputs.filter((n) => n && !consts.has(n)).map((n) => [n, vals[n]!]));
  const model: Model = { irVersion: 8, opsets: { '': opset }, graph: g };
  const got = interpret(g, feeds, { opsets: model.opsets });
  const outs = outputs.map((o) => got.get(o) as HostTensor);
  if (opts.ort !== false) {
    // ORT needs output types: take them from our results.
    g.outputs = outputs.map((name, i) => ({ name, type: { kind: 'tensor', dtype: outs[i]!.dtype } }));
    const sess = await ort.InferenceSession.create(exportModel(model));
    const want = await sess.run(Object.fromEntries([...feeds].map(([k, v]) => [k, new ort.Tensor(v.dtype as ort.Tensor.Type, v.data as never, [...v.dims])])));
    outputs.forEach((o, i) => {
      const w = want[o]!;
      const a = outs[i]!;
      expect(a.dtype, `${o} dtype`).toBe(w.type);
      expect([...a.dims], `${o} dims`).toEqual([...w.dims]);
      expect(Array.from(a.data as ArrayLike<unknown>), `${o} data`).toEqual(Array.from(w.data as ArrayLike<unknown>));
    });
    await sess.release();
  }
  return outs;
}
