// The benchmark harness's statistics and reports on synthetic timings (no benchmark runs here).
import { describe, expect, it } from 'vitest';
import { COMPARISONS, README_END, README_START, activeComparisons, browserTable, deviceOf, fmt, kernelTable, markdownReport, optTable, readmeBlock, replaceReadmeBlock, steadyRatio, svgChart } from '../../bench/report.js';
import { geomean, interleaveOrder, quantileSorted, ratio, repsFor, summarize, warmUp, type WarmupPolicy } from '../../bench/stats.js';
import type { BenchResults, PeerInfo, WorkloadResult } from '../../bench/types.js';

describe('bench statistics', () => {
  it('summarizes with medians and interquartile ranges', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ n: 5, median: 3, p25: 2, p75: 4, iqr: 2, min: 1, max: 5, mean: 3 });
    expect(summarize([1, 2, 3, 4]).median).toBe(2.5);
    expect(quantileSorted([10, 20], 0.25)).toBe(12.5);
    expect(summarize([NaN, 7]).n).toBe(1);
    expect(Number.isNaN(summarize([]).median)).toBe(true);
  });

  it('forms ratios and geometric means, skipping what is missing', () => {
    expect(ratio(2, 4)).toBe(0.5);
    expect(Number.isNaN(ratio(undefined, 4))).toBe(true);
    expect(Number.isNaN(ratio(1, 0))).toBe(true);
    expect(geomean([2, 8, NaN])).toBeCloseTo(4);
    expect(Number.isNaN(geomean([]))).toBe(true);
  });

  it('rotates the peer order each repetition and fits repetitions to the budget', () => {
    expect(interleaveOrder(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(interleaveOrder(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(interleaveOrder(['a', 'b', 'c'], 5)).toEqual(['c', 'a', 'b']);
    expect(repsFor([10, 10], 1000, 5, 40)).toBe(40);
    expect(repsFor([100, 100], 1000, 5, 40)).toBe(5);
    expect(repsFor([50, 50], 1000, 5, 40)).toBe(10);
  });

  it('warms each peer up for its run budget (at least minRuns, at most maxRuns), one run when slower than a second, leaving out one that throws', async () => {
    const ms: Record<string, number> = { fast: 2, mid: 30, slow: 1500, broken: 1 };
    const order: string[] = [];
    const errors: string[] = [];
    const p: WarmupPolicy = { minRuns: 3, budgetMs: 100, maxRuns: 20 };
    const { best, runs } = await warmUp(Object.keys(ms), async (id) => {
      order.push(id);
      if (id === 'broken') throw new Error('no');
      return ms[id]!;
    }, p, (id) => errors.push(id));
    expect(Object.fromEntries(runs)).toEqual({ fast: 20, mid: 4, slow: 1, broken: 0 });
    expect(best.get('mid')).toBe(30);
    expect(errors).toEqual(['broken']);
    // Interleaved: the second round starts with the second peer still warming.
    expect(order.slice(0, 6)).toEqual(['fast', 'mid', 'slow', 'broken', 'mid', 'fast']);
  });
});

const peer = (id: string, backend: PeerInfo['backend']): PeerInfo => ({ id, package: id.startsWith('tgraph') ? 'tgraph' : id, version: '1.0.0', backend, host: 'node', threads: 1, optLevel: 'all', detail: '' });

function synthetic(): BenchResults {
  const steady = (ms: number) => summarize([ms * 0.9, ms, ms * 1.1]);
  const w = (id: string, group: 'model' | 'micro', a: number, b: number, c: number): WorkloadResult => ({
    id, group, name: id, kind: group, batch: 1, inputs: [{ name: 'x', dims: [1, 4] }], reps: 3, warmup: 1,
    ...(group === 'micro' ? { flops: 2e9 } : {}),
    peers: [
      { peer: 'tgraph-cpu', steady: steady(a), loadMs: 10, firstRunMs: 2 * a, gflops: group === 'micro' ? 2e9 / (a * 1e6) : undefined, cold: { loadMs: 12, firstRunMs: 3 * a, baseRssMiB: 50, peakRssMiB: 80 } },
      { peer: 'onnxruntime-node', steady: steady(b), loadMs: 5, firstRunMs: b, throughput: { concurrency: 4, runs: 8, runsPerSec: 1000 / b } },
      { peer: 'onnxruntime-web-wasm', steady: steady(c), loadMs: 5, firstRunMs: c },
      { peer: 'tgraph-webgpu', error: 'DeviceError: no adapter' },
    ],
  });
  return {
    schema: 1, date: '2026-01-01', mode: 'quick', command: 'npm run bench -- --quick', durationS: 1,
    machine: { os: 'Linux', kernel: '6', arch: 'x64', cpuModel: 'Test CPU', cpus: 2, totalMemGiB: 8, loadAvg: [1, 1, 1], node: '20', v8: '11', adapter: 'none' },
    peers: [peer('tgraph-cpu', 'cpu'), peer('tgraph-webgpu', 'webgpu'), peer('onnxruntime-node', 'cpu'), peer('onnxruntime-web-wasm', 'wasm')],
    ceilings: { gflops: { cpu: 100 }, gbps: { cpu: 10 } },
    workloads: [w('model-a', 'model', 20, 10, 40), w('model-b', 'model', 5, 10, 5), w('matmul', 'micro', 40, 20, 20)],
    notes: ['synthetic'],
  };
}

describe('bench report', () => {
  it('computes tgraph/peer ratios and leaves out comparisons with no data', () => {
    const r = synthetic();
    const comps = activeComparisons(r);
    expect(comps.map((c) => `${c.a}/${c.b}`)).toEqual(['tgraph-cpu/onnxruntime-node', 'tgraph-cpu/onnxruntime-web-wasm']);
    expect(steadyRatio(r.workloads[0]!, comps[0]!)).toBeCloseTo(2);
    expect(steadyRatio(r.workloads[1]!, comps[0]!)).toBeCloseTo(0.5);
  });

  it('writes a Markdown report with ratios, geometric means, memory and kernel rates', () => {
    const md = markdownReport(synthetic());
    expect(md).toContain('| model-a ×1 | 2× | 0.5× |');
    expect(md).toContain('**geometric mean** | **1×** | **0.707×**');
    expect(md).toContain('tgraph-webgpu: DeviceError: no adapter');
    expect(md).toMatch(/\| model-a ×1 \| tgraph-cpu \| 12 \| 60 \| 20 \| 80 \| 30 \|/);
    expect(md).toContain('50 (50%)'); // 2 GFLOP in 40 ms against a 100 GFLOP/s ceiling
    expect(fmt(1234.5)).toBe('1235');
    expect(fmt(0.012345)).toBe('0.0123');
  });

  it('draws an SVG bar per workload and comparison', () => {
    const svg = svgChart(synthetic());
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<rect [^>]*><title>/g)?.length).toBe(6);
    expect(svg).toContain('model-a ×1: tgraph CPU / ort-node CPU = 2×');
  });

  it('replaces the latest-results block of the README and keeps the rest', () => {
    const block = readmeBlock(synthetic(), '2026-01-01');
    expect(block).toContain('results/2026-01-01.svg');
    const readme = `# Benchmarks\n\nintro\n\n${README_START}\nold\n${README_END}\n\n## Reproducing\n`;
    const next = replaceReadmeBlock(readme, block);
    expect(next).not.toContain('\nold\n');
    expect(next).toContain('intro');
    expect(next).toContain('## Reproducing');
    expect(replaceReadmeBlock('# B\n', block)).toContain(README_START);
  });
});

/** The synthetic run plus the optimizer-off peers, the browser peers (TensorFlow.js among them) and the tracer peers. */
function syntheticFull(): BenchResults {
  const r = synthetic();
  const steady = (ms: number) => summarize([ms * 0.9, ms, ms * 1.1]);
  const chromium = (id: string, pkg: string): PeerInfo => ({ ...peer(id, 'webgpu'), package: pkg, host: 'chromium', threads: null });
  r.peers.push(
    { ...peer('tgraph-cpu-O0', 'cpu'), optLevel: 'disabled' },
    { ...peer('tgraph-webgpu-O0', 'webgpu'), optLevel: 'disabled', threads: null },
    chromium('tgraph-webgpu-chromium', 'tgraph'),
    chromium('onnxruntime-web-webgpu', 'onnxruntime-web'),
    chromium('tfjs-webgpu', '@tensorflow/tfjs-backend-webgpu'),
    peer('tgraph-fn-cpu', 'cpu'),
    { ...peer('jax-js-wasm', 'wasm'), package: '@jax-js/jax' },
  );
  const [modelA, , matmul] = r.workloads as [WorkloadResult, WorkloadResult, WorkloadResult];
  // tgraph WebGPU at 'all' is replaced by a working one with its fresh-process memory.
  modelA.peers = modelA.peers.filter((p) => p.peer !== 'tgraph-webgpu');
  modelA.peers.push(
    { peer: 'tgraph-cpu-O0', steady: steady(25), cold: { loadMs: 5, firstRunMs: 30, baseRssMiB: 50, peakRssMiB: 90 } },
    { peer: 'tgraph-webgpu', steady: steady(30), cold: { loadMs: 5, firstRunMs: 300, baseRssMiB: 60, peakRssMiB: 100, gpuMiB: 12 } },
    { peer: 'tgraph-webgpu-O0', steady: steady(60), cold: { loadMs: 5, firstRunMs: 400, baseRssMiB: 60, peakRssMiB: 120, gpuMiB: 16 } },
    { peer: 'tgraph-webgpu-chromium', steady: steady(8), loadMs: 40, firstRunMs: 900, throughput: { concurrency: 4, runs: 16, runsPerSec: 150 }, browserMemory: { peakRssOverBaseMiB: 14, jsHeapMiB: 2, gpuMiB: 10 } },
    { peer: 'onnxruntime-web-webgpu', steady: steady(32), loadMs: 70, firstRunMs: 9000, browserMemory: { peakRssOverBaseMiB: 220, jsHeapMiB: 5 } },
  );
  matmul.peers.push(
    { peer: 'tgraph-webgpu-chromium', steady: steady(10), gflops: 0.2 },
    { peer: 'onnxruntime-web-webgpu', steady: steady(20), gflops: 0.1 },
    { peer: 'tfjs-webgpu', steady: steady(40), gflops: 0.05 },
  );
  r.ceilings.gflops['webgpu-chromium'] = 0.4;
  r.ceilings.sources = { 'gflops.webgpu-chromium': 'TensorFlow.js MatMul 512³ in the page, best of 3: 0.4 GFLOP/s' };
  r.workloads.push({
    id: 'tracer/mlp@1', group: 'tracer', name: 'MLP', kind: 'traced function (mlp)', batch: 1, inputs: [{ name: 'x', dims: [1, 32, 256] }], reps: 3, warmup: 1,
    peers: [
      { peer: 'onnxruntime-node', steady: steady(1) },
      { peer: 'tgraph-fn-cpu', steady: steady(3), maxRelDiff: 1e-7 },
      { peer: 'jax-js-wasm', steady: steady(2), maxRelDiff: 2e-7 },
      { peer: 'jax-js-webgpu', error: 'Error: jax-js init() found cpu, wasm, not webgpu' },
    ],
  });
  return r;
}

describe('bench report: browser peers, tracer, optimizer levels, ceilings', () => {
  it('compares tgraph with TensorFlow.js on the micro-benchmarks and tg.fn with jax-js on the tracer workloads', () => {
    const r = syntheticFull();
    const micro = r.workloads.filter((w) => w.group === 'micro');
    const tracer = r.workloads.filter((w) => w.group === 'tracer');
    expect(activeComparisons(r, COMPARISONS, micro).map((c) => c.b)).toEqual(['onnxruntime-node', 'onnxruntime-web-wasm', 'onnxruntime-web-webgpu', 'tfjs-webgpu']);
    expect(activeComparisons(r, COMPARISONS, tracer).map((c) => `${c.a}/${c.b}`)).toEqual(['tgraph-fn-cpu/jax-js-wasm']);
    const md = markdownReport(r);
    // tgraph CPU 40 ms against 20 and 20; in Chromium 10 ms against onnxruntime-web's 20 and TensorFlow.js's 40.
    expect(md).toMatch(/\| matmul ×1 \| 2× \| 2× \| 0\.5× \| 0\.25× \|/);
    expect(md).toContain('### Tracer: the same functions under tg.fn and jax-js jit');
    expect(md).toContain('| MLP ×1 | 1.5× |');
    expect(md).toContain('MLP ×1, jax-js-webgpu: Error: jax-js init() found cpu, wasm, not webgpu');
  });

  it('tabulates latency and memory at optimization levels all and disabled on both backends', () => {
    const r = syntheticFull();
    const t = optTable(r, r.workloads.filter((w) => w.group === 'model'));
    // Only model-a ran the optimizer-off peers. CPU 20 / 25 ms, RSS over base 30 / 40; WebGPU 30 / 60 ms, 40 / 60 MiB, GPU 12 / 16.
    expect(t.split('\n')).toHaveLength(4);
    expect(t).toContain('| **geometric mean** |  | **0.8×** |  |  | **0.5×** |  |  |');
    expect(t).toContain('| model-a ×1 | 20 / 25 | 0.8× | 30 / 40 | 30 / 60 | 0.5× | 40 / 60 | 12 / 16 |');
    expect(markdownReport(r)).toContain(t);
    expect(readmeBlock(r, 'x')).toContain(t);
  });

  it('tabulates the browser part: load, first run, throughput and memory per peer', () => {
    const r = syntheticFull();
    const t = browserTable(r, r.workloads.filter((w) => w.group === 'model'));
    expect(t).toContain('| model-a ×1 | tgraph-webgpu-chromium | 40 | 900 | 8 | 150 (×4) | 14 | 2 | 10 |');
    expect(t).toContain('| model-a ×1 | onnxruntime-web-webgpu | 70 | 9000 | 32 | – | 220 | 5 | not reported |');
    expect(markdownReport(r)).toContain('### In headless Chromium');
  });

  it('rates kernels against the ceiling of the device each peer ran on', () => {
    const r = syntheticFull();
    expect(deviceOf({ backend: 'webgpu', host: 'chromium' })).toBe('webgpu-chromium');
    expect(deviceOf({ backend: 'webgpu', host: 'node' })).toBe('webgpu');
    expect(deviceOf({ backend: 'wasm', host: 'node' })).toBe('cpu');
    const t = kernelTable(r, r.workloads.filter((w) => w.group === 'micro'));
    // tgraph CPU 50 GFLOP/s of a 100 GFLOP/s CPU ceiling; in Chromium 0.2, 0.1, 0.05 of 0.4.
    expect(t).toContain('50 (50%)');
    expect(t).toContain('| 0.2 (50%) | 0.1 (25%) | 0.05 (13%) |');
    expect(markdownReport(r)).toContain('`gflops.webgpu-chromium`: TensorFlow.js MatMul 512³ in the page, best of 3: 0.4 GFLOP/s');
  });
});
