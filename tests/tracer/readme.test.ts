// The README's Tracer examples run, export, and give the same outputs in onnxruntime-node.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as tg from '../../src/index.js';
import { ort } from '../helpers/ort.js';
import * as ex from './readme-examples.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('./readme-examples.ts', import.meta.url), 'utf8');

function block(name: string): string {
  const m = new RegExp(`// --- ${name} ---\\n([\\s\\S]*?)// --- end ${name} ---`).exec(source);
  if (!m) throw new Error(`no ${name} block`);
  return m[1]!.trim();
}

it('the README shows the examples that these tests run', () => {
  for (const name of ['mlp', 'cnn']) expect(readme.includes(block(name)), `README holds the ${name} example verbatim`).toBe(true);
});

async function ortRun(bytes: Uint8Array, feeds: Record<string, tg.TgTensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const f: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', t.dataSync() as Float32Array, [...(t.shape as number[])]);
  const out = await s.run(f);
  return out[s.outputNames[0]!]!.data as Float32Array;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
}

it('MLP: traced once for any batch, same outputs in onnxruntime-node', async () => {
  expect(ex.mlp.traceCount).toBe(1);
  const rows = (await ex.probs.array()) as number[][];
  for (const r of rows) expect(r.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  const x = tg.tensor([[1, 2, 3, 4], [0, -1, 0, 1], [3, 3, 3, 3]]);
  const got = await ex.mlp(x);
  expect(ex.mlp.traceCount).toBe(1);
  const cf = ex.mlp.concreteFunctions[0]!;
  expectClose(await ortRun(cf.toOnnx(), { [cf.inputNames[0]!]: x }), got.dataSync() as Float32Array);
});

it('CNN: eager = traced = onnxruntime-node', async () => {
  const eager = ex.classify(ex.image);
  expectClose(ex.scores.dataSync() as Float32Array, eager.dataSync() as Float32Array);
  expectClose(await ortRun(ex.onnxBytes, { img: ex.image }), ex.scores.dataSync() as Float32Array);
  expect(ex.scores.shape).toEqual([1, 10]);
});
