// Test helpers for the linalg and reduce kernels: tensors from values, and a one-node run on tgraph
// compared with onnxruntime-node.
import { expect } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { type HostTensor, makeTensor, toNumbers } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { fromOrt, ort, toOrt } from '../helpers/ort.js';

export function T(dtype: DType, dims: number[], values: readonly (number | bigint)[]): HostTensor {
  const data = dtype === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v))
    : dtype === 'uint64' ? BigUint64Array.from(values, (v) => BigInt(v))
      : dtype === 'float32' ? Float32Array.from(values as number[])
        : dtype === 'float64' ? Float64Array.from(values as number[])
          : dtype === 'int32' ? Int32Array.from(values as number[])
            : dtype === 'int8' ? Int8Array.from(values as number[])
              : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(values as number[], Number)
                : dtype === 'uint32' ? Uint32Array.from(values as number[])
                  : dtype === 'int16' ? Int16Array.from(values as number[])
                    : Uint16Array.from(values as number[]);
  return makeTensor(dtype, dims, data as never);
}

/** Deterministic pseudo-random values in [-1, 1) (or small integers when `int`). */
export function rand(n: number, seed = 1, int = 0): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return int ? Math.floor(u * int) - Math.floor(int / 2) : u * 2 - 1;
  });
}

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

/** Run one node on tgraph (interpreter) and on onnxruntime-node; outputs must agree (floats to rtol). */
export async function vsOrt(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opset = 21, rtol = 1e-5, nOut = 1): Promise<HostTensor[]> {
  const names = inputs.map((t, i) => (t ? `x${i}` : ''));
  const outs = Array.from({ length: nOut }, (_, i) => `y${i}`);
  const node: Node = { name: 'n', opType: op, domain: '', inputs: names, outputs: outs, attributes };
  const given = inputs.map((t, i) => [names[i]!, t] as const).filter((p): p is readonly [string, HostTensor] => p[1] !== undefined);
  const model: Model = {
    irVersion: 10, opsets: { '': opset },
    graph: {
      name: 'g', nodes: [node], initializers: new Map(), valueInfo: new Map(),
      inputs: given.map(([n, t]) => ({ name: n, type: { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } })),
      outputs: outs.map((name) => ({ name })),
    },
  };
  const res = interpret(model.graph, new Map(given), { opsets: model.opsets });
  const got = outs.map((o) => res.get(o) as HostTensor);
  model.graph.outputs = outs.map((name, i) => ({ name, type: { kind: 'tensor', dtype: got[i]!.dtype } }));
  const sess = await ort.InferenceSession.create(exportModel(model));
  const r = await sess.run(Object.fromEntries(given.map(([n, t]) => [n, toOrt(t)])));
  await sess.release();
  outs.forEach((o, k) => {
    const want = fromOrt(r[o]!);
    const g = got[k]!;
    expect(g.dtype).toBe(want.dtype);
    expect([...g.dims]).toEqual([...want.dims]);
    if (g.dtype === 'float32' || g.dtype === 'float64' || g.dtype === 'float16') {
      const a = toNumbers(g);
      const b = toNumbers(want);
      let scale = 0;
      for (const v of b) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
      a.forEach((v, i) => {
        const w = b[i]!;
        if (Number.isNaN(w)) expect(v, `[${i}]`).toBeNaN();
        else if (v !== w) expect(Math.abs(v - w), `[${i}] ${v} vs ${w}`).toBeLessThanOrEqual(rtol * (Math.abs(w) + scale) + 1e-7);
      });
    } else {
      expect(Array.from(g.data as ArrayLike<unknown>)).toEqual(Array.from(want.data as ArrayLike<unknown>));
    }
  });
  return got;
}
