// tg.fn plans are lowered for their backend like loaded models: on WebGPU an elementwise chain becomes
// one fused kernel, and the result still equals the CPU plan's.
import { afterAll, describe, expect, it } from 'vitest';
import * as tg from '../../src/index.js';
import type { TgTensor } from '../../src/index.js';
import { gpuIt } from '../webgpu/helpers.js';

const chain = (x: TgTensor): TgTensor => x.mul(0.5).add(1).tanh().sigmoid().abs().sqrt().mul(3).add(-0.25);
const input = (): Float32Array => Float32Array.from({ length: 4 * 33 }, (_, i) => Math.sin(i * 0.7) * 3);

afterAll(async () => {
  await tg.setDevice('cpu');
});

describe('tg.fn plans and lowering', () => {
  it('a CPU plan runs layerNorm without weight (an exported-style pattern) as one tgraph.LayerNormalization', async () => {
    const f = tg.fn((x: TgTensor) => tg.layerNorm(x).relu(), { device: 'cpu' });
    const x = tg.tensor(input(), [4, 33]);
    const want = (await tg.layerNorm(x).relu().data()) as Float32Array;
    const got = (await (await f(x)).data()) as Float32Array;
    const plan = await f.concrete(x).plan();
    expect(plan.model.graph.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:LayerNormalization', ':Relu']);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(want[i]!));
  });
  gpuIt('a WebGPU plan runs an elementwise chain as one fused kernel and matches the CPU plan', async () => {
    const cpu = tg.fn(chain, { device: 'cpu' });
    const gpu = tg.fn(chain, { device: 'webgpu' });
    const x = tg.tensor(input(), [4, 33]);
    const want = (await (await cpu(x)).data()) as Float32Array;
    const got = (await (await gpu(x)).data()) as Float32Array;
    const plan = await gpu.concrete(x).plan();
    expect(plan.model.graph.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:FusedElementwise']);
    const cpuPlan = await cpu.concrete(x).plan();
    expect(cpuPlan.model.graph.nodes.map((n) => `${n.domain}:${n.opType}`), 'CPU plans lower too').toEqual(['tgraph:FusedElementwise']);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 + 1e-4 * Math.abs(want[i]!));
  }, 60_000);
});
