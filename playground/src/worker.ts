// The runner: a dedicated worker that creates the InferenceSession and runs it, so the page stays
// responsive on the CPU backend ("CPU workers"); WebGPU works in workers too (navigator.gpu).
import { InferenceSession, Tensor, type TensorType } from '../../src/index.js';
import { generateInput } from '../../src/cli/inputs.js';
import type { CompiledModel } from '../../src/backends/types.js';
import type { WebgpuCompiledModel } from '../../src/backends/webgpu/backend.js';
import { MAX_VALUES, type OutputSummary, type ProfileEntry, type RunRequest, type RunResult, type WorkerMessage } from './protocol.js';

let cached: { key: string; session: InferenceSession; createMs: number } | undefined;

function bytesOf(t: { data: unknown }): number {
  const d = t.data as { byteLength?: number; length: number };
  return d.byteLength ?? d.length * 8;
}

function summarize(name: string, t: Tensor): OutputSummary {
  const d = t.data as ArrayLike<number | bigint | string>;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  const values: (number | string)[] = [];
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (typeof v === 'string') {
      if (values.length < MAX_VALUES) values.push(v);
      continue;
    }
    const x = Number(v);
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    if (values.length < MAX_VALUES) values.push(x);
  }
  return { name, type: t.type, shape: [...t.dims], values, total: d.length, min, max, mean: d.length ? sum / d.length : NaN };
}

async function handle(req: RunRequest): Promise<RunResult> {
  if (!cached || cached.key !== req.key) {
    await cached?.session.release();
    cached = undefined;
    const t0 = performance.now();
    const session = await InferenceSession.create(new Uint8Array(req.bytes), {
      executionProviders: req.backend === 'webgpu' ? ['webgpu', 'cpu'] : ['cpu'],
      graphOptimizationLevel: req.level,
      executionMode: req.backend === 'cpu-parallel' ? 'parallel' : 'sequential',
    });
    cached = { key: req.key, session, createMs: performance.now() - t0 };
  }
  const { session, createMs } = cached;
  const feeds: Record<string, Tensor> = {};
  const inputs: RunResult['inputs'] = [];
  session.inputMetadata.forEach((m, i) => {
    const given = req.feeds.find((f) => f.name === m.name);
    const t = given
      ? new Tensor(given.type as TensorType, Float32Array.from(given.data), given.dims)
      : generateInput(m, req.dims[m.name], req.seed + i);
    feeds[m.name] = t;
    inputs.push({ name: m.name, type: t.type, shape: [...t.dims], generated: !given });
  });
  let t = performance.now();
  let outs = await session.run(feeds);
  const firstMs = performance.now() - t;
  const times: number[] = [];
  for (let r = 0; r < req.runs; r++) {
    t = performance.now();
    outs = await session.run(feeds);
    times.push(performance.now() - t);
  }
  // One profiled run through the compiled model (the session does not expose onNode yet).
  const compiled = (session as unknown as { compiled: CompiledModel }).compiled;
  const profile: ProfileEntry[] = [];
  const hostFeeds = new Map(Object.entries(feeds).map(([k, v]) => [k, v.toHost()]));
  let last = performance.now();
  const origin = last;
  await compiled.run(hostFeeds, {
    fetches: session.outputNames,
    onNode: (node, ms) => {
      const now = performance.now();
      profile.push({ name: node.name, opType: node.opType, start: now - ms - origin, ms });
      last = now;
    },
  });
  void last;
  let adapter: RunResult['adapter'] = null;
  let gpu: RunResult['memory']['gpu'];
  if (session.backend === 'webgpu') {
    const { describeGpu } = await import('../../src/backends/webgpu/device.js');
    const rep = await describeGpu();
    if (rep.available) adapter = { ...rep.adapter, isFallbackAdapter: rep.isFallbackAdapter, source: rep.source };
    gpu = (compiled as WebgpuCompiledModel).bufferStats?.();
  }
  let weightsBytes = 0;
  for (const init of session.model.graph.initializers.values()) weightsBytes += bytesOf(init);
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : firstMs;
  return {
    type: 'result',
    id: req.id,
    backend: session.backend,
    workers: session.workerPool?.size,
    adapter,
    backendNotes: [...session.backendNotes],
    inputs,
    outputs: session.outputNames.map((n) => summarize(n, outs[n]!)),
    latency: { createMs, firstMs, steadyMs: median, steadyMinMs: sorted[0] ?? firstMs, runs: times.length },
    profile,
    memory: {
      weightsBytes,
      inputBytes: Object.values(feeds).reduce((a, f) => a + bytesOf(f), 0),
      outputBytes: Object.values(outs).reduce((a, f) => a + bytesOf(f), 0),
      gpu: gpu ? { ...gpu } : undefined,
    },
  };
}

self.onmessage = async (ev: MessageEvent<RunRequest>) => {
  const req = ev.data;
  let msg: WorkerMessage;
  try {
    msg = await handle(req);
  } catch (e) {
    const err = e as Error & { code?: string };
    msg = { type: 'error', id: req.id, error: { name: err?.name ?? 'Error', code: err?.code, message: err?.message ?? String(e) } };
    if (cached) {
      await cached.session.release().catch(() => undefined);
      cached = undefined;
    }
  }
  (self as unknown as Worker).postMessage(msg);
};
