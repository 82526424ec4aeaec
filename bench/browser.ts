// The browser part of the suite: builds bench/browser/page.ts with Vite, serves it with the models,
// feeds and onnxruntime-web's files, and drives headless Chromium (puppeteer-core) through each
// workload: tgraph's WebGPU backend against onnxruntime-web's WebGPU execution provider and, on the
// micro-benchmarks, TensorFlow.js's WebGPU backend, same adapter. Per real model it also measures each
// peer's memory alone (Chromium's processes' peak RSS, the JS heap, the GPU bytes the runtime reports),
// and the device's ceilings (a best-case MatMul, a buffer copy) inside the page.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nodeOnlyAliases } from '../scripts/browser-bundle.js';
import { nodePeers, packageVersion } from './peers.js';
import type { Ceilings, PeerInfo, PeerMeasure } from './types.js';
import { repoRoot, type Workload } from './workloads.js';
import { QUICK_WARMUP, WARMUP } from './stats.js';
import type { PagePeer, PageSpec } from './browser/page.js';

export const CHROMIUM = process.env.TGRAPH_CHROMIUM ?? '/usr/lib/chromium/chromium';

export function browserPeers(chromiumVersion: string): PeerInfo[] {
  return [
    { id: 'tgraph-webgpu-chromium', package: 'tgraph', version: packageVersion('tgraph'), backend: 'webgpu', host: 'chromium', threads: null, optLevel: 'all', detail: `headless Chromium ${chromiumVersion}, navigator.gpu` },
    { id: 'onnxruntime-web-webgpu', package: 'onnxruntime-web', version: packageVersion('onnxruntime-web'), backend: 'webgpu', host: 'chromium', threads: null, optLevel: 'all', detail: `webgpu execution provider, headless Chromium ${chromiumVersion}` },
    { id: 'tfjs-webgpu', package: '@tensorflow/tfjs-backend-webgpu', version: packageVersion('@tensorflow/tfjs-backend-webgpu'), backend: 'webgpu', host: 'chromium', threads: null, optLevel: 'n/a (eager ops)', detail: `micro-benchmarks written as @tensorflow/tfjs-core ${packageVersion('@tensorflow/tfjs-core')} ops (conv in its native NHWC), tf.setBackend('webgpu'), headless Chromium ${chromiumVersion}` },
  ];
}

async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  const root = path.join(repoRoot(), 'bench', 'browser');
  await build({
    root,
    base: './',
    publicDir: false,
    logLevel: 'warn',
    configFile: false,
    resolve: { alias: nodeOnlyAliases() },
    define: { 'process.cwd': '(() => "")' },
    // tgraph's CPU worker pool is a module worker with top-level await (as in playground/vite.config.ts).
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192, reportCompressedSize: false, rolldownOptions: { output: { keepNames: true } } } as never,
  });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

export interface BrowserOptions {
  budgetMs: number;
  quick: boolean;
  /** Threads for onnxruntime-node, which computes the reference outputs. */
  threads: number;
  log: (s: string) => void;
}

/** What the browser part hands back (JSON-safe: it may come from a second process). */
export interface BrowserPart {
  adapter: string;
  peers: PeerInfo[];
  /** Each workload's browser measures, by workload id. */
  results: Record<string, PeerMeasure[]>;
  ceilings: Ceilings;
}

// ---- process memory of Chromium's processes (Linux) ------------------------------------------

/** The pid and every descendant's (renderer, GPU process, utility processes). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resets each process's peak RSS to its current RSS (writing 5 to clear_refs); returns the summed RSS, KiB. */
function resetPeaks(pids: number[]): number {
  let rss = 0;
  for (const p of pids) {
    try {
      fs.writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      // not permitted: VmHWM then holds the process's lifetime peak, which can only overstate
    }
    rss += statusKiB(p, 'VmRSS');
  }
  return rss;
}

/** Runs the workloads in Chromium; returns the adapter, the peers, each workload's measures and the ceilings. */
export async function runBrowser(workloads: Workload[], o: BrowserOptions): Promise<BrowserPart> {
  const outDir = path.join(repoRoot(), 'bench', 'tmp', 'browser-dist');
  await buildPage(outDir);
  const ortDist = path.join(repoRoot(), 'node_modules', 'onnxruntime-web', 'dist');
  const blobs = new Map<string, Uint8Array>();
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const send = (body: Uint8Array | string, type: string) => {
      res.writeHead(200, { 'Content-Type': type, 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    const blob = blobs.get(url);
    if (blob) return send(blob, 'application/octet-stream');
    const file = url.startsWith('/ort/') ? path.join(ortDist, path.basename(url)) : path.join(outDir, url === '/' ? 'index.html' : path.normalize(url));
    if (!file.startsWith(url.startsWith('/ort/') ? ortDist : outDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      return res.end();
    }
    send(fs.readFileSync(file), TYPES[path.extname(file)] ?? 'application/octet-stream');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-bench-chromium-'));
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${userDir}`, 'about:blank'],
    protocolTimeout: 1_800_000,
  });
  const results: Record<string, PeerMeasure[]> = {};
  const ceilings: Ceilings = { gflops: {}, gbps: {}, sources: {} };
  const ortNode = nodePeers({ threads: o.threads, webgpu: false, optLevels: false }).find((p) => p.info.id === 'onnxruntime-node')!;
  try {
    const version = (await browser.version()).replace(/^(Headless)?Chrome\//, '');
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    page.setDefaultTimeout(1_800_000);
    page.on('pageerror', (e) => o.log(`  page error: ${String(e)}`));
    // TGRAPH_BENCH_DEBUG=1: the page's console (phase markers of each workload) on stderr.
    if (process.env.TGRAPH_BENCH_DEBUG) page.on('console', (m) => o.log(`  page: ${m.text()}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'tgraphBench' in window);
    const adapter = await page.evaluate(() => window.tgraphBench.adapterInfo());
    o.log(`browser: Chromium ${version}, WebGPU adapter: ${adapter}`);
    const cdp = await page.createCDPSession();
    await cdp.send('Performance.enable');
    const jsHeap = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0) / 2 ** 20;
    const rootPid = browser.process()?.pid;
    for (const [i, w] of workloads.entries()) {
      await w.prepare?.();
      const feeds = w.feeds();
      blobs.clear();
      blobs.set('/w/model.onnx', w.bytes());
      feeds.forEach((f, k) => blobs.set(`/w/feed${k}`, new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
      // onnxruntime-node's first output is the reference every browser peer's output is checked against.
      let ref = false;
      try {
        const r = await ortNode.load(w.bytes(), feeds, w);
        const out = await r.run();
        await r.release();
        if (out instanceof Float32Array) {
          blobs.set('/w/ref', new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
          ref = true;
        }
      } catch (e) {
        o.log(`  reference (onnxruntime-node): ${(e as Error).message.split('\n')[0]}`);
      }
      const isModel = w.group === 'model';
      const spec: PageSpec = {
        model: '/w/model.onnx',
        feeds: feeds.map((f, k) => ({ name: f.name, dtype: f.dtype, dims: f.dims, url: `/w/feed${k}` })),
        ...(ref ? { ref: '/w/ref' } : {}),
        ...(w.micro ? { micro: w.micro } : {}),
        flops: w.flops,
        bytesMoved: w.bytesMoved,
        budgetMs: o.budgetMs,
        warmup: o.quick ? QUICK_WARMUP : WARMUP,
        minReps: 3,
        maxReps: o.quick ? 10 : 40,
        ...(isModel ? { concurrency: 4 } : {}),
      };
      o.log(`[browser ${i + 1}/${workloads.length}] ${w.id}`);
      try {
        const ms = await page.evaluate((s) => window.tgraphBench.benchWorkload(s), spec);
        for (const m of ms) o.log(`  ${m.peer.padEnd(24)} ${m.steady ? `${m.steady.median.toFixed(2).padStart(9)} ms (n=${m.steady.n}, first ${m.firstRunMs?.toFixed(1)} ms${m.maxRelDiff !== undefined ? `, diff ${m.maxRelDiff.toExponential(1)}` : ''}${m.throughput ? `, ${m.throughput.runsPerSec.toFixed(1)} runs/s ×${m.throughput.concurrency}` : ''})` : (m.error ?? '')}`);
        results[w.id] = ms;
        // Memory, one peer at a time (real models): the processes' peak RSS over their RSS before.
        if (isModel && rootPid !== undefined) {
          for (const m of ms) {
            if (m.error || !m.steady) continue;
            const pids = processTree(rootPid);
            const base = resetPeaks(pids);
            const heap0 = await jsHeap();
            const r = await page.evaluate((s, id, runs) => window.tgraphBench.memoryRun(s, id, runs), spec, m.peer as PagePeer, 1);
            const heap1 = await jsHeap();
            const peak = processTree(rootPid).reduce((a, p) => a + statusKiB(p, 'VmHWM'), 0);
            m.browserMemory = { peakRssOverBaseMiB: (peak - base) / 1024, jsHeapMiB: heap1 - heap0, ...(r.gpuBytes !== undefined ? { gpuMiB: r.gpuBytes / 2 ** 20 } : {}) };
            o.log(`  ${m.peer.padEnd(24)} memory: peak RSS +${m.browserMemory.peakRssOverBaseMiB!.toFixed(0)} MiB${r.gpuBytes !== undefined ? `, GPU ${(r.gpuBytes / 2 ** 20).toFixed(1)} MiB` : ''}`);
          }
        }
      } catch (e) {
        o.log(`  failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (workloads.some((w) => w.group === 'micro')) {
      // SwiftShader runs a 512³ MatMul in about a second; 1024³ would take ten per try.
      const n = o.quick ? 256 : 512;
      const c = await page.evaluate((k) => window.tgraphBench.ceilings(k), n);
      if (c.gflops) {
        ceilings.gflops['webgpu-chromium'] = c.gflops;
        ceilings.sources!['gflops.webgpu-chromium'] = `TensorFlow.js MatMul ${n}³ in the page, best of 3: ${c.gflops.toPrecision(3)} GFLOP/s`;
      }
      if (c.gbps) {
        ceilings.gbps['webgpu-chromium'] = c.gbps;
        ceilings.sources!['gbps.webgpu-chromium'] = '64 MiB copyBufferToBuffer on a navigator.gpu device in the page, best of 5';
      }
      for (const n2 of c.notes) o.log(`  ceiling ${n2}`);
    }
    return { adapter, peers: browserPeers(version), results, ceilings };
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}
