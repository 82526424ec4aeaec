// Markdown tables and an SVG chart from a BenchResults object. Pure functions of the results.
import { geomean, ratio, relSpread } from './stats.js';
import type { BenchResults, Comparison, PeerInfo, PeerMeasure, WorkloadResult } from './types.js';

/** The ratios the report shows, in order; those whose peers did not run are left out. */
export const COMPARISONS: Comparison[] = [
  { a: 'tgraph-cpu', b: 'onnxruntime-node', label: 'tgraph CPU / ort-node CPU' },
  { a: 'tgraph-cpu', b: 'onnxruntime-web-wasm', label: 'tgraph CPU / ort-web wasm' },
  { a: 'tgraph-webgpu', b: 'onnxruntime-node', label: 'tgraph WebGPU / ort-node CPU' },
  { a: 'tgraph-webgpu', b: 'onnxruntime-web-wasm', label: 'tgraph WebGPU / ort-web wasm' },
  { a: 'tgraph-webgpu-chromium', b: 'onnxruntime-web-webgpu', label: 'tgraph WebGPU / ort-web WebGPU (Chromium)' },
  { a: 'tgraph-webgpu-chromium', b: 'tfjs-webgpu', label: 'tgraph WebGPU / tfjs WebGPU (Chromium)' },
  { a: 'tgraph-fn-cpu', b: 'jax-js-wasm', label: 'tg.fn CPU / jax-js jit wasm' },
  { a: 'tgraph-fn-webgpu', b: 'jax-js-webgpu', label: 'tg.fn WebGPU / jax-js jit WebGPU' },
];

/** The device a peer computes on, for its kernel-rate ceiling: 'cpu' (native or wasm), 'webgpu' (Dawn in Node), 'webgpu-chromium'. */
export function deviceOf(p: Pick<PeerInfo, 'backend' | 'host'>): string {
  if (p.backend !== 'webgpu') return 'cpu';
  return p.host === 'chromium' ? 'webgpu-chromium' : 'webgpu';
}

/** Optimizer effect: level 'all' over level 'disabled' on each backend. */
export const OPT_COMPARISONS: Comparison[] = [
  { a: 'tgraph-cpu', b: 'tgraph-cpu-O0', label: 'CPU: all / disabled' },
  { a: 'tgraph-webgpu', b: 'tgraph-webgpu-O0', label: 'WebGPU: all / disabled' },
];

export function peerOf(w: WorkloadResult, id: string): PeerMeasure | undefined {
  const p = w.peers.find((x) => x.peer === id);
  return p && !p.error ? p : undefined;
}

export function steadyRatio(w: WorkloadResult, c: Comparison): number {
  return ratio(peerOf(w, c.a)?.steady?.median, peerOf(w, c.b)?.steady?.median);
}

/** Comparisons with at least one finite ratio among the workloads (all of the run's by default). */
export function activeComparisons(r: BenchResults, list: Comparison[] = COMPARISONS, ws: WorkloadResult[] = r.workloads): Comparison[] {
  return list.filter((c) => ws.some((w) => Number.isFinite(steadyRatio(w, c))));
}

/** Three significant digits, no exponent for the usual range. */
export function fmt(x: number | undefined, digits = 3): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 10 ** digits) return Math.round(x).toString();
  return Number(x.toPrecision(digits)).toString();
}

export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return `${fmt(x)}×`;
}

function cellSteady(p: PeerMeasure | undefined, w: WorkloadResult, id: string): string {
  if (!p) {
    const e = w.peers.find((x) => x.peer === id)?.error;
    return e ? 'error' : '–';
  }
  if (!p.steady) return '–';
  const sp = relSpread(p.steady);
  return `${fmt(p.steady.median)} ±${Number.isFinite(sp) ? Math.round((sp * 100) / 2) : '?'}%`;
}

function workloadLabel(w: WorkloadResult): string {
  return `${w.name} ×${w.batch}`;
}

function table(head: string[], rows: string[][], leftCols = 1): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i < leftCols ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** Peers in the order of the results' peer list, keeping only those that appear in `ws`. */
function peersIn(r: BenchResults, ws: WorkloadResult[]): string[] {
  return r.peers.map((p) => p.id).filter((id) => ws.some((w) => w.peers.some((m) => m.peer === id)));
}

export function ratioTable(r: BenchResults, ws: WorkloadResult[], comps: Comparison[]): string {
  const rows = ws.map((w) => [workloadLabel(w), ...comps.map((c) => fmtRatio(steadyRatio(w, c)))]);
  rows.push(['**geometric mean**', ...comps.map((c) => `**${fmtRatio(geomean(ws.map((w) => steadyRatio(w, c))))}**`)]);
  return table(['workload', ...comps.map((c) => c.label)], rows);
}

export function latencyTable(r: BenchResults, ws: WorkloadResult[]): string {
  const ids = peersIn(r, ws);
  return table(['workload', ...ids], ws.map((w) => [workloadLabel(w), ...ids.map((id) => cellSteady(peerOf(w, id), w, id))]));
}

export function coldTable(r: BenchResults, ws: WorkloadResult[]): string {
  const ids = peersIn(r, ws);
  const rows: string[][] = [];
  for (const w of ws) {
    for (const id of ids) {
      const p = peerOf(w, id);
      if (!p) continue;
      const c = p.cold;
      rows.push([
        workloadLabel(w),
        id,
        fmt(c?.loadMs ?? p.loadMs),
        fmt(c?.firstRunMs ?? p.firstRunMs),
        fmt(p.steady?.median),
        c ? fmt(c.peakRssMiB) : '–',
        c ? fmt(c.peakRssMiB - c.baseRssMiB) : '–',
        c?.gpuMiB !== undefined ? fmt(c.gpuMiB) : '–',
        p.throughput ? `${fmt(p.throughput.runsPerSec)} (×${p.throughput.concurrency})` : '–',
      ]);
    }
  }
  return table(['workload', 'peer', 'load ms', 'first run ms', 'steady ms', 'peak RSS MiB', 'RSS over base MiB', 'GPU MiB', 'runs/s (in flight)'], rows, 2);
}

/**
 * The optimizer's effect per real model: latency and memory at `graphOptimizationLevel: 'all'` and
 * `'disabled'` on both backends (peak RSS over base from the fresh-process measurement; GPU bytes that
 * tgraph's buffer pool allocated).
 */
export function optTable(r: BenchResults, ws: WorkloadResult[]): string {
  const pair = (w: WorkloadResult, a: string, b: string, f: (p: PeerMeasure) => number | undefined) => {
    const x = peerOf(w, a);
    const y = peerOf(w, b);
    return `${fmt(x ? f(x) : undefined)} / ${fmt(y ? f(y) : undefined)}`;
  };
  const over = (p: PeerMeasure) => (p.cold ? p.cold.peakRssMiB - p.cold.baseRssMiB : undefined);
  const withO0 = ws.filter((w) => w.peers.some((p) => p.peer.endsWith('-O0')));
  const rows = withO0
    .map((w) => [
      workloadLabel(w),
      pair(w, 'tgraph-cpu', 'tgraph-cpu-O0', (p) => p.steady?.median),
      fmtRatio(steadyRatio(w, OPT_COMPARISONS[0]!)),
      pair(w, 'tgraph-cpu', 'tgraph-cpu-O0', over),
      pair(w, 'tgraph-webgpu', 'tgraph-webgpu-O0', (p) => p.steady?.median),
      fmtRatio(steadyRatio(w, OPT_COMPARISONS[1]!)),
      pair(w, 'tgraph-webgpu', 'tgraph-webgpu-O0', over),
      pair(w, 'tgraph-webgpu', 'tgraph-webgpu-O0', (p) => p.cold?.gpuMiB),
    ]);
  const gm = (c: Comparison) => `**${fmtRatio(geomean(withO0.map((w) => steadyRatio(w, c))))}**`;
  rows.push(['**geometric mean**', '', gm(OPT_COMPARISONS[0]!), '', '', gm(OPT_COMPARISONS[1]!), '', '']);
  return table(['workload', 'CPU ms (all / disabled)', 'CPU all / disabled', 'CPU peak RSS over base MiB (all / disabled)', 'WebGPU ms (all / disabled)', 'WebGPU all / disabled', 'WebGPU peak RSS over base MiB (all / disabled)', 'WebGPU GPU buffers MiB (all / disabled)'], rows);
}

/** The browser part's load, first run, throughput and memory per real model and peer. */
export function browserTable(r: BenchResults, ws: WorkloadResult[]): string {
  const ids = r.peers.filter((p) => p.host === 'chromium').map((p) => p.id);
  const rows: string[][] = [];
  for (const w of ws) {
    for (const id of ids) {
      const p = peerOf(w, id);
      if (!p) continue;
      const m = p.browserMemory;
      rows.push([
        workloadLabel(w),
        id,
        fmt(p.loadMs),
        fmt(p.firstRunMs),
        fmt(p.steady?.median),
        p.throughput ? `${fmt(p.throughput.runsPerSec)} (×${p.throughput.concurrency})` : '–',
        fmt(m?.peakRssOverBaseMiB),
        fmt(m?.jsHeapMiB),
        m?.gpuMiB !== undefined ? fmt(m.gpuMiB) : 'not reported',
      ]);
    }
  }
  return table(['workload', 'peer', 'load ms', 'first run ms', 'steady ms', 'runs/s (in flight)', 'Chromium peak RSS over base MiB', 'JS heap change MiB', 'GPU MiB (runtime)'], rows, 2);
}

export function kernelTable(r: BenchResults, ws: WorkloadResult[]): string {
  const ids = peersIn(r, ws);
  const rows = ws.map((w) => {
    const unit = w.flops ? 'GFLOP/s' : 'GB/s';
    return [
      workloadLabel(w),
      unit,
      ...ids.map((id) => {
        const p = peerOf(w, id);
        const v = w.flops ? p?.gflops : p?.gbps;
        if (v === undefined) return '–';
        const info = r.peers.find((x) => x.id === id);
        const dev = info ? deviceOf(info) : 'cpu';
        const ceil = w.flops ? r.ceilings.gflops[dev] : r.ceilings.gbps[dev];
        return ceil ? `${fmt(v)} (${Math.round((100 * v) / ceil)}%)` : fmt(v);
      }),
    ];
  });
  return table(['workload', 'unit', ...ids], rows);
}

export function peersTable(r: BenchResults): string {
  return table(
    ['peer', 'package', 'version', 'backend', 'host', 'threads', 'graph optimization', 'detail'],
    r.peers.map((p) => [p.id, p.package, p.version, p.backend, p.host, p.threads === null ? '–' : String(p.threads), p.optLevel, p.detail]),
    8,
  );
}

/** The whole Markdown report for one results file. */
export function markdownReport(r: BenchResults): string {
  const models = r.workloads.filter((w) => w.group === 'model');
  const micro = r.workloads.filter((w) => w.group === 'micro');
  const tracer = r.workloads.filter((w) => w.group === 'tracer');
  const opt = activeComparisons(r, OPT_COMPARISONS);
  const m = r.machine;
  const out: string[] = [];
  out.push(`# Benchmark results ${r.date} (${r.mode})`);
  out.push('');
  out.push(`Machine: ${m.cpuModel}, ${m.cpus} logical CPUs, ${fmt(m.totalMemGiB)} GiB, ${m.os} ${m.kernel} ${m.arch}; Node ${m.node} (V8 ${m.v8}); load average at start ${m.loadAvg.map((x) => x.toFixed(1)).join(' / ')}.`);
  out.push(`WebGPU adapter: ${m.adapter}.${m.browserAdapter ? ` In headless Chromium: ${m.browserAdapter}.` : ''}`);
  out.push(`Command: \`${r.command}\`, ${Math.round(r.durationS)} s.`);
  for (const n of r.notes) out.push(`\n> ${n}`);
  out.push('');
  out.push('## Peers');
  out.push('');
  out.push(peersTable(r));
  out.push('');
  out.push('## Ratios: tgraph over each peer (steady-state median latency; below 1× tgraph is faster)');
  out.push('');
  for (const [title, ws] of [['Real models', models], ['Micro-benchmarks', micro], ['Tracer: the same functions under tg.fn and jax-js jit', tracer]] as const) {
    if (!ws.length) continue;
    out.push(`### ${title}`);
    out.push('');
    out.push(ratioTable(r, ws, activeComparisons(r, COMPARISONS, ws)));
    out.push('');
  }
  if (opt.length && models.length) {
    out.push('## Graph optimization: level `all` against level `disabled` (ratio below 1×: the optimizer helps)');
    out.push('');
    out.push('Steady-state latency, and memory from the fresh-process measurement (peak RSS over the RSS after importing the runtime; GPU buffers tgraph allocated).');
    out.push('');
    out.push(optTable(r, models));
    out.push('');
  }
  out.push('## Steady-state latency, ms (median ±half the interquartile range, as % of the median)');
  out.push('');
  if (models.length) out.push(latencyTable(r, models), '');
  if (micro.length) out.push(latencyTable(r, micro), '');
  if (tracer.length) out.push(latencyTable(r, tracer), '');
  if (models.length) {
    out.push('## Load, first run, memory, throughput (real models)');
    out.push('');
    out.push('Load and first run are from a fresh process per model and peer when measured there (otherwise in-process); peak RSS is that process\'s maximum resident set; "over base" subtracts the RSS after importing the runtime, before loading the model. Throughput: runs per second with several runs in flight on one session.');
    out.push('');
    out.push(coldTable(r, models));
    out.push('');
    if (models.some((w) => w.peers.some((p) => p.browserMemory || (p.throughput && r.peers.find((x) => x.id === p.peer)?.host === 'chromium')))) {
      out.push('### In headless Chromium');
      out.push('');
      out.push('Load, first run and steady state from the interleaved part; then each peer alone loads the model and runs it: the peak resident set of all of Chromium\'s processes (renderer and GPU process: on SwiftShader the "GPU" memory is there) over their resident set just before (Linux VmHWM after a reset through /proc/PID/clear_refs), the change of the page\'s JS heap (CDP Performance.getMetrics), and the GPU buffers the runtime itself reports (onnxruntime-web reports none).');
      out.push('');
      out.push(browserTable(r, models));
      out.push('');
    }
  }
  const kernelWs = [...micro, ...tracer].filter((w) => w.flops || w.bytes);
  if (kernelWs.length) {
    out.push('## Kernels: achieved rate (percent of the measured ceiling of the device)');
    out.push('');
    out.push(`Ceilings: ${Object.entries(r.ceilings.gflops).map(([d, v]) => `${d} ${fmt(v)} GFLOP/s`).join(', ')}; ${Object.entries(r.ceilings.gbps).map(([d, v]) => `${d} ${fmt(v)} GB/s`).join(', ')}.`);
    out.push('');
    for (const [k, v] of Object.entries(r.ceilings.sources ?? {})) out.push(`- \`${k}\`: ${v}`);
    if (r.ceilings.sources) out.push('');
    out.push('GFLOP/s counts a multiply-add as 2 flops; GB/s counts the bytes a run must read and write at least once. A GFLOP/s ceiling is a best-case MatMul measured on that device in the same run, or the best rate any runtime reached in the suite where that is higher.');
    out.push('');
    out.push(kernelTable(r, kernelWs));
    out.push('');
  }
  const errs = r.workloads.flatMap((w) => w.peers.filter((p) => p.error).map((p) => `- ${workloadLabel(w)}, ${p.peer}: ${p.error!.split('\n')[0]!.slice(0, 300)}`));
  if (errs.length) {
    out.push('## Failures');
    out.push('');
    out.push(...errs);
    out.push('');
  }
  return out.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/**
 * Horizontal bars of tgraph/peer ratios on a log2 axis, one group per workload, one bar per comparison.
 * Bars grow right of 1× when tgraph is slower and left when it is faster.
 */
export function svgChart(r: BenchResults, comps: Comparison[] = activeComparisons(r), title = 'tgraph latency / peer latency (log scale; left of 1× = tgraph faster)'): string {
  const ws = r.workloads.filter((w) => comps.some((c) => Number.isFinite(steadyRatio(w, c))));
  const all = ws.flatMap((w) => comps.map((c) => steadyRatio(w, c))).filter((x) => Number.isFinite(x) && x > 0);
  const lo = Math.min(-1, Math.floor(Math.log2(Math.min(1, ...all))));
  const hi = Math.max(1, Math.ceil(Math.log2(Math.max(1, ...all))));
  const labelW = 300;
  const plotW = 560;
  const barH = 9;
  const groupGap = 8;
  const top = 50;
  const legendH = 18 * Math.ceil(comps.length / 2) + 10;
  const groupH = comps.length * barH + groupGap;
  const height = top + ws.length * groupH + 30 + legendH;
  const width = labelW + plotW + 30;
  const x = (v: number) => labelW + ((Math.log2(v) - lo) / (hi - lo)) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${width / 2}" y="34" text-anchor="middle" fill="#555">${esc(`${r.date}, ${r.mode} run, ${r.machine.cpus} CPUs (${r.machine.cpuModel}), load ${r.machine.loadAvg[0]?.toFixed(1) ?? '?'}`)}</text>`);
  const plotBottom = top + ws.length * groupH;
  for (let e = lo; e <= hi; e++) {
    const gx = x(2 ** e);
    parts.push(`<line x1="${gx.toFixed(1)}" y1="${top - 4}" x2="${gx.toFixed(1)}" y2="${plotBottom}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.2 : 1}"/>`);
    const lab = e >= 0 ? `${2 ** e}×` : `1/${2 ** -e}×`;
    if (hi - lo > 12 && e % 2 !== 0) continue; // every other label when the axis is long
    parts.push(`<text x="${gx.toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" fill="#333">${lab}</text>`);
  }
  ws.forEach((w, i) => {
    const gy = top + i * groupH;
    parts.push(`<text x="${labelW - 6}" y="${(gy + (comps.length * barH) / 2 + 4).toFixed(1)}" text-anchor="end">${esc(workloadLabel(w))}</text>`);
    comps.forEach((c, j) => {
      const v = steadyRatio(w, c);
      if (!Number.isFinite(v) || v <= 0) return;
      const x0 = x(1);
      const x1 = x(Math.min(2 ** hi, Math.max(2 ** lo, v)));
      const y = gy + j * barH;
      parts.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${barH - 1}" fill="${COLORS[j % COLORS.length]}"><title>${esc(`${workloadLabel(w)}: ${c.label} = ${fmtRatio(v)}`)}</title></rect>`);
    });
  });
  const ly = plotBottom + 30;
  comps.forEach((c, j) => {
    const lx = labelW + (j % 2) * (plotW / 2);
    const yy = ly + Math.floor(j / 2) * 18;
    parts.push(`<rect x="${lx}" y="${yy}" width="12" height="10" fill="${COLORS[j % COLORS.length]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${yy + 9}">${esc(c.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export const README_START = '<!-- bench:latest:start (written by npm run bench) -->';
export const README_END = '<!-- bench:latest:end -->';

/** The block of bench/README.md that shows the latest full run: ratios, chart, links. */
export function readmeBlock(r: BenchResults, base: string): string {
  const models = r.workloads.filter((w) => w.group === 'model');
  const micro = r.workloads.filter((w) => w.group === 'micro');
  const tracer = r.workloads.filter((w) => w.group === 'tracer');
  const opt = activeComparisons(r, OPT_COMPARISONS);
  const m = r.machine;
  const out = [
    README_START,
    `Run of ${r.date} (${r.mode}): ${m.cpus}× ${m.cpuModel}, ${fmt(m.totalMemGiB)} GiB, Node ${m.node}, load average ${m.loadAvg.map((x) => x.toFixed(1)).join(' / ')} at the start; WebGPU adapter: ${m.adapter}. All CPU peers single-threaded unless the peers table says otherwise. Full tables (latency with spread, load, first run, memory, throughput, kernel rates): [results/${base}.md](results/${base}.md); raw data: [results/${base}.json](results/${base}.json).`,
    '',
    ...r.notes.map((n) => `> ${n}\n`),
    `![ratios](results/${base}.svg)`,
    '',
    '**Real models**, tgraph latency / peer latency (steady-state medians; below 1× tgraph is faster):',
    '',
    ratioTable(r, models, activeComparisons(r, COMPARISONS, models)),
    '',
    '**Micro-benchmarks**, same ratios:',
    '',
    ratioTable(r, micro, activeComparisons(r, COMPARISONS, micro)),
    '',
  ];
  if (tracer.length) out.push('**Tracer**, the same functions under `tg.fn` and `@jax-js/jax`\'s `jit` (in Node; WebGPU through Dawn on the same adapter):', '', ratioTable(r, tracer, activeComparisons(r, COMPARISONS, tracer)), '');
  if (opt.length) out.push('**Graph optimization**, tgraph at level `all` against level `disabled`, latency and memory (ratio below 1×: the optimizer helps):', '', optTable(r, models), '');
  out.push(README_END);
  return out.join('\n');
}

/** Replace the latest-results block of a README text (appended when the markers are missing). */
export function replaceReadmeBlock(readme: string, block: string): string {
  const i = readme.indexOf(README_START);
  const j = readme.indexOf(README_END);
  if (i < 0 || j < i) return `${readme.trimEnd()}\n\n${block}\n`;
  return readme.slice(0, i) + block + readme.slice(j + README_END.length);
}
