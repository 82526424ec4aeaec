// The worker pool: parallel runs equal sequential ones, big nodes split, dead workers are replaced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { AbortError, InferenceSession, Tensor, WorkerError } from '../../src/index.js';
import { splitTuning } from '../../src/executor/split.js';
import { poolTuning } from '../../src/executor/worker-pool.js';
import { BRANCH_INPUT, branches, f32, heavy, tensorOf } from './graphs.js';

const sessions: InferenceSession[] = [];
async function open(model: Parameters<typeof InferenceSession.fromModel>[0], options: Parameters<typeof InferenceSession.fromModel>[1] = {}) {
  const s = await InferenceSession.fromModel(model, { graphOptimizationLevel: 'disabled', ...options });
  sessions.push(s);
  return s;
}
// These tests need nodes on the workers whatever a round trip costs on this machine now.
const adaptive = splitTuning.adaptive;
beforeAll(() => void (splitTuning.adaptive = false));
afterAll(async () => {
  splitTuning.adaptive = adaptive;
  for (const s of sessions) await s.release({ force: true });
});

function same(a: Record<string, Tensor>, b: Record<string, Tensor>, tol = 0) {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) {
    expect(a[k]!.dims, k).toEqual(b[k]!.dims);
    const x = a[k]!.data as Float32Array;
    const y = b[k]!.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / (Math.abs(y[i]!) + 1e-6));
    expect(worst, k).toBeLessThanOrEqual(tol);
  }
}

describe('CPU worker pool', () => {
  it('concurrent parallel runs equal sequential ones (split MatMul, Gemm, Conv; branches)', async () => {
    const seq = await open(heavy());
    const par = await open(heavy(), { executionMode: 'parallel', intraOpNumThreads: 2 });
    expect(par.workerPool?.size).toBe(2);
    const feeds = [1, 2, 3].map((seed) => ({ x: tensorOf(f32([256, 256], seed)), img: tensorOf(f32([1, 8, 32, 32], seed + 10)) }));
    const want: Record<string, Tensor>[] = [];
    for (const f of feeds) want.push(await seq.run(f));
    const got = await Promise.all(feeds.map((f) => par.run(f)));
    got.forEach((g, i) => same(g, want[i]!, 1e-5));

    const seqB = await open(branches());
    const parB = await open(branches(), { executionMode: 'parallel', intraOpNumThreads: 2 });
    const xb = [5, 6, 7, 8].map((seed) => ({ x: tensorOf(f32(BRANCH_INPUT, seed)) }));
    const wantB: Record<string, Tensor>[] = [];
    for (const f of xb) wantB.push(await seqB.run(f));
    const gotB = await Promise.all(xb.map((f) => parB.run(f)));
    gotB.forEach((g, i) => same(g, wantB[i]!));
  });

  it('a real conv model: concurrent runs on the pool equal sequential runs', async () => {
    const file = path.resolve(import.meta.dirname, '../../models/ppocr-mobile-v2-cls.onnx');
    const seq = await InferenceSession.create(file);
    sessions.push(seq);
    const par = await InferenceSession.create(file, { executionMode: 'parallel', intraOpNumThreads: 2 });
    sessions.push(par);
    const feeds = [1, 2, 3].map((seed) => ({ x: new Tensor('float32', f32([1, 3, 48, 192], seed).data.map((v) => v * 10), [1, 3, 48, 192]) }));
    const want: Record<string, Tensor>[] = [];
    for (const f of feeds) want.push(await seq.run(f));
    const got = await Promise.all(feeds.map((f) => par.run(f)));
    got.forEach((g, i) => same(g, want[i]!, 1e-5));
  });

  it('an aborted parallel run rejects with AbortError and leaves nothing queued', async () => {
    const s = await open(branches(4), { executionMode: 'parallel', intraOpNumThreads: 2 });
    const feeds = { x: tensorOf(f32(BRANCH_INPUT, 4)) };
    await s.run(feeds);
    const ctl = new AbortController();
    const run = s.run(feeds, { signal: ctl.signal });
    while (s.workerPool!.stats().busy === 0) await new Promise((r) => setImmediate(r));
    ctl.abort();
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(s.runQueueStats()).toMatchObject({ running: 0, queued: 0 });
    expect(s.workerPool!.stats().queued).toBe(0);
    await s.run(feeds);
  });

  it('a killed worker rejects its run with WorkerError, is replaced, and later runs succeed', async () => {
    // Convs of ~0.3 GMAC each, so the worker is still inside one when terminate() takes effect (with
    // small nodes the task could finish first and the run succeed, which flaked under load).
    const s = await open(branches(2, 64, 128), { executionMode: 'parallel', intraOpNumThreads: 2 });
    const pool = s.workerPool!;
    const feeds = { x: tensorOf(f32([1, 64, 128, 128], 9)) };
    const want = await s.run(feeds);
    const replacedBefore = pool.stats().replaced;
    const run = s.run(feeds);
    run.catch(() => undefined);
    while (pool.stats().busy === 0) await new Promise((r) => setImmediate(r));
    pool.killWorker();
    await expect(run).rejects.toBeInstanceOf(WorkerError);
    await expect(run).rejects.toThrow(/CPU worker \d+ died while running node '\w+' \((Conv|Relu)\)/);
    expect(pool.stats().replaced).toBe(replacedBefore + 1);
    same(await s.run(feeds), want);
    same(await s.run(feeds), want);
  });

  it('a worker that throws an uncaught error dies, is replaced with the reason kept, and later runs succeed', async () => {
    const s = await open(branches(2), { executionMode: 'parallel', intraOpNumThreads: 2 });
    const pool = s.workerPool!;
    const feeds = { x: tensorOf(f32(BRANCH_INPUT, 10)) };
    const want = await s.run(feeds);
    const before = pool.stats().replaced;
    const id = pool.killWorker(0, 'crash')!;
    while (pool.stats().replaced === before) await new Promise((r) => setTimeout(r, 5));
    expect(pool.stats().lastDeath).toMatch(new RegExp(`^worker ${id}: .*worker ${id} crashed on request`));
    expect(pool.workerIds).not.toContain(id);
    same(await s.run(feeds), want);
  });
  it('measures the round trip without the workers\' start-up, and lets an old estimate lapse', async () => {
    // A pool of its own size, so its workers are still starting when the first tasks are posted.
    const s = await open(branches(2), { executionMode: 'parallel', intraOpNumThreads: 3 });
    const x = tensorOf(f32(BRANCH_INPUT, 9));
    await s.run({ x }); // one run: its first tasks wait for the start-up
    const pool = s.workerPool!;
    expect(pool.size).toBe(3);
    // Start-up takes hundreds of ms; counted, it kept every later node off the pool.
    expect(pool.roundTripMs).toBeLessThan(100);
    const ttl = poolTuning.latencyTtlMs;
    try {
      poolTuning.latencyTtlMs = -1;
      expect(pool.roundTripMs).toBe(0.2);
    } finally {
      poolTuning.latencyTtlMs = ttl;
    }
  });
});
