// The benchmark page run in headless Chromium: tgraph's WebGPU backend against onnxruntime-web's WebGPU
// execution provider and (micro-benchmarks) TensorFlow.js's WebGPU backend, all on the same adapter,
// interleaved, with the same method as the Node suite.
/// <reference types="@webgpu/types" />
import { importModel, InferenceSession, Tensor } from '../../src/index.js';
import { interleaveOrder, repsFor, summarize, type WarmupPolicy, warmUp } from '../stats.js';
import type { PeerMeasure } from '../types.js';
import type { MicroSpec } from '../workloads.js';

type Ort = typeof import('onnxruntime-web');
type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

export interface PageFeed {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
}

export interface PageSpec {
  /** URL of the model bytes and of each feed's raw little-endian data. */
  model: string;
  feeds: (PageFeed & { url: string })[];
  /** onnxruntime-node's first output (float32), for the output check. */
  ref?: string;
  /** What a micro-benchmark computes (TensorFlow.js builds it from its own ops). */
  micro?: MicroSpec;
  flops?: number;
  bytesMoved?: number;
  budgetMs: number;
  warmup: WarmupPolicy;
  minReps: number;
  maxReps: number;
  /** Also measure runs per second with this many runs in flight. */
  concurrency?: number;
}

export type PagePeer = 'tgraph-webgpu-chromium' | 'onnxruntime-web-webgpu' | 'tfjs-webgpu';

interface PageRunner {
  /** One run, result read back to the CPU. */
  run(): Promise<ArrayLike<number> | undefined>;
  /** The first output in the ONNX graph's layout (TensorFlow.js's convolution runs in NHWC). */
  toReference?(out: ArrayLike<number>): ArrayLike<number>;
  gpuBytes?(): number | undefined;
  release(): Promise<void>;
}

let ortPromise: Promise<Ort> | undefined;
function loadOrt(): Promise<Ort> {
  ortPromise ??= import(/* @vite-ignore */ `${location.origin}/ort/ort.webgpu.min.mjs`).then((m: Ort) => {
    m.env.wasm.wasmPaths = `${location.origin}/ort/`;
    m.env.wasm.numThreads = 1;
    m.env.logLevel = 'error';
    return m;
  });
  return ortPromise;
}

let tfPromise: Promise<Tf> | undefined;
function loadTf(): Promise<Tf> {
  tfPromise ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js: the webgpu backend did not initialize');
    await tf.ready();
    return tf;
  })();
  return tfPromise;
}

async function adapterInfo(): Promise<string> {
  const a = await navigator.gpu?.requestAdapter();
  if (!a) return 'none';
  const i = a.info;
  return `${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ')}${(a as { isFallbackAdapter?: boolean }).isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}

async function fetchBytes(url: string): Promise<ArrayBuffer> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.arrayBuffer();
}

/** Largest |a-b| / (|b| + 1e-3), as in the Node suite; -1 when the lengths differ. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return -1;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(Number(a[i]) - b[i]!) / (Math.abs(b[i]!) + 1e-3);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** [n, h, w, c] data to [n, c, h, w]. */
function nhwcToNchw(x: ArrayLike<number>, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + z] = x[((b * h + y) * w + z) * c + k]!;
  return out;
}

interface Loaded {
  model: Uint8Array;
  datas: (Float32Array | BigInt64Array)[];
}

/** TensorFlow.js's version of a micro-benchmark, from its own ops, with the ONNX model's weights. */
async function tfjsRunner(spec: PageSpec, l: Loaded): Promise<PageRunner> {
  const m = spec.micro;
  if (!m) throw new Error('TensorFlow.js runs the micro-benchmarks only');
  const tf = await loadTf();
  const inits = importModel(l.model).graph.initializers;
  const init = (name: string) => inits.get(name)!.data as Float32Array;
  const x = l.datas.map((d, i) => tf.tensor(d as Float32Array, spec.feeds[i]!.dims));
  const keep: TfTensor[] = [...x];
  const constant = (t: TfTensor) => (keep.push(t), t);
  let f: () => TfTensor;
  let toReference: PageRunner['toReference'];
  switch (m.op) {
    case 'matmul': {
      const w = constant(tf.tensor(init('w'), [m.n, m.n]));
      f = () => tf.reshape(tf.matMul(tf.reshape(x[0]!, [m.batch * m.n, m.n]), w), [m.batch, m.n, m.n]);
      break;
    }
    case 'conv': {
      // TensorFlow.js convolves NHWC with [k, k, in, out] filters: its native layout, set up once here.
      const xs = constant(tf.transpose(x[0]!, [0, 2, 3, 1]));
      const w = constant(tf.transpose(tf.tensor(init('w'), [m.c, m.c, m.k, m.k]), [2, 3, 1, 0]));
      const b = constant(tf.tensor(init('bias'), [m.c]));
      f = () => tf.add(tf.conv2d(xs as import('@tensorflow/tfjs-core').Tensor4D, w as import('@tensorflow/tfjs-core').Tensor4D, 1, 'same'), b);
      toReference = (out) => nhwcToNchw(out, m.batch, m.hw, m.hw, m.c);
      break;
    }
    case 'eltwise': {
      const cycle = ['Mul', 'Add', 'Tanh', 'Mul', 'Sigmoid', 'Add', 'Abs', 'Sqrt']; // CHAIN_CYCLE of workloads.ts (Node-only module)
      f = () => {
        let t = x[0]!;
        for (let i = 0; i < m.len; i++) {
          const op = cycle[i % cycle.length];
          t = op === 'Mul' ? tf.mul(t, 0.5) : op === 'Add' ? tf.add(t, 1) : op === 'Tanh' ? tf.tanh(t) : op === 'Sigmoid' ? tf.sigmoid(t) : op === 'Abs' ? tf.abs(t) : tf.sqrt(t);
        }
        return t;
      };
      break;
    }
    case 'reducesum':
      f = () => tf.sum(x[0]!, -1, true);
      break;
    case 'softmax':
      f = () => tf.softmax(x[0]!);
      break;
    case 'attention': {
      const [q, k, v] = x as [TfTensor, TfTensor, TfTensor];
      f = () => tf.matMul(tf.softmax(tf.mul(tf.matMul(q as import('@tensorflow/tfjs-core').Tensor4D, k as import('@tensorflow/tfjs-core').Tensor4D, false, true), 1 / Math.sqrt(m.d))), v as import('@tensorflow/tfjs-core').Tensor4D);
      break;
    }
  }
  return {
    async run() {
      const y = tf.tidy(f);
      const d = await y.data<'float32'>();
      y.dispose();
      return d;
    },
    toReference,
    gpuBytes: () => (tf.memory() as { numBytesAllocatedInGPU?: number; numBytesInGPU?: number }).numBytesAllocatedInGPU,
    async release() {
      for (const t of keep) t.dispose();
    },
  };
}

async function makeRunner(id: PagePeer, spec: PageSpec, l: Loaded): Promise<PageRunner> {
  switch (id) {
    case 'tgraph-webgpu-chromium': {
      const s = await InferenceSession.create(l.model, { executionProviders: ['webgpu'] });
      if (s.backend !== 'webgpu') throw new Error(`tgraph chose ${s.backend}`);
      const t: Record<string, Tensor> = {};
      spec.feeds.forEach((f, i) => (t[f.name] = new Tensor(f.dtype, l.datas[i]!, f.dims)));
      const first = s.outputNames[0]!;
      return {
        run: async () => (await s.run(t))[first]?.data as Float32Array,
        gpuBytes: () => (s as unknown as { compiled: { bufferStats?: () => { allocated: number } | undefined } }).compiled.bufferStats?.()?.allocated,
        release: () => s.release(),
      };
    }
    case 'onnxruntime-web-webgpu': {
      const ort = await loadOrt();
      const s = await ort.InferenceSession.create(l.model, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });
      const t: Record<string, InstanceType<Ort['Tensor']>> = {};
      spec.feeds.forEach((f, i) => (t[f.name] = new ort.Tensor(f.dtype, l.datas[i]!, f.dims)));
      const first = s.outputNames[0]!;
      return { run: async () => (await s.run(t))[first]?.data as Float32Array, release: () => s.release() };
    }
    case 'tfjs-webgpu':
      return tfjsRunner(spec, l);
  }
}

async function loadSpec(spec: PageSpec): Promise<Loaded> {
  const model = new Uint8Array(await fetchBytes(spec.model));
  const datas = await Promise.all(spec.feeds.map(async (f) => (f.dtype === 'int64' ? new BigInt64Array(await fetchBytes(f.url)) : new Float32Array(await fetchBytes(f.url)))));
  return { model, datas };
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

function peersFor(spec: PageSpec): PagePeer[] {
  return spec.micro ? ['tgraph-webgpu-chromium', 'onnxruntime-web-webgpu', 'tfjs-webgpu'] : ['tgraph-webgpu-chromium', 'onnxruntime-web-webgpu'];
}

async function benchWorkload(spec: PageSpec): Promise<PeerMeasure[]> {
  const l = await loadSpec(spec);
  const ref = spec.ref ? new Float32Array(await fetchBytes(spec.ref)) : undefined;
  const ids = peersFor(spec);
  const measures = new Map<string, PeerMeasure>(ids.map((id) => [id, { peer: id }]));
  const runners = new Map<string, PageRunner>();
  for (const id of ids) {
    const m = measures.get(id)!;
    console.debug(`${id}: load and first run`);
    try {
      let t = performance.now();
      const r = await makeRunner(id, spec, l);
      m.loadMs = performance.now() - t;
      t = performance.now();
      const out = await r.run();
      m.firstRunMs = performance.now() - t;
      if (ref && out) m.maxRelDiff = relDiff(r.toReference ? r.toReference(out) : out, ref);
      runners.set(id, r);
    } catch (e) {
      m.error = errText(e);
    }
  }
  let live = ids.filter((id) => runners.has(id));
  console.debug(`warm-up: ${live.join(', ')}`);
  const { best: est, runs: warmRuns } = await warmUp(live, async (id) => {
    const t = performance.now();
    await runners.get(id)!.run();
    return performance.now() - t;
  }, spec.warmup, (id, e) => {
    measures.get(id)!.error = errText(e);
  });
  live = live.filter((id) => !measures.get(id)!.error);
  for (const [id, n] of warmRuns) measures.get(id)!.warmupRuns = n;
  // As in the Node suite: repetitions fit the budget by the peers under a third of it per run; slower
  // ones run in the first `minReps` repetitions only.
  const isSlow = (id: string) => (est.get(id) ?? 0) > spec.budgetMs / 3;
  const reps = repsFor(live.filter((id) => !isSlow(id)).map((id) => est.get(id) ?? 0), spec.budgetMs, spec.minReps, spec.maxReps);
  const samples = new Map<string, number[]>(live.map((id) => [id, []]));
  console.debug(`${reps} repetitions; estimates ${[...est].map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}`);
  for (let rep = 0; rep < reps; rep++) {
    for (const id of interleaveOrder(live, rep)) {
      if (rep >= spec.minReps && isSlow(id)) continue;
      const t = performance.now();
      await runners.get(id)!.run();
      samples.get(id)!.push(performance.now() - t);
    }
  }
  for (const id of live) {
    const m = measures.get(id)!;
    m.steady = summarize(samples.get(id)!);
    if (spec.flops) m.gflops = spec.flops / (m.steady.median * 1e6);
    if (spec.bytesMoved) m.gbps = spec.bytesMoved / (m.steady.median * 1e6);
    // Throughput with runs in flight (as in Node: not for a peer slower than a second per run).
    // onnxruntime-web's WebGPU provider never settles run() calls made while another is in flight on
    // the same session (seen with 1.30.0: no completion in minutes), so it is not asked to.
    if (spec.concurrency && (est.get(id) ?? 0) <= 1000 && id !== 'onnxruntime-web-webgpu') {
      console.debug(`${id}: throughput`);
      const r = runners.get(id)!;
      const total = Math.max(spec.concurrency, Math.min(spec.concurrency * 16, Math.floor(spec.budgetMs / live.length / Math.max(m.steady.median, 0.01))));
      let started = 0;
      const t = performance.now();
      const lane = async () => {
        while (started < total) {
          started++;
          await r.run();
        }
      };
      try {
        // A guard, so that a runtime that stalls with runs in flight fails this figure, not the suite.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const limitMs = Math.max(60_000, 20 * total * m.steady.median);
        const stalled = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no completion within ${Math.round(limitMs / 1000)} s with ${spec.concurrency} runs in flight`)), limitMs)));
        await Promise.race([Promise.all(Array.from({ length: spec.concurrency }, lane)), stalled]).finally(() => clearTimeout(timer));
        m.throughput = { concurrency: spec.concurrency, runs: total, runsPerSec: (1000 * total) / (performance.now() - t) };
      } catch (e) {
        m.throughputError = errText(e);
      }
    }
    await runners.get(id)!.release();
  }
  return ids.map((id) => measures.get(id)!);
}

/**
 * One peer alone: load, first run and `runs` more; the GPU bytes its runtime reports before release.
 * The driver (bench/browser.ts) reads the processes' peak memory around this call.
 */
async function memoryRun(spec: PageSpec, id: PagePeer, runs: number): Promise<{ gpuBytes?: number }> {
  const l = await loadSpec(spec);
  const r = await makeRunner(id, spec, l);
  for (let i = 0; i <= runs; i++) await r.run(); // the first run, then `runs` more
  const gpuBytes = r.gpuBytes?.();
  await r.release();
  return gpuBytes === undefined ? {} : { gpuBytes };
}

/** The device's ceilings in this page: a best-case MatMul (TensorFlow.js, n³, best of 3) and a 64 MiB buffer copy. */
async function ceilings(n: number): Promise<{ gflops?: number; gbps?: number; notes: string[] }> {
  const notes: string[] = [];
  let gflops: number | undefined;
  try {
    const tf = await loadTf();
    const a = tf.randomUniform([n, n]);
    const b = tf.randomUniform([n, n]);
    let best = Infinity;
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      const y = tf.matMul(a, b);
      await y.data();
      y.dispose();
      if (i > 0) best = Math.min(best, performance.now() - t);
    }
    a.dispose();
    b.dispose();
    gflops = (2 * n ** 3) / (best * 1e6);
  } catch (e) {
    notes.push(`matmul probe: ${errText(e)}`);
  }
  let gbps: number | undefined;
  try {
    const device = await (await navigator.gpu.requestAdapter())!.requestDevice();
    const size = 64 * 1024 * 1024;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const src = device.createBuffer({ size, usage });
    const dst = device.createBuffer({ size, usage });
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, dst, 0, size);
      const t = performance.now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      best = Math.min(best, performance.now() - t);
    }
    src.destroy();
    dst.destroy();
    device.destroy();
    gbps = (2 * size) / (best * 1e6);
  } catch (e) {
    notes.push(`copy probe: ${errText(e)}`);
  }
  return { gflops, gbps, notes };
}

async function versions(): Promise<Record<string, string>> {
  try {
    const tf = await loadTf();
    return { tfjs: tf.version_core };
  } catch (e) {
    return { tfjs: `failed: ${errText(e)}` };
  }
}

declare global {
  interface Window {
    tgraphBench: { adapterInfo: typeof adapterInfo; benchWorkload: typeof benchWorkload; memoryRun: typeof memoryRun; ceilings: typeof ceilings; versions: typeof versions };
  }
}
window.tgraphBench = { adapterInfo, benchWorkload, memoryRun, ceilings, versions };
