// The layout lowering (graph/passes/lower-layout.ts): regions of convolutions run channels-last
// (tgraph.ConvNhwc) with Transposes only at their boundaries, only where the declared costs say it
// pays; the lowered graph computes on the CPU kernels what the unlowered one does (to float32
// rounding: the channels-last GEMM sums in another order); real models still match onnxruntime.
import { describe, expect, it } from 'vitest';
import type { Attr, Model } from '../../graph/ir.js';
import { lower, optimize } from '../../graph/passes/index.js';
import type { LayoutCapabilities, LoweringCapabilities } from '../../graph/passes/lower-types.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { verifyGraph } from '../../graph/verify.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { cpuCapabilities } from '../../kernels/cpu/fused.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { CPU_LAYOUT } from '../../kernels/cpu/nn-conv-nhwc-cost.js';
import { setDepthwiseNhwcSimd } from '../../kernels/cpu/nn-conv-nhwc-simd.js';
import { loadModel } from '../../src/model-loader.js';
import { InferenceSession } from '../../src/session.js';
import { type BuildSpec, buildModel } from '../helpers/build.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { type RealModel, REAL_MODELS, realModelFeeds } from '../models/models.js';

const f32 = (dims: number[], data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data: Float32Array.from(data) });
const wave = (n: number, s = 0.7, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(i * s + k));
const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const int = (value: number): Attr => ({ kind: 'int', value });

/** Every conv pays channels-last; a Transpose costs `t` per element. */
const always = (t = 1e-3): LoweringCapabilities => ({ layout: { convCost: () => ({ nchw: 10, nhwc: 1 }), transposeCost: (e) => t * e, globalPoolCost: () => 0, margin: 1 } });
const NEVER: LoweringCapabilities = { layout: { convCost: () => ({ nchw: 1, nhwc: 10 }), transposeCost: () => 0, globalPoolCost: () => 0, margin: 1 } };

function feedsOf(m: Model): Map<string, RtValue> {
  const feeds = new Map<string, RtValue>();
  m.graph.inputs.forEach((inp, k) => {
    const t = inp.type!;
    if (t.kind !== 'tensor') throw new Error('tensor inputs only');
    const dims = t.shape as number[];
    feeds.set(inp.name, f32(dims, wave(dims.reduce((a, b) => a * b, 1), 0.37 + k * 0.11, k)));
  });
  return feeds;
}

/** Lower with `caps`, verify, and compare every output with the unlowered graph's on the CPU kernels. */
function lowered(spec: BuildSpec, caps: LoweringCapabilities) {
  const before = buildModel(spec);
  const { model: after, report } = lower(before, caps, evaluateConstantNode, { verify: true });
  verifyGraph(after.graph);
  const feeds = feedsOf(before);
  const want = interpret(before.graph, feeds, { opsets: before.opsets });
  const got = interpret(after.graph, feeds, { opsets: after.opsets });
  for (const [name, w] of want) {
    const g = got.get(name) as HostTensor;
    expect(g.dims, name).toEqual((w as HostTensor).dims);
    const r = maxRelError(g.data as Float32Array, (w as HostTensor).data as Float32Array, 1e-5, 1e-6);
    expect(r.ok, `${name}: worst ${r.worst}x tolerance at ${r.at}`).toBe(true);
  }
  const stats = report.passes.find((p) => p.name === 'lower-layout')?.rewrites ?? {};
  return { after, ops: after.graph.nodes.map((n) => n.opType), stats };
}

const pads1 = { pads: ints([1, 1, 1, 1]) };
const dw = (x: string, w: string, y: string, C: number, attrs: Record<string, Attr> = pads1, b?: string) =>
  ({ op: 'Conv', inputs: b ? [x, w, b] : [x, w], outputs: [y], attrs: { group: int(C), kernel_shape: ints([3, 3]), ...attrs } });
const pw = (x: string, w: string, y: string, b?: string) => ({ op: 'Conv', inputs: b ? [x, w, b] : [x, w], outputs: [y] });
const C = 12;
const inits = {
  wd: f32([C, 1, 3, 3], wave(C * 9, 0.3)), wp: f32([C, C, 1, 1], wave(C * C, 0.17)), b: f32([C], wave(C, 0.9)),
  ch: f32([1, C, 1, 1], wave(C, 1.3)), ch3: f32([C, 1, 1], wave(C, 0.5)), three: f32([], [3]), six: f32([], [6]), zero: f32([], [0]),
};
const hardSwish = (x: string, y: string): BuildSpec['nodes'] => [
  { op: 'Add', inputs: [x, 'three'], outputs: [`${y}_a`] }, { op: 'Clip', inputs: [`${y}_a`, 'zero', 'six'], outputs: [`${y}_c`] },
  { op: 'Mul', inputs: [x, `${y}_c`], outputs: [`${y}_m`] }, { op: 'Div', inputs: [`${y}_m`, 'six'], outputs: [y] },
];
const X = (h = 5, w = 7): BuildSpec['inputs'] => [['x', 'float32', [2, C, h, w]]];

describe('lower-layout', () => {
  it('runs a depthwise-pointwise block with activations, per-channel constants and an SE scale channels-last between two Transposes', () => {
    const r = lowered({ opset: 13, inputs: X(), outputs: [['y', 'float32']], initializers: inits, nodes: [
      dw('x', 'wd', 'd', C, { ...pads1, strides: ints([2, 1]) }, 'b'), ...hardSwish('d', 'h'),
      pw('h', 'wp', 'p'), { op: 'Mul', inputs: ['p', 'ch'], outputs: ['s'] }, { op: 'Add', inputs: ['s', 'ch3'], outputs: ['t'] },
      { op: 'GlobalAveragePool', inputs: ['t'], outputs: ['g'] }, pw('g', 'wp', 'gp', 'b'), { op: 'HardSigmoid', inputs: ['gp'], outputs: ['gs'] },
      { op: 'Mul', inputs: ['t', 'gs'], outputs: ['y'] },
    ] }, always());
    expect(r.ops).toEqual(['Transpose', 'ConvNhwc', 'Add', 'Clip', 'Mul', 'Div', 'ConvNhwc', 'Mul', 'Add', 'GlobalPoolNhwc', 'ConvNhwc', 'HardSigmoid', 'Mul', 'Transpose']);
    expect(r.stats).toEqual({ regions: 1, convs: 3, transposes: 2 }); // zero counts are not reported
    expect(r.after.graph.outputs.map((o) => o.name)).toEqual(['y']);
    expect(r.after.opsets.tgraph).toBe(1);
  });
  it('crosses a boundary on a 1x1 map with a Reshape (same bytes in both layouts), GlobalMaxPool too', () => {
    const r = lowered({ opset: 13, inputs: X(), outputs: [['y', 'float32'], ['z', 'float32']], initializers: inits, nodes: [
      dw('x', 'wd', 'd', C), { op: 'GlobalMaxPool', inputs: ['d'], outputs: ['y'] },
      pw('y', 'wp', 'p', 'b'), { op: 'Sigmoid', inputs: ['p'], outputs: ['z'] },
    ] }, always());
    expect(r.ops).toEqual(['Transpose', 'ConvNhwc', 'GlobalPoolNhwc', 'Reshape', 'ConvNhwc', 'Sigmoid', 'Reshape']);
    expect(r.stats).toEqual({ regions: 1, convs: 2, transposes: 1, reshapes: 2 });
    // One channel in (a mono spectrogram): the entry is a Reshape too.
    const mono = lowered({ opset: 13, inputs: [['x', 'float32', [2, 1, 6, 5]]], outputs: [['y', 'float32']], initializers: { w: f32([C, 1, 3, 3], wave(C * 9)), wd: inits.wd }, nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: pads1 }, dw('c', 'wd', 'y', C),
    ] }, { layout: { ...always().layout!, convCost: (c) => ({ nchw: 10, nhwc: c.C === 1 ? 20 : 1 }) } });
    expect(mono.ops).toEqual(['Conv', 'Transpose', 'ConvNhwc', 'Transpose']);
    const monoAll = lowered({ opset: 13, inputs: [['x', 'float32', [2, 1, 6, 5]]], outputs: [['y', 'float32']], initializers: { w: f32([C, 1, 3, 3], wave(C * 9)), wd: inits.wd }, nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: pads1 }, dw('c', 'wd', 'y', C),
    ] }, always());
    expect(monoAll.ops).toEqual(['Reshape', 'ConvNhwc', 'ConvNhwc', 'Transpose']);
  });
  it('fires only where the declared costs say it pays', () => {
    const spec: BuildSpec = { opset: 13, inputs: X(), outputs: [['y', 'float32']], initializers: inits, nodes: [dw('x', 'wd', 'd', C), pw('d', 'wp', 'y')] };
    expect(lowered(spec, NEVER).ops).toEqual(['Conv', 'Conv']);
    expect(lowered(spec, {}).ops).toEqual(['Conv', 'Conv']);
    // Saving 18 against two Transposes of 2*12*5*7 elements at 0.1 each: rejected.
    const dear = lowered(spec, always(0.1));
    expect(dear.ops).toEqual(['Conv', 'Conv']);
    expect(dear.stats).toEqual({ rejected: 1 });
    // Saving 18 against 0.84 of Transposes, but only rewritten at a 100x margin.
    expect(lowered(spec, { layout: { ...always().layout!, margin: 100 } }).stats).toEqual({ rejected: 1 });
    // A global pool that costs more channels-last than the convs save.
    const pooled: BuildSpec = { ...spec, nodes: [...spec.nodes.slice(0, 1), { op: 'GlobalAveragePool', inputs: ['d'], outputs: ['g'] }, pw('g', 'wp', 'y')] };
    expect(lowered(pooled, { layout: { ...always().layout!, globalPoolCost: () => 100 } }).ops).toEqual(['Conv', 'GlobalAveragePool', 'Conv']);
    expect(lowered(pooled, always()).ops).toEqual(['Transpose', 'ConvNhwc', 'GlobalPoolNhwc', 'ConvNhwc', 'Reshape']);
    // Only the depthwise conv pays: the pointwise one stays NCHW, past the region's exit.
    const dwOnly: LayoutCapabilities = { convCost: (c) => (c.group > 1 ? { nchw: 10, nhwc: 1 } : { nchw: 1, nhwc: 2 }), transposeCost: () => 0, globalPoolCost: () => 0, margin: 1 };
    expect(lowered(spec, { layout: dwOnly }).ops).toEqual(['Transpose', 'ConvNhwc', 'Transpose', 'Conv']);
  });
  it('leaves grouped (not depthwise) convs, 1-D convs and convs with a computed weight in NCHW', () => {
    const r = lowered({ opset: 13, inputs: [...X(), ['wx', 'float32', [C, C, 1, 1]], ['s', 'float32', [2, C, 9]]], outputs: [['y', 'float32'], ['z', 'float32'], ['u', 'float32']], initializers: { ...inits, wg: f32([C, C / 2, 3, 3], wave(C * C * 9 / 2)), w1: f32([C, C, 3], wave(C * C * 3)) }, nodes: [
      { op: 'Conv', inputs: ['x', 'wg'], outputs: ['y'], attrs: { group: int(2), ...pads1 } },
      { op: 'Conv', inputs: ['x', 'wx'], outputs: ['z'] },
      { op: 'Conv', inputs: ['s', 'w1'], outputs: ['u'] },
    ] }, always());
    expect(r.ops).toEqual(['Conv', 'Conv', 'Conv']);
  });
  it('splits regions at an op that is not layout-agnostic and exits where a value is read in NCHW or is a graph output', () => {
    const r = lowered({ opset: 13, inputs: X(), outputs: [['y', 'float32'], ['d', 'float32'], ['s', 'float32']], initializers: inits, nodes: [
      dw('x', 'wd', 'd', C), { op: 'Relu', inputs: ['d'], outputs: ['r'] },
      { op: 'MaxPool', inputs: ['r'], outputs: ['m'], attrs: { kernel_shape: ints([2, 2]) } },
      pw('m', 'wp', 'p'), { op: 'Softmax', inputs: ['p'], outputs: ['q'], attrs: { axis: int(1) } },
      { op: 'ReduceSum', inputs: ['d'], outputs: ['s'], attrs: { axes: ints([1]) } },
      dw('q', 'wd', 'y', C),
    ] }, always());
    // The Relu stays NCHW: its input leaves the region anyway (graph output, ReduceSum), so one Transpose fewer.
    expect(r.ops).toEqual(['Transpose', 'ConvNhwc', 'Transpose', 'Relu', 'MaxPool', 'Transpose', 'ConvNhwc', 'Transpose', 'Softmax', 'ReduceSum', 'Transpose', 'ConvNhwc', 'Transpose']);
    expect(r.stats).toMatchObject({ regions: 3, convs: 3 });
  });
  it('cancels the Transpose of an NHWC input (Keras/tf2onnx exports) and a Transpose back to NHWC', () => {
    const r = lowered({ opset: 13, inputs: [['xh', 'float32', [2, 5, 7, C]]], outputs: [['yh', 'float32']], initializers: inits, nodes: [
      { op: 'Transpose', inputs: ['xh'], outputs: ['x'], attrs: { perm: ints([0, 3, 1, 2]) } },
      dw('x', 'wd', 'd', C), { op: 'LeakyRelu', inputs: ['d'], outputs: ['l'], attrs: { alpha: { kind: 'float', value: 0.1 } } }, pw('l', 'wp', 'p'),
      { op: 'Transpose', inputs: ['p'], outputs: ['yh'], attrs: { perm: ints([0, 2, 3, 1]) } },
    ] }, always());
    expect(r.ops).toEqual(['ConvNhwc', 'LeakyRelu', 'ConvNhwc']);
    expect(r.stats).toEqual({ regions: 1, convs: 2, cancelled: 2 });
    expect(r.after.graph.nodes[0]!.inputs[0]).toBe('xh');
    expect(r.after.graph.nodes[2]!.outputs[0]).toBe('yh');
  });
  it('keeps an input Transpose that something else still reads in NCHW', () => {
    const r = lowered({ opset: 13, inputs: [['xh', 'float32', [2, 5, 7, C]]], outputs: [['y', 'float32'], ['x', 'float32']], initializers: inits, nodes: [
      { op: 'Transpose', inputs: ['xh'], outputs: ['x'], attrs: { perm: ints([0, 3, 1, 2]) } }, dw('x', 'wd', 'y', C),
    ] }, always());
    expect(r.ops).toEqual(['Transpose', 'ConvNhwc', 'Transpose']);
    expect(r.stats).toMatchObject({ transposes: 1, cancelled: 1 });
  });
  it('gives the epilogue lowering after it channels-last convs to fuse into (per-channel constants along the last axis)', () => {
    const spec: BuildSpec = { opset: 13, inputs: X(6, 6), outputs: [['y', 'float32']], initializers: inits, nodes: [
      dw('x', 'wd', 'd', C, pads1, 'b'), ...hardSwish('d', 'h'), pw('h', 'wp', 'p', 'b'), { op: 'Mul', inputs: ['p', 'ch'], outputs: ['y'] },
    ] };
    const cpu = cpuCapabilities('sequential');
    const fused = lowered(spec, { ...cpu, ...always() });
    expect(fused.ops).toEqual(['Transpose', 'FusedConvNhwc', 'FusedConvNhwc', 'Transpose']);
    expect(fused.after.graph.nodes[2]!.inputs.slice(3).map((v) => fused.after.graph.initializers.get(v)?.dims)).toEqual([[1, 1, 1, C]]);
    // A backend without ConvNhwc epilogues: the chain between the convs is fused elementwise instead.
    const noBase = lowered(spec, { ...cpu, epilogue: { ...cpu.epilogue!, bases: ['Conv', 'MatMul', 'Gemm'] }, ...always() });
    expect(noBase.ops).toEqual(['Transpose', 'ConvNhwc', 'FusedElementwise', 'ConvNhwc', 'Mul', 'Transpose']);
  });
  it('ConvNhwc runs depthwise convs with and without SIMD (odd channel counts, strides, dilations, asymmetric pads) like Conv', () => {
    for (const simd of [true, false]) {
      const prev = setDepthwiseNhwcSimd(simd);
      try {
        for (const [c, attrs] of [[12, { strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) }], [5, { dilations: ints([2, 1]), pads: ints([2, 1, 2, 1]) }], [16, { auto_pad: { kind: 'string', value: 'SAME_UPPER' } as Attr, strides: ints([1, 2]) }]] as [number, Record<string, Attr>][]) {
          const r = lowered({ opset: 13, inputs: [['x', 'float32', [2, c, 7, 6]]], outputs: [['y', 'float32']], initializers: { w: f32([c, 1, 3, 3], wave(c * 9, 0.3)), b: f32([c], wave(c)) }, nodes: [dw('x', 'w', 'y', c, attrs, 'b')] }, always());
          expect(r.ops, `${c} ${JSON.stringify(attrs)}`).toEqual(['Transpose', 'ConvNhwc', 'Transpose']);
        }
      } finally {
        setDepthwiseNhwcSimd(prev);
      }
    }
  });
  it('ConvNhwc runs pointwise and dense convs (im2col) like Conv', () => {
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 9, 8]]], outputs: [['y', 'float32']], initializers: { w3: f32([7, 3, 3, 2], wave(126, 0.21)), w1: f32([5, 7, 1, 1], wave(35)), b: f32([7], wave(7)) }, nodes: [
      { op: 'Conv', inputs: ['x', 'w3', 'b'], outputs: ['c'], attrs: { strides: ints([2, 1]), pads: ints([1, 0, 1, 1]), dilations: ints([1, 2]) } },
      { op: 'Conv', inputs: ['c', 'w1'], outputs: ['y'] },
    ] }, always());
    expect(r.ops).toEqual(['Transpose', 'ConvNhwc', 'ConvNhwc', 'Transpose']);
  });
});

describe('lower-layout on the CPU cost model', () => {
  const conv = (C: number, M: number, H: number, W: number, K: [number, number], s = 1, depthwise = true) => {
    const pad = [(K[0] - 1) >> 1, (K[1] - 1) >> 1];
    return { N: 1, C, H, W, M, KH: K[0], KW: K[1], OH: Math.floor((H + 2 * pad[0]! - K[0]) / s) + 1, OW: Math.floor((W + 2 * pad[1]! - K[1]) / s) + 1, SH: s, SW: s, group: depthwise ? C : 1 };
  };
  const pays = (c: ReturnType<typeof conv>) => { const e = CPU_LAYOUT.convCost(c)!; return e.nhwc < e.nchw; };
  it('prefers channels-last where it measured at least 1.25x faster, NCHW where at least 1.25x slower (nn-conv-nhwc-cost.ts)', () => {
    for (const c of [conv(192, 192, 6, 6, [5, 5]), conv(384, 384, 3, 3, [5, 5]), conv(96, 96, 12, 12, [3, 3], 2), conv(96, 24, 3, 3, [3, 3], 1, false), conv(96, 96, 10, 2, [1, 3], 1, false)]) {
      expect(pays(c), JSON.stringify(c)).toBe(true);
    }
    for (const c of [conv(240, 240, 12, 24, [5, 5]), conv(240, 240, 12, 24, [1, 1], 1, false), conv(16, 32, 48, 48, [1, 1], 1, false), conv(24, 24, 74, 32, [1, 3], 1, false), conv(3, 16, 96, 96, [3, 3], 2, false)]) {
      expect(pays(c), JSON.stringify(c)).toBe(false);
    }
    expect(CPU_LAYOUT.convCost({ ...conv(12, 12, 6, 6, [3, 3]), group: 3, M: 12 })).toBeUndefined();
  });
});

const OVERRIDES: Record<string, Record<string, number>> = {
  'openwakeword embedding': { unk__314: 1 },
  'PP-OCR mobile v2 direction classifier': { 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 48, 'p2o.DynamicDimension.2': 192 },
  'PP-OCRv4 text detector': { 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 96, 'p2o.DynamicDimension.2': 96 },
  'PP-OCRv4 text recognizer': { 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 96 },
};

/** Every conv ConvNhwc runs pays: the largest regions, to check the rewrite on real graphs. */
const EVERYWHERE: LayoutCapabilities = { convCost: (c) => (c.group === 1 || c.group === c.C ? { nchw: 2, nhwc: 1 } : undefined), transposeCost: () => 0, globalPoolCost: () => 0, margin: 1 };

async function vsOrt(m: RealModel, session: InferenceSession): Promise<void> {
  const { feeds, ortFeeds } = realModelFeeds(m, session.inputMetadata);
  const oracle = await ort.InferenceSession.create(m.file, { intraOpNumThreads: 1 });
  const want = await oracle.run(ortFeeds);
  const got = await session.run(feeds);
  for (const name of session.outputNames) {
    expect(got[name]!.dims, name).toEqual(want[name]!.dims);
    const r = maxRelError(got[name]!.data as Float32Array, want[name]!.data as Float32Array, 1e-3, 1e-4);
    expect(r.ok, `${name}: worst ${r.worst}x tolerance at ${r.at}`).toBe(true);
  }
}

describe.each(REAL_MODELS.filter((m) => OVERRIDES[m.name]))('$name at level all on the CPU', (m) => {
  for (const fuseCpuKernels of [false, true]) {
    it(`matches onnxruntime-node (1e-3) with the CPU's layout decision${fuseCpuKernels ? ' and the fused kernels' : ''}`, async () => {
      const session = await InferenceSession.create(m.file, { graphOptimizationLevel: 'all', freeDimensionOverrides: OVERRIDES[m.name], fuseCpuKernels });
      try {
        await vsOrt(m, session);
        const layout = session.optimizeReport?.passes.find((p) => p.name === 'lower-layout');
        expect(layout, 'the layout pass ran').toBeDefined();
      } finally {
        await session.release();
      }
    }, 120_000);
  }
  it('matches onnxruntime-node (1e-3) with every conv it can take channels-last, fused kernels after', async () => {
    const model = await loadModel(m.file);
    const dims = OVERRIDES[m.name]!;
    model.graph.inputs = model.graph.inputs.map((i) => (i.type?.kind === 'tensor' && i.type.shape ? { ...i, type: { ...i.type, shape: i.type.shape.map((d) => (typeof d === 'string' ? dims[d] ?? d : d)) } } : i));
    const { model: opt } = optimize(model, evaluateConstantNode, { level: 'all' });
    const { model: planned, report } = lower(opt, { ...cpuCapabilities('sequential'), layout: EVERYWHERE }, evaluateConstantNode, { verify: true });
    const stats = report.passes.find((p) => p.name === 'lower-layout')!.rewrites;
    expect(stats.convs, JSON.stringify(stats)).toBeGreaterThan(0);
    const session = await InferenceSession.fromModel(planned, { graphOptimizationLevel: 'disabled' });
    try {
      await vsOrt(m, session);
    } finally {
      await session.release();
    }
  }, 120_000);
});
