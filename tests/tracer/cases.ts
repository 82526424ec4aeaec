// The tracer's parity set: functions written with the tensor API, their inputs, and (for some) an
// independent float64 reference. Each runs eagerly, traced (tg.fn), and as exported ONNX in onnxruntime-node.
import * as tg from '../../src/index.js';
import type { TgTensor } from '../../src/index.js';
import { expect } from 'vitest';
import { type HostTensor, toNumbers } from '../../graph/tensor.js';

let seed = 7;
export function rand(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
export function randn(dims: number[], scale = 1): TgTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return tg.tensor(Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale), dims);
}

export interface Case {
  name: string;
  f: (...args: never[]) => unknown;
  args: () => unknown[];
  /** float64 reference of the first output, from the inputs' data. */
  ref?: (...args: Float64Array[]) => number[];
  /** Skip the WebGPU run (and say why). */
  gpuSkip?: string;
  tol?: number;
}

// Weights captured from outside the traced functions: they become constants of the graphs.
const W1 = randn([8, 16], 0.5);
const B1 = randn([16], 0.1);
const W2 = randn([16, 4], 0.5);
const B2 = randn([4], 0.1);
const K1 = randn([4, 3, 3, 3], 0.3);
const KB1 = randn([4], 0.1);
const K2 = randn([4, 4, 3, 3], 0.3);
const FC = randn([4 * 4 * 4, 5], 0.3);
const LN_W = randn([8], 1);
const LN_B = randn([8], 0.2);
const WQ = randn([8, 8], 0.4);
const WK = randn([8, 8], 0.4);
const WV = randn([8, 8], 0.4);

const mlp = (x: TgTensor) => tg.linear(tg.linear(x, W1, B1).relu(), W2, B2);
const cnn = (x: TgTensor) => {
  const h = tg.maxPool2d(tg.conv2d(x, K1, KB1, { padding: 1 }).relu(), 2);
  return tg.linear(tg.flatten(h), FC).softmax();
};
const residual = (x: TgTensor) => {
  const h = tg.conv2d(tg.conv2d(x, K2, undefined, { padding: 'same' }).relu(), K2, undefined, { padding: 1 });
  return x.add(h).relu();
};
const attention = (x: TgTensor) => {
  // x: [batch, seq, 8], 2 heads of 4.
  const [b, s] = [x.shape[0] as number, x.shape[1] as number];
  const heads = (t: TgTensor) => t.reshape([b, s, 2, 4]).transpose([0, 2, 1, 3]);
  const q = heads(x.matmul(WQ));
  const k = heads(x.matmul(WK));
  const v = heads(x.matmul(WV));
  const att = q.matmul(k.transpose([0, 1, 3, 2])).div(2).softmax(-1);
  const o = att.matmul(v).transpose([0, 2, 1, 3]).reshape([b, s, 8]);
  return tg.layerNorm(x.add(o), LN_W, LN_B);
};

export const CASES: Case[] = [
  {
    name: 'mlp', f: mlp, args: () => [randn([3, 8])],
    ref: (x) => {
      const w1 = f64(W1), b1 = f64(B1), w2 = f64(W2), b2 = f64(B2);
      const out: number[] = [];
      for (let r = 0; r < 3; r++) {
        const h = Array.from({ length: 16 }, (_, j) => Math.max(0, b1[j]! + Array.from({ length: 8 }, (_, i) => x[r * 8 + i]! * w1[i * 16 + j]!).reduce((a, c) => a + c, 0)));
        for (let j = 0; j < 4; j++) out.push(b2[j]! + h.reduce((a, hv, i) => a + hv * w2[i * 4 + j]!, 0));
      }
      return out;
    },
  },
  { name: 'mlp-gelu-silu', f: (x: TgTensor) => tg.linear(tg.linear(x, W1, B1).gelu(), W2).silu(), args: () => [randn([2, 8])] },
  { name: 'cnn', f: cnn, args: () => [randn([2, 3, 8, 8])] },
  { name: 'residual-block', f: residual, args: () => [randn([1, 4, 6, 6])] },
  { name: 'attention-block', f: attention, args: () => [randn([2, 3, 8])], tol: 2e-4 },
  {
    name: 'layer-norm', f: (x: TgTensor) => tg.layerNorm(x, LN_W, LN_B), args: () => [randn([3, 8], 2)],
    ref: (x) => {
      const w = f64(LN_W), b = f64(LN_B);
      const out: number[] = [];
      for (let r = 0; r < 3; r++) {
        const row = Array.from(x.subarray(r * 8, r * 8 + 8));
        const m = row.reduce((a, c) => a + c, 0) / 8;
        const v = row.reduce((a, c) => a + (c - m) ** 2, 0) / 8;
        row.forEach((c, i) => out.push(((c - m) / Math.sqrt(v + 1e-5)) * w[i]! + b[i]!));
      }
      return out;
    },
  },
  {
    name: 'layer-norm-composite', f: (x: TgTensor) => tg.layerNorm(x, undefined, undefined, { axis: -2, epsilon: 1e-3 }), args: () => [randn([2, 3, 4])],
    ref: (x) => {
      const out: number[] = [];
      for (let r = 0; r < 2; r++) {
        const row = Array.from(x.subarray(r * 12, r * 12 + 12));
        const m = row.reduce((a, c) => a + c, 0) / 12;
        const v = row.reduce((a, c) => a + (c - m) ** 2, 0) / 12;
        row.forEach((c) => out.push((c - m) / Math.sqrt(v + 1e-3)));
      }
      return out;
    },
  },
  {
    name: 'softmax', f: (x: TgTensor) => [tg.softmax(x, 1), tg.logSoftmax(x, -1)], args: () => [randn([2, 5], 3)],
    ref: (x) => {
      const out: number[] = [];
      for (let r = 0; r < 2; r++) {
        const row = Array.from(x.subarray(r * 5, r * 5 + 5));
        const mx = Math.max(...row);
        const s = row.reduce((a, c) => a + Math.exp(c - mx), 0);
        row.forEach((c) => out.push(Math.exp(c - mx) / s));
      }
      return out;
    },
  },
  { name: 'reductions', f: (x: TgTensor) => ({ s: x.sum(1), m: x.mean([0, 2], true), mx: x.max(), mn: tg.min(x, -1), p: tg.prod(x.abs().add(0.5), 0) }), args: () => [randn([2, 3, 4])] },
  { name: 'where-compare', f: (x: TgTensor, y: TgTensor) => tg.where(x.greater(y), x, y.mul(0.1)).add(tg.where(x.lessEqual(0), 1, 0)), args: () => [randn([3, 4]), randn([4])] },
  {
    name: 'elementwise-chain', f: (x: TgTensor) => x.exp().add(x.abs().add(1).log()).add(x.abs().sqrt()).sub(x.tanh()).mul(x.sigmoid()).div(x.square().add(1)), args: () => [randn([5, 3])],
    ref: (x) => Array.from(x, (v) => ((Math.exp(v) + Math.log(Math.abs(v) + 1) + Math.sqrt(Math.abs(v)) - Math.tanh(v)) * (1 / (1 + Math.exp(-v)))) / (v * v + 1)),
  },
  { name: 'broadcasting', f: (a: TgTensor, b: TgTensor) => a.add(b).mul(b).sub(2), args: () => [randn([2, 1, 3]), randn([4, 1])] },
  { name: 'reshape-transpose-slice-concat', f: (x: TgTensor) => tg.concat([x.reshape([4, 6]).transpose().slice([1], [5], [0]), x.reshape([6, 4]).slice([0, 0], [4, 4], [0, 1], [1, 1])], 1), args: () => [randn([2, 3, 4])] },
  { name: 'gather-pad', f: (x: TgTensor) => tg.pad(x.gather(tg.tensor([2, 0, 2], [3], 'int64'), 0), [1, 0, 0, 2], { value: -1 }), args: () => [randn([3, 4])] },
  { name: 'cast-argmax', f: (x: TgTensor) => [x.argMax(1), x.cast('int32').cast('float32'), x.mul(3).cast('int32').add(1)], args: () => [randn([3, 4], 4)] },
  { name: 'squeeze-unsqueeze-stack-expand', f: (x: TgTensor) => tg.stack([x.unsqueeze(0).squeeze(0), x.neg()], 1).add(tg.expand(tg.tensor([1, 2]), [3, 2, 2]).reshape([3, 2, 2]).slice([0], [1], [2])), args: () => [randn([3, 2])] },
  { name: 'activations', f: (x: TgTensor) => [tg.clip(x, -0.5, 0.5), tg.leakyRelu(x, 0.2), tg.elu(x), tg.maximum(x, 0.1).minimum(0.7), x.abs().pow(tg.tensor(1.5))], args: () => [randn([4, 3])] },
  { name: 'pooling', f: (x: TgTensor) => [tg.avgPool2d(x, 2), tg.globalAvgPool(x), tg.maxPool2d(x, 3, { stride: 1, padding: 1 })], args: () => [randn([1, 2, 4, 4])] },
  { name: 'grouped-strided-conv', f: (x: TgTensor) => tg.conv2d(x, randnFixed, undefined, { stride: 2, groups: 2, padding: [1, 0, 1, 0] }), args: () => [randn([1, 4, 5, 5])] },
  { name: 'cond', f: (x: TgTensor) => tg.cond(x.sum().greater(0), () => x.mul(2).relu(), () => x.neg().exp()), args: () => [randn([2, 3])] },
  { name: 'cond-negative', f: (x: TgTensor) => tg.cond(x.sum().greater(0), () => [x.mul(2)], () => [x.sub(1)])[0]!, args: () => [randn([2, 3]).abs().neg()] },
  { name: 'while-loop', f: (x: TgTensor) => tg.whileLoop((v, i) => v.abs().sum().less(50).logicalAnd(i.less(20)), (v, i) => [v.mul(1.5).add(0.1), i.add(1)], [x, tg.scalar(0, 'int32')]), args: () => [randn([2, 2])] },
  { name: 'object-and-array-outputs', f: (x: TgTensor, y: TgTensor) => ({ sum: x.add(y), parts: [x.mul(y), y] }), args: () => [randn([2, 2]), randn([2, 2])] },
  { name: 'non-tensor-args', f: (x: TgTensor, scale: number, axis: number) => x.mul(scale).softmax(axis), args: () => [randn([2, 3]), 3, 0] },
];

const randnFixed = randn([6, 2, 3, 3], 0.3);

function f64(t: TgTensor): Float64Array {
  return Float64Array.from(t.dataSync() as Float32Array);
}

/** Outputs equal in count, dtype and dims, values within `tol`·(1 + |expected|). */
export function expectClose(got: HostTensor[], want: HostTensor[], tol: number, what: string): void {
  expect(got.length, `${what}: output count`).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    expect(`${g.dtype}[${g.dims.join(',')}]`, `${what}: output ${i} type`).toBe(`${w.dtype}[${w.dims.join(',')}]`);
    const a = toNumbers(g);
    const b = toNumbers(w);
    a.forEach((v, j) => {
      const bound = tol * (1 + Math.abs(b[j]!));
      if (!(Math.abs(v - b[j]!) <= bound)) expect.fail(`${what}: output ${i}[${j}] = ${v}, expected ${b[j]} (tol ${bound})`);
    });
  });
}
