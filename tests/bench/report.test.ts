// The benchmark harness's statistics and reports on synthetic timings (no benchmark runs here).
import { describe, expect, it } from 'vitest';
import { README_END, README_START, activeComparisons, fmt, markdownReport, readmeBlock, replaceReadmeBlock, steadyRatio, svgChart } from '../../bench/report.js';
import { geomean, interleaveOrder, quantileSorted, ratio, repsFor, summarize } from '../../bench/stats.js';
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
