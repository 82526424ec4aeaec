import { describe, expect } from 'vitest';
import { gpuIt, model, runGpu, tensor } from './helpers.js';

describe('webgpu smoke', () => {
  gpuIt('Add then Relu', async () => {
    const a = tensor('float32', [2, 3]);
    const b = tensor('float32', [3]);
    const m = model([{ op: 'Add', inputs: ['a', 'b'] }, { op: 'Relu', inputs: ['y0'] }], { a, b });
    const { out, compiled } = await runGpu(m, { a, b });
    const y = out.get('y1')!;
    const want = Array.from(a.data as Float32Array, (v, i) => Math.max(0, v + (b.data as Float32Array)[i % 3]!));
    expect(Array.from((y as { data: Float32Array }).data)).toEqual(want.map((v) => Math.fround(v)));
    console.log([...compiled.placements.values()], compiled.lastRun);
  });
});
