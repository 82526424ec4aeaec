// Real exported models lowered for each backend (fused kernels on): the lowering fires, and the
// outputs still match onnxruntime-node (1e-4 relative on the CPU, 1e-3 on WebGPU).
import { describe, expect, it } from 'vitest';
import { InferenceSession } from '../../src/index.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS, type RealModel, realModelFeeds } from '../models/models.js';
import { gpuIt } from './helpers.js';

/** Models where the lowering is known to fire (others, e.g. float16 ones, are only checked against onnxruntime). */
const FUSES = /embedding|hey_jarvis|alexa|melspectrogram|^silero VAD$|PP-OCR/;

/** Conv nets and the SVTR transformer run with every node on the GPU. */
const ALL_GPU = /PP-OCR|embedding/;

async function matchOrt(m: RealModel, ep: 'cpu' | 'webgpu', rtol: number): Promise<void> {
  const session = await InferenceSession.create(m.file, { executionProviders: [ep], fuseCpuKernels: true });
  const unlowered = await InferenceSession.create(m.file, { executionProviders: [ep], fuseCpuKernels: true, disabledOptimizers: ['lower-patterns', 'lower-epilogue', 'lower-elementwise'] });
  // Rewrites anywhere (Silero VAD's network is in If branches, so its top level keeps its node count).
  const rewrites = session.optimizeReport!.passes.filter((p) => p.name.startsWith('lower-')).flatMap((p) => Object.values(p.rewrites));
  if (FUSES.test(m.name)) expect(rewrites.reduce((a, b) => a + b, 0), 'lowering rewrites').toBeGreaterThan(0);
  expect(session.model.graph.nodes.length).toBeLessThanOrEqual(unlowered.model.graph.nodes.length);
  await unlowered.release();
  const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
  const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
  const want = await oracle.run(ortFeeds);
  const got = await session.run(feeds);
  if (ep === 'webgpu' && ALL_GPU.test(m.name)) {
    // Every node on the GPU: nothing but the outputs is read back (intermediates stay resident).
    expect(session.placements.filter((p) => p.device !== 'gpu').map((p) => `${p.op} ${p.node}: ${p.reason}`)).toEqual([]);
  }
  for (const name of session.outputNames) {
    const a = got[name]!;
    const b = want[name]!;
    expect(a.dims, `${name} dims`).toEqual(b.dims);
    const r = maxRelError(a.data as Float32Array, b.data as Float32Array, rtol, rtol / 10);
    expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance at element ${r.at}`).toBe(true);
  }
  await session.release();
}

describe.each(REAL_MODELS)('lowered $name', (m) => {
  it('lowers and matches onnxruntime-node on the CPU (1e-4)', () => matchOrt(m, 'cpu', 1e-4), 120_000);
  gpuIt('lowers and matches onnxruntime-node on WebGPU (1e-3)', () => matchOrt(m, 'webgpu', 1e-3), 300_000);
});
