// Real exported models run on the CPU backend with outputs matching onnxruntime-node to 1e-4 relative.
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../../src/index.js';
import { expectOutputsMatch, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from './models.js';

describe.each(REAL_MODELS)('$name ($kind)', (m) => {
  it('matches onnxruntime-node on the CPU backend', async () => {
    const session = await InferenceSession.create(m.file, { executionProviders: ['cpu'] });
    const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
    const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
    const want = await oracle.run(ortFeeds);
    const got = await session.run(feeds);
    expectOutputsMatch(session.outputNames, got, want);
    await session.release();
  }, 120_000);
});
