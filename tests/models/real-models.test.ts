// Real exported models run on the CPU backend with outputs matching onnxruntime-node to 1e-4 relative.
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../../src/index.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from './models.js';

describe.each(REAL_MODELS)('$name ($kind)', (m) => {
  it('matches onnxruntime-node on the CPU backend', async () => {
    const session = await InferenceSession.create(m.file, { executionProviders: ['cpu'] });
    const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
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
