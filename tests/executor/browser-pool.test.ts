// The CPU worker pool in a browser: headless Chromium (puppeteer-core, /usr/lib/chromium/chromium)
// loads tests/executor/browser/page.ts bundled by Vite, served cross-origin isolated (COOP/COEP, as
// scripts/serve.mjs does). With executionMode 'parallel' the session runs nodes on module Web Workers
// (the same worker-entry as Node's worker_threads) with tensors in SharedArrayBuffers; the outputs
// must equal the library's own runs in Node, more than one worker must appear in the profile, and a
// killed worker must be replaced.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { build } from 'vite';
import { InferenceSession, type Tensor } from '../../src/index.js';
import { generateInput } from '../../src/cli/inputs.js';
// @ts-expect-error: a plain .mjs script without types
import { serveStatic } from '../../scripts/serve.mjs';
import { nodeOnlyAliases } from '../../scripts/browser-bundle.js';
import { chromiumSuite, launchChromium } from '../helpers/chromium.js';
import { BRANCH_INPUT, branches, f32, tensorOf } from './graphs.js';
import type { PageOutput, PageResult } from './browser/page.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODEL = path.join(ROOT, 'models/ppocr-mobile-v2-cls.onnx');
const DIMS = [1, 3, 48, 192];

const runSuite = chromiumSuite('the browser worker pool tests');

function expectClose(got: PageOutput[], want: Record<string, Tensor>, tol: number): void {
  expect(got.map((o) => o.name)).toEqual(Object.keys(want));
  for (const o of got) {
    const w = want[o.name]!;
    expect(o.dims, o.name).toEqual([...w.dims]);
    const d = w.data as Float32Array;
    expect(o.data.length).toBe(d.length);
    let worst = 0;
    let at = 0;
    for (let i = 0; i < d.length; i++) {
      const e = Math.abs(o.data[i]! - d[i]!) / (1 + Math.abs(d[i]!));
      if (e > worst) [worst, at] = [e, i];
    }
    expect(worst, `${o.name}[${at}] = ${o.data[at]}, Node has ${d[at]}`).toBeLessThanOrEqual(tol);
  }
}

describe.skipIf(!runSuite)('CPU worker pool in Chromium (module Web Workers)', () => {
  let browser: Browser;
  let server: Server;
  let plain: Server | undefined;
  let page: Page;
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let outDir: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-pool-page-'));
    await build({
      root: path.join(ROOT, 'tests/executor/browser'),
      base: './',
      publicDir: false,
      configFile: false,
      logLevel: 'warn',
      resolve: { alias: nodeOnlyAliases() },
      define: { 'process.cwd': '(() => "")' },
      // Vite's default worker format ('iife', a classic script); the playground covers 'es'.
      build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192, reportCompressedSize: false, rolldownOptions: { output: { keepNames: true } } } as never,
    });
    const model = fs.readFileSync(MODEL);
    let url: string;
    ({ server, url } = await serveStatic(outDir, {
      extra: (req: { url?: string }, res: { setHeader(k: string, v: string): void; end(b: Uint8Array): void }) => {
        if (req.url !== '/model.onnx') return false;
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(model);
        return true;
      },
    }));
    chromium = await launchChromium();
    browser = chromium.browser;
    page = await browser.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${(e as Error).message}`));
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('state')?.textContent === 'ready', { timeout: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    server?.close();
    plain?.close();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('runs the PP-OCR classifier on the pool (default size: navigator.hardwareConcurrency) with the Node outputs', async () => {
    const seeds = [11, 12, 13];
    const r: PageResult = await page.evaluate((d, s) => window.poolPage.model('/model.onnx', d, s), DIMS, seeds);
    expect(r.crossOriginIsolated).toBe(true);
    expect(r.poolSize).toBe(r.hardwareConcurrency);
    const node = await InferenceSession.create(MODEL);
    const meta = node.inputMetadata[0]!;
    for (const [i, seed] of seeds.entries()) expectClose(r.runs[i]!, await node.run({ [meta.name]: generateInput(meta, DIMS, seed) }), 1e-5);
    await node.release();
    // (A chain of nodes: only the ones big enough to split leave the main thread; the branches below use both workers.)
    expect(r.events).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('runs independent branches on two workers', async () => {
    const seeds = [5, 6, 7];
    const r: PageResult = await page.evaluate((s) => window.poolPage.branches(s, { intraOpNumThreads: 2 }), seeds);
    expect(r.poolSize).toBe(2);
    const node = await InferenceSession.fromModel(branches(3), { graphOptimizationLevel: 'disabled' });
    for (const [i, seed] of seeds.entries()) expectClose(r.runs[i]!, await node.run({ x: tensorOf(f32(BRANCH_INPUT, seed)) }), 1e-5);
    await node.release();
    expect(r.workerTids.length, `worker tids in the profile: ${r.workerTids}`).toBe(2);
    expect(r.events).toBe(seeds.length * branches(3).graph.nodes.length);
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('without cross-origin isolation (no SharedArrayBuffer) the pool copies tensors and gives the same outputs', async () => {
    // The same files without COOP/COEP headers.
    plain = http.createServer((req, res) => {
      const rel = new URL(req.url ?? '/', 'http://x').pathname;
      const file = path.join(outDir, rel === '/' ? 'index.html' : path.normalize(rel));
      if (!file.startsWith(outDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': file.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(fs.readFileSync(file));
    });
    await new Promise<void>((r) => plain!.listen(0, '127.0.0.1', r));
    const p2 = await browser.newPage();
    try {
      await p2.goto(`http://127.0.0.1:${(plain.address() as AddressInfo).port}/`);
      await p2.waitForFunction(() => document.getElementById('state')?.textContent === 'ready', { timeout: 60_000 });
      const r: PageResult = await p2.evaluate(() => window.poolPage.branches([3], { intraOpNumThreads: 2 }));
      expect(r.crossOriginIsolated).toBe(false);
      expect(r.outputShared).toEqual([false]);
      expect(r.workerTids.length).toBe(2);
      const node = await InferenceSession.fromModel(branches(3), { graphOptimizationLevel: 'disabled' });
      expectClose(r.runs[0]!, await node.run({ x: tensorOf(f32(BRANCH_INPUT, 3)) }), 1e-5);
      await node.release();
    } finally {
      await p2.close();
    }
  }, 300_000);

  it('a killed Web Worker rejects its run with WorkerError, is replaced, and later runs succeed', async () => {
    const r = await page.evaluate(() => window.poolPage.killed(9));
    expect(r.error, 'the run on the killed worker rejected').not.toBeNull();
    expect(r.error!.isWorkerError).toBe(true);
    expect(r.error!.message).toMatch(/CPU worker \d+ died while running node '\w+' \((Conv|Relu)\): terminated; the pool replaced it/);
    expect(r.replaced).toBe(1);
    const node = await InferenceSession.fromModel(branches(2), { graphOptimizationLevel: 'disabled' });
    const want = await node.run({ x: tensorOf(f32(BRANCH_INPUT, 9)) });
    await node.release();
    for (const outs of r.after) expectClose(outs, want, 1e-5);
  }, 300_000);

  it("a Web Worker's uncaught error (its error event) ends it; the pool replaces it and later runs succeed", async () => {
    const r = await page.evaluate(() => window.poolPage.crashed(10));
    expect(r.lastDeath).toMatch(new RegExp(`^worker ${r.id}: .*worker ${r.id} crashed on request`));
    expect(r.ids).not.toContain(r.id);
    const node = await InferenceSession.fromModel(branches(2), { graphOptimizationLevel: 'disabled' });
    const want = await node.run({ x: tensorOf(f32(BRANCH_INPUT, 10)) });
    await node.release();
    for (const outs of r.after) expectClose(outs, want, 1e-5);
    // The page reports the worker's error on the console; nothing else went wrong.
    expect(consoleErrors.filter((e) => !/crashed on request/.test(e))).toEqual([]);
  }, 300_000);
});
