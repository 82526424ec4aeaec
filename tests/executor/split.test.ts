// Split nodes (src/executor/split.ts): the parts of a split node, run through the pool worker's own
// task code (run-task.ts), combine to what the unsplit CPU kernel gives; sessions in parallel mode
// equal sequential ones on models made of such nodes, lowered (fused) or not, and the profile shows
// the parts of one node on more than one worker; an abort mid-run leaves nothing behind.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Attr, Node } from '../../graph/ir.js';
import { encodeProgram, type Instr } from '../../graph/ops/fused-program.js';
import { allocSharedTensor, type HostTensor } from '../../graph/tensor.js';
import { reusedTensorBuffers, setTensorPool } from '../../graph/tensor-pool.js';
import { runNode } from '../../kernels/cpu/interpreter.js';
import { runTask } from '../../src/executor/run-task.js';
import { shareValue } from '../../src/executor/shared.js';
import { planSplit, splitTuning } from '../../src/executor/split.js';
import { AbortError, InferenceSession, type SessionOptions, Tensor } from '../../src/index.js';
import { buildModel } from '../helpers/build.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from '../models/models.js';
import { f32, tensorOf } from './graphs.js';

const OPSETS = { '': 18, tgraph: 1 };
const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const int = (value: number): Attr => ({ kind: 'int', value });
const float = (value: number): Attr => ({ kind: 'float', value });
const prog = (code: Instr[]): Attr => ({ kind: 'string', value: encodeProgram({ code }) });
const bool = (dims: number[], seed: number): HostTensor => {
  const t = f32(dims, seed);
  return { kind: 'tensor', dtype: 'bool', dims, data: Uint8Array.from(t.data, (v) => (v > 0 ? 1 : 0)) };
};
const i64 = (values: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });

function node(opType: string, nIn: number, attributes: Record<string, Attr> = {}, opts: { domain?: string; outputs?: number } = {}): Node {
  return { name: `${opType}_node`, opType, domain: opts.domain ?? '', inputs: Array.from({ length: nIn }, (_, i) => `in${i}`), outputs: Array.from({ length: opts.outputs ?? 1 }, (_, i) => `out${i}`), attributes };
}

const saved = { ...splitTuning };
beforeEach(() => Object.assign(splitTuning, { splitMinElements: 0, splitMinMacs: 0, maxPartsPerWorker: 1 }));
afterEach(() => void Object.assign(splitTuning, saved));

/** Split `n` two ways, run its parts as a worker would (into the shared output) and compare with the unsplit kernel. */
function checkSplit(n: Node, inputs: (HostTensor | undefined)[], tol = 0, parts = 2) {
  const want = runNode(n, [...inputs], { values: new Map() }, { opsets: OPSETS }) as HostTensor[];
  const shared = inputs.map((v) => (v ? (shareValue(v) as HostTensor) : v));
  const plan = planSplit(n, shared, parts, OPSETS, allocSharedTensor);
  expect(plan, `${n.opType} is split`).toBeDefined();
  expect(plan!.parts.length).toBe(parts);
  const outcomes = plan!.parts.map((p) => runTask(p.node, p.inputs, OPSETS, p.target));
  // Each part's kernel wrote straight into its block of the node's output.
  expect(outcomes.map((o) => o.wrote)).toEqual(plan!.parts.map(() => true));
  const got = plan!.combine(outcomes.map((o) => o.outputs), outcomes.map((o) => o.wrote)) as HostTensor[];
  expect(got.length).toBe(want.length);
  got.forEach((g, k) => {
    expect(g.dims, `output ${k} dims`).toEqual(want[k]!.dims);
    expect(g.dtype).toBe(want[k]!.dtype);
    const a = g.data as ArrayLike<number>;
    const b = want[k]!.data as ArrayLike<number>;
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + 1e-6));
    if (tol === 0) expect(Array.from(a), `${n.opType} output ${k}`).toEqual(Array.from(b));
    else expect(worst, `${n.opType} output ${k}`).toBeLessThanOrEqual(tol);
  });
}

describe('split parts equal the unsplit kernel', () => {
  it('elementwise: unary, binary with broadcasting, variadic, Where, Clip, comparisons', () => {
    checkSplit(node('Relu', 1), [f32([3, 5, 7])]);
    checkSplit(node('Sigmoid', 1), [f32([2, 9, 11], 2)], 0, 3);
    checkSplit(node('Add', 2), [f32([2, 8, 6, 5]), f32([8, 1, 1], 3)]); // per channel
    checkSplit(node('Mul', 2), [f32([1, 8, 6, 5]), f32([1, 8, 6, 5], 4)]);
    checkSplit(node('Sub', 2), [f32([6, 1, 5], 5), f32([1, 4, 5], 6)]); // both broadcast: cut on the first axis only
    checkSplit(node('Div', 2), [f32([4, 7]), f32([], 7)]);
    checkSplit(node('Max', 3), [f32([5, 6], 1), f32([6], 2), f32([5, 1], 3)]);
    checkSplit(node('Where', 3), [bool([4, 1, 6], 8), f32([4, 5, 6], 9), f32([6], 10)]);
    checkSplit(node('Greater', 2), [f32([4, 5, 6], 11), f32([5, 6], 12)]);
    checkSplit(node('Clip', 3), [f32([4, 33], 13), { kind: 'tensor', dtype: 'float32', dims: [], data: Float32Array.of(-0.05) }, { kind: 'tensor', dtype: 'float32', dims: [], data: Float32Array.of(0.05) }]);
    checkSplit(node('Cast', 1, { to: int(11) }), [f32([8, 9], 14)]); // float32 -> float64
  });

  it('tgraph:FusedElementwise with a broadcast input and a Where condition', () => {
    const code: Instr[] = [{ op: 'Add', x: { in: 0 }, y: { in: 1 } }, { op: 'Sigmoid', x: { t: 0 } }, { op: 'Where', cond: { in: 2 }, x: { t: 1 }, y: { t: 0 } }, { op: 'Mul', x: { t: 2 }, y: { c: 3 } }];
    checkSplit(node('FusedElementwise', 3, { program: prog(code) }, { domain: 'tgraph' }), [f32([2, 6, 5, 4]), f32([6, 1, 1], 2), bool([1, 1, 5, 4], 3)]);
  });

  it('reductions along inner axes, by attribute and by input, keepdims or not', () => {
    checkSplit({ ...node('ReduceSum', 2), attributes: { keepdims: int(0) } }, [f32([6, 5, 4]), i64([2])]);
    checkSplit(node('ReduceMean', 2), [f32([3, 4, 5, 6], 2), i64([2, 3])]);
    checkSplit(node('ReduceMax', 2), [f32([4, 3, 5], 3), i64([-1])]);
    checkSplit(node('ReduceL2', 2, { keepdims: int(0) }), [f32([2, 3, 10], 4), i64([1, 2])], 1e-6);
    checkSplit(node('ReduceLogSumExp', 2), [f32([5, 9], 5), i64([1])]);
  });

  it('Softmax, LogSoftmax (last and middle axis), LayerNormalization with Mean and InvStdDev', () => {
    checkSplit(node('Softmax', 1), [f32([3, 4, 17])]);
    checkSplit(node('LogSoftmax', 1, { axis: int(1) }), [f32([4, 9, 3], 2)]);
    checkSplit(node('LayerNormalization', 3, { axis: int(-1), epsilon: float(1e-5) }, { outputs: 3 }), [f32([2, 5, 16], 3), f32([16], 4), f32([16], 5)]);
    checkSplit(node('LayerNormalization', 2, { axis: int(2) }), [f32([3, 4, 2, 8], 6), f32([2, 8], 7)]);
    // The lowering's tgraph.LayerNormalization, with and without a scale.
    checkSplit(node('LayerNormalization', 3, { axis: int(-1), epsilon: float(1e-5) }, { domain: 'tgraph' }), [f32([6, 16], 8), f32([16], 9), f32([16], 10)]);
    checkSplit(node('LayerNormalization', 1, { axis: int(-1) }, { domain: 'tgraph' }), [f32([6, 16], 11)]);
  });

  it('pooling by batch x channels', () => {
    checkSplit(node('MaxPool', 1, { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }), [f32([2, 3, 13, 11])]);
    checkSplit(node('AveragePool', 1, { kernel_shape: ints([2, 2]), ceil_mode: int(1) }), [f32([1, 5, 9, 9], 2)]);
    checkSplit(node('GlobalAveragePool', 1), [f32([2, 7, 6, 6], 3)]);
  });

  it('Conv (batch; output channels; whole groups) and MatMul/Gemm (rows; batches)', () => {
    const pads = ints([1, 1, 1, 1]);
    checkSplit(node('Conv', 3, { pads }), [f32([1, 4, 9, 9]), f32([6, 4, 3, 3], 2), f32([6], 3)], 1e-4);
    checkSplit(node('Conv', 2, { pads }), [f32([3, 4, 9, 9]), f32([6, 4, 3, 3], 2)], 1e-4, 3);
    checkSplit(node('Conv', 3, { pads, group: int(8) }), [f32([1, 8, 10, 10], 4), f32([8, 1, 3, 3], 5), f32([8], 6)], 1e-4); // depthwise
    checkSplit(node('Conv', 2, { group: int(2), strides: ints([2, 2]) }), [f32([1, 4, 9, 9], 7), f32([6, 2, 3, 3], 8)], 1e-4);
    checkSplit(node('MatMul', 2), [f32([2, 5, 8]), f32([8, 6], 2)], 1e-4);
    checkSplit(node('MatMul', 2), [f32([4, 5, 8], 3), f32([4, 8, 6], 4)], 1e-4);
    checkSplit(node('Gemm', 3, { transB: int(1), alpha: float(0.5) }), [f32([6, 8], 5), f32([7, 8], 6), f32([6, 7], 7)], 1e-4);
    checkSplit(node('Gemm', 3), [f32([6, 8], 5), f32([8, 7], 6), f32([7], 7)], 1e-4);
  });

  it('fused Conv/MatMul/Gemm: epilogue inputs of the full shape, per channel and scalar are cut with the output', () => {
    const epi = prog([{ op: 'Add', x: { in: 0 }, y: { in: 1 } }, { op: 'Mul', x: { t: 0 }, y: { in: 2 } }, { op: 'Sub', x: { t: 1 }, y: { in: 3 } }, { op: 'Relu', x: { t: 2 } }]);
    const pads = ints([1, 1, 1, 1]);
    const conv = (attrs: Record<string, Attr>) => ({ ...node('FusedConv', 6, { ...attrs, epilogue: epi }, { domain: 'tgraph' }) });
    // Batch 1, cut by output channel: a full-shape residual, a [C,1,1] scale, a scalar.
    checkSplit(conv({ pads }), [f32([1, 4, 8, 8]), f32([6, 4, 3, 3], 2), f32([6], 3), f32([1, 6, 8, 8], 4), f32([6, 1, 1], 5), f32([1], 6)], 1e-4);
    // Depthwise, cut by groups; the bias absent.
    const dw = conv({ pads, group: int(6) });
    dw.inputs[2] = '';
    checkSplit(dw, [f32([1, 6, 8, 8]), f32([6, 1, 3, 3], 2), undefined, f32([1, 6, 8, 8], 4), f32([1, 6, 1, 1], 5), f32([], 6)], 1e-4, 3);
    // Batch 2, cut by batch.
    checkSplit(conv({ pads }), [f32([2, 4, 8, 8]), f32([6, 4, 3, 3], 2), f32([6], 3), f32([2, 6, 8, 8], 4), f32([6, 1, 1], 5), f32([1], 6)], 1e-4);
    const mm = node('FusedMatMul', 5, { epilogue: epi }, { domain: 'tgraph' });
    checkSplit(mm, [f32([2, 5, 8]), f32([8, 6], 2), f32([2, 5, 6], 3), f32([1, 1, 6], 4), f32([1], 5)], 1e-4);
    checkSplit(mm, [f32([3, 5, 8]), f32([3, 8, 6], 2), f32([3, 5, 6], 3), f32([6], 4), f32([1], 5)], 1e-4);
    const gemm = node('FusedGemm', 6, { transB: int(1), epilogue: epi }, { domain: 'tgraph' });
    checkSplit(gemm, [f32([6, 8]), f32([7, 8], 2), f32([7], 3), f32([6, 7], 4), f32([1, 7], 5), f32([1], 6)], 1e-4);
  });

  it('does not split what it cannot cut, nor below the measured thresholds', () => {
    expect(planSplit(node('ReduceSum', 2), [f32([6, 5]), i64([0])], 2, OPSETS)).toBeUndefined(); // reduces the outer axis
    expect(planSplit(node('Softmax', 1, { axis: int(0) }), [f32([6, 5])], 2, OPSETS)).toBeUndefined();
    expect(planSplit(node('Add', 2), [f32([1, 1]), f32([1])], 2, OPSETS)).toBeUndefined(); // one element
    expect(planSplit(node('MaxPool', 1, { kernel_shape: ints([2, 2]) }, { outputs: 2 }), [f32([2, 3, 4, 4])], 2, OPSETS)).toBeUndefined(); // Indices index the whole input
    Object.assign(splitTuning, saved);
    expect(planSplit(node('Relu', 1), [f32([64, 64])], 2, OPSETS)).toBeUndefined(); // 4k elements: not worth it
    expect(planSplit(node('Relu', 1), [f32([1024, 1024])], 2, OPSETS)?.parts.length).toBe(2);
    // Not when a round trip costs more than the split saves (the pool's measured latency).
    expect(planSplit(node('Relu', 1), [f32([1024, 1024])], 2, OPSETS, undefined, 0.1)).toBeDefined(); // ~1 ms of work
    expect(planSplit(node('Relu', 1), [f32([1024, 1024])], 2, OPSETS, undefined, 5)).toBeUndefined();
    // Two parts per worker once each part still reaches the threshold (when allowed).
    splitTuning.maxPartsPerWorker = 2;
    expect(planSplit(node('Relu', 1), [f32([2048, 1024])], 2, OPSETS)?.parts.length).toBe(2);
    expect(planSplit(node('Relu', 1), [f32([4096, 1024])], 2, OPSETS)?.parts.length).toBe(4);
  });
});

// ---- sessions ----

const sessions: InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release({ force: true });
});

/** A model of big splittable nodes of every family above (2 x 32 x 64 x 64 activations). */
function bigModel() {
  const attrs = { pads: ints([1, 1, 1, 1]) };
  return buildModel({
    inputs: [['x', 'float32', [2, 32, 64, 64]]],
    outputs: [['y', 'float32'], ['sm', 'float32'], ['ln', 'float32'], ['pool', 'float32'], ['red', 'float32']],
    initializers: { w: f32([32, 32, 3, 3], 2), b: f32([32], 3), dw: f32([32, 1, 3, 3], 4), s: f32([32, 1, 1], 5), half: f32([], 6), g: f32([64], 7), be: f32([64], 8), axes: i64([3]) },
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs },
      { op: 'Add', name: 'res', inputs: ['c', 'x'], outputs: ['r'] },
      { op: 'Mul', name: 'scale', inputs: ['r', 's'], outputs: ['m'] },
      { op: 'Relu', name: 'relu', inputs: ['m'], outputs: ['a'] },
      { op: 'Conv', name: 'dwconv', inputs: ['a', 'dw'], outputs: ['d'], attrs: { ...attrs, group: int(32) } },
      { op: 'Sigmoid', name: 'sig', inputs: ['d'], outputs: ['ds'] },
      { op: 'Mul', name: 'swish', inputs: ['d', 'ds'], outputs: ['y'] },
      { op: 'Softmax', name: 'softmax', inputs: ['y'], outputs: ['sm'] },
      { op: 'LayerNormalization', name: 'ln', inputs: ['y', 'g', 'be'], outputs: ['ln'] },
      { op: 'MaxPool', name: 'pool', inputs: ['a'], outputs: ['pool'], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]) } },
      { op: 'ReduceMean', name: 'red', inputs: ['ln', 'axes'], outputs: ['red'], attrs: { keepdims: int(0) } },
    ],
    opset: 18,
  });
}

async function session(opts: SessionOptions) {
  const s = await InferenceSession.fromModel(bigModel(), opts);
  sessions.push(s);
  return s;
}

function expectSame(got: Record<string, Tensor>, want: Record<string, Tensor>, tol: number) {
  for (const k of Object.keys(want)) {
    expect(got[k]!.dims, k).toEqual(want[k]!.dims);
    const a = got[k]!.data as Float32Array;
    const b = want[k]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(b[i]!) + 1e-3));
    expect(worst, k).toBeLessThanOrEqual(tol);
  }
}

describe('parallel sessions with split nodes', () => {
  // Thresholds low enough that this model's 256k-element nodes split (the defaults are tuned for speed).
  beforeEach(() => Object.assign(splitTuning, saved, { splitMinElements: 1 << 16, workerMinElements: 1 << 15, adaptive: false }));

  it('equal sequential runs, unlowered and lowered (fused Conv epilogues and elementwise chains); parts of one node ran on two workers', async () => {
    const feeds = [1, 2].map((seed) => ({ x: tensorOf(f32([2, 32, 64, 64], seed)) }));
    const seq = await session({ graphOptimizationLevel: 'disabled' });
    const want: Record<string, Tensor>[] = [];
    for (const f of feeds) want.push(await seq.run(f));
    for (const lowered of [false, true]) {
      const par = await session({ graphOptimizationLevel: lowered ? 'all' : 'disabled', fuseCpuKernels: lowered, executionMode: 'parallel', intraOpNumThreads: 2, enableProfiling: true });
      const got = await Promise.all(feeds.map((f) => par.run(f)));
      got.forEach((g, i) => expectSame(g, want[i]!, 1e-4));
      let spread = false;
      for (let r = 0; r < 6 && !spread; r++) {
        await par.run(feeds[0]!);
        const xs = (await par.endProfiling()).traceEvents.filter((e) => e.ph === 'X');
        const parts = xs.filter((e) => e.args.part);
        if (lowered) expect(xs.some((e) => e.cat === 'tgraph:FusedConv' && e.args.part), 'a FusedConv was split').toBe(true);
        else for (const op of ['Conv', 'Add', 'Mul', 'Relu', 'Sigmoid', 'Softmax', 'LayerNormalization', 'MaxPool', 'ReduceMean']) expect(parts.map((e) => e.cat), `${op} was split`).toContain(op);
        const byNode = new Map<string, Set<number>>();
        for (const e of parts) byNode.set(`${e.args.run}/${e.name}`, (byNode.get(`${e.args.run}/${e.name}`) ?? new Set()).add(e.tid));
        spread = [...byNode.values()].some((tids) => tids.size > 1 && [...tids].every((t) => t > 0));
      }
      expect(spread, 'the parts of some split node ran on two different workers').toBe(true);
    }
  }, 120_000);

  it('the measured alternatives (the calling thread runs a part; two parts per worker) give the same results', async () => {
    const feeds = { x: tensorOf(f32([2, 32, 64, 64], 7)) };
    const want = await (await session({ graphOptimizationLevel: 'disabled' })).run(feeds);
    const par = await session({ graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2, enableProfiling: true });
    Object.assign(splitTuning, { callerRuns: true });
    expectSame(await par.run(feeds), want, 1e-4);
    const here = (await par.endProfiling()).traceEvents.filter((e) => e.ph === 'X' && e.args.part && e.tid === 0);
    expect(here.length, 'parts ran on the calling thread').toBeGreaterThan(0);
    Object.assign(splitTuning, { callerRuns: false, maxPartsPerWorker: 2, splitMinElements: 1 << 15 });
    const par2 = await session({ graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2, enableProfiling: true });
    expectSame(await par2.run(feeds), want, 1e-4);
    const parts = (await par2.endProfiling()).traceEvents.filter((e) => e.ph === 'X' && String(e.args.part ?? '').endsWith('/4'));
    expect(parts.length, 'nodes cut in four').toBeGreaterThan(0);
  }, 120_000);

  it('recycle buffers as sequential runs do (worker and split outputs too), never a returned one', async () => {
    const runs = async (on: boolean) => {
      const prev = setTensorPool(on);
      try {
        const s = await InferenceSession.fromModel(bigModel(), { graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2 });
        const held: Record<string, Tensor>[] = [];
        const before = reusedTensorBuffers();
        for (let r = 0; r < 2; r++) held.push(await s.run({ x: tensorOf(f32([2, 32, 64, 64], 20 + r)) }));
        if (on) expect(reusedTensorBuffers() - before, 'buffers of dead intermediates were used again').toBeGreaterThan(2);
        await s.release();
        // Read the outputs only after every run: a reused buffer would show a later run's values.
        return held.map((o) => Object.keys(o).sort().map((k) => Float32Array.from(o[k]!.data as Float32Array)));
      } finally {
        setTensorPool(prev);
      }
    };
    const want = await runs(false);
    expect(await runs(true)).toEqual(want);
  }, 120_000);

  it('an abort mid-run rejects with AbortError, leaves no task queued or running and no worker busy; later runs equal', async () => {
    const s = await session({ graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2 });
    const feeds = { x: tensorOf(f32([2, 32, 64, 64], 5)) };
    const want = await s.run(feeds);
    for (const when of [0, 1, 3]) {
      const ctl = new AbortController();
      const run = s.run(feeds, { signal: ctl.signal });
      run.catch(() => undefined);
      const pool = s.workerPool!;
      let seen = 0;
      while (seen <= when) {
        if (pool.stats().busy > 0) seen++;
        await new Promise((r) => setImmediate(r));
      }
      ctl.abort();
      await expect(run).rejects.toBeInstanceOf(AbortError);
      expect(s.runQueueStats()).toMatchObject({ running: 0, queued: 0 });
      expect(pool.stats().queued).toBe(0);
      // A task already running finishes on its worker and its result is dropped.
      for (let i = 0; i < 200 && pool.stats().busy > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(pool.stats().busy).toBe(0);
      expectSame(await s.run(feeds), want, 0);
    }
  }, 120_000);
});

describe('a real model on the pool, lowered', () => {
  // Split thresholds lowered so the 96x96 detector's nodes split (the defaults are tuned for speed).
  beforeEach(() => Object.assign(splitTuning, saved, { splitMinMacs: 1 << 20, workerMinMacs: 1 << 18, splitMinElements: 1 << 16, workerMinElements: 1 << 15, adaptive: false }));
  it('PP-OCRv4 det at batch 2 (split fused Convs, elementwise chains, pooling) matches onnxruntime-node', async () => {
    const m = REAL_MODELS.find((r) => r.name === 'PP-OCRv4 text detector')!;
    const model = { ...m, dims: { x: [2, 3, 96, 96] } };
    const s = await InferenceSession.create(m.file, { executionMode: 'parallel', intraOpNumThreads: 2, graphOptimizationLevel: 'all', fuseCpuKernels: true, enableProfiling: true });
    sessions.push(s);
    const { feeds, ortFeeds } = realModelFeeds(model, s.inputMetadata);
    const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
    const want = await oracle.run(ortFeeds);
    const got = await s.run(feeds);
    for (const name of s.outputNames) {
      expect(got[name]!.dims).toEqual(want[name]!.dims);
      const r = maxRelError(got[name]!.data as Float32Array, want[name]!.data as Float32Array, 1e-3, 1e-4);
      expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance at ${r.at}`).toBe(true);
    }
    const parts = (await s.endProfiling()).traceEvents.filter((e) => e.ph === 'X' && e.args.part);
    expect(parts.some((e) => e.cat === 'tgraph:FusedConv'), 'fused Convs were split').toBe(true);
    expect(parts.some((e) => e.cat === 'tgraph:FusedElementwise' || e.cat === 'Resize' || e.cat === 'Add'), 'elementwise nodes were split').toBe(true);
  }, 120_000);
});
