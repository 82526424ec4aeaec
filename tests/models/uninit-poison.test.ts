// Kernels that allocate their output without zeroing (`allocTensor(..., { init: 'none' })`: Conv, ConvNhwc, MatMul,
// Gemm, FusedElementwise, elementwise ops, pools, Softmax) must write every element. Recycled buffers
// handed out that way are filled with 0xFF bytes (NaN / -1) here, and the real models, run twice so the
// second run recycles the first one's buffers, must still match onnxruntime-node; also in parallel mode,
// where split nodes' parts write into recycled shared outputs (the pool workers read the flag from the
// environment, set before the first parallel session starts them).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearTensorPool, setPoisonUninit, uninitTensorBuffers } from '../../graph/tensor-pool.js';
import { InferenceSession } from '../../src/index.js';
import { expectOutputsMatch, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from './models.js';

let prev = false;
const prevEnv = process.env.TGRAPH_POISON_UNINIT;
beforeAll(() => {
  process.env.TGRAPH_POISON_UNINIT = '1';
  prev = setPoisonUninit(true);
  clearTensorPool();
});
afterAll(() => {
  setPoisonUninit(prev);
  if (prevEnv === undefined) delete process.env.TGRAPH_POISON_UNINIT;
  else process.env.TGRAPH_POISON_UNINIT = prevEnv;
});

const MODELS = REAL_MODELS.filter((m) => /PP-OCR|embedding|melspectrogram|silero VAD$/.test(m.name));

const PARALLEL = { executionMode: 'parallel', intraOpNumThreads: 2 } as const;

describe.each(MODELS)('$name with poisoned uninitialized buffers', (m) => {
  it.each([['sequential', {}], ['parallel', PARALLEL]] as const)('matches onnxruntime-node on the second of two runs (%s)', async (mode, opts) => {
    const session = await InferenceSession.create(m.file, { executionProviders: ['cpu'], ...opts });
    const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
    const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
    const want = await oracle.run(ortFeeds);
    await session.run(feeds);
    const before = uninitTensorBuffers();
    const got = await session.run(feeds);
    // The check is real only where some output was taken from a poisoned recycled buffer (counted on
    // this thread; in parallel mode the split parts' blocks are counted on the workers).
    if (mode === 'sequential') expect(uninitTensorBuffers()).toBeGreaterThan(before);
    expectOutputsMatch(session.outputNames, got, want);
    await session.release();
  }, 120_000);
});
