// Silero VAD exports on the other execution paths: the CPU worker pool without graph optimization,
// and WebGPU (1e-3 relative), each against onnxruntime-node.
import { describe, expect, it } from 'vitest';
import { type GraphOptimizationLevel, InferenceSession, type SessionOptions } from '../../src/index.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { gpuIt } from '../webgpu/helpers.js';
import { type RealModel, realModelFeeds, SILERO_VARIANTS } from './models.js';

async function vsOrt(m: RealModel, opts: SessionOptions, rtol: number): Promise<void> {
  const session = await InferenceSession.create(m.file, opts);
  try {
    const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
    const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
    const want = await oracle.run(ortFeeds);
    const got = await session.run(feeds);
    for (const name of session.outputNames) {
      const a = got[name]!.data as Float32Array;
      const b = want[name]!.data as Float32Array;
      expect(got[name]!.dims, `${name} dims`).toEqual(want[name]!.dims);
      const r = maxRelError(a, b, rtol, rtol / 10);
      expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance at element ${r.at} (got ${a[r.at]}, want ${b[r.at]})`).toBe(true);
    }
  } finally {
    await session.release();
  }
}

describe.each(SILERO_VARIANTS)('$name ($kind)', (m) => {
  it('matches onnxruntime-node on the CPU worker pool, unoptimized', async () => {
    await vsOrt(m, { executionProviders: ['cpu'], executionMode: 'parallel', intraOpNumThreads: 2, graphOptimizationLevel: 'disabled' }, 1e-4);
  }, 120_000);
  for (const level of ['disabled', 'all'] as GraphOptimizationLevel[]) {
    gpuIt(`matches onnxruntime-node on WebGPU (graphOptimizationLevel ${level})`, async () => {
      await vsOrt(m, { executionProviders: ['webgpu'], graphOptimizationLevel: level }, 1e-3);
    }, 120_000);
  }
});
