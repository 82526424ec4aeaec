// Profiling: Chrome trace events per node run, overlap of independent branches on the pool, the CLI table.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { runCommand } from '../../src/cli/commands.js';
import type { TraceEvent } from '../../src/executor/profiler.js';
import { splitTuning } from '../../src/executor/split.js';
import { InferenceSession } from '../../src/index.js';
import { BRANCH_INPUT, branches, f32, tensorOf } from './graphs.js';

const MODEL = path.resolve(import.meta.dirname, '../../models/ppocr-mobile-v2-cls.onnx');
const sessions: InferenceSession[] = [];
afterAll(async () => {
  for (const s of sessions) await s.release({ force: true });
});

const overlaps = (a: TraceEvent, b: TraceEvent) => a.ts < b.ts + b.dur! && b.ts < a.ts + a.dur!;

describe('profiling', () => {
  it('records one complete event per node run; independent branches overlap on the pool', async () => {
    const model = branches(3);
    // Whole nodes only here (split nodes are checked below): each branch's Convs are single tasks.
    const saved = { ...splitTuning };
    splitTuning.splitMinMacs = Infinity;
    splitTuning.adaptive = false; // whatever a round trip costs on this machine now
    onTestFinished(() => void Object.assign(splitTuning, saved));
    const s = await InferenceSession.fromModel(model, { graphOptimizationLevel: 'disabled', executionMode: 'parallel', intraOpNumThreads: 2, enableProfiling: true });
    sessions.push(s);
    const feeds = { x: tensorOf(f32(BRANCH_INPUT, 2)) };
    await s.run(feeds); // warm: workers loaded
    let found = false;
    const runs = 12; // overlap depends on how the OS schedules the workers: give it several chances
    for (let r = 0; r < runs; r++) await s.run(feeds);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-prof-')), 'trace.json');
    const trace = await s.endProfiling(file);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(JSON.parse(JSON.stringify(trace)));
    const xs = trace.traceEvents.filter((e) => e.ph === 'X');
    // One event per node run, or per part of a split node (the grouped Convs may be split by groups).
    const firsts = xs.filter((e) => !e.args.part || String(e.args.part).startsWith('1/'));
    expect(firsts.length).toBe((runs + 1) * model.graph.nodes.length);
    for (const e of xs.filter((x) => x.args.part)) {
      const [k, n] = String(e.args.part).split('/').map(Number);
      expect(xs.filter((x) => x.args.run === e.args.run && x.name === e.name).length, `${e.name} part ${k}`).toBe(n);
    }
    for (let run = 1; run <= runs + 1; run++) {
      const mine = firsts.filter((e) => e.args.run === run);
      expect(mine.map((e) => e.name).sort()).toEqual(model.graph.nodes.map((n) => n.name).sort());
      const mm = mine.filter((e) => e.cat === 'Conv');
      expect(mm.some((e) => e.tid > 0)).toBe(true); // on workers (a Conv alone with nothing in flight runs inline)
      const a = mm.filter((e) => e.name.startsWith('a_'));
      const b = mm.filter((e) => e.name.startsWith('b_'));
      if (a.some((x) => b.some((y) => x.tid !== y.tid && overlaps(x, y)))) found = true;
    }
    expect(found, 'Convs of branch a and branch b ran at the same time on different workers in some run').toBe(true);
    const names = trace.traceEvents.filter((e) => e.ph === 'M').map((e) => e.args.name);
    expect(names).toContain('cpu worker ' + xs.find((e) => e.tid > 0)!.tid);
    expect(xs[0]).toMatchObject({ pid: 1, args: { op: expect.any(String), inputShapes: expect.any(Array) } });
  });

  it('tgraph run --profile FILE prints a per-op table and writes the trace', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-prof-')), 'run.json');
    const lines: string[] = [];
    await runCommand(parseArgs([MODEL, '--input', 'x=1,3,48,192', '--profile', file]), (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/profile\s+4 runs/);
    expect(text).toMatch(/^\s+op\s+count\s+total ms\s+%$/m);
    // 53 Convs per run, 4 runs; CPU sessions lower by default, so most are FusedConvs (Conv + activation).
    const convs = [...text.matchAll(/^\s+(?:tgraph:Fused)?Conv\s+(\d+)\s+[\d.]+\s+[\d.]+$/gm)].map((m) => Number(m[1]));
    expect(convs.reduce((a, b) => a + b, 0)).toBe(212);
    const trace = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(trace.traceEvents.filter((e: TraceEvent) => e.ph === 'X' && (e.cat === 'Conv' || e.cat === 'tgraph:FusedConv')).length).toBe(4 * 53);
  });
});
