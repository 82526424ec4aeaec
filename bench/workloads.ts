// What the suite runs: real ONNX models from npm packages, and micro-benchmarks built as small ONNX
// graphs in code so that every peer runs exactly the same graph.
import fs from 'node:fs';
import path from 'node:path';
import type { DType } from '../graph/dtype.js';
import type { Attr, Model, Node } from '../graph/ir.js';
import { exportModel } from '../graph/onnx/export.js';
import { importModel } from '../graph/onnx/import.js';
import type { HostTensor } from '../graph/tensor.js';
import { generateInput, rng } from '../src/cli/inputs.js';
import { REAL_MODELS, type RealModel } from '../tests/models/models.js';
import type { TracerFn } from './tracer-peers.js';

export interface FeedSpec {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A micro-benchmark's op and sizes, for peers that build it from their own ops (TensorFlow.js). */
export type MicroSpec =
  | { op: 'matmul'; batch: number; n: number }
  | { op: 'conv'; batch: number; c: number; hw: number; k: number }
  | { op: 'eltwise'; batch: number; rows: number; len: number }
  | { op: 'reducesum'; batch: number; rows: number }
  | { op: 'softmax'; batch: number; rows: number; cols: number }
  | { op: 'attention'; batch: number; heads: number; seq: number; d: number };

export interface Workload {
  id: string;
  group: 'model' | 'micro' | 'tracer';
  name: string;
  kind: string;
  batch: number;
  /** The ONNX model. */
  bytes(): Uint8Array;
  feeds(): FeedSpec[];
  flops?: number;
  bytesMoved?: number;
  /** Micro-benchmarks: what the graph computes (the ONNX initializers hold the weights). */
  micro?: MicroSpec;
  /** Tracer workloads: the function both tracers run. */
  tracer?: TracerFn;
  /** Async set-up before `bytes()` may be called (tracer workloads trace their graph here). */
  prepare?: () => Promise<void>;
}

/** The repository root (holds package.json named tgraph), found upward from this file (source or build output). */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'tgraph') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bench: cannot find the tgraph repository root');
    dir = up;
  }
}

/** tests/models/models.ts resolves node_modules relative to its own file; from a build folder that is wrong, so re-root it. */
function modelFile(m: RealModel): string {
  const i = m.file.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  return i < 0 ? m.file : path.join(repoRoot(), m.file.slice(i + 1));
}

/** Dims at batch b for the models whose batch dimension is symbolic (the others only run at batch 1). */
const BATCHED: Record<string, (b: number) => Record<string, number[]>> = {
  'openwakeword melspectrogram': (b) => ({ input: [b, 1760] }),
  'openwakeword embedding': (b) => ({ input_1: [b, 76, 32, 1] }),
  'silero VAD': (b) => ({ input: [b, 512], h: [2, b, 64], c: [2, b, 64] }),
  'PP-OCR mobile v2 direction classifier': (b) => ({ x: [b, 3, 48, 192] }),
  'PP-OCRv4 text detector': (b) => ({ x: [b, 3, 96, 96] }),
  'PP-OCRv4 text recognizer': (b) => ({ x: [b, 3, 48, 96] }),
};

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function realWorkload(m: RealModel, batch: number): Workload {
  const file = modelFile(m);
  let bytes: Uint8Array | undefined;
  const getBytes = () => (bytes ??= new Uint8Array(fs.readFileSync(file)));
  const dims = batch === 1 ? m.dims ?? {} : BATCHED[m.name]!(batch);
  return {
    id: `model/${slug(m.name)}@${batch}`,
    group: 'model',
    name: m.name,
    kind: m.kind,
    batch,
    bytes: getBytes,
    feeds: () => {
      const model = importModel(getBytes(), { source: file });
      const g = model.graph;
      return g.inputs
        .filter((i) => !g.initializers.has(i.name))
        .map((info, i) => {
          const v = m.values?.[info.name];
          if (v) {
            const data = v.type === 'int64' ? BigInt64Array.from(v.data.map(BigInt)) : Float32Array.from(v.data);
            return { name: info.name, dtype: v.type, dims: v.dims, data };
          }
          const t = info.type?.kind === 'tensor' ? info.type : undefined;
          const tensor = generateInput({ name: info.name, isTensor: true, type: t?.dtype, shape: t?.shape }, dims[info.name], 99 + i);
          if (tensor.type !== 'float32' && tensor.type !== 'int64') throw new Error(`bench: input ${info.name} of ${m.name} is ${tensor.type}`);
          return { name: info.name, dtype: tensor.type, dims: [...tensor.dims], data: tensor.data as Float32Array | BigInt64Array };
        });
    },
  };
}

export function realWorkloads(batches: number[]): Workload[] {
  const out: Workload[] = [];
  for (const m of REAL_MODELS) {
    for (const b of batches) {
      if (b !== 1 && !BATCHED[m.name]) continue;
      out.push(realWorkload(m, b));
    }
  }
  return out;
}

// ---- micro-benchmarks -------------------------------------------------------------------------

interface MicroNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, Attr>;
}

/** The elementwise cycle of the chain benchmarks (x·½, x+1, tanh, x·½, σ, x+1, |x|, √x), shared by every peer's version. */
export const CHAIN_CYCLE = ['Mul', 'Add', 'Tanh', 'Mul', 'Sigmoid', 'Add', 'Abs', 'Sqrt'] as const;

export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() * 2 - 1) * scale;
  return a;
}

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });
const i64 = (dims: number[], data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims, data: BigInt64Array.from(data.map(BigInt)) });
const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const int = (value: number): Attr => ({ kind: 'int', value });

function microModel(name: string, inputs: [string, DType, number[]][], outputs: string[], nodes: MicroNode[], inits: Record<string, HostTensor>): Model {
  return {
    irVersion: 8,
    opsets: { '': 17 },
    graph: {
      name,
      inputs: inputs.map(([n, dtype, shape]) => ({ name: n, type: { kind: 'tensor', dtype, shape } })),
      outputs: outputs.map((n) => ({ name: n })),
      initializers: new Map(Object.entries(inits)),
      nodes: nodes.map((n, i): Node => ({ name: `${n.op}_${i}`, opType: n.op, domain: '', inputs: n.inputs, outputs: n.outputs, attributes: n.attrs ?? {} })),
      valueInfo: new Map(),
    },
  };
}

function micro(spec: MicroSpec, id: string, name: string, kind: string, batch: number, build: () => Model, feeds: [string, number[]][], cost: { flops?: number; bytes?: number }): Workload {
  let bytes: Uint8Array | undefined;
  return {
    id: `micro/${id}@${batch}`,
    group: 'micro',
    name,
    kind,
    batch,
    bytes: () => (bytes ??= exportModel(build())),
    feeds: () => feeds.map(([n, dims], i) => ({ name: n, dtype: 'float32' as const, dims, data: randomF32(dims.reduce((a, b) => a * b, 1), 7 + i) })),
    flops: cost.flops,
    bytesMoved: cost.bytes,
    micro: spec,
  };
}

/** MatMul of a [b, n, n] activation by an [n, n] weight. */
export function matmulWorkload(n: number, b: number): Workload {
  return micro({ op: 'matmul', batch: b, n }, `matmul-${n}`, `MatMul ${n}×${n}×${n}`, 'MatMul', b,
    () => microModel('matmul', [['x', 'float32', [b, n, n]]], ['y'], [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }], { w: f32([n, n], randomF32(n * n, 3, 1 / Math.sqrt(n))) }),
    [['x', [b, n, n]]], { flops: 2 * b * n * n * n });
}

/** Conv k×k, c -> c channels, same padding, with bias. */
function conv(c: number, hw: number, k: number, b: number): Workload {
  const pad = (k - 1) / 2;
  return micro({ op: 'conv', batch: b, c, hw, k }, `conv-${k}x${k}-c${c}-${hw}`, `Conv ${k}×${k} ${c}→${c} @${hw}×${hw}`, 'Conv', b,
    () => microModel('conv', [['x', 'float32', [b, c, hw, hw]]], ['y'], [{ op: 'Conv', inputs: ['x', 'w', 'bias'], outputs: ['y'], attrs: { kernel_shape: ints([k, k]), pads: ints([pad, pad, pad, pad]) } }], {
      w: f32([c, c, k, k], randomF32(c * c * k * k, 4, 1 / Math.sqrt(c * k * k))),
      bias: f32([c], randomF32(c, 5)),
    }),
    [['x', [b, c, hw, hw]]], { flops: 2 * b * c * c * k * k * hw * hw });
}

/** A chain of `len` elementwise ops (unary and binary with scalar constants) over [b, rows, 1024]. */
function eltwiseChain(rows: number, len: number, b: number): Workload {
  const n = b * rows * 1024;
  const cycle = CHAIN_CYCLE;
  return micro({ op: 'eltwise', batch: b, rows, len }, `eltwise-chain-${len}-${rows}k`, `${len} elementwise ops on ${rows}×1024`, 'elementwise chain', b,
    () => {
      const nodes: MicroNode[] = [];
      let cur = 'x';
      for (let i = 0; i < len; i++) {
        const op = cycle[i % cycle.length]!;
        const out = i === len - 1 ? 'y' : `t${i}`;
        nodes.push({ op, inputs: op === 'Mul' ? [cur, 'half'] : op === 'Add' ? [cur, 'one'] : [cur], outputs: [out] });
        cur = out;
      }
      return microModel('eltwise', [['x', 'float32', [b, rows, 1024]]], ['y'], nodes, { half: f32([], Float32Array.of(0.5)), one: f32([], Float32Array.of(1)) });
    },
    [['x', [b, rows, 1024]]], { bytes: 8 * n });
}

/** ReduceSum over the last axis of [b, rows, 1024], keepdims. */
function reduce(rows: number, b: number): Workload {
  const n = b * rows * 1024;
  return micro({ op: 'reducesum', batch: b, rows }, `reducesum-${rows}k`, `ReduceSum last axis of ${rows}×1024`, 'reduction', b,
    () => microModel('reduce', [['x', 'float32', [b, rows, 1024]]], ['y'], [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: int(1) } }], { axes: i64([1], [-1]) }),
    [['x', [b, rows, 1024]]], { bytes: 4 * n + 4 * b * rows });
}

/** Softmax over the last axis of [b, rows, cols]. */
function softmax(rows: number, cols: number, b: number): Workload {
  const n = b * rows * cols;
  return micro({ op: 'softmax', batch: b, rows, cols }, `softmax-${rows}x${cols}`, `Softmax ${rows}×${cols}`, 'softmax', b,
    () => microModel('softmax', [['x', 'float32', [b, rows, cols]]], ['y'], [{ op: 'Softmax', inputs: ['x'], outputs: ['y'], attrs: { axis: int(-1) } }], {}),
    [['x', [b, rows, cols]]], { bytes: 8 * n });
}

/** Scaled dot-product attention: softmax(Q Kᵀ / √d) V over [b, heads, seq, d]. */
function attention(heads: number, seq: number, d: number, b: number): Workload {
  const dims = [b, heads, seq, d];
  return micro({ op: 'attention', batch: b, heads, seq, d }, `attention-h${heads}-s${seq}-d${d}`, `Attention ${heads} heads, seq ${seq}, d ${d}`, 'attention (MatMul, Softmax, MatMul)', b,
    () => microModel('attention', [['q', 'float32', dims], ['k', 'float32', dims], ['v', 'float32', dims]], ['y'], [
      { op: 'Transpose', inputs: ['k'], outputs: ['kt'], attrs: { perm: ints([0, 1, 3, 2]) } },
      { op: 'MatMul', inputs: ['q', 'kt'], outputs: ['s'] },
      { op: 'Mul', inputs: ['s', 'scale'], outputs: ['ss'] },
      { op: 'Softmax', inputs: ['ss'], outputs: ['p'], attrs: { axis: int(-1) } },
      { op: 'MatMul', inputs: ['p', 'v'], outputs: ['y'] },
    ], { scale: f32([], Float32Array.of(1 / Math.sqrt(d))) }),
    [['q', dims], ['k', dims], ['v', dims]], { flops: 4 * b * heads * seq * seq * d });
}

export function microWorkloads(quick: boolean, batches: number[]): Workload[] {
  const out: Workload[] = [];
  for (const b of batches) {
    if (quick) {
      out.push(matmulWorkload(64, b), matmulWorkload(128, b), conv(16, 28, 3, b), eltwiseChain(64, 16, b), reduce(64, b), softmax(128, 512, b), attention(4, 64, 32, b));
    } else {
      out.push(
        matmulWorkload(64, b), matmulWorkload(256, b), matmulWorkload(512, b),
        conv(32, 56, 3, b), conv(64, 28, 3, b), conv(128, 14, 1, b),
        eltwiseChain(256, 16, b), reduce(1024, b), softmax(512, 1024, b), attention(8, 128, 64, b),
      );
    }
  }
  return out;
}
