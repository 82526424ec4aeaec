// The playground in real Chromium (puppeteer-core, /usr/lib/chromium/chromium; WebGPU through
// SwiftShader): the page loads without console errors, the bundled sample runs on WebGPU and on
// CPU with outputs equal to the library's own CPU run in Node, the graph view renders (screenshot in
// tests/artifacts/), and a broken model file shows its typed error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'puppeteer-core';
import { build } from 'vite';
import { InferenceSession } from '../../src/index.js';
import { generateInput } from '../../src/cli/inputs.js';
import * as tg from '../../src/index.js';
import { DEFAULT_TRACER_CODE, evaluateTracerCode } from '../../playground/src/tracer-sample.js';
// @ts-expect-error: a plain .mjs script without types
import { serveStatic } from '../../scripts/serve.mjs';
import { chromiumSuite, launchChromium } from '../helpers/chromium.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'tests/artifacts');
const MODEL = path.join(ROOT, 'models/ppocr-mobile-v2-cls.onnx');
const DIMS = [1, 3, 48, 192];
const SEED = 1234;

interface Summary {
  ok: boolean;
  backend?: string;
  workers?: number;
  adapter?: string | null;
  backendNotes?: string[];
  outputs?: { name: string; shape: number[]; first: number[] }[];
  latency?: { firstMs: number; steadyMs: number };
  error?: { name: string; message: string };
}

const runSuite = chromiumSuite('playground browser tests');

describe.skipIf(!runSuite)('playground in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let url: string;
  let page: Page;
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let scratch: string;
  const consoleErrors: string[] = [];
  let expected: { name: string; dims: number[]; data: number[] }[];

  beforeAll(async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-playground-'));
    await build({ configFile: path.join(ROOT, 'playground/vite.config.ts'), logLevel: 'warn', build: { outDir: out, emptyOutDir: true } });
    ({ server, url } = await serveStatic(out));
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-playground-files-'));
    chromium = await launchChromium();
    browser = chromium.browser;
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${(e as Error).message}`));
    // The reference: the same model, same generated input, through the library on CPU in Node.
    const session = await InferenceSession.create(new Uint8Array(fs.readFileSync(MODEL)), { executionProviders: ['cpu'] });
    const meta = session.inputMetadata[0]!;
    const outs = await session.run({ [meta.name]: generateInput(meta, DIMS, SEED) });
    expected = Object.entries(outs).map(([name, t]) => ({ name, dims: [...t.dims], data: Array.from(t.data as Float32Array) }));
    await session.release();
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    server?.close();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function autorun(backend: string): Promise<Summary> {
    await page.goto(`${url}?model=samples/ppocr-mobile-v2-cls.onnx&backend=${backend}&level=all&autorun=1&runs=1&input=x=${DIMS.join(',')}`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('result')?.dataset.state ?? ''), { timeout: 240_000 });
    return JSON.parse(await page.$eval('#result', (e) => e.textContent ?? '')) as Summary;
  }

  function expectMatches(s: Summary, tol: number): void {
    expect(s.ok, JSON.stringify(s.error)).toBe(true);
    expect(s.outputs!.map((o) => o.name)).toEqual(expected.map((e) => e.name));
    s.outputs!.forEach((o, i) => {
      const e = expected[i]!;
      expect(o.shape).toEqual(e.dims);
      expect(o.first.length).toBe(Math.min(16, e.data.length));
      o.first.forEach((v, k) => expect(Math.abs(v - e.data[k]!), `${o.name}[${k}] = ${v}, expected ${e.data[k]}`).toBeLessThanOrEqual(tol));
    });
    expect(s.latency!.firstMs).toBeGreaterThan(0);
    expect(s.latency!.steadyMs).toBeGreaterThan(0);
  }

  it('runs the bundled sample on CPU workers, with the Node outputs, without console errors', async () => {
    const s = await autorun('cpu');
    expectMatches(s, 1e-5);
    expect(s.backend).toBe('cpu');
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('runs the bundled sample on the CPU worker pool (Web Workers started by the runner worker), with the Node outputs', async () => {
    const s = await autorun('cpu-parallel');
    expectMatches(s, 1e-5);
    expect(s.backend).toBe('cpu');
    expect(s.workers).toBeGreaterThanOrEqual(1);
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('runs the bundled sample on WebGPU (SwiftShader in CI), with the Node outputs', async (ctx) => {
    const s = await autorun('webgpu');
    if (s.ok && s.backend !== 'webgpu') {
      const reason = `no WebGPU adapter in this Chromium: ${s.backendNotes?.join('; ')}`;
      if (process.env.CI) throw new Error(reason);
      console.warn(`SKIPPING the WebGPU playground test: ${reason}`);
      ctx.skip();
      return;
    }
    expectMatches(s, 1e-3);
    expect(s.backend).toBe('webgpu');
    expect(s.adapter).toBeTruthy();
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('draws the graph and steps through the optimizer passes (screenshot kept)', async () => {
    await page.goto(`${url}?sample=ppocr`);
    await page.waitForSelector('#graph svg .gnode.op', { timeout: 60_000 });
    const nodes = await page.$$eval('#graph svg .gnode.op', (g) => g.length);
    expect(nodes).toBeGreaterThan(50);
    const stages = await page.$eval('#stage', (e) => Number((e as HTMLInputElement).max));
    expect(stages).toBeGreaterThan(1);
    const passRows = await page.$$eval('#passes tr', (r) => r.map((x) => x.textContent ?? ''));
    expect(passRows.some((r) => r.includes('fuse-batchnorm'))).toBe(true);
    await page.click('#stage-prev');
    expect(await page.$eval('#graph', (e) => (e as HTMLElement).dataset.stage)).toBe(String(stages - 1));
    await page.$eval('#stage', (e) => {
      (e as HTMLInputElement).value = '0';
      e.dispatchEvent(new Event('input'));
    });
    const original = await page.$$eval('#graph svg .gnode.op', (g) => g.length);
    expect(original).toBeGreaterThan(nodes);
    // The initial view shows nodes (not an empty corner of a wide layout).
    const visible = await page.$eval('#graph svg', (svg) => {
      const vb = (svg as SVGSVGElement).viewBox.baseVal;
      return [...svg.querySelectorAll('.gnode')].filter((g) => {
        const m = /translate\(([-\d.e]+),([-\d.e]+)\)/.exec(g.getAttribute('transform') ?? '');
        return m && +m[1]! >= vb.x && +m[1]! <= vb.x + vb.width && +m[2]! >= vb.y && +m[2]! <= vb.y + vb.height;
      }).length;
    });
    expect(visible).toBeGreaterThan(5);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const panel = await page.$('#graph-panel');
    await panel!.screenshot({ path: path.join(ARTIFACTS, 'playground-graph.png') });
    expect(fs.statSync(path.join(ARTIFACTS, 'playground-graph.png')).size).toBeGreaterThan(1000);
  }, 120_000);

  it('traces and runs the Tracer corner sample, with the Node values', async () => {
    const prog = evaluateTracerCode(tg, 'cpu', DEFAULT_TRACER_CODE);
    const want = Array.from(((await prog.fn(...prog.args)) as tg.TgTensor).dataSync() as Float32Array);
    await page.click('#tracer-run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('tracer-output')?.dataset.state ?? ''), { timeout: 60_000 });
    const text = await page.$eval('#tracer-output', (e) => e.textContent ?? '');
    expect(await page.$eval('#tracer-error', (e) => (e as HTMLElement).hidden), text).toBe(true);
    const got = /\] ([^\n]*)/.exec(text)![1]!.split(', ').map(Number);
    expect(got.length).toBe(want.length);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    expect(await page.$$eval('#tracer-graph svg .gnode.op', (g) => g.length)).toBeGreaterThan(2);
    expect(await page.$eval('#tracer-listing', (e) => e.textContent ?? '')).toMatch(/MatMul/);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('runs a vision model on an uploaded image', async () => {
    // A 192x48 BMP: the page draws it at the model's size (no resampling), so the Node reference can
    // normalize the same pixels: (x/255 - 0.5) / 0.5, NCHW.
    const [W, H] = [192, 48];
    const px = (x: number, y: number): [number, number, number] => [(x * 5 + y) & 0xff, (y * 9) & 0xff, (x * y) & 0xff];
    const row = W * 3;
    const bmp = Buffer.alloc(54 + row * H);
    bmp.write('BM', 0);
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(W, 18);
    bmp.writeInt32LE(H, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    bmp.writeUInt32LE(row * H, 34);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const [r, g, b] = px(x, y);
        const o = 54 + (H - 1 - y) * row + x * 3; // bottom-up rows, BGR
        bmp[o] = b;
        bmp[o + 1] = g;
        bmp[o + 2] = r;
      }
    }
    const file = path.join(scratch, 'text.bmp');
    fs.writeFileSync(file, bmp);
    const data = new Float32Array(3 * H * W);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px(x, y).forEach((v, c) => (data[c * H * W + y * W + x] = (v / 255 - 0.5) / 0.5));
    const session = await InferenceSession.create(new Uint8Array(fs.readFileSync(MODEL)), { executionProviders: ['cpu'] });
    const want = Array.from((await session.run({ x: new tg.Tensor('float32', data, [1, 3, H, W]) }))[session.outputNames[0]!]!.data as Float32Array);
    await session.release();

    await page.goto(`${url}?sample=ppocr&backend=cpu&runs=0`);
    await page.waitForSelector('#run:not([disabled])', { timeout: 60_000 });
    const input = await page.$('#image');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(file);
    await page.waitForFunction(() => /image text\.bmp/.test(document.getElementById('run-status')?.textContent ?? ''), { timeout: 30_000 });
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('result')?.dataset.state ?? ''), { timeout: 120_000 });
    const s = JSON.parse(await page.$eval('#result', (e) => e.textContent ?? '')) as Summary & { inputs: { generated: boolean }[] };
    expect(s.ok, JSON.stringify(s.error)).toBe(true);
    expect(s.inputs[0]!.generated).toBe(false);
    s.outputs![0]!.first.forEach((v, k) => expect(Math.abs(v - want[k]!), `${v} vs ${want[k]}`).toBeLessThan(1e-4));
  }, 120_000);

  it('shows the typed error of a broken model file', async () => {
    await page.goto(url);
    const bad = path.join(scratch, 'broken.onnx');
    fs.writeFileSync(bad, Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
    const input = await page.$('#file');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(bad);
    await page.waitForFunction(() => document.getElementById('result')?.dataset.state === 'error', { timeout: 60_000 });
    const shown = await page.$eval('#error', (e) => ({ hidden: (e as HTMLElement).hidden, text: e.textContent ?? '' }));
    expect(shown.hidden).toBe(false);
    expect(shown.text).toMatch(/ModelLoadError/);
    expect(shown.text).toMatch(/broken\.onnx/);
    const s = JSON.parse(await page.$eval('#result', (e) => e.textContent ?? '')) as Summary;
    expect(s.ok).toBe(false);
    expect(s.error!.name).toBe('ModelLoadError');
  }, 120_000);
});
