// The benchmark page run in headless Chromium: tgraph's WebGPU backend against onnxruntime-web's WebGPU
// execution provider on the same adapter, interleaved, with the same method as the Node suite.
/// <reference types="@webgpu/types" />
import { InferenceSession, Tensor } from '../../src/index.js';
import { interleaveOrder, repsFor, summarize } from '../stats.js';
import type { PeerMeasure } from '../types.js';

type Ort = typeof import('onnxruntime-web');

export interface PageFeed {
  name: string;
  dtype: 'float32' | 'int64';
  dims: number[];
}

export interface PageSpec {
  /** URL of the model bytes and of each feed's raw little-endian data. */
  model: string;
  feeds: (PageFeed & { url: string })[];
  flops?: number;
  bytesMoved?: number;
  budgetMs: number;
  warmup: number;
  minReps: number;
  maxReps: number;
}

interface PageRunner {
  run(): Promise<unknown>;
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

async function benchWorkload(spec: PageSpec): Promise<PeerMeasure[]> {
  const model = new Uint8Array(await fetchBytes(spec.model));
  const datas = await Promise.all(spec.feeds.map(async (f) => (f.dtype === 'int64' ? new BigInt64Array(await fetchBytes(f.url)) : new Float32Array(await fetchBytes(f.url)))));
  const loaders: Record<string, () => Promise<PageRunner>> = {
    'tgraph-webgpu-chromium': async () => {
      const s = await InferenceSession.create(model, { executionProviders: ['webgpu'] });
      if (s.backend !== 'webgpu') throw new Error(`tgraph chose ${s.backend}`);
      const t: Record<string, Tensor> = {};
      spec.feeds.forEach((f, i) => (t[f.name] = new Tensor(f.dtype, datas[i]!, f.dims)));
      return { run: () => s.run(t), release: () => s.release() };
    },
    'onnxruntime-web-webgpu': async () => {
      const ort = await loadOrt();
      const s = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' });
      const t: Record<string, InstanceType<Ort['Tensor']>> = {};
      spec.feeds.forEach((f, i) => (t[f.name] = new ort.Tensor(f.dtype, datas[i]!, f.dims)));
      return { run: () => s.run(t), release: () => s.release() };
    },
  };
  const ids = Object.keys(loaders);
  const measures = new Map<string, PeerMeasure>(ids.map((id) => [id, { peer: id }]));
  const runners = new Map<string, PageRunner>();
  for (const id of ids) {
    const m = measures.get(id)!;
    try {
      let t = performance.now();
      const r = await loaders[id]!();
      m.loadMs = performance.now() - t;
      t = performance.now();
      await r.run();
      m.firstRunMs = performance.now() - t;
      runners.set(id, r);
    } catch (e) {
      m.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  }
  const live = ids.filter((id) => runners.has(id));
  const est = new Map<string, number>();
  for (let i = 0; i < spec.warmup; i++) {
    for (const id of interleaveOrder(live, i)) {
      if (i > 0 && (est.get(id) ?? 0) > 1000) continue; // one warm-up run for a peer slower than a second
      const t = performance.now();
      await runners.get(id)!.run();
      est.set(id, Math.min(est.get(id) ?? Infinity, performance.now() - t));
    }
  }
  // As in the Node suite: repetitions fit the budget by the peers under a third of it per run; slower
  // ones run in the first `minReps` repetitions only.
  const isSlow = (id: string) => (est.get(id) ?? 0) > spec.budgetMs / 3;
  const reps = repsFor(live.filter((id) => !isSlow(id)).map((id) => est.get(id) ?? 0), spec.budgetMs, spec.minReps, spec.maxReps);
  const samples = new Map<string, number[]>(live.map((id) => [id, []]));
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
    await runners.get(id)!.release();
  }
  return ids.map((id) => measures.get(id)!);
}

declare global {
  interface Window {
    tgraphBench: { adapterInfo: typeof adapterInfo; benchWorkload: typeof benchWorkload };
  }
}
window.tgraphBench = { adapterInfo, benchWorkload };
