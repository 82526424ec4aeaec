// Eager ops on WebGPU: the parity set's functions give the CPU eager results, results stay on the
// GPU until read (the runner's read-back counter proves it), memory returns to its baseline after
// tidy/dispose, ops without a usable WebGPU kernel fall back to the CPU kernels, tensors flow
// between eager GPU ops and tg.fn plans, and device selection never breaks a CPU-only machine.
import { afterAll, describe, expect, it } from 'vitest';
import { DeviceError, DeviceLostError } from '../../graph/errors.js';
import { type HostTensor, toNumbers } from '../../graph/tensor.js';
import { findGpuKernel } from '../../kernels/webgpu/index.js';
import { destroyGpu } from '../../src/backends/webgpu/device.js';
import * as tg from '../../src/index.js';
import { TgTensor } from '../../src/index.js';
import { apply1, attr } from '../../src/tracer/core.js';
import { GPU_OK, gpuIt } from '../webgpu/helpers.js';
import { CASES, expectClose, randn } from './cases.js';

/** Cases whose eager form reads a predicate (JS control flow): on the GPU that read is asynchronous. */
const CONTROL_FLOW = new Set(['cond', 'cond-negative', 'while-loop']);
const SLOW = 180_000;

function tensorsOf(x: unknown): TgTensor[] {
  if (x instanceof TgTensor) return [x];
  if (Array.isArray(x)) return x.flatMap(tensorsOf);
  if (x && typeof x === 'object') return Object.values(x).flatMap(tensorsOf);
  throw new Error(`not a tensor result: ${String(x)}`);
}

/** Eager tensors alive, counting those the finalizer reclaimed (a GC during a test must not move the baseline). */
const alive = (m: tg.MemoryInfo): number => m.numTensors + m.finalizedWithoutDispose;

async function read(ts: TgTensor[]): Promise<HostTensor[]> {
  await Promise.all(ts.map((t) => t.data()));
  return ts.map((t) => t.host());
}

afterAll(async () => {
  await tg.setDevice('cpu');
});

describe('device selection', () => {
  it('ready() settles on WebGPU only for a hardware adapter (or when asked by name), else the CPU', async () => {
    const d = await tg.ready();
    const info = tg.deviceInfo();
    expect(info.settled).toBe(true);
    expect(tg.getDevice()).toBe(d);
    if (!GPU_OK) {
      expect(d).toBe('cpu');
      expect(info.reason).toMatch(/no WebGPU/);
    } else if (process.env.TGRAPH_DEVICE === 'webgpu') {
      expect(d).toBe('webgpu');
    } else if (process.env.TGRAPH_DEVICE !== 'cpu') {
      expect(d).toBe(info.adapter!.software ? 'cpu' : 'webgpu');
      if (info.adapter!.software) expect(info.reason).toMatch(/software/);
    }
    // Eager ops work whatever was chosen.
    const x = tg.tensor([1, -2, 3]);
    const y = x.relu();
    expect(Array.from((await y.data()) as Float32Array)).toEqual([1, 0, 3]);
    x.dispose();
    y.dispose();
  });

  it("setDevice('webgpu') resolves with an adapter and rejects with a DeviceError without one (the CPU stays in use)", async () => {
    if (GPU_OK) {
      await expect(tg.setDevice('webgpu')).resolves.toBe('webgpu');
      expect(tg.getDevice()).toBe('webgpu');
    } else {
      await expect(tg.setDevice('webgpu')).rejects.toBeInstanceOf(DeviceError);
      expect(tg.getDevice()).toBe('cpu');
    }
    await expect(tg.setDevice('cpu')).resolves.toBe('cpu');
    expect(tg.getDevice()).toBe('cpu');
  }, SLOW);
});

describe('eager ops on WebGPU equal eager CPU results', () => {
  const gpuCases = CASES.filter((c) => !CONTROL_FLOW.has(c.name));
  it('covers at least 20 functions of the parity set', () => expect(gpuCases.length).toBeGreaterThanOrEqual(20));

  for (const c of gpuCases) {
    gpuIt(c.name, async () => {
      const f = c.f as (...a: unknown[]) => unknown;
      const args = c.args();
      await tg.setDevice('cpu');
      const cpu = tensorsOf(tg.tidy(() => f(...args)));
      const want = cpu.map((t) => t.host());
      await tg.setDevice('webgpu');
      const m0 = tg.memory();
      let after1: tg.MemoryInfo | undefined;
      // Twice: the first run uploads the captured weights (kept on them for later ops); the second
      // must leave memory exactly where the first left it.
      for (let round = 0; round < 2; round++) {
        const s0 = tg.eagerStats();
        const outs = tensorsOf(tg.tidy(() => f(...args)));
        const s1 = tg.eagerStats();
        expect(s1.dispatches + s1.queued, 'ran GPU kernels').toBeGreaterThan(s0.dispatches + s0.queued);
        expect(outs.some((t) => t.device === 'webgpu'), 'some result lives on the GPU').toBe(true);
        if (s1.cpuOps === s0.cpuOps) {
          // No CPU fallback read anything back: results stay on the GPU until data().
          await new Promise((r) => setTimeout(r, 10));
          expect(tg.eagerStats().downloads, 'no read back before data()').toBe(s0.downloads);
          for (const t of outs) if (t.device === 'webgpu') expect(() => t.dataSync()).toThrow(tg.DeviceResidentError);
        }
        const got = await read(outs);
        expectClose(got, want, Math.max(c.tol ?? 0, 1e-4), `${c.name}: webgpu eager vs cpu eager`);
        for (const t of outs) if (!args.includes(t)) t.dispose();
        const m = tg.memory();
        expect(alive(m), 'tensors back to the baseline').toBe(alive(m0));
        expect(m.numGpuTensors).toBe(m0.numGpuTensors);
        if (round === 1) {
          expect(m.gpuBuffers, 'GPU buffers back to where the first run left them').toBe(after1!.gpuBuffers);
          expect(m.gpuBytes).toBe(after1!.gpuBytes);
          expect(m.gpuPool!.live).toBe(after1!.gpuPool!.live);
        }
        after1 = m;
      }
      // Arguments too: left to the finalizer, their uploads would be freed during a later test.
      for (const t of [...cpu, ...args]) if (t instanceof TgTensor) t.dispose();
      await tg.setDevice('cpu');
    }, SLOW);
  }

  for (const name of CONTROL_FLOW) {
    const c = CASES.find((x) => x.name === name)!;
    gpuIt(`${name}: eager JS control flow on a GPU predicate throws DeviceResidentError; traced on WebGPU it gives the CPU result`, async () => {
      const f = c.f as (...a: unknown[]) => unknown;
      const args = c.args();
      await tg.setDevice('cpu');
      const cpu = tensorsOf(tg.tidy(() => f(...args)));
      const want = cpu.map((t) => t.host());
      await tg.setDevice('webgpu');
      const before = alive(tg.memory());
      expect(() => tg.tidy(() => f(...args))).toThrow(tg.DeviceResidentError);
      expect(alive(tg.memory()), 'tidy disposed what the failed function made').toBe(before);
      const traced = tg.fn(c.f as (...a: never[]) => unknown);
      const outs = tensorsOf(await traced(...(args as never[])));
      expectClose(await read(outs), want, Math.max(c.tol ?? 0, 1e-4), `${name}: traced on webgpu vs cpu eager`);
      for (const t of [...outs, ...cpu, ...args]) if (t instanceof TgTensor) t.dispose();
      await tg.setDevice('cpu');
    }, SLOW);
  }
});

describe('eager GPU residency, memory, fallback, disposal', () => {
  gpuIt('results stay on the GPU until data(); a read keeps a host copy', async () => {
    await tg.setDevice('webgpu');
    const x = tg.tensor([[1, -2, 3], [-4, 5, -6]]);
    const s0 = tg.eagerStats();
    const y = x.mul(2).relu().reshape([3, 2]).sum(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(y.device).toBe('webgpu');
    expect(tg.eagerStats().downloads).toBe(s0.downloads);
    expect(() => y.dataSync()).toThrow(tg.DeviceResidentError);
    expect(() => tg.tidy(() => tg.cond(y.sum().greater(0), () => y, () => y))).toThrow(/await t\.data\(\)/);
    // [[2,0],[6,0],[10,0]] summed over axis 0
    expect(Array.from((await y.data()) as ArrayLike<number>)).toEqual([18, 0]);
    expect(tg.eagerStats().downloads).toBe(s0.downloads + 1);
    expect(Array.from(y.dataSync() as ArrayLike<number>)).toEqual([18, 0]);
    await y.data();
    expect(tg.eagerStats().downloads, 'a second read uses the host copy').toBe(s0.downloads + 1);
    x.dispose();
    y.dispose();
    await tg.setDevice('cpu');
  }, SLOW);

  gpuIt('memory returns to the baseline after tidy, dispose and using', async () => {
    await tg.setDevice('webgpu');
    const m0 = tg.memory();
    const kept = tg.tidy(() => {
      const a = randn([4, 8]);
      const b = randn([8, 3]);
      const h = a.matmul(b).relu();
      return h.add(a.sum().reshape([1, 1]));
    });
    // Buffers of disposed inputs go back once the queued work that reads them has been submitted.
    expect((await kept.data()).length).toBe(12);
    let m = tg.memory();
    expect(alive(m)).toBe(alive(m0) + 1);
    expect(m.numGpuTensors).toBe(m0.numGpuTensors + 1);
    expect(m.gpuBuffers).toBe(m0.gpuBuffers + 1);
    expect(m.gpuBytes).toBe(m0.gpuBytes + 4 * 3 * 4);
    {
      using t = kept.mul(2);
      expect(tg.memory().gpuBuffers).toBe(m0.gpuBuffers + 2);
      expect(t.device).toBe('webgpu');
    }
    expect(tg.memory().gpuBuffers).toBe(m0.gpuBuffers + 1);
    kept.dispose();
    await new Promise((r) => setTimeout(r, 0)); // the submit of the encoded work (a microtask)
    m = tg.memory();
    expect(alive(m)).toBe(alive(m0));
    expect(m.numGpuTensors).toBe(m0.numGpuTensors);
    expect(m.gpuBuffers).toBe(m0.gpuBuffers);
    expect(m.gpuBytes).toBe(m0.gpuBytes);
    expect(m.gpuPool!.live, 'every eager buffer is back in the pool').toBe(m0.gpuPool?.live ?? 0);
    await tg.setDevice('cpu');
  }, SLOW);

  gpuIt('an op without a WebGPU kernel falls back to the CPU kernels, queued behind the read back of its GPU inputs', async () => {
    const candidates: [string, (x: TgTensor) => TgTensor][] = [
      ['ArgMax', (x) => x.argMax(1)],
      ['ArgMin', (x) => tg.argMin(x, 1)],
      ['Einsum', (x) => apply1('Einsum', [x], { equation: attr.string('ij->ji') })],
    ];
    const pick = candidates.find(([op]) => !findGpuKernel(op));
    if (!pick) throw new Error('every candidate op has a WebGPU kernel now: add an op without one to this test');
    const [op, fn] = pick;
    const x0 = randn([3, 5]);
    await tg.setDevice('cpu');
    const want = tg.tidy(() => fn(x0.mul(2)).cast('float32').add(1));
    const zCpu = fn(x0);
    await tg.setDevice('webgpu');
    const s0 = tg.eagerStats();
    const y = tg.tidy(() => fn(x0.mul(2)).cast('float32').add(1));
    expect(tg.eagerStats().fallbacks[op]).toBe('no WebGPU kernel');
    expect(Array.from((await y.data()) as ArrayLike<number>)).toEqual(Array.from(want.dataSync() as ArrayLike<number>));
    expect(tg.eagerStats().downloads, 'the fallback read its GPU input back').toBeGreaterThan(s0.downloads);
    // A CPU-resident input: the fallback runs at once and its result is a CPU tensor.
    const z = fn(x0);
    expect(z.device).toBe('cpu');
    expect(Array.from(z.dataSync() as ArrayLike<number>)).toEqual(Array.from(zCpu.dataSync() as ArrayLike<number>));
    for (const t of [x0, want, y, z, zCpu]) t.dispose();
    await tg.setDevice('cpu');
  }, SLOW);

  gpuIt('a disposed GPU tensor used again gives a DisposedTensorError', async () => {
    await tg.setDevice('webgpu');
    const x = tg.tensor([1, 2, 3]);
    const y = x.mul(2);
    y.dispose();
    expect(y.disposed).toBe(true);
    expect(() => y.add(1)).toThrow(tg.DisposedTensorError);
    await expect(y.data()).rejects.toBeInstanceOf(tg.DisposedTensorError);
    const inner = tg.tidy(() => {
      const t = x.add(1);
      return { t, keep: t.mul(1) };
    });
    inner.t.dispose();
    expect(() => tg.fn((a: TgTensor) => a.add(inner.t)).concrete(x)).toThrow(tg.DisposedTensorError);
    expect(Array.from(await inner.keep.data() as Float32Array)).toEqual([2, 3, 4]);
    inner.keep.dispose();
    x.dispose();
    await tg.setDevice('cpu');
  }, SLOW);
});

describe('eager GPU tensors and tg.fn', () => {
  gpuIt('a plan on the CPU takes eager GPU tensors (read back once) and gives CPU tensors', async () => {
    await tg.setDevice('webgpu');
    const x = randn([3, 4]);
    const a = tg.tidy(() => x.mul(3).sub(1));
    expect(a.device).toBe('webgpu');
    const f = tg.fn((t: TgTensor) => t.relu().sum(1), { device: 'cpu' });
    const s0 = tg.eagerStats();
    const out = (await f(a)) as TgTensor;
    expect(out.device).toBe('cpu');
    expect(tg.eagerStats().downloads).toBe(s0.downloads + 1);
    const out2 = (await f(a)) as TgTensor;
    expect(tg.eagerStats().downloads, 'the host copy serves the next call').toBe(s0.downloads + 1);
    const want = toNumbers(x.host()).reduce<number[]>((acc, v, i) => {
      acc[Math.floor(i / 4)] = (acc[Math.floor(i / 4)] ?? 0) + Math.max(0, v * 3 - 1);
      return acc;
    }, []);
    toNumbers(out.host()).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want[i]!))));
    expect(Array.from(out2.dataSync() as ArrayLike<number>)).toEqual(Array.from(out.dataSync() as ArrayLike<number>));
    for (const t of [x, a, out, out2]) t.dispose();
    await tg.setDevice('cpu');
  }, SLOW);

  gpuIt('a plan on WebGPU takes eager GPU tensors and returns GPU-resident tensors that eager ops use', async () => {
    await tg.setDevice('webgpu');
    const m0 = tg.memory();
    const x = randn([4, 6]);
    const w = tg.tidy(() => x.mul(0.5).transpose()); // GPU-resident, captured: read back once, then a constant
    const f = tg.fn((a: TgTensor) => a.matmul(w).add(1).relu());
    const a = x.sub(0.25); // GPU-resident argument
    const out = (await f(a)) as TgTensor;
    expect(f.traceCount).toBe(1);
    expect((await f.concrete(a).plan()).backend).toBe('webgpu');
    expect(out.device, 'the plan output stays on the GPU').toBe('webgpu');
    const s0 = tg.eagerStats();
    const y = tg.tidy(() => out.mul(2).sum(1));
    expect(y.device).toBe('webgpu');
    await new Promise((r) => setTimeout(r, 10));
    expect(tg.eagerStats().downloads, 'an eager op on a plan output reads nothing back').toBe(s0.downloads);
    const got = Array.from(await y.data() as Float32Array);
    // Oracle: the same function eagerly on the CPU.
    await tg.setDevice('cpu');
    const want = tg.tidy(() => tg.tensor(x.host().data, [4, 6]).sub(0.25).matmul(tg.tensor(x.host().data, [4, 6]).mul(0.5).transpose()).add(1).relu().mul(2).sum(1));
    toNumbers(want.host()).forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(v))));
    ((await f(a)) as TgTensor).dispose(); // the second call does not trace again
    expect(f.traceCount).toBe(1);
    for (const t of [x, w, a, out, y, want]) t.dispose();
    const m = tg.memory();
    expect(alive(m)).toBe(alive(m0));
    expect(m.gpuBuffers).toBe(m0.gpuBuffers);
  }, SLOW);
});

describe('eager GPU tensors fed to a WebGPU plan', () => {
  gpuIt('are bound as GPU buffers (no read back, no upload), in their storage layout for widened dtypes, and give the CPU result', async () => {
    await tg.setDevice('webgpu');
    const m0 = tg.memory();
    const x = randn([5, 6], 4);
    // float32, int32 and the widened int8 / float16 (stored in 32-bit words without shader-f16): eager GPU results.
    const args = tg.tidy(() => [x.sub(0.5), x.mul(3).cast('int32'), x.mul(5).cast('int8'), x.cast('float16')]) as [TgTensor, TgTensor, TgTensor, TgTensor];
    for (const a of args) expect(a.device, `${a.dtype} argument is GPU-resident`).toBe('webgpu');
    const fn = (a: TgTensor, b: TgTensor, c: TgTensor, d: TgTensor) => a.mul(b.cast('float32')).add(c.cast('float32')).sub(d.cast('float32').mul(2)).sum(1);
    const f = tg.fn(fn);
    const s0 = tg.eagerStats();
    const out = (await f(...args)) as TgTensor;
    expect(tg.eagerStats().downloads, 'the plan call read no argument back').toBe(s0.downloads);
    const session = await f.concrete(...args).plan();
    expect(session.backend).toBe('webgpu');
    const out2 = (await f(...args)) as TgTensor;
    const compiled = (session as unknown as { compiled: { lastRun?: { uploads: number } } }).compiled;
    expect(compiled.lastRun!.uploads, 'the arguments were bound, not uploaded').toBe(0);
    expect(tg.eagerStats().downloads, 'nor did the second call').toBe(s0.downloads);
    const [got, got2] = (await read([out, out2])).map((h) => toNumbers(h)) as [number[], number[]];
    // Oracle: the same ops eagerly on the CPU from the same host data.
    await tg.setDevice('cpu');
    const xc = tg.tensor(x.host().data, [5, 6]);
    const want = tg.tidy(() => fn(xc.sub(0.5), xc.mul(3).cast('int32'), xc.mul(5).cast('int8'), xc.cast('float16')));
    const w = toNumbers(want.host());
    expect(got.length).toBe(5);
    got.forEach((v, i) => expect(Math.abs(v - w[i]!), `row ${i}: ${v} vs ${w[i]}`).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(w[i]!))));
    expect(got2).toEqual(got);
    for (const t of [...args, out, out2, xc, want]) t.dispose();
    x.dispose();
    const m = tg.memory();
    expect(alive(m)).toBe(alive(m0));
    expect(m.gpuBuffers, 'the lent buffers were given back').toBe(m0.gpuBuffers);
  }, SLOW);
});

describe('device loss', () => {
  // Last in the file: it destroys the shared device (the next acquire makes a new one).
  gpuIt('a lost device fails reads of its tensors with DeviceLostError, ops go back to the CPU, setDevice acquires a new device', async () => {
    await tg.setDevice('webgpu');
    const x = tg.tensor([1, 2, 3]);
    const y = x.mul(2);
    expect(y.device).toBe('webgpu');
    await destroyGpu();
    await expect(y.data()).rejects.toBeInstanceOf(DeviceLostError);
    expect(tg.getDevice()).toBe('cpu');
    expect(tg.deviceInfo().reason).toMatch(/lost/);
    const z = x.add(1);
    expect(z.device).toBe('cpu');
    expect(Array.from(z.dataSync() as ArrayLike<number>)).toEqual([2, 3, 4]);
    expect(() => y.add(1)).toThrow(DeviceLostError);
    y.dispose();
    await expect(tg.setDevice('webgpu')).resolves.toBe('webgpu');
    const w = x.mul(3);
    expect(w.device).toBe('webgpu');
    expect(Array.from((await w.data()) as ArrayLike<number>)).toEqual([3, 6, 9]);
    for (const t of [x, z, w]) t.dispose();
    await tg.setDevice('cpu');
  }, SLOW);
});
