// The session's WebGPU surface: outputs kept on the GPU (preferredOutputLocation 'gpu-buffer'),
// GPU tensors as feeds, and each node's placement with its reason.
import { describe, expect } from 'vitest';
import { InferenceSession, Tensor } from '../../src/index.js';
import { buildBytes } from '../helpers/build.js';
import { gpuIt } from './helpers.js';

const bytes = buildBytes({
  inputs: [['x', 'float32', [2, 3]], ['k', 'int64', [2]]],
  outputs: [['y', 'float32'], ['r', 'float32']],
  nodes: [
    { op: 'Relu', inputs: ['x'], outputs: ['a'] },
    { op: 'Mul', inputs: ['a', 'x'], outputs: ['y'] },
    // Reshape by a runtime shape: the int64 shape input stays on the CPU, the data on the GPU.
    { op: 'Reshape', inputs: ['y', 'k'], outputs: ['r'] },
  ],
});
const x = Float32Array.from([-1, 2, -3, 4, 0.5, -0.25]);
const want = Array.from(x, (v) => Math.max(v, 0) * v);

describe('webgpu session I/O', () => {
  gpuIt('keeps outputs on the GPU when asked, and reads them back on getData()', async () => {
    const s = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: { y: 'gpu-buffer' } });
    const out = await s.run({ x: new Tensor('float32', x, [2, 3]), k: new Tensor('int64', BigInt64Array.from([3n, 2n]), [2]) });
    expect(out.y!.location).toBe('gpu-buffer');
    expect(() => out.y!.data).toThrow(/on the GPU/);
    expect(Array.from((await out.y!.getData()) as Float32Array)).toEqual(want);
    expect(out.r!.location).toBe('cpu');
    expect(out.r!.dims).toEqual([3, 2]);
    expect(Array.from(out.r!.data as Float32Array)).toEqual(want);
    out.y!.dispose();
    await s.release();
  }, 120_000);
  gpuIt('takes a GPU tensor as a feed', async () => {
    const s = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    const k = new Tensor('int64', BigInt64Array.from([3n, 2n]), [2]);
    const first = await s.run({ x: new Tensor('float32', x, [2, 3]), k });
    // Feed the GPU-resident output back in.
    const again = await s.run({ x: first.y!, k }, ['y']);
    const back = Array.from((await again.y!.getData()) as Float32Array);
    expect(back).toEqual(want.map((v) => Math.max(v, 0) * v));
    await s.release();
  }, 120_000);
  gpuIt('reports where each node runs and why', async () => {
    const s = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'disabled' });
    await s.run({ x: new Tensor('float32', x, [2, 3]), k: new Tensor('int64', BigInt64Array.from([3n, 2n]), [2]) });
    const byOp = Object.fromEntries(s.placements.map((p) => [p.op, p.device]));
    expect(byOp.Relu).toBe('gpu');
    expect(byOp.Mul).toBe('gpu');
    expect(s.placements.every((p) => p.device === 'gpu' || !!p.reason)).toBe(true);
    await s.release();
  }, 120_000);
});
