// `npm run bench`: runs the suite in Node and writes bench/results/<date>.{json,md,svg}.
//
//   npm run bench -- [--quick] [--only PART] [--filter TEXT] [--threads N] [--no-webgpu] [--no-cold]
//                     [--no-browser] [--serial] [--no-opt-levels] [--budget-ms MS] [--out DIR]
//                     [--report-from FILE.json]
//   PART: models | micro | tracer | browser | cold (repeatable; default all of them)
//
// Per workload: every peer loads the model (timed) and runs it once (first run, timed); then warm-up
// runs and timed repetitions, interleaved across peers (the order rotates each repetition); medians
// and interquartile ranges. Real models also get a throughput figure (runs in flight) and a "cold"
// measurement in a fresh child process per peer (load, first run, peak RSS, GPU buffers).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserPart, CHROMIUM, runBrowser } from './browser.js';
import { nodePeers, type OutputData, type Peer, type Runner } from './peers.js';
import { jaxMatmulMs, tracerPeers, tracerWorkloads } from './tracer-peers.js';
import { deviceOf, markdownReport, readmeBlock, replaceReadmeBlock, svgChart } from './report.js';
import { interleaveOrder, QUICK_WARMUP, repsFor, summarize, WARMUP, warmUp } from './stats.js';
import type { BenchResults, Ceilings, ColdMeasure, MachineInfo, PeerInfo, PeerMeasure, WorkloadResult } from './types.js';
import { matmulWorkload, microWorkloads, realWorkloads, repoRoot, type Workload } from './workloads.js';

type Part = 'models' | 'micro' | 'tracer' | 'browser' | 'cold';
const PARTS: Part[] = ['models', 'micro', 'tracer', 'browser', 'cold'];

interface Options {
  quick: boolean;
  /** Parts to run (--only); all by default. */
  parts: Set<Part>;
  /** Run the browser part after the Node part instead of beside it in a second process. */
  serial: boolean;
  filter: string[];
  threads: number;
  webgpu: boolean;
  cold: boolean;
  optLevels: boolean;
  budgetMs: number;
  out: string;
  child?: string;
  /** Run the browser part (headless Chromium) too; on by default when Chromium is installed. */
  browser: boolean;
  /** Run only the browser part over the workloads of a saved results file and merge it in. */
  browserOnly?: string;
  /** Re-render the .md/.svg (and bench/README.md's block) from a results JSON instead of running. */
  reportFrom?: string;
  /** Internal: run only the browser part and write its results to this file (the parallel child). */
  browserChild?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, parts: new Set(PARTS), serial: false, filter: [], threads: 1, webgpu: true, cold: true, browser: fs.existsSync(CHROMIUM), optLevels: true, budgetMs: 0, out: path.join(repoRoot(), 'bench', 'results') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') {
      const v = val().split(',') as Part[];
      for (const x of v) if (!PARTS.includes(x)) throw new Error(`--only takes ${PARTS.join(', ')}, not ${x}`);
      if (o.parts.size === PARTS.length) o.parts.clear();
      for (const x of v) o.parts.add(x);
    } else if (a === '--serial') o.serial = true;
    else if (a === '--browser-child') o.browserChild = val();
    else if (a === '--filter') o.filter.push(val());
    else if (a === '--threads') o.threads = Number(val());
    else if (a === '--no-webgpu') o.webgpu = false;
    else if (a === '--no-cold') o.cold = false;
    else if (a === '--no-browser') o.browser = false;
    else if (a === '--browser') o.browser = true;
    else if (a === '--no-opt-levels') o.optLevels = false;
    else if (a === '--budget-ms') o.budgetMs = Number(val());
    else if (a === '--out') o.out = path.resolve(val());
    else if (a === '--child') o.child = val();
    else if (a === '--report-from') o.reportFrom = path.resolve(val());
    else if (a === '--browser-only') o.browserOnly = path.resolve(val());
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 10).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.budgetMs) o.budgetMs = o.quick ? 1500 : 8000;
  return o;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const now = () => performance.now();
const MiB = 1024 * 1024;

/** Every workload of the suite, before --only and --filter (the browser part picks from these). */
function suiteWorkloads(o: Options): Workload[] {
  const batches = o.quick ? [1, 2] : [1, 4];
  const microBatches = o.quick ? [1, 2] : [1, 8];
  const ws = [...realWorkloads(batches), ...microWorkloads(o.quick, microBatches), ...tracerWorkloads(o.quick, microBatches)];
  return o.filter.length ? ws.filter((w) => o.filter.some((f) => w.id.includes(f) || w.name.toLowerCase().includes(f.toLowerCase()))) : ws;
}

/** The workloads the Node part runs: the suite less the groups --only left out. */
function allWorkloads(o: Options): Workload[] {
  const group: Record<Workload['group'], Part> = { model: 'models', micro: 'micro', tracer: 'tracer' };
  const ws = suiteWorkloads(o).filter((w) => o.parts.has(group[w.group]));
  return o.filter.length ? ws.filter((w) => o.filter.some((f) => w.id.includes(f) || w.name.toLowerCase().includes(f.toLowerCase()))) : ws;
}

/** Largest |a-b| / (|b| + 1e-3) over the first output; -1 when the lengths differ. */
function relDiff(a: OutputData, b: OutputData): number | undefined {
  if (!a || !b) return undefined;
  if (a.length !== b.length) return -1;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y) / (Math.abs(y) + 1e-3);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function timeRun(r: Runner): Promise<[number, OutputData]> {
  const t = now();
  const out = await r.run();
  return [now() - t, out];
}

/** Runs per second with `concurrency` runs in flight, for about `budgetMs`. */
async function throughput(r: Runner, concurrency: number, estMs: number, budgetMs: number): Promise<{ concurrency: number; runs: number; runsPerSec: number }> {
  const total = Math.max(concurrency, Math.min(concurrency * 16, Math.floor(budgetMs / Math.max(estMs, 0.01))));
  let started = 0;
  const t = now();
  const lane = async () => {
    while (started < total) {
      started++;
      await r.run();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const ms = now() - t;
  return { concurrency, runs: total, runsPerSec: (1000 * total) / ms };
}

async function benchWorkload(w: Workload, peers: Peer[], o: Options): Promise<WorkloadResult> {
  await w.prepare?.();
  const feeds = w.feeds();
  const bytes = w.bytes();
  const applicable = peers.filter((p) => (p.groups ?? ['model', 'micro']).includes(w.group) && (!p.modelsOnly || (w.group === 'model' && w.batch === 1)));
  const measures = new Map<string, PeerMeasure>();
  const runners = new Map<string, Runner>();
  const outputs = new Map<string, OutputData>();
  for (const p of applicable) {
    const m: PeerMeasure = { peer: p.info.id };
    measures.set(p.info.id, m);
    try {
      const t0 = now();
      const r = await p.load(bytes, feeds, w);
      m.loadMs = now() - t0;
      const [ms, out] = await timeRun(r);
      m.firstRunMs = ms;
      outputs.set(p.info.id, out);
      runners.set(p.info.id, r);
    } catch (e) {
      m.error = errText(e);
      log(`  ${p.info.id}: ${m.error.split('\n')[0]}`);
    }
  }
  const ref = outputs.get('onnxruntime-node');
  for (const [id, out] of outputs) {
    const d = relDiff(out, ref);
    if (d !== undefined) measures.get(id)!.maxRelDiff = d;
  }
  const live = applicable.filter((p) => runners.has(p.info.id)).map((p) => p.info.id);
  // Warm-up, interleaved (stats.ts WARMUP); the fastest warm-up run estimates how many repetitions fit in the budget.
  const { best: est, runs: warmRuns } = await warmUp(live, async (id) => (await timeRun(runners.get(id)!))[0], o.quick ? QUICK_WARMUP : WARMUP, (id, e) => {
    measures.get(id)!.error = errText(e);
  });
  for (const [id, n] of warmRuns) measures.get(id)!.warmupRuns = n;
  const warmup = Math.max(0, ...warmRuns.values());
  const ok = live.filter((id) => !measures.get(id)!.error);
  // Repetitions fit the budget by the peers that take under a third of it per run; slower ones run
  // in the first `slowReps` repetitions only (still interleaved with the others).
  const minReps = o.quick ? 3 : 5;
  const slowReps = 3;
  const isSlow = (id: string) => (est.get(id) ?? 0) > o.budgetMs / 3;
  const reps = repsFor(ok.filter((id) => !isSlow(id)).map((id) => est.get(id) ?? 0), o.budgetMs, minReps, o.quick ? 10 : 40);
  const samples = new Map<string, number[]>(ok.map((id) => [id, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const id of interleaveOrder(ok, rep)) {
      if (rep >= slowReps && isSlow(id)) continue;
      const [ms] = await timeRun(runners.get(id)!);
      samples.get(id)!.push(ms);
    }
  }
  for (const id of ok) {
    const m = measures.get(id)!;
    m.steady = summarize(samples.get(id)!);
    if (w.flops) m.gflops = w.flops / (m.steady.median * 1e6);
    if (w.bytesMoved) m.gbps = w.bytesMoved / (m.steady.median * 1e6);
  }
  if (w.group === 'model' && w.batch === 1) {
    for (const id of ok) {
      if ((est.get(id) ?? 0) > 1000) continue; // too slow to queue many runs of
      try {
        measures.get(id)!.throughput = await throughput(runners.get(id)!, 4, measures.get(id)!.steady!.median, o.budgetMs / Math.max(1, ok.length));
      } catch (e) {
        measures.get(id)!.throughputError = errText(e);
        log(`  ${id} throughput: ${errText(e)}`);
      }
    }
  }
  for (const [id, r] of runners) {
    try {
      await r.release();
    } catch (e) {
      log(`  ${id} release: ${errText(e)}`);
    }
  }
  return {
    id: w.id,
    group: w.group,
    name: w.name,
    kind: w.kind,
    batch: w.batch,
    inputs: feeds.map((f) => ({ name: f.name, dims: f.dims })),
    flops: w.flops,
    bytes: w.bytesMoved,
    reps,
    warmup,
    peers: applicable.map((p) => measures.get(p.info.id)!),
  };
}

// ---- cold measurements in a child process ----------------------------------------------------

interface ChildRequest {
  workload: string;
  peer: string;
  quick: boolean;
  threads: number;
  runs: number;
}

async function childMain(req: ChildRequest): Promise<void> {
  const o: Options = { ...parseArgs([]), quick: req.quick, threads: req.threads };
  const w = allWorkloads(o).find((x) => x.id === req.workload);
  if (!w) throw new Error(`no workload ${req.workload}`);
  const peer = nodePeers({ threads: req.threads, webgpu: true, optLevels: true }).find((p) => p.info.id === req.peer);
  if (!peer) throw new Error(`no peer ${req.peer}`);
  const bytes = w.bytes();
  const feeds = w.feeds();
  // Import the runtime before taking the baseline, so the baseline holds the runtime but not the model.
  if (peer.info.package === 'tgraph') await import('../src/index.js');
  else if (peer.info.package === 'onnxruntime-node') await import('onnxruntime-node');
  else await import('onnxruntime-web');
  const baseRss = process.memoryUsage().rss;
  const t0 = now();
  const r = await peer.load(bytes, feeds, w);
  const loadMs = now() - t0;
  const [firstRunMs] = await timeRun(r);
  for (let i = 0; i < req.runs; i++) await r.run();
  const gpu = r.gpuBytes?.();
  const res: ColdMeasure = {
    loadMs,
    firstRunMs,
    baseRssMiB: baseRss / MiB,
    peakRssMiB: peakRssBytes() / MiB,
    ...(gpu !== undefined ? { gpuMiB: gpu / MiB } : {}),
  };
  process.stdout.write(`\nBENCH-CHILD ${JSON.stringify(res)}\n`);
  await r.release();
}

/**
 * Peak resident set of this process. Linux's VmHWM belongs to the address space and starts afresh at
 * exec; getrusage's maxrss survives exec, so a child spawned by a large parent would report the parent's.
 */
function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function runChild(req: ChildRequest, timeoutMs: number): Promise<ColdMeasure> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', JSON.stringify(req)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH-CHILD '));
      if (line) resolve(JSON.parse(line.slice('BENCH-CHILD '.length)) as ColdMeasure);
      else reject(new Error(`child exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

// ---- machine, adapter, ceilings ---------------------------------------------------------------

async function adapterInfo(webgpu: boolean): Promise<string> {
  if (!webgpu) return 'not used (--no-webgpu)';
  try {
    const { describeGpu } = await import('../src/backends/webgpu/device.js');
    const r = await describeGpu();
    if (!r.available) return `none: ${r.reason}`;
    const a = r.adapter;
    return `${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ')}${r.isFallbackAdapter ? ' (fallback adapter)' : ''}, via ${r.source}`;
  } catch (e) {
    return `none: ${errText(e)}`;
  }
}

function machineInfo(adapter: string): MachineInfo {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()}`,
    kernel: os.version(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemGiB: os.totalmem() / 1024 ** 3,
    loadAvg: os.loadavg(),
    node: process.versions.node,
    v8: process.versions.v8,
    adapter,
  };
}

/** Host copy bandwidth (read + write bytes per second) of a 64 MiB typed-array copy, best of 5. */
function cpuCopyGBps(): number {
  const n = 16 * MiB;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n);
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = now();
    b.set(a);
    best = Math.min(best, now() - t);
  }
  return (2 * 4 * n) / (best * 1e6);
}

/** GPU buffer-to-buffer copy bandwidth (read + write), best of 5, or undefined without a device. */
async function gpuCopyGBps(): Promise<number | undefined> {
  try {
    const { acquireGpu } = await import('../src/backends/webgpu/device.js');
    const { device } = await acquireGpu();
    const size = 64 * MiB;
    const src = device.createBuffer({ size, usage: 0x80 | 0x4 | 0x8 });
    const dst = device.createBuffer({ size, usage: 0x80 | 0x4 | 0x8 });
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(src, 0, dst, 0, size);
      const t = now();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      best = Math.min(best, now() - t);
    }
    src.destroy();
    dst.destroy();
    return (2 * size) / (best * 1e6);
  } catch {
    return undefined;
  }
}

/** Best of `reps` timed runs after one untimed run. */
async function bestMs(run: () => Promise<unknown>, reps: number): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = now();
    await run();
    best = Math.min(best, now() - t);
  }
  return best;
}

/**
 * The devices' measured ceilings in Node: a best-case MatMul (onnxruntime-node's MLAS at the suite's
 * thread count on the CPU; the faster of tgraph and jax-js on the WebGPU device) and a large copy.
 */
async function nodeCeilings(o: Options, webgpu: boolean): Promise<Ceilings> {
  const c: Ceilings = { gflops: {}, gbps: { cpu: cpuCopyGBps() }, sources: { 'gbps.cpu': '64 MiB Float32Array.set copy, best of 5' } };
  if (!o.parts.has('micro')) return c;
  const probe = async (peerId: string, n: number, reps: number): Promise<number | undefined> => {
    const w = matmulWorkload(n, 1);
    const peer = [...nodePeers({ threads: o.threads, webgpu, optLevels: false }), ...tracerPeers(webgpu)].find((p) => p.info.id === peerId);
    if (!peer) return undefined;
    try {
      const r = await peer.load(w.bytes(), w.feeds(), w);
      const ms = await bestMs(() => r.run(), reps);
      await r.release();
      return w.flops! / (ms * 1e6);
    } catch (e) {
      log(`  ceiling probe ${peerId}: ${errText(e)}`);
      return undefined;
    }
  };
  const nCpu = o.quick ? 256 : 1024;
  const cpu = await probe('onnxruntime-node', nCpu, 3);
  if (cpu) {
    c.gflops.cpu = cpu;
    c.sources!['gflops.cpu'] = `onnxruntime-node MatMul ${nCpu}³, ${o.threads} thread(s), best of 3: ${cpu.toPrecision(3)} GFLOP/s`;
  }
  if (webgpu) {
    const g = await gpuCopyGBps();
    if (g !== undefined) {
      c.gbps.webgpu = g;
      c.sources!['gbps.webgpu'] = '64 MiB copyBufferToBuffer on the Dawn device, best of 5';
    }
    const nGpu = o.quick ? 128 : 512;
    const tg = await probe('tgraph-webgpu', nGpu, 2);
    let jax: number | undefined;
    try {
      const ms = await jaxMatmulMs(nGpu, 2);
      jax = (2 * nGpu ** 3) / (ms * 1e6);
    } catch (e) {
      log(`  ceiling probe jax-js-webgpu: ${errText(e)}`);
    }
    const best = Math.max(tg ?? 0, jax ?? 0);
    if (best > 0) {
      c.gflops.webgpu = best;
      c.sources!['gflops.webgpu'] = `MatMul ${nGpu}³ on the Dawn device, the faster of tgraph (${tg?.toFixed(2) ?? '–'}) and jax-js (${jax?.toFixed(2) ?? '–'} GFLOP/s), best of 2`;
    }
  }
  log(`ceilings: ${JSON.stringify(c)}`);
  return c;
}

/** Write <base>.md and <base>.svg; for a full default run also the latest-results block of bench/README.md. */
function writeReports(res: BenchResults, base: string, readme: boolean): void {
  fs.writeFileSync(`${base}.md`, `${markdownReport(res)}\n`);
  fs.writeFileSync(`${base}.svg`, `${svgChart(res)}\n`);
  if (readme) {
    const file = path.join(repoRoot(), 'bench', 'README.md');
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
    fs.writeFileSync(file, replaceReadmeBlock(text, readmeBlock(res, path.basename(base))));
  }
}

/** The browser part runs real models at batch 1 (WebGPU on a software adapter is slow) and every micro-benchmark. */
function browserWorkloads(ws: Workload[]): Workload[] {
  return ws.filter((w) => w.group === 'micro' || (w.group === 'model' && w.batch === 1));
}

// ---- main -----------------------------------------------------------------------------------

/** A result entry for a workload the Node part did not run (the browser part fills its peers). */
function emptyResult(w: Workload): WorkloadResult {
  return { id: w.id, group: w.group, name: w.name, kind: w.kind, batch: w.batch, inputs: w.feeds().map((f) => ({ name: f.name, dims: f.dims })), flops: w.flops, bytes: w.bytesMoved, reps: 0, warmup: 0, peers: [] };
}

/** Puts the browser part's peers and measures into a results object (replacing earlier browser measures). */
function mergeBrowser(res: BenchResults, b: BrowserPart, ws: Workload[]): void {
  res.machine.browserAdapter = b.adapter;
  res.peers = [...res.peers.filter((p) => p.host !== 'chromium'), ...b.peers];
  const browserIds = new Set(b.peers.map((p) => p.id));
  for (const w of ws) if (b.results[w.id] && !res.workloads.some((x) => x.id === w.id)) res.workloads.push(emptyResult(w));
  for (const w of res.workloads) {
    w.peers = [...w.peers.filter((p) => !browserIds.has(p.peer)), ...(b.results[w.id] ?? [])];
    if (!w.reps) w.reps = Math.max(0, ...w.peers.map((p) => p.steady?.n ?? 0));
  }
  for (const [dev, v] of Object.entries(b.ceilings.gflops)) res.ceilings.gflops[dev] = v;
  for (const [dev, v] of Object.entries(b.ceilings.gbps)) res.ceilings.gbps[dev] = v;
  Object.assign((res.ceilings.sources ??= {}), b.ceilings.sources ?? {});
  raiseGflopsCeilings(res);
}

/** A GFLOP/s ceiling is at least the best rate any runtime reached on that device in the run. */
function raiseGflopsCeilings(res: BenchResults): void {
  const info = new Map(res.peers.map((p) => [p.id, p]));
  for (const w of res.workloads) {
    for (const p of w.peers) {
      const pi = info.get(p.peer);
      if (p.gflops === undefined || !pi) continue;
      const dev = deviceOf(pi);
      if (p.gflops > (res.ceilings.gflops[dev] ?? 0)) {
        res.ceilings.gflops[dev] = p.gflops;
        const src = (res.ceilings.sources ??= {});
        const probe = src[`gflops.${dev}`]?.split('; raised to')[0];
        src[`gflops.${dev}`] = `${probe ? `${probe}; raised to` : ''} ${p.gflops.toPrecision(3)} GFLOP/s, the best rate reached in the suite (${p.peer} on ${w.name} ×${w.batch})`.trim();
      }
    }
  }
}

/** Runs the browser part in a second process so it overlaps the Node part; resolves to its results. */
function spawnBrowserChild(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--browser-child', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim()) log(`  (browser) ${line}`);
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`browser part exited ${code}`))));
  });
}

async function browserPart(o: Options, ws: Workload[]): Promise<BrowserPart> {
  return runBrowser(browserWorkloads(ws), { budgetMs: o.budgetMs, quick: o.quick, threads: o.threads, log });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return childMain(JSON.parse(o.child) as ChildRequest);
  if (o.browserChild) {
    const b = await browserPart(o, suiteWorkloads(o));
    fs.writeFileSync(o.browserChild, JSON.stringify(b));
    process.exit(0);
  }
  if (o.browserOnly) {
    const res = JSON.parse(fs.readFileSync(o.browserOnly, 'utf8')) as BenchResults;
    const ids = new Set(res.workloads.map((w) => w.id));
    const ws = suiteWorkloads({ ...o, quick: res.mode === 'quick' }).filter((w) => ids.has(w.id));
    mergeBrowser(res, await browserPart({ ...o, quick: res.mode === 'quick' }, ws), ws);
    res.command += ` && npm run bench -- --browser-only ${path.relative(repoRoot(), o.browserOnly)}`;
    fs.writeFileSync(o.browserOnly, `${JSON.stringify(res, null, 1)}\n`);
    writeReports(res, o.browserOnly.replace(/\.json$/, ''), res.mode === 'full');
    log(`merged the browser part into ${o.browserOnly}`);
    process.exit(0);
  }
  if (o.reportFrom) {
    const res = JSON.parse(fs.readFileSync(o.reportFrom, 'utf8')) as BenchResults;
    writeReports(res, o.reportFrom.replace(/\.json$/, ''), res.mode === 'full');
    return;
  }
  const started = now();
  const adapter = await adapterInfo(o.webgpu);
  const webgpu = o.webgpu && !adapter.startsWith('none');
  const machine = machineInfo(adapter);
  log(`bench: ${o.quick ? 'quick' : 'full'} run on ${machine.cpus}× ${machine.cpuModel}, load ${machine.loadAvg.map((x) => x.toFixed(1)).join(' ')}; WebGPU: ${adapter}`);
  const notes: string[] = [];
  // The browser part (its own process tree: Chromium) overlaps the Node part unless --serial: on a
  // 2-CPU machine that keeps the whole suite near half an hour; both parts interleave their peers, so
  // the extra load falls on every peer of a comparison alike.
  const runBrowserPart = o.browser && o.parts.has('browser');
  const parallel = runBrowserPart && !o.serial && o.parts.size > 1;
  const browserFile = path.join(os.tmpdir(), `tgraph-bench-browser-${process.pid}.json`);
  const browserDone = parallel ? spawnBrowserChild(browserFile).then(() => JSON.parse(fs.readFileSync(browserFile, 'utf8')) as BrowserPart) : undefined;
  browserDone?.catch(() => undefined); // handled below
  const peers = [...nodePeers({ threads: o.threads, webgpu, optLevels: o.optLevels }), ...tracerPeers(webgpu)];
  const workloads = allWorkloads(o);
  const results: WorkloadResult[] = [];
  for (const [i, w] of workloads.entries()) {
    log(`[${i + 1}/${workloads.length}] ${w.id}`);
    const r = await benchWorkload(w, peers, o);
    for (const p of r.peers) if (p.steady) log(`  ${p.peer.padEnd(22)} ${p.steady.median.toFixed(2).padStart(9)} ms  IQR ${p.steady.iqr.toFixed(2)}  (n=${p.steady.n}, load ${p.loadMs?.toFixed(0)} ms, first ${p.firstRunMs?.toFixed(1)} ms${p.maxRelDiff !== undefined ? `, diff ${p.maxRelDiff.toExponential(1)}` : ''})`);
    results.push(r);
  }
  if (o.cold && o.parts.has('cold')) {
    const coldOf = results.filter((w) => w.group === 'model' && w.batch === 1);
    log(`cold measurements: ${coldOf.length} models × fresh process per peer`);
    for (const w of coldOf) {
      for (const p of w.peers) {
        if (p.error) continue;
        try {
          p.cold = await runChild({ workload: w.id, peer: p.peer, quick: o.quick, threads: o.threads, runs: o.quick ? 2 : 5 }, 300_000);
          log(`  ${w.id} ${p.peer}: load ${p.cold.loadMs.toFixed(0)} ms, first ${p.cold.firstRunMs.toFixed(1)} ms, peak RSS ${p.cold.peakRssMiB.toFixed(0)} MiB`);
        } catch (e) {
          log(`  ${w.id} ${p.peer} cold: ${errText(e)}`);
        }
      }
    }
  }
  const ceilings = await nodeCeilings(o, webgpu && o.parts.has('micro'));
  const date = new Date().toISOString().slice(0, 10);
  const res: BenchResults = {
    schema: 1,
    date,
    mode: o.quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    durationS: 0,
    machine,
    peers: [...peers.map((p) => p.info)],
    ceilings,
    workloads: results,
    notes,
  };
  raiseGflopsCeilings(res);
  if (runBrowserPart) {
    try {
      const suite = suiteWorkloads(o);
      mergeBrowser(res, await (browserDone ?? browserPart(o, suite)), suite);
      if (parallel) notes.push('The browser part (headless Chromium) ran in a second process at the same time as the Node part, which added to the load on the machine for both.');
    } catch (e) {
      machine.browserAdapter = `none: ${errText(e)}`;
      log(`browser part failed: ${errText(e)}`);
    } finally {
      fs.rmSync(browserFile, { force: true });
    }
  }
  notes.unshift(
    `Load average ${machine.loadAvg.map((x) => x.toFixed(1)).join(' / ')} on ${machine.cpus} CPUs when the run started: other work shared the machine, so absolute times are noisy; the ratios come from interleaved runs, which share that noise.`,
    ...(adapter.toLowerCase().includes('swiftshader') ? ['The WebGPU adapter is SwiftShader, a CPU implementation of Vulkan: WebGPU numbers here measure tgraph\'s GPU path on a software device, not a GPU.'] : []),
  );
  res.durationS = (now() - started) / 1000;
  fs.mkdirSync(o.out, { recursive: true });
  const partial = o.filter.length > 0 || o.parts.size < PARTS.length;
  const base = path.join(o.out, o.quick ? `${date}-quick` : partial ? `${date}-partial` : date);
  fs.writeFileSync(`${base}.json`, `${JSON.stringify(res, null, 1)}\n`);
  writeReports(res, base, !o.quick && !partial && o.out === path.join(repoRoot(), 'bench', 'results'));
  log(`wrote ${base}.json, .md, .svg (${Math.round(res.durationS)} s)`);
  // Dawn's instance keeps the event loop alive; the results are written, so leave.
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
