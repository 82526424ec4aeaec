// Shared by the image, quant and misc kernel tests: run one node on tgraph's CPU interpreter and on
// onnxruntime-node, and compare every output.
import { expect } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import { numberToF16Bits } from '../../graph/dtype.js';
import type { Attr, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { type HostTensor, makeTensor } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { fromOrt, ort, toOrt } from '../helpers/ort.js';

let seed = 4242;
export function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
export const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

export function T(dtype: DType, dims: number[], values: readonly (number | bigint | string)[]): HostTensor {
  const v = values as number[];
  const data = dtype === 'int64' ? BigInt64Array.from(values as number[], (x) => BigInt(x))
    : dtype === 'float32' ? Float32Array.from(v)
      : dtype === 'float64' ? Float64Array.from(v)
        : dtype === 'int32' ? Int32Array.from(v)
          : dtype === 'int16' ? Int16Array.from(v)
            : dtype === 'int8' ? Int8Array.from(v)
              : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(v)
                : dtype === 'float16' ? Uint16Array.from(v, (x) => numberToF16Bits(x))
                  : dtype === 'string' ? [...(values as string[])]
                    : Uint16Array.from(v);
  return makeTensor(dtype, dims, data as never);
}
export const R = (dims: number[], lo = -1, hi = 1, dtype: DType = 'float32') => T(dtype, dims, Array.from({ length: prod(dims) }, () => lo + (hi - lo) * rnd()));
export const I = (dims: number[], lo: number, hi: number, dtype: DType) => T(dtype, dims, Array.from({ length: prod(dims) }, () => Math.floor(lo + (hi - lo + 1) * rnd())));

export const ints = (v: number[]): Attr => ({ kind: 'ints', value: v });
export const int = (v: number): Attr => ({ kind: 'int', value: v });
export const flt = (v: number): Attr => ({ kind: 'float', value: v });
export const str = (v: string): Attr => ({ kind: 'string', value: v });

export interface OracleOptions { opset?: number; outputs?: number; rtol?: number; atol?: number; domain?: string }

/** Run one node on tgraph; the outputs. */
export function runNode(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: OracleOptions = {}): HostTensor[] {
  return build(op, inputs, attributes, opts).got;
}

function build(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr>, opts: OracleOptions) {
  const opset = opts.opset ?? 21;
  const domain = opts.domain ?? '';
  const names = inputs.map((t, i) => (t ? `x${i}` : ''));
  const outs = Array.from({ length: opts.outputs ?? 1 }, (_, i) => `y${i}`);
  const node: Node = { name: 'n', opType: op, domain, inputs: names, outputs: outs, attributes };
  const given = inputs.map((t, i) => [names[i]!, t] as const).filter((e): e is readonly [string, HostTensor] => e[1] !== undefined);
  const model: Model = {
    irVersion: 10, opsets: domain ? { '': 21, [domain]: opset } : { '': opset },
    graph: {
      name: 'g', nodes: [node], initializers: new Map(), valueInfo: new Map(),
      inputs: given.map(([n, t]) => ({ name: n, type: { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } })),
      outputs: outs.map((name) => ({ name })),
    },
  };
  const res = interpret(model.graph, new Map(given), { opsets: model.opsets });
  const got = outs.map((o) => res.get(o) as HostTensor);
  model.graph.outputs = outs.map((name, i) => ({ name, type: { kind: 'tensor', dtype: got[i]!.dtype } }));
  return { model, got, given, outs };
}

/** Run one node on tgraph and on onnxruntime-node; every output must agree (floats within rtol/atol). */
export async function vsOrt(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: OracleOptions = {}): Promise<HostTensor[]> {
  const { model, got, given, outs } = build(op, inputs, attributes, opts);
  const sess = await ort.InferenceSession.create(exportModel(model));
  const r = await sess.run(Object.fromEntries(given.map(([n, t]) => [n, toOrt(t)])));
  await sess.release();
  const rtol = opts.rtol ?? 1e-4;
  const atol = opts.atol ?? 1e-5;
  outs.forEach((o, k) => {
    const want = fromOrt(r[o]!);
    const g = got[k]!;
    expect(g.dtype, `output ${k} dtype`).toBe(want.dtype);
    expect([...g.dims], `output ${k} dims`).toEqual([...want.dims]);
    if (g.dtype === 'string') {
      expect([...(g.data as string[])]).toEqual([...(want.data as string[])]);
      return;
    }
    const gv = Array.from(g.data as ArrayLike<number | bigint>, Number);
    const wv = Array.from(want.data as ArrayLike<number | bigint>, Number);
    if (g.dtype === 'float32' || g.dtype === 'float64') {
      gv.forEach((a, i) => {
        const b = wv[i]!;
        if (Number.isNaN(b)) expect(a, `y${k}[${i}]`).toBeNaN();
        else expect(Math.abs(a - b), `y${k}[${i}] ${a} vs ${b}`).toBeLessThanOrEqual(rtol * Math.abs(b) + atol);
      });
    } else {
      expect(gv).toEqual(wv);
    }
  });
  return got;
}
