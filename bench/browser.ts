// The browser part of the suite: builds bench/browser/page.ts with Vite, serves it with the models,
// feeds and onnxruntime-web's files, and drives headless Chromium (puppeteer-core) through each
// workload: tgraph's WebGPU backend against onnxruntime-web's WebGPU execution provider, same adapter.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nodeOnlyAliases } from '../scripts/browser-bundle.js';
import { packageVersion } from './peers.js';
import type { PeerInfo, PeerMeasure } from './types.js';
import { repoRoot, type Workload } from './workloads.js';
import type { PageSpec } from './browser/page.js';

export const CHROMIUM = process.env.TGRAPH_CHROMIUM ?? '/usr/lib/chromium/chromium';

export function browserPeers(chromiumVersion: string): PeerInfo[] {
  return [
    { id: 'tgraph-webgpu-chromium', package: 'tgraph', version: packageVersion('tgraph'), backend: 'webgpu', host: 'chromium', threads: null, optLevel: 'all', detail: `headless Chromium ${chromiumVersion}, navigator.gpu` },
    { id: 'onnxruntime-web-webgpu', package: 'onnxruntime-web', version: packageVersion('onnxruntime-web'), backend: 'webgpu', host: 'chromium', threads: null, optLevel: 'all', detail: `webgpu execution provider, headless Chromium ${chromiumVersion}` },
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
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192, reportCompressedSize: false, rolldownOptions: { output: { keepNames: true } } } as never,
  });
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

export interface BrowserOptions {
  budgetMs: number;
  quick: boolean;
  log: (s: string) => void;
}

/** Runs the workloads in Chromium; returns the adapter, the peers, and each workload's measures by id. */
export async function runBrowser(workloads: Workload[], o: BrowserOptions): Promise<{ adapter: string; peers: PeerInfo[]; results: Map<string, PeerMeasure[]> }> {
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
  const results = new Map<string, PeerMeasure[]>();
  try {
    const version = (await browser.version()).replace(/^(Headless)?Chrome\//, '');
    const page = (await browser.pages())[0] ?? (await browser.newPage());
    page.setDefaultTimeout(1_800_000);
    page.on('pageerror', (e) => o.log(`  page error: ${String(e)}`));
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'tgraphBench' in window);
    const adapter = await page.evaluate(() => window.tgraphBench.adapterInfo());
    o.log(`browser: Chromium ${version}, WebGPU adapter: ${adapter}`);
    for (const [i, w] of workloads.entries()) {
      const feeds = w.feeds();
      blobs.clear();
      blobs.set('/w/model.onnx', w.bytes());
      feeds.forEach((f, k) => blobs.set(`/w/feed${k}`, new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.byteLength)));
      const spec: PageSpec = {
        model: '/w/model.onnx',
        feeds: feeds.map((f, k) => ({ name: f.name, dtype: f.dtype, dims: f.dims, url: `/w/feed${k}` })),
        flops: w.flops,
        bytesMoved: w.bytesMoved,
        budgetMs: o.budgetMs,
        warmup: o.quick ? 1 : 3,
        minReps: 3,
        maxReps: o.quick ? 10 : 40,
      };
      o.log(`[browser ${i + 1}/${workloads.length}] ${w.id}`);
      try {
        const ms = await page.evaluate((s) => window.tgraphBench.benchWorkload(s), spec);
        for (const m of ms) o.log(`  ${m.peer.padEnd(24)} ${m.steady ? `${m.steady.median.toFixed(2).padStart(9)} ms (n=${m.steady.n}, first ${m.firstRunMs?.toFixed(1)} ms)` : (m.error ?? '')}`);
        results.set(w.id, ms);
      } catch (e) {
        o.log(`  failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    return { adapter, peers: browserPeers(version), results };
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}
