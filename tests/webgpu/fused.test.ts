// The fused kernels on WebGPU: graphs lowered with the WebGPU backend's capabilities run every node
// on the GPU and match the unlowered graph on the CPU kernels (1e-4 absolute + 1e-3 relative);
// each program is its own pipeline (the key is computed from the program).
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import { encodeProgram, type Instr } from '../../graph/ops/fused-program.js';
import { findGpuKernel } from '../../kernels/webgpu/index.js';
import type { GpuInput } from '../../kernels/webgpu/types.js';
import { specKey, specOf } from '../../kernels/webgpu/wgsl.js';
import type { Attr, Model } from '../../graph/ir.js';
import { lower } from '../../graph/passes/index.js';
import type { HostTensor } from '../../graph/tensor.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { WEBGPU_CAPABILITIES } from '../../kernels/webgpu/fused.js';
import { type BuildSpec, buildModel } from '../helpers/build.js';
import { compare, gpuIt, runCpu, runGpu, tensor } from './helpers.js';

const f32 = (dims: number[], gen: (i: number) => number): HostTensor => tensor('float32', dims, gen);
const float = (value: number): Attr => ({ kind: 'float', value });
const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const hs = { three: f32([], () => 3), zero: f32([], () => 0), six: f32([], () => 6) };
const hardSwish = (x: string, y: string): BuildSpec['nodes'] => [
  { op: 'Add', inputs: [x, 'three'], outputs: [`${y}_a`] },
  { op: 'Clip', inputs: [`${y}_a`, 'zero', 'six'], outputs: [`${y}_c`] },
  { op: 'Mul', inputs: [x, `${y}_c`], outputs: [`${y}_m`] },
  { op: 'Div', inputs: [`${y}_m`, 'six'], outputs: [y] },
];

/** Lower for WebGPU, run on the GPU, compare with the unlowered graph on the CPU; returns the lowered model. */
async function check(spec: BuildSpec, feeds: Record<string, HostTensor>, fusedOps: string[]): Promise<{ lowered: Model; sources: ReadonlyMap<string, string> }> {
  const model = buildModel(spec);
  const { model: lowered } = lower(model, WEBGPU_CAPABILITIES, evaluateConstantNode, { verify: true });
  expect(lowered.graph.nodes.map((n) => n.opType)).toEqual(fusedOps);
  const want = runCpu(model, feeds);
  const { out, compiled } = await runGpu(lowered, feeds);
  for (const p of compiled.placements.values()) expect(`${p.op}: ${p.device} ${p.reason ?? ''}`).toBe(`${p.op}: gpu `);
  for (const [name, w] of want) expect(compare(out.get(name)!, w, { atol: 1e-4, rtol: 1e-3 }).worst, name).toBe('');
  return { lowered, sources: compiled.pipelineSources() };
}

/** Key and WGSL of the one program a fused node plans (no device needed). */
function emitted(op: string, inputs: GpuInput[], attributes: Node['attributes']): { key: string; wgsl: string } {
  const node: Node = { name: 'n', opType: op, domain: 'tgraph', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes };
  const plan = findGpuKernel(`tgraph:${op}`)!.plan({ node, opset: 1, attrs: new AttrReader(node), inputs, outputsUsed: [true], host: () => undefined, f16: false });
  if (plan.kind !== 'run') throw new Error(`${op}: ${plan.kind === 'unsupported' ? plan.reason : plan.kind}`);
  const p = plan.programs[plan.programs.length - 1]!;
  const spec = specOf(p.shader, p.params, p.uniforms);
  return { key: specKey(spec), wgsl: p.shader.emit(spec) };
}

describe('fused WGSL', () => {
  const prog = (code: Instr[]) => ({ kind: 'string' as const, value: encodeProgram({ code }) });
  const hsw: Instr[] = [{ op: 'Add', x: { in: 0 }, y: { c: 3 } }, { op: 'Clip', x: { t: 0 }, lo: 0, hi: 6 }, { op: 'Mul', x: { in: 0 }, y: { t: 1 } }, { op: 'Div', x: { t: 2 }, y: { c: 6 } }];
  it('the pipeline key is computed from the program: one program one key and source, another program another', () => {
    const x = [{ dtype: 'float32', dims: [2, 8] }] as GpuInput[];
    const a = emitted('FusedElementwise', x, { program: prog(hsw) });
    const b = emitted('FusedElementwise', [{ dtype: 'float32', dims: [5, 3] }], { program: prog(hsw) });
    const c = emitted('FusedElementwise', x, { program: prog([...hsw.slice(0, 3), { op: 'Div', x: { t: 2 }, y: { c: 5 } }]) });
    expect(a.key).toBe(b.key);
    expect(a.wgsl).toBe(b.wgsl);
    expect(c.key).not.toBe(a.key);
    expect(a.wgsl).toContain('min(max(t0, 0.0), 6.0)');
    expect(c.wgsl).toContain('t2 / (5.0)');
  });
  it('a Conv epilogue changes the conv shader (and key) and reads per-channel inputs by channel', () => {
    const ins = [{ dtype: 'float32', dims: [1, 8, 16, 16] }, { dtype: 'float32', dims: [8, 8, 3, 3] }, undefined, { dtype: 'float32', dims: [1, 8, 1, 1] }] as GpuInput[];
    const epi = emitted('FusedConv', ins, { pads: { kind: 'ints', value: [1, 1, 1, 1] }, epilogue: prog([{ op: 'Add', x: { in: 0 }, y: { in: 1 } }, { op: 'Relu', x: { t: 0 } }]) });
    expect(epi.wgsl).toContain('fn tg_epi(acc: f32, fi: u32, ch: u32) -> f32');
    expect(epi.wgsl).toContain('let a1 = e1[ch];');
    expect(epi.wgsl).toMatch(/out\[(.+)\] = tg_epi\(acc0\[0\], \1, oc0 \+ 0u\)/);
  });
  it('tgraph.LayerNormalization is the LayerNormalization row shader, the scale optional', () => {
    const x = { dtype: 'float32', dims: [3, 16] } as GpuInput;
    const v = { dtype: 'float32', dims: [16] } as GpuInput;
    const bare = emitted('LayerNormalization', [x], {});
    const full = emitted('LayerNormalization', [x, v, v], {});
    expect(bare.wgsl).not.toContain('sc[');
    expect(full.wgsl).toContain('* sc[j] + bi[j]');
    expect(bare.key).not.toBe(full.key);
  });
});

describe('fused kernels on WebGPU', () => {
  gpuIt('FusedElementwise: a broadcasting DAG with Where, Pow, Erf, Gelu and activations', async () => {
    const feeds = { x: f32([2, 3, 8], (i) => Math.sin(i * 0.3) * 3), b: f32([8], (i) => i / 8 - 0.5), c: tensor('bool', [3, 1], (i) => (i === 1 ? 1 : -1)) };
    const { sources } = await check({ opset: 20, inputs: [['x', 'float32', [2, 3, 8]], ['b', 'float32', [8]], ['c', 'bool', [3, 1]]], outputs: [['y', 'float32']], initializers: { half: f32([], () => 0.5), two: f32([], () => 2), ...hs }, nodes: [
      { op: 'Add', inputs: ['x', 'b'], outputs: ['t0'] }, { op: 'Sigmoid', inputs: ['t0'], outputs: ['t1'] }, { op: 'Tanh', inputs: ['t0'], outputs: ['t2'] },
      { op: 'Where', inputs: ['c', 't1', 't2'], outputs: ['t3'] }, { op: 'Erf', inputs: ['t3'], outputs: ['t4'] },
      { op: 'Gelu', inputs: ['t0'], outputs: ['t5'] }, { op: 'Pow', inputs: ['t5', 'two'], outputs: ['t6'] },
      { op: 'LeakyRelu', inputs: ['t6'], outputs: ['t7'], attrs: { alpha: float(0.1) } }, { op: 'Sub', inputs: ['t7', 't4'], outputs: ['t8'] },
      { op: 'HardSigmoid', inputs: ['t8'], outputs: ['t9'], attrs: { alpha: float(0.3), beta: float(0.4) } },
      { op: 'Max', inputs: ['t9', 'half'], outputs: ['t10'] }, ...hardSwish('t10', 'y'),
    ] }, feeds, ['FusedElementwise']);
    expect([...sources.values()].filter((s) => s.includes('tg_erf') && s.includes('select(')).length).toBe(1);
  });

  for (const [kind, w, attrs] of [
    ['direct 3x3 (4 channels per thread)', [8, 4, 3, 3], { pads: ints([1, 1, 1, 1]) }],
    ['depthwise', [4, 1, 3, 3], { pads: ints([1, 1, 1, 1]), group: { kind: 'int', value: 4 } }],
    ['pointwise (as a matmul)', [8, 4, 1, 1], {}],
  ] as const) {
    gpuIt(`FusedConv ${kind}: conv bias + bias Add + residual + hard-swish`, async () => {
      const oc = w[0];
      const feeds = { x: f32([2, 4, 5, 7], (i) => Math.cos(i * 0.17)), r: f32([2, oc, 5, 7], (i) => Math.sin(i * 0.05)) };
      await check({ opset: 13, inputs: [['x', 'float32', [2, 4, 5, 7]], ['r', 'float32', [2, oc, 5, 7]]], outputs: [['y', 'float32']], initializers: {
        w: f32([...w], (i) => Math.sin(i * 0.7) * 0.5), cb: f32([oc], (i) => i * 0.1 - 0.3), bias: f32([1, oc, 1, 1], (i) => 0.2 - i * 0.05), ...hs,
      }, nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'cb'], outputs: ['c'], attrs: attrs as Record<string, Attr> },
        { op: 'Add', inputs: ['c', 'bias'], outputs: ['c2'] }, { op: 'Add', inputs: ['r', 'c2'], outputs: ['c3'] }, ...hardSwish('c3', 'y'),
      ] }, feeds, ['FusedConv']);
    });
  }

  gpuIt('tgraph.LayerNormalization: an opset-13 layer norm with and without scale and bias', async () => {
    const rm = (i: string, o: string) => ({ op: 'ReduceMean', inputs: [i], outputs: [o], attrs: { axes: ints([-1]) } });
    const norm = (y: string, tail: BuildSpec['nodes']): BuildSpec['nodes'] => [
      rm('x', `${y}m`), { op: 'Sub', inputs: ['x', `${y}m`], outputs: [`${y}d`] }, { op: 'Pow', inputs: [`${y}d`, 'two'], outputs: [`${y}q`] }, rm(`${y}q`, `${y}v`),
      { op: 'Add', inputs: [`${y}v`, 'eps'], outputs: [`${y}e`] }, { op: 'Sqrt', inputs: [`${y}e`], outputs: [`${y}s`] }, { op: 'Div', inputs: [`${y}d`, `${y}s`], outputs: [`${y}n`] }, ...tail,
    ];
    const feeds = { x: f32([2, 3, 40], (i) => Math.sin(i * 0.37) * 3 + (i % 7)) };
    await check({ opset: 13, inputs: [['x', 'float32', [2, 3, 40]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: {
      two: f32([], () => 2), eps: f32([], () => 1e-5), g: f32([40], (i) => Math.cos(i * 0.3)), b: f32([40], (i) => i * 0.01 - 0.2),
    }, nodes: [
      ...norm('y', [{ op: 'Mul', inputs: ['yn', 'g'], outputs: ['yg'] }, { op: 'Add', inputs: ['yg', 'b'], outputs: ['y'] }]),
      ...norm('z', [{ op: 'Relu', inputs: ['zn'], outputs: ['z'] }]),
    ] }, feeds, ['LayerNormalization', 'LayerNormalization', 'Relu']);
  });

  gpuIt('FusedMatMul (batched, bias + tanh-Gelu) and FusedGemm (transB, Relu) read their epilogue inputs per column', async () => {
    const feeds = { a: f32([3, 5, 6], (i) => Math.sin(i * 0.21)), g: f32([5, 6], (i) => Math.cos(i * 0.4)) };
    await check({ opset: 20, inputs: [['a', 'float32', [3, 5, 6]], ['g', 'float32', [5, 6]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: {
      b: f32([6, 8], (i) => Math.cos(i * 0.3)), bias: f32([8], (i) => i * 0.1), gb: f32([7, 6], (i) => Math.sin(i)), gc: f32([7], (i) => -i * 0.1),
    }, nodes: [
      { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'bias'], outputs: ['mb'] },
      { op: 'Gelu', inputs: ['mb'], outputs: ['y'], attrs: { approximate: { kind: 'string', value: 'tanh' } } },
      { op: 'Gemm', inputs: ['g', 'gb', 'gc'], outputs: ['gg'], attrs: { transB: { kind: 'int', value: 1 } } }, { op: 'Relu', inputs: ['gg'], outputs: ['z'] },
    ] }, feeds, ['FusedMatMul', 'FusedGemm']);
  });
});
