// Run management: queue limits and policies, abort and timeout, release, failing nodes.
import { describe, expect, it } from 'vitest';
import { AbortError, InferenceSession, KernelError, QueueFullError, SessionReleasedError, Tensor, TimeoutError } from '../../src/index.js';
import { chain, failing } from './graphs.js';

const N = 3000;
const x = () => ({ x: new Tensor('float32', new Float32Array(64), [64]) });
const open = (options: Parameters<typeof InferenceSession.fromModel>[1] = {}) =>
  InferenceSession.fromModel(chain(N), { graphOptimizationLevel: 'disabled', ...options });
const nodeEvents = async (s: InferenceSession, run: number) =>
  (await s.endProfiling()).traceEvents.filter((e) => e.ph === 'X' && e.args.run === run);

describe('runs', () => {
  it('a run gives the expected result and one profile event per node', async () => {
    const s = await open({ enableProfiling: true });
    const y = await s.run(x());
    expect((y.y!.data as Float32Array)[0]).toBe(N);
    const events = await nodeEvents(s, 1);
    expect(events.length).toBe(N);
    expect(new Set(events.map((e) => e.name)).size).toBe(N);
    expect(events[0]).toMatchObject({ ph: 'X', cat: 'Add', tid: 0, args: { inputShapes: ['[64]', '[1]'] } });
  });

  it('an AbortSignal stops the run between nodes with AbortError; the session stays usable', async () => {
    const s = await open({ enableProfiling: true });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 1);
    await expect(s.run(x(), { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    const ran = (await nodeEvents(s, 1)).length;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThan(N);
    expect(s.runQueueStats()).toMatchObject({ running: 0, queued: 0, waitingForRoom: 0 });
    expect((await s.run(x())).y!.dims).toEqual([64]);
  });

  it('a timeout stops the run with TimeoutError before its remaining nodes run', async () => {
    const s = await open({ enableProfiling: true });
    await expect(s.run(x(), { timeoutMs: 2 })).rejects.toBeInstanceOf(TimeoutError);
    expect((await nodeEvents(s, 1)).length).toBeLessThan(N);
    expect(s.runQueueStats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('aborting a queued run takes it out of the queue at once', async () => {
    const s = await open();
    const first = s.run(x());
    const ctl = new AbortController();
    const second = s.run(x(), { signal: ctl.signal });
    second.catch(() => undefined);
    expect(s.runQueueStats()).toMatchObject({ running: 1, queued: 1 });
    ctl.abort();
    await expect(second).rejects.toBeInstanceOf(AbortError);
    expect(s.runQueueStats().queued).toBe(0);
    expect((await first).y!.dims).toEqual([64]);
  });

  it("maxQueuedRuns with queuePolicy 'reject' refuses runs beyond the limit with QueueFullError", async () => {
    const s = await open({ maxQueuedRuns: 2, queuePolicy: 'reject' });
    const runs = Array.from({ length: 5 }, () => s.run(x()));
    const settled = await Promise.allSettled(runs);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    for (const r of settled.slice(3)) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError);
    expect(((settled[3] as PromiseRejectedResult).reason as Error).message).toMatch(/queue is full \(maxQueuedRuns = 2\)/);
    expect(s.runQueueStats().peakQueued).toBe(2);
  });

  it("maxQueuedRuns with queuePolicy 'wait' holds callers until there is room; all runs finish", async () => {
    const s = await open({ maxQueuedRuns: 1, queuePolicy: 'wait' });
    const runs = Array.from({ length: 4 }, () => s.run(x()));
    expect(s.runQueueStats()).toMatchObject({ running: 1, queued: 1, waitingForRoom: 2 });
    const outs = await Promise.all(runs);
    for (const o of outs) expect((o.y!.data as Float32Array)[0]).toBe(N);
    expect(s.runQueueStats().peakQueued).toBe(1);
  });

  it('release() lets runs in flight and queued finish, then refuses new ones', async () => {
    const s = await open();
    const a = s.run(x());
    const b = s.run(x());
    const released = s.release();
    await expect(s.run(x())).rejects.toBeInstanceOf(SessionReleasedError);
    await released;
    expect((await a).y!.dims).toEqual([64]);
    expect((await b).y!.dims).toEqual([64]);
    await s.release();
  });

  it('release({ force: true }) cancels runs in flight and queued with AbortError', async () => {
    const s = await open({ enableProfiling: true });
    const a = s.run(x());
    const b = s.run(x());
    a.catch(() => undefined);
    b.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2));
    await s.release({ force: true });
    await expect(a).rejects.toBeInstanceOf(AbortError);
    await expect(b).rejects.toThrow(/session was released/);
    expect((await s.endProfiling()).traceEvents.filter((e) => e.ph === 'X').length).toBeLessThan(N);
  });

  it('a failing node rejects its run naming the node, op and input shapes; the session stays usable', async () => {
    const s = await InferenceSession.fromModel(failing(), { graphOptimizationLevel: 'disabled' });
    const err = await s.run({ x: new Tensor('float32', new Float32Array(8), [2, 4]) }).catch((e) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect(err).toMatchObject({ node: 'bad_reshape', op: 'Reshape', inputShapes: [[2, 4], [2]] });
    expect(err.message).toMatch(/node 'bad_reshape' \(Reshape\) with inputs \[2,4\], \[2\]/);
    const ok = await s.run({ x: new Tensor('float32', new Float32Array(12).fill(-1), [3, 4]) });
    expect(ok.y!.dims).toEqual([3, 4]);
    expect([...(ok.y!.data as Float32Array)]).toEqual(new Array(12).fill(0));
    expect(s.runQueueStats().running).toBe(0);
  });
});
