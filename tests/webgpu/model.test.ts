// A real model end to end: the bundled PaddleOCR text-direction classifier on WebGPU (through the
// session, optimized) against the CPU interpreter on the model as loaded.
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { HostTensor } from '../../graph/tensor.js';
import { loadModel } from '../../src/model-loader.js';
import { InferenceSession } from '../../src/session.js';
import { Tensor } from '../../src/tensor.js';
import { compare, gpuIt, rand, runCpu } from './helpers.js';

const MODEL = path.resolve(import.meta.dirname, '../../models/ppocr-mobile-v2-cls.onnx');

describe('webgpu on a real model', () => {
  gpuIt('ppocr-mobile-v2-cls matches the CPU', async () => {
    const model = await loadModel(MODEL);
    const gpu = await InferenceSession.create(MODEL, { executionProviders: ['webgpu'] });
    expect(gpu.backend).toBe('webgpu');
    const meta = gpu.inputMetadata[0]!;
    const dims = meta.shape!.map((d, i) => (typeof d === 'number' ? d : [1, 3, 48, 192][i]!));
    const n = dims.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const host: HostTensor = { kind: 'tensor', dtype: 'float32', dims, data };
    const want = runCpu(model, { [meta.name]: host });
    const got = await gpu.run({ [meta.name]: new Tensor('float32', data, dims) });
    for (const [k, w] of want) {
      const g = got[k]!;
      const r = compare({ kind: 'tensor', dtype: 'float32', dims: [...g.dims], data: g.data as Float32Array }, w, { atol: 1e-4, rtol: 1e-3 });
      expect(r.worst).toBe('');
    }
  }, 120_000);
});
