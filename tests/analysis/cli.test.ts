// `tgraph optimize --report` prints the analyses after the pass report.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { optimizeCommand } from '../../src/cli/commands.js';

const MODEL = path.resolve(import.meta.dirname, '../../models/ppocr-mobile-v2-cls.onnx');

describe('optimize --report', () => {
  it('prints partitions, the critical path, device islands and the memory plan', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-analysis-')), 'out.onnx');
    const lines: string[] = [];
    await optimizeCommand(parseArgs([MODEL, '-o', out, '--report', '--input', 'x=1,3,48,192']), (l) => lines.push(l));
    const text = lines.join('\n');
    if (process.env.SHOW_REPORT) console.log(text);
    expect(text.indexOf('parallel partitioning')).toBeGreaterThan(0);
    expect(text).toMatch(/critical path\s+\d+ nodes/);
    expect(text).toMatch(/device islands\s+\d+ \(gpu nodes \d+, cpu nodes \d+\)/);
    const m = /planned peak\s+.*\((\d+) B\), [\d.]+% of allocating every value: .*\((\d+) B\)/.exec(text)!;
    expect(Number(m[1])).toBeLessThan(Number(m[2]));
    expect(text).not.toMatch(/PLAN INVALID|unbound/);
    expect(lines[lines.length - 1]).toMatch(/^wrote /);
  });
});
