// The browser side of tests/executor/browser-pool.test.ts: runs models on the CPU worker pool
// (module Web Workers, tensors in SharedArrayBuffers) and hands outputs, the profile and the pool's
// state back to the test through `window.poolPage`.
import { InferenceSession, Tensor, WorkerError, type SessionOptions } from '../../../src/index.js';
import { generateInput } from '../../../src/cli/inputs.js';
import { splitTuning } from '../../../src/executor/split.js';
import { BRANCH_INPUT, branches, f32, tensorOf } from '../graphs.js';

// The tests check where nodes run: place them by size, whatever a round trip costs on this machine now.
splitTuning.adaptive = false;

export interface PageOutput {
  name: string;
  dims: number[];
  data: number[];
}

export interface PageResult {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  poolSize: number | undefined;
  /** Output names in the first run's order; each run's outputs. */
  runs: PageOutput[][];
  /** Distinct worker ids (trace tids > 0) that ran nodes, and how many node runs there were (a split node's parts count once). */
  workerTids: number[];
  events: number;
  /** Per output of the first run: whether its data lies in a SharedArrayBuffer (written by a worker). */
  outputShared: boolean[];
}

function outputsOf(r: Record<string, Tensor>): PageOutput[] {
  return Object.entries(r).map(([name, t]) => ({ name, dims: [...t.dims], data: Array.from(t.data as Float32Array) }));
}

async function profiled(session: InferenceSession, feeds: Record<string, Tensor>[]): Promise<PageResult> {
  // Concurrent runs, so the pool has several tasks at once even on a chain-shaped model.
  const outs = await Promise.all(feeds.map((f) => session.run(f)));
  const trace = await session.endProfiling();
  const xs = trace.traceEvents.filter((e) => e.ph === 'X');
  const pool = session.workerPool;
  const result: PageResult = {
    crossOriginIsolated: globalThis.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    poolSize: pool?.size,
    runs: outs.map(outputsOf),
    workerTids: [...new Set(xs.map((e) => e.tid).filter((t) => t > 0))].sort((a, b) => a - b),
    events: xs.filter((e) => !e.args.part || String(e.args.part).startsWith('1/')).length,
    outputShared: Object.values(outs[0]!).map((t) => typeof SharedArrayBuffer !== 'undefined' && (t.data as Float32Array).buffer instanceof SharedArrayBuffer),
  };
  await session.release();
  return result;
}

const options = (o: SessionOptions): SessionOptions => ({ executionMode: 'parallel', enableProfiling: true, ...o });

const api = {
  /** The ONNX file at `url`, run on generated inputs (`seeds`, one run each, concurrently). */
  async model(url: string, dims: number[], seeds: number[], o: SessionOptions = {}): Promise<PageResult> {
    const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
    const session = await InferenceSession.create(bytes, options(o));
    const meta = session.inputMetadata[0]!;
    return profiled(session, seeds.map((seed) => ({ [meta.name]: generateInput(meta, dims, seed) })));
  },

  /** tests/executor/graphs.ts `branches()`: two independent Conv chains joined by an Add. */
  async branches(seeds: number[], o: SessionOptions = {}): Promise<PageResult> {
    const session = await InferenceSession.fromModel(branches(3), { graphOptimizationLevel: 'disabled', ...options(o) });
    return profiled(session, seeds.map((seed) => ({ x: tensorOf(f32(BRANCH_INPUT, seed)) })));
  },

  /** Kill the worker running a node mid-run: the run rejects with WorkerError, later runs succeed. */
  async killed(seed: number): Promise<{ error: { name: string; message: string; isWorkerError: boolean } | null; replaced: number; after: PageOutput[][] }> {
    const session = await InferenceSession.fromModel(branches(2), { graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2 });
    const pool = session.workerPool!;
    const feeds = { x: tensorOf(f32(BRANCH_INPUT, seed)) };
    await session.run(feeds);
    const before = pool.stats().replaced;
    const run = session.run(feeds);
    let error: { name: string; message: string; isWorkerError: boolean } | null = null;
    const caught = run.then(
      () => undefined,
      (e: Error) => void (error = { name: e.name, message: e.message, isWorkerError: e instanceof WorkerError }),
    );
    while (pool.stats().busy === 0) await new Promise((r) => setTimeout(r, 0));
    pool.killWorker();
    await caught;
    const replaced = pool.stats().replaced - before;
    const after = [outputsOf(await session.run(feeds)), outputsOf(await session.run(feeds))];
    await session.release();
    return { error, replaced, after };
  },

  /** An uncaught error thrown in an idle worker (its `error` event): the pool replaces it, runs succeed. */
  async crashed(seed: number): Promise<{ id: number; lastDeath: string | undefined; ids: number[]; after: PageOutput[][] }> {
    const session = await InferenceSession.fromModel(branches(2), { graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2 });
    const pool = session.workerPool!;
    const feeds = { x: tensorOf(f32(BRANCH_INPUT, seed)) };
    await session.run(feeds);
    const before = pool.stats().replaced;
    const id = pool.killWorker(0, 'crash')!;
    while (pool.stats().replaced === before) await new Promise((r) => setTimeout(r, 5));
    const lastDeath = pool.stats().lastDeath;
    const after = [outputsOf(await session.run(feeds)), outputsOf(await session.run(feeds))];
    const ids = pool.workerIds;
    await session.release();
    return { id, lastDeath, ids, after };
  },
};

declare global {
  interface Window {
    poolPage: typeof api;
  }
}
window.poolPage = api;
document.getElementById('state')!.textContent = 'ready';
