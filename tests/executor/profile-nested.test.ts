// Profiling inside control flow: the nodes of If branches and Loop bodies get trace events of their
// own, nested in their control-flow node's span, and the per-op summary counts nothing twice.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Graph, Model } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { parseArgs } from '../../src/cli/args.js';
import { runCommand } from '../../src/cli/commands.js';
import { type ChromeTrace, summarizeTrace, type TraceEvent } from '../../src/executor/profiler.js';
import { InferenceSession, Tensor } from '../../src/index.js';
import { buildModel } from '../helpers/build.js';
import { expectOutputsMatch, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from '../models/models.js';

const sessions: InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release({ force: true });
});

const t = (name: string, shape: number[]) => ({ name, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape } });
const scalarBool = (name: string) => ({ name, type: { kind: 'tensor' as const, dtype: 'bool' as const, shape: [] } });
const nd = (name: string, opType: string, inputs: string[], outputs: string[], attributes = {}) => ({ name, opType, domain: '', inputs, outputs, attributes });

/**
 * pre: p = x + 1; cond: If(c) whose then branch is a Loop of 3 iterations (acc = acc * 2 + 1, two levels
 * of nesting) and whose else branch is Sigmoid(p); post: y = -out.
 */
function controlFlowModel(): Model {
  const body: Graph = {
    name: 'body', inputs: [{ name: 'i', type: { kind: 'tensor', dtype: 'int64', shape: [] } }, scalarBool('cin'), t('acc', [4, 8])],
    outputs: [scalarBool('cout'), t('acc2', [4, 8])],
    initializers: new Map(), valueInfo: new Map(),
    nodes: [nd('keep_going', 'Identity', ['cin'], ['cout']), nd('double', 'Mul', ['acc', 'two'], ['m']), nd('plus_one', 'Add', ['m', 'one'], ['acc2'])],
  };
  const thenBranch: Graph = {
    name: 'then', inputs: [], outputs: [t('looped', [4, 8])], initializers: new Map(), valueInfo: new Map(),
    nodes: [nd('loop', 'Loop', ['trips', 'yes', 'p'], ['looped'], { body: { kind: 'graph', value: body } })],
  };
  const elseBranch: Graph = {
    name: 'else', inputs: [], outputs: [t('squashed', [4, 8])], initializers: new Map(), valueInfo: new Map(),
    nodes: [nd('squash', 'Sigmoid', ['p'], ['squashed'])],
  };
  return buildModel({
    inputs: [['x', 'float32', [4, 8]], ['c', 'bool', []]],
    outputs: [['y', 'float32', [4, 8]]],
    initializers: {
      one: { kind: 'tensor', dtype: 'float32', dims: [1], data: Float32Array.of(1) },
      two: { kind: 'tensor', dtype: 'float32', dims: [1], data: Float32Array.of(2) },
      trips: { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(3n) },
      yes: { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) },
    },
    nodes: [
      { op: 'Add', name: 'pre', inputs: ['x', 'one'], outputs: ['p'] },
      { op: 'If', name: 'cond', inputs: ['c'], outputs: ['out'], attrs: { then_branch: { kind: 'graph', value: thenBranch }, else_branch: { kind: 'graph', value: elseBranch } } },
      { op: 'Neg', name: 'post', inputs: ['out'], outputs: ['y'] },
    ],
    opset: 17,
  });
}

const xs = (trace: ChromeTrace) => trace.traceEvents.filter((e) => e.ph === 'X');
const depth = (e: TraceEvent) => (typeof e.args.depth === 'number' ? e.args.depth : 0);
const end = (e: TraceEvent) => e.ts + e.dur!;

/** Every nested event lies inside an event of its parent (same run and thread, one level up); returns how many were checked. */
function expectNested(events: readonly TraceEvent[]): number {
  const nested = events.filter((e) => depth(e) > 0);
  for (const e of nested) {
    const parents = events.filter((p) => p.args.run === e.args.run && p.tid === e.tid && p.name === e.args.parent && depth(p) === depth(e) - 1);
    expect(parents.length, `${e.name}: an event of its parent ${String(e.args.parent)}`).toBeGreaterThan(0);
    expect(parents.some((p) => p.ts <= e.ts && end(e) <= end(p)), `${e.name} [${e.ts}, ${end(e)}] inside ${String(e.args.parent)}`).toBe(true);
  }
  return nested.length;
}

/** Self time counts each microsecond once: it sums to the main graph's node time. */
function expectSelfTimeHonest(trace: ChromeTrace): void {
  const rows = summarizeTrace(trace);
  const top = xs(trace).filter((e) => depth(e) === 0).reduce((a, e) => a + e.dur!, 0);
  expect(rows.reduce((a, r) => a + r.selfMs, 0)).toBeCloseTo(top / 1000, 6);
  expect(rows.reduce((a, r) => a + r.percent, 0)).toBeCloseTo(100, 6);
}

async function ortRun(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(exportModel(model));
  const r = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor(v.type, v.data as never, [...v.dims])])));
  await s.release();
  return r;
}

describe('profiling inside control flow', () => {
  const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i) * 2);
  const feeds = (c: boolean) => ({ x: new Tensor('float32', x, [4, 8]), c: new Tensor('bool', Uint8Array.of(c ? 1 : 0), []) });

  for (const mode of ['sequential', 'parallel'] as const) {
    it(`records If branch and Loop body nodes, nested in their parents' spans (${mode})`, async () => {
      const model = controlFlowModel();
      const s = await InferenceSession.fromModel(model, { graphOptimizationLevel: 'disabled', executionMode: mode, intraOpNumThreads: 1, enableProfiling: true });
      sessions.push(s);
      for (const c of [true, false]) expectOutputsMatch(['y'], await s.run(feeds(c)), await ortRun(model, feeds(c)));
      const trace = await s.endProfiling();
      const events = xs(trace);
      const run1 = events.filter((e) => e.args.run === 1);
      // Run 1 (then branch): the Loop inside the If, its body's Mul and Add three times each.
      expect(run1.filter((e) => depth(e) === 0).map((e) => e.name).sort()).toEqual(['cond', 'post', 'pre']);
      expect(run1.find((e) => e.name === 'loop')).toMatchObject({ cat: 'Loop', tid: 0, args: { parent: 'cond', depth: 1, inputShapes: ['[]', '[]', '[4,8]'] } });
      for (const [name, op] of [['double', 'Mul'], ['plus_one', 'Add']]) {
        const runs = run1.filter((e) => e.name === name);
        expect(runs.length, name).toBe(3);
        for (const e of runs) expect(e).toMatchObject({ cat: op, args: { parent: 'loop', depth: 2, inputShapes: expect.arrayContaining(['[4,8]']) } });
      }
      // Run 2 (else branch): Sigmoid alone inside the If.
      const run2 = events.filter((e) => e.args.run === 2);
      expect(run2.filter((e) => depth(e) > 0).map((e) => [e.name, e.cat, e.args.parent])).toEqual([['squash', 'Sigmoid', 'cond']]);
      expect(expectNested(events)).toBeGreaterThanOrEqual(7);
      // Perfetto nests by start order and span: a parent comes first and never ends before its children.
      const order = events.map((e) => e.name);
      expect(order.indexOf('cond')).toBeLessThan(order.indexOf('loop'));
      expectSelfTimeHonest(trace);
      const rows = summarizeTrace(trace);
      const ifRow = rows.find((r) => r.op === 'If')!;
      expect(ifRow).toMatchObject({ count: 2, nested: 0 });
      expect(ifRow.selfMs).toBeLessThan(ifRow.totalMs);
      expect(rows.find((r) => r.op === 'Mul')).toMatchObject({ count: 3, nested: 3 });
      expect(rows.find((r) => r.op === 'Loop')).toMatchObject({ count: 1, nested: 1 });
    });
  }

  it('silero VAD (its whole network in an If): the branch nodes are profiled and outputs match onnxruntime', async () => {
    const m = REAL_MODELS.find((r) => r.name === 'silero VAD')!;
    const s = await InferenceSession.create(m.file, { enableProfiling: true });
    sessions.push(s);
    const { feeds, ortFeeds } = realModelFeeds(m, s.inputMetadata);
    const got = await s.run(feeds);
    const o = await ort.InferenceSession.create(m.file);
    const want = await o.run(ortFeeds);
    await o.release();
    expectOutputsMatch(s.outputNames, got, want);
    const trace = await s.endProfiling();
    const events = xs(trace);
    const top = events.filter((e) => depth(e) === 0);
    const ifs = top.filter((e) => e.cat === 'If');
    expect(ifs.length).toBeGreaterThan(0);
    const nested = events.filter((e) => depth(e) > 0);
    expect(nested.length).toBeGreaterThan(10);
    const ops = new Set(nested.map((e) => e.cat));
    expect(ops).toContain('LSTM');
    expect([...ops].some((op) => /Conv/.test(op)), [...ops].join(', ')).toBe(true);
    expect(nested.every((e) => ifs.some((p) => p.name === e.args.parent) || depth(e) > 1)).toBe(true);
    expect(expectNested(events)).toBe(nested.length);
    expectSelfTimeHonest(trace);
    // The If's own time is what its branch's nodes leave over: a small part of its span.
    const ifRow = summarizeTrace(trace).find((r) => r.op === 'If')!;
    expect(ifRow.selfMs).toBeLessThan(ifRow.totalMs / 2);
  });

  it('tgraph run --profile lists body nodes by op, with self and inclusive time', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-prof-'));
    const file = path.join(dir, 'cf.onnx');
    fs.writeFileSync(file, exportModel(controlFlowModel()));
    const lines: string[] = [];
    await runCommand(parseArgs([file, '--level', 'disabled', '--profile', path.join(dir, 'cf.json')]), (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/^\s+op\s+count\s+self ms\s+%\s+incl ms$/m);
    expect(text).toMatch(/node runs were inside If\/Loop\/Scan bodies/);
    const trace = JSON.parse(fs.readFileSync(path.join(dir, 'cf.json'), 'utf8')) as ChromeTrace;
    // Every op of the trace, nested ones too, has its row with its count of runs.
    for (const r of summarizeTrace(trace)) expect(text).toMatch(new RegExp(`^\\s+${r.op}\\s+${r.count}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+$`, 'm'));
    expect(xs(trace).some((e) => depth(e) > 0)).toBe(true);
  });
});
