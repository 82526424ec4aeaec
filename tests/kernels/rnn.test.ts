// RNN/GRU/LSTM against onnxruntime-node for what the ONNX node tests miss: both directions,
// sequence_lens with reverse runs, layout 1, clip, custom activations with alpha/beta,
// GRU linear_before_reset, LSTM input_forget and peepholes.
import { describe, expect, it } from 'vitest';
import type { Attr, Model, Node } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { fromOrt, maxRelError, ort, toOrt } from '../helpers/ort.js';

/** Transpose: output axis i is input axis perm[i]. */
function permute(t: HostTensor, perm: number[]): HostTensor {
  const dims = perm.map((p) => t.dims[p]!);
  const inStrides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const src = t.data as Float32Array | Float64Array;
  const out = t.dtype === 'float64' ? new Float64Array(src.length) : new Float32Array(src.length);
  const idx = new Array<number>(dims.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let i = 0; i < dims.length; i++) off += idx[i]! * inStrides[perm[i]!]!;
    out[o] = src[off]!;
    for (let i = dims.length - 1; i >= 0 && ++idx[i]! === dims[i]; i--) idx[i] = 0;
  }
  return { kind: 'tensor', dtype: t.dtype, dims, data: out };
}

let seed = 12345;
function rand(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31 - 0.5;
}
function randT(dims: number[], scale = 1): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { kind: 'tensor', dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => rand() * scale) };
}

interface Case {
  name: string;
  op: 'RNN' | 'GRU' | 'LSTM';
  seq: number;
  batch: number;
  input: number;
  hidden: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: number;
  lens?: number[];
  bias?: boolean;
  initH?: boolean;
  initC?: boolean;
  peepholes?: boolean;
  attrs?: Record<string, Attr>;
  /** Run in float64 instead of float32. */
  f64?: boolean;
}

const GATES = { RNN: 1, GRU: 3, LSTM: 4 };

async function check(c: Case): Promise<void> {
  const dirs = c.direction === 'bidirectional' ? 2 : 1;
  const g = GATES[c.op] * c.hidden;
  const layout = c.layout ?? 0;
  const feeds = new Map<string, HostTensor>();
  // onnxruntime has no float64 RNNs: it always gets the float32 values (float64 runs compare to them).
  const ortFeeds = new Map<string, HostTensor>();
  const names: string[] = [];
  const add = (name: string, t: HostTensor | undefined) => {
    names.push(t ? name : '');
    if (t) ortFeeds.set(name, t);
    if (t) feeds.set(name, c.f64 && t.dtype === 'float32' ? { ...t, dtype: 'float64', data: Float64Array.from(t.data as Float32Array) } : t);
  };
  add('X', randT(layout ? [c.batch, c.seq, c.input] : [c.seq, c.batch, c.input], 2));
  add('W', randT([dirs, g, c.input]));
  add('R', randT([dirs, g, c.hidden]));
  add('B', c.bias ? randT([dirs, 2 * g]) : undefined);
  add('sequence_lens', c.lens ? { kind: 'tensor', dtype: 'int32', dims: [c.batch], data: Int32Array.from(c.lens) } : undefined);
  const state = layout ? [c.batch, dirs, c.hidden] : [dirs, c.batch, c.hidden];
  add('initial_h', c.initH ? randT(state) : undefined);
  if (c.op === 'LSTM') {
    add('initial_c', c.initC ? randT(state) : undefined);
    add('P', c.peepholes ? randT([dirs, 3 * c.hidden]) : undefined);
  }
  while (names.length && names[names.length - 1] === '') names.pop();
  const outs = c.op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  const node: Node = {
    name: 'n', opType: c.op, domain: '', inputs: names, outputs: outs,
    attributes: { hidden_size: { kind: 'int', value: c.hidden }, direction: { kind: 'string', value: c.direction ?? 'forward' }, layout: { kind: 'int', value: layout }, ...c.attrs },
  };
  const model: Model = {
    irVersion: 8,
    opsets: { '': 14 },
    graph: {
      name: 'g',
      inputs: [...feeds].map(([name, t]) => ({ name, type: { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } })),
      outputs: outs.map((name) => ({ name, type: { kind: 'tensor', dtype: c.f64 ? 'float64' : 'float32' } })),
      initializers: new Map(), nodes: [node], valueInfo: new Map(),
    },
  };
  // onnxruntime refuses layout 1: its oracle runs layout 0 on transposed inputs, and its outputs are transposed back.
  const toL0 = (name: string, t: HostTensor): HostTensor => (!layout ? t : name === 'X' || name === 'initial_h' || name === 'initial_c' ? permute(t, [1, 0, 2]) : t);
  const ortModel: Model = { ...model, graph: { ...model.graph, inputs: model.graph.inputs.map((i) => ({ name: i.name, type: { kind: 'tensor' as const, dtype: ortFeeds.get(i.name)!.dtype } })),
    outputs: outs.map((name) => ({ name, type: { kind: 'tensor' as const, dtype: 'float32' as const } })), nodes: [{ ...node, attributes: { ...node.attributes, layout: { kind: 'int', value: 0 } } }] } };
  const sess = await ort.InferenceSession.create(exportModel(ortModel));
  const raw = await sess.run(Object.fromEntries([...feeds].map(([k, v]) => [k, toOrt(toL0(k, ortFeeds.get(k)!))])));
  const want: Record<string, { dims: readonly number[]; data: unknown }> = {};
  for (const o of outs) {
    const t = fromOrt(raw[o]!);
    want[o] = !layout ? t : permute(t, o === 'Y' ? [2, 0, 1, 3] : [1, 0, 2]);
  }
  const got = interpret(model.graph, feeds as Map<string, RtValue>, { opsets: model.opsets });
  for (const o of outs) {
    const g1 = got.get(o) as HostTensor;
    const w = want[o]!;
    expect(g1.dtype, `${o} dtype`).toBe(c.f64 ? 'float64' : 'float32');
    expect(g1.dims, `${o} dims`).toEqual([...w.dims]);
    const r = maxRelError(g1.data as Float32Array | Float64Array, w.data as Float32Array, 1e-4, 1e-5);
    expect(r.ok, `${o}: worst ${r.worst} at ${r.at}: ${(g1.data as Float32Array)[r.at]} vs ${(w.data as Float32Array)[r.at]}`).toBe(true);
  }
  await sess.release();
}

const floats = (value: number[]): Attr => ({ kind: 'floats', value });
const strings = (value: string[]): Attr => ({ kind: 'strings', value });

const cases: Case[] = [
  { name: 'RNN bidirectional, bias, initial_h', op: 'RNN', seq: 5, batch: 3, input: 4, hidden: 6, direction: 'bidirectional', bias: true, initH: true },
  { name: 'RNN reverse with sequence_lens', op: 'RNN', seq: 5, batch: 3, input: 4, hidden: 6, direction: 'reverse', bias: true, lens: [5, 2, 3], initH: true },
  { name: 'RNN bidirectional layout 1, sequence_lens', op: 'RNN', seq: 4, batch: 3, input: 2, hidden: 5, direction: 'bidirectional', layout: 1, lens: [4, 1, 3], bias: true, initH: true },
  { name: 'RNN activations with alpha/beta, clip', op: 'RNN', seq: 4, batch: 2, input: 3, hidden: 4, direction: 'bidirectional', attrs: { activations: strings(['LeakyRelu', 'ScaledTanh']), activation_alpha: floats([0.3, 0.7]), activation_beta: floats([1.5]), clip: { kind: 'float', value: 0.8 } } },
  { name: 'GRU bidirectional linear_before_reset', op: 'GRU', seq: 5, batch: 2, input: 3, hidden: 4, direction: 'bidirectional', bias: true, initH: true, attrs: { linear_before_reset: { kind: 'int', value: 1 } } },
  { name: 'GRU reverse with sequence_lens', op: 'GRU', seq: 5, batch: 3, input: 3, hidden: 4, direction: 'reverse', bias: true, lens: [3, 5, 1] },
  { name: 'GRU layout 1, HardSigmoid/Softsign, clip', op: 'GRU', seq: 3, batch: 2, input: 3, hidden: 4, layout: 1, bias: true, attrs: { activations: strings(['HardSigmoid', 'Softsign']), activation_alpha: floats([0.25]), activation_beta: floats([0.4]), clip: { kind: 'float', value: 1.2 } } },
  { name: 'LSTM bidirectional, peepholes, initial states', op: 'LSTM', seq: 5, batch: 3, input: 4, hidden: 3, direction: 'bidirectional', bias: true, initH: true, initC: true, peepholes: true },
  { name: 'LSTM reverse with sequence_lens, layout 1', op: 'LSTM', seq: 4, batch: 3, input: 2, hidden: 3, direction: 'reverse', layout: 1, bias: true, lens: [2, 4, 3], initH: true, initC: true, peepholes: true },
  { name: 'LSTM input_forget and clip', op: 'LSTM', seq: 4, batch: 2, input: 3, hidden: 5, bias: true, attrs: { input_forget: { kind: 'int', value: 1 }, clip: { kind: 'float', value: 0.5 } } },
  // Sizes past the SIMD GEMM thresholds: the float32 input projection runs as one X.W^T product
  // (many rows; 1-2 rows through the transposed thin path).
  { name: 'LSTM odd sizes, bidirectional, sequence_lens (SIMD projection)', op: 'LSTM', seq: 7, batch: 3, input: 37, hidden: 19, direction: 'bidirectional', bias: true, lens: [7, 2, 5], initH: true, initC: true },
  { name: 'LSTM one step, batch 1, wide input (thin projection)', op: 'LSTM', seq: 1, batch: 1, input: 129, hidden: 33, bias: true, initH: true, initC: true },
  // Default activations, no peepholes: the state stays in the GEMV module's memory (linalg-gemv-simd.ts lstmState).
  { name: 'LSTM one step, batch 2, hidden 128 (silero v5/v6 shapes, wasm cell update)', op: 'LSTM', seq: 1, batch: 2, input: 128, hidden: 128, bias: true, initH: true, initC: true },
  { name: 'LSTM reverse, 6 steps, hidden 30 (wasm cell update, tail lanes)', op: 'LSTM', seq: 6, batch: 2, input: 9, hidden: 30, direction: 'reverse', bias: true, initC: true },
  { name: 'GRU one step, batch 2 (thin projection)', op: 'GRU', seq: 1, batch: 2, input: 65, hidden: 17, direction: 'reverse', bias: true, initH: true },
  { name: 'RNN layout 1 odd sizes (projection row by row)', op: 'RNN', seq: 6, batch: 5, input: 41, hidden: 23, layout: 1, bias: true },
  { name: 'GRU float64, bidirectional, sequence_lens', op: 'GRU', seq: 4, batch: 2, input: 3, hidden: 3, direction: 'bidirectional', bias: true, lens: [4, 2], initH: true, f64: true },
  { name: 'LSTM float64, bidirectional, peepholes', op: 'LSTM', seq: 4, batch: 2, input: 3, hidden: 3, direction: 'bidirectional', bias: true, initH: true, initC: true, peepholes: true, f64: true },
  { name: 'LSTM custom activations', op: 'LSTM', seq: 3, batch: 2, input: 3, hidden: 2, direction: 'bidirectional', bias: true, attrs: { activations: strings(['HardSigmoid', 'Elu', 'Softplus', 'Sigmoid', 'Tanh', 'Relu']), activation_alpha: floats([0.3, 0.9]), activation_beta: floats([0.45]) } },
];

describe('RNN kernels vs onnxruntime-node', () => {
  for (const c of cases) it(c.name, () => check(c));
});
