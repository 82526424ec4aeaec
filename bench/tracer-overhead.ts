// Overhead of calling a traced function (tg.fn) against running its compiled plan directly.
// Build and run from the repository root:
//   npx tsc -p tsconfig.json --outDir bench/tmp/build; node bench/tmp/build/bench/tracer-overhead.js
// Writes its numbers to stdout and to bench/tmp/tracer-overhead.json (or $TRACER_BENCH_OUT).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as tg from '../src/index.js';
import type { RtValue } from '../graph/tensor.js';

const CALLS = 1000;
const ROUNDS = 7;

function randn(dims: number[]): tg.TgTensor {
  let s = 1;
  const n = dims.reduce((a, b) => a * b, 1);
  return tg.tensor(Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1), dims);
}

interface Row {
  name: string;
  calls: number;
  planMsPerCall: number;
  fnMsPerCall: number;
  ratio: number;
}

async function measure(name: string, f: (x: tg.TgTensor) => tg.TgTensor, x: tg.TgTensor): Promise<Row> {
  const traced = tg.fn(f, { name });
  const cf = traced.concrete(x);
  const plan = await cf.plan();
  const feeds = new Map<string, RtValue>([[cf.inputNames[0]!, x.host()]]);
  const fetches = [...cf.outputNames];
  const runPlan = async () => {
    for (let i = 0; i < CALLS; i++) await plan.runValues(feeds, fetches);
  };
  const runFn = async () => {
    for (let i = 0; i < CALLS; i++) (await traced(x)).dispose();
  };
  await runPlan();
  await runFn();
  const planTimes: number[] = [];
  const fnTimes: number[] = [];
  // Interleaved rounds, so that load on the machine hits both alike; medians.
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    await runPlan();
    planTimes.push(performance.now() - t);
    t = performance.now();
    await runFn();
    fnTimes.push(performance.now() - t);
  }
  if (traced.traceCount !== 1) throw new Error(`${name}: traced ${traced.traceCount} times`);
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
  const planMs = median(planTimes) / CALLS;
  const fnMs = median(fnTimes) / CALLS;
  return { name, calls: CALLS, planMsPerCall: round(planMs), fnMsPerCall: round(fnMs), ratio: Math.round((fnMs / planMs) * 1000) / 1000 };
}

const round = (v: number) => Math.round(v * 10000) / 10000;

const w1 = randn([16, 32]);
const w2 = randn([32, 4]);
const wBig = randn([128, 128]);
const k = randn([8, 4, 3, 3]);

const rows = [
  await measure('tiny-mlp [1,16]', (x) => x.matmul(w1).relu().matmul(w2), randn([1, 16])),
  await measure('mlp [64,128]', (x) => x.matmul(wBig).relu().matmul(wBig).softmax(), randn([64, 128])),
  await measure('conv [1,4,16,16]', (x) => tg.conv2d(x, k, undefined, { padding: 1 }).relu().mean([2, 3]), randn([1, 4, 16, 16])),
];
const result = { bench: 'tracer-overhead', date: new Date().toISOString(), node: process.version, target: 'ratio <= 1.2', rows };
console.log(JSON.stringify(result, null, 2));
const out = process.env.TRACER_BENCH_OUT ?? resolve('bench/tmp/tracer-overhead.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 2));
console.log(`written to ${out}`);
