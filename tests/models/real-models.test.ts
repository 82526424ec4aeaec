// Real exported models run on the CPU backend with outputs matching onnxruntime-node to 1e-4 relative.
import { describe, expect, it } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { generateInput } from '../../src/cli/inputs.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS } from './models.js';

describe.each(REAL_MODELS)('$name ($kind)', (m) => {
  it('matches onnxruntime-node on the CPU backend', async () => {
    const session = await InferenceSession.create(m.file, { executionProviders: ['cpu'] });
    const feeds: Record<string, Tensor> = {};
    const ortFeeds: Record<string, ort.Tensor> = {};
    session.inputMetadata.forEach((meta, i) => {
      const v = m.values?.[meta.name];
      const t = v
        ? new Tensor(v.type, v.type === 'int64' ? BigInt64Array.from(v.data.map(BigInt)) : Float32Array.from(v.data), v.dims)
        : generateInput(meta, m.dims?.[meta.name], 99 + i);
      feeds[meta.name] = t;
      ortFeeds[meta.name] = new ort.Tensor(t.type, t.data as never, [...t.dims]);
    });
    const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
    const want = await oracle.run(ortFeeds);
    const got = await session.run(feeds);
    for (const name of session.outputNames) {
      const a = got[name]!;
      const b = want[name]!;
      expect(a.dims, `${name} dims`).toEqual(b.dims);
      const r = maxRelError(a.data as Float32Array, b.data as Float32Array, 1e-4, 1e-5);
      expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance at element ${r.at} (got ${(a.data as Float32Array)[r.at]}, want ${(b.data as Float32Array)[r.at]})`).toBe(true);
    }
    await session.release();
  }, 120_000);
});
