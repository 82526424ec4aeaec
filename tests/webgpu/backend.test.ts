// The WebGPU backend's run discipline: intermediates stay on the GPU, buffers are reused between
// runs, CPU fallback reads back only what the CPU node needs, pipelines are keyed by their spec,
// and a lost device fails the run in flight with DeviceLostError and is replaced on the next run.
import { describe, expect } from 'vitest';
import { DeviceLostError } from '../../graph/errors.js';
import { acquireGpu } from '../../src/backends/webgpu/device.js';
import { InferenceSession } from '../../src/session.js';
import { webgpuBackend } from '../../src/backends/webgpu/backend.js';
import { inferGraph } from '../../graph/infer.js';
import { Tensor } from '../../src/tensor.js';
import { findCpuKernel } from '../../kernels/cpu/index.js';
import { findGpuKernel } from '../../kernels/webgpu/index.js';
import { float, gpuIt, int, ints, intsAttr, model, runCpu, runGpu, compare, tensor } from './helpers.js';

const convNet = () => {
  const x = tensor('float32', [1, 3, 8, 8]);
  const m = model([
    { op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { pads: intsAttr([1, 1, 1, 1]) } },
    { op: 'Relu', inputs: ['y0'] },
    { op: 'MaxPool', inputs: ['y1'], attrs: { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]) } },
    { op: 'Shape', inputs: ['y2'] },
    { op: 'Reshape', inputs: ['y2', 'flat'] },
    { op: 'Gemm', inputs: ['y4', 'fw', 'fb'], attrs: { transB: int(1), alpha: float(1) } },
    { op: 'Softmax', inputs: ['y5'] },
  ], { x }, {
    w: tensor('float32', [4, 3, 3, 3]), b: tensor('float32', [4]), flat: ints([1, -1]),
    fw: tensor('float32', [10, 64]), fb: tensor('float32', [10]),
  }, ['y6', 'y3']);
  return { m, x };
};

describe('webgpu backend', () => {
  gpuIt('reads back only the outputs; shape-only nodes read nothing', async () => {
    const { m, x } = convNet();
    const { out, compiled } = await runGpu(m, { x });
    expect(compiled.lastRun!.downloaded.sort()).toEqual(['y6']);
    expect((out.get('y3') as { data: BigInt64Array }).data).toEqual(BigInt64Array.from([1n, 4n, 4n, 4n]));
    const want = runCpu(m, { x });
    expect(compare(out.get('y6')!, want.get('y6')!, { atol: 1e-5, rtol: 1e-4 }).worst).toBe('');
    const placed = [...compiled.placements.values()];
    expect(placed.filter((p) => p.device === 'cpu').map((p) => p.op)).toEqual(['Shape']);
    expect(compiled.lastRun!.submits).toBeLessThanOrEqual(2);
  });

  gpuIt('predicts placements at compile time from the static types', async () => {
    const { m } = convNet();
    inferGraph(m.graph, { opsets: m.opsets });
    const compiled = await webgpuBackend.compile(m);
    const p = [...compiled.placements.values()];
    expect(p.every((x) => x.when === 'compile')).toBe(true);
    expect(p.filter((x) => x.device === 'cpu').map((x) => x.op)).toEqual(['Shape']);
    expect(compiled.placements.get('n4_Reshape')).toMatchObject({ device: 'gpu', reason: 'alias' });
  });

  gpuIt('reuses buffers and pipelines on the next run', async () => {
    const { m, x } = convNet();
    const { compiled } = await runGpu(m, { x });
    const before = compiled.bufferStats()!;
    const nPipes = compiled.pipelineSources().size;
    for (let i = 0; i < 3; i++) await compiled.run(new Map([['x', x]]), { fetches: ['y6'] });
    const after = compiled.bufferStats()!;
    expect(after.created).toBe(before.created);
    expect(after.live).toBe(before.live);
    expect(compiled.pipelineSources().size).toBe(nPipes);
  });

  gpuIt('a CPU node in the middle reads back only its inputs', async () => {
    // An op with a CPU kernel and (still) no WebGPU kernel.
    const op = ['CumSum', 'Hardmax', 'Trilu', 'LpNormalization', 'MeanVarianceNormalization'].find((o) => findCpuKernel(o) && !findGpuKernel(o));
    if (!op) return;
    const x = tensor('float32', [4, 5]);
    const nodes = op === 'CumSum'
      ? [{ op: 'Exp', inputs: ['x'] }, { op: 'CumSum', inputs: ['y0', 'ax'] }, { op: 'Neg', inputs: ['y1'] }]
      : [{ op: 'Exp', inputs: ['x'] }, { op, inputs: ['y0'], ...(op === 'MeanVarianceNormalization' ? { attrs: { axes: intsAttr([0, 1]) } } : {}) }, { op: 'Neg', inputs: ['y1'] }];
    const m = model(nodes, { x }, op === 'CumSum' ? { ax: { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(1n) } } : {});
    const { out, compiled } = await runGpu(m, { x });
    expect(compiled.lastRun!.downloaded).toEqual(['y0', 'y2']);
    expect(compiled.placements.get(`n1_${op}`)).toMatchObject({ device: 'cpu', reason: 'no WebGPU kernel' });
    expect(compare(out.get('y2')!, runCpu(m, { x }).get('y2')!, { atol: 1e-5, rtol: 1e-5 }).worst).toBe('');
  });

  gpuIt('keeps outputs on the GPU when asked (gpu-buffer) and reads them on demand', async () => {
    const { m, x } = convNet();
    const compiled = await webgpuBackend.compile(m);
    const out = await compiled.runToGpu(new Map([['x', x]]), { fetches: ['y6', 'y3'] });
    const y = out.get('y6')!;
    expect(y.kind).toBe('gpu-buffer');
    expect(out.get('y3')!.kind).toBe('tensor');
    expect(compiled.lastRun!.downloaded).toEqual([]);
    if (y.kind !== 'gpu-buffer') return;
    const live = compiled.bufferStats()!.live;
    const host = await y.download();
    expect(compare(host, runCpu(m, { x }).get('y6')!, { atol: 1e-5, rtol: 1e-4 }).worst).toBe('');
    y.dispose();
    expect(compiled.bufferStats()!.live).toBeLessThan(live);
  });

  gpuIt('one pipeline key maps to one WGSL source', async () => {
    const { m, x } = convNet();
    const { compiled } = await runGpu(m, { x });
    const seen = new Map<string, string>();
    for (const [k, src] of compiled.pipelineSources()) {
      expect(seen.get(k) ?? src).toBe(src);
      seen.set(k, src);
      expect(JSON.parse(k)).toHaveProperty('spec.shader');
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  gpuIt('runs through InferenceSession with webgpu and cpu providers', async () => {
    const { m, x } = convNet();
    const s = await InferenceSession.fromModel(m, { executionProviders: ['webgpu', 'cpu'] });
    expect(s.backend).toBe('webgpu');
    const r = await s.run({ x: new Tensor('float32', x.data as Float32Array, [1, 3, 8, 8]) });
    expect(r.y6!.dims).toEqual([1, 10]);
  });

  gpuIt('a lost device fails the run in flight and is replaced on the next run', async () => {
    const { m, x } = convNet();
    const { compiled } = await runGpu(m, { x });
    const gpu = await acquireGpu();
    const p = compiled.run(new Map([['x', x]]), { fetches: ['y6'] });
    gpu.device.destroy();
    await expect(p).rejects.toBeInstanceOf(DeviceLostError);
    const again = await compiled.run(new Map([['x', x]]), { fetches: ['y6'] });
    expect(compare(again.get('y6')!, runCpu(m, { x }).get('y6')!, { atol: 1e-5, rtol: 1e-4 }).worst).toBe('');
    expect(await acquireGpu()).not.toBe(gpu);
  });
});
