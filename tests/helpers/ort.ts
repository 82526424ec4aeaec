// onnxruntime-node as the oracle: conversions between its tensors and ours, and one node run on both.
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import type { Attr, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { type HostTensor, toNumbers } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';

export { ort };

export function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, [...t.dims]);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  return { kind: 'tensor', dtype: t.type as HostTensor['dtype'], dims: [...t.dims], data: t.data as HostTensor['data'] };
}

/** Relative closeness used for real models: |a - b| <= rtol * |b| + atol * max|b|. */
export function maxRelError(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, rtol: number, atolScale: number): { ok: boolean; worst: number; at: number } {
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(Number(want[i])));
  let worst = 0;
  let at = -1;
  let ok = got.length === want.length;
  for (let i = 0; i < want.length; i++) {
    const a = Number(got[i]);
    const b = Number(want[i]);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const err = Math.abs(a - b);
    // An absolute floor of 1e-6: float32 noise around zero (e.g. sigmoid of very negative inputs).
    const allowed = rtol * Math.abs(b) + atolScale * maxAbs + 1e-6;
    const ratio = allowed > 0 ? err / allowed : err > 0 ? Infinity : 0;
    if (!(ratio <= 1)) ok = false;
    if (ratio > worst || Number.isNaN(ratio)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      at = i;
    }
  }
  return { ok, worst, at };
}

/**
 * How close a float output must be to onnxruntime's: element by element,
 * |got - want| <= rtol * |want| + ofMax * max|want| + atol (max over the output's finite values).
 * NaN must be NaN; equal values (infinities included) pass. Non-float outputs must be equal.
 */
export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
  /** Slack relative to the output's largest magnitude (sums that cancel); default 0. */
  readonly ofMax?: number;
  /** float16 outputs: 'close' compares values with the tolerance, 'bits' (default) requires equal bits. */
  readonly float16?: 'close' | 'bits';
}

export interface OneNodeOptions {
  /** The op's opset (default 21); with `domain`, the default domain stays at 21. */
  readonly opset?: number;
  readonly domain?: string;
  /** How many outputs the node has (default 1). */
  readonly outputs?: number;
}

/** A model of one node whose inputs (undefined: an omitted optional input) are graph inputs, run on tgraph's interpreter. */
export function runOneNode(op: string, inputs: readonly (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: OneNodeOptions = {}) {
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
  // ORT needs the output types: take them from ours.
  model.graph.outputs = outs.map((name, i) => ({ name, type: { kind: 'tensor', dtype: got[i]!.dtype } }));
  return { model, got, given, outs };
}

/** Run one node on tgraph and on onnxruntime-node; every output must agree (floats within `tol`). Returns tgraph's outputs. */
export async function oneNodeVsOrt(op: string, inputs: readonly (HostTensor | undefined)[], attributes: Record<string, Attr>, opts: OneNodeOptions & { tol: Tolerance }): Promise<HostTensor[]> {
  const { model, got, given, outs } = runOneNode(op, inputs, attributes, opts);
  const sess = await ort.InferenceSession.create(exportModel(model));
  const r = await sess.run(Object.fromEntries(given.map(([n, t]) => [n, toOrt(t)])));
  await sess.release();
  const { rtol, atol, ofMax = 0, float16 = 'bits' } = opts.tol;
  outs.forEach((o, k) => {
    const want = fromOrt(r[o]!);
    const g = got[k]!;
    expect(g.dtype, `${o} dtype`).toBe(want.dtype);
    expect([...g.dims], `${o} dims`).toEqual([...want.dims]);
    if (g.dtype === 'float32' || g.dtype === 'float64' || (g.dtype === 'float16' && float16 === 'close')) {
      const a = toNumbers(g);
      const b = toNumbers(want);
      let max = 0;
      for (const v of b) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
      a.forEach((v, i) => {
        const w = b[i]!;
        if (Number.isNaN(w)) expect(v, `${o}[${i}]`).toBeNaN();
        else if (v !== w) expect(Math.abs(v - w), `${o}[${i}] ${v} vs ${w}`).toBeLessThanOrEqual(rtol * Math.abs(w) + ofMax * max + atol);
      });
    } else {
      expect(Array.from(g.data as ArrayLike<unknown>), `${o} data`).toEqual(Array.from(want.data as ArrayLike<unknown>));
    }
  });
  return got;
}

/** Each output's dims equal onnxruntime's and its values agree to 1e-4 relative (1e-5 absolute). */
export function expectOutputsMatch(names: readonly string[], got: Readonly<Record<string, { dims: readonly number[]; data: unknown }>>, want: Record<string, ort.Tensor>): void {
  for (const name of names) {
    const a = got[name]!;
    const b = want[name]!;
    expect(a.dims, `${name} dims`).toEqual(b.dims);
    const r = maxRelError(a.data as Float32Array, b.data as Float32Array, 1e-4, 1e-5);
    expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance at element ${r.at} (got ${(a.data as Float32Array)[r.at]}, want ${(b.data as Float32Array)[r.at]})`).toBe(true);
  }
}
