// Conformance against the ONNX backend test data, checked against a committed expectation file:
// a test listed there must still not pass (else: remove it, it is fixed), any other must pass.
// UPDATE_EXPECTED=1 rewrites this shard's part of the expectation file instead.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, afterAll } from 'vitest';
import { type CaseResult, listCases, runCase } from '../../src/conformance.js';
import type { BackendName } from '../../src/backends/types.js';

export const ONNX_TESTS = process.env.TGRAPH_ONNX_TESTS ?? path.resolve(import.meta.dirname, '../../../shared/onnx-tests');
export const SUITES = ['node', 'simple', 'pytorch-operator', 'pytorch-converted'] as const;

/**
 * Tests whose expected outputs were drawn from a random generator (Bernoulli, training-mode Dropout):
 * ours are drawn too, so they can match by chance. They are run and must produce outputs of the
 * expected dtype and shape (any mismatch must be in the values); they are not listed as failing.
 */
export const RANDOM_OUTPUTS = /^test_(bernoulli|training_dropout)/;

export function expectedFile(backend: BackendName, suite: string, shard: number): string {
  return path.resolve(import.meta.dirname, 'expected', backend, `${suite}.${shard}.json`);
}

export function defineShard(backend: BackendName, suite: (typeof SUITES)[number], shard: number, shards: number): void {
  const file = expectedFile(backend, suite, shard);
  const expected: Record<string, string> = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  const update = process.env.UPDATE_EXPECTED === '1';
  const results: CaseResult[] = [];
  const dir = path.join(ONNX_TESTS, suite);
  if (!fs.existsSync(dir)) {
    it(`${suite}: test data folder exists`, () => {
      throw new Error(`ONNX test data not found at ${dir}; set TGRAPH_ONNX_TESTS`);
    });
    return;
  }
  const cases = fs.readdirSync(dir).sort().filter((_, i) => i % shards === shard);
  describe(`${backend} conformance ${suite} [${shard + 1}/${shards}]`, () => {
    afterAll(() => {
      if (!update) return;
      const out: Record<string, string> = {};
      for (const r of results) if (r.status !== 'pass' && !RANDOM_OUTPUTS.test(r.name)) out[r.name] = `${r.status}: ${r.reason ?? ''}`;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
    });
    for (const name of cases) {
      const random = RANDOM_OUTPUTS.test(name);
      it(random ? `${name} (random outputs: dtype and shape checked, values drawn)` : name, async () => {
        const r = await runCase(path.join(dir, name), { backend, timeoutMs: 30_000 });
        results.push(r);
        if (update) return;
        if (random) {
          if (r.status !== 'pass') expect(`${r.status}: ${r.reason}`).toMatch(/^fail: .*element \d+: /);
        } else if (name in expected) {
          expect(r.status, `${name} now passes: remove it from ${path.relative(process.cwd(), file)}`).not.toBe('pass');
        } else {
          expect(r.status === 'pass' ? 'pass' : `${r.status}: ${r.reason}`).toBe('pass');
        }
      }, 120_000);
    }
  });
  void listCases;
}
