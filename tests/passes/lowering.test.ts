// The lowering passes: each rewrite fires where it should and not where it must not, respects the
// backend's declared capabilities, and the lowered graph computes on the CPU kernels what the
// unlowered one does: bit for bit for arithmetic and clamps (the fused kernels round to float32 after
// every op), within a few float32 ulps where exp/sigmoid/tanh/erf are involved (the unfused kernels
// use SIMD approximations of those on runs of 32 or more, as the fused wasm code does; the fused JS
// loop, which runs shorter outputs, the double-precision functions).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Attr, type Graph, type Model, subgraphsOf } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { importModel } from '../../graph/onnx/import.js';
import { decodeProgram, FUSED_OPS } from '../../graph/ops/fused-program.js';
import { lower } from '../../graph/passes/index.js';
import type { LoweringCapabilities } from '../../graph/passes/lower-types.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { verifyGraph } from '../../graph/verify.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { cpuCapabilities } from '../../kernels/cpu/fused.js';
import { evaluateProgram } from '../../kernels/cpu/fused-eval.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { WEBGPU_CAPABILITIES } from '../../kernels/webgpu/fused.js';
import { InferenceSession } from '../../src/session.js';
import { Tensor } from '../../src/tensor.js';
import { type BuildSpec, buildModel } from '../helpers/build.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS, realModelFeeds } from '../models/models.js';

const f32 = (dims: number[], data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data: Float32Array.from(data) });
const wave = (n: number, s = 0.7, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(i * s + k) * 3);
const float = (value: number): Attr => ({ kind: 'float', value });
const CPU = cpuCapabilities('sequential');
const ELEMENTWISE_ONLY: LoweringCapabilities = { elementwise: CPU.elementwise };

function feedsOf(m: Model): Map<string, RtValue> {
  const feeds = new Map<string, RtValue>();
  m.graph.inputs.forEach((inp, k) => {
    const t = inp.type!;
    if (t.kind !== 'tensor') throw new Error('tensor inputs only');
    const dims = t.shape as number[];
    const n = dims.reduce((a, b) => a * b, 1);
    feeds.set(inp.name, t.dtype === 'bool'
      ? { kind: 'tensor', dtype: 'bool', dims, data: Uint8Array.from(wave(n, 1.3, k), (v) => (v > 0 ? 1 : 0)) }
      : f32(dims, wave(n, 0.37 + k * 0.11, k)));
  });
  return feeds;
}

/** Equal, or within `ulps` float32 units in the last place of the expected value. */
function expectUlps(got: Float32Array, want: Float32Array, ulps: number, what: string): void {
  if (ulps === 0) {
    expect(Array.from(got), what).toEqual(Array.from(want));
    return;
  }
  want.forEach((w, i) => {
    const g = got[i]!;
    const ulp = 2 ** (Math.max(Math.floor(Math.log2(Math.abs(w) || 2 ** -126)), -126) - 23);
    if (!(g === w || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= ulps * ulp)) expect(g, `${what}[${i}]`).toBe(w);
  });
}

/** Within `ofMax` times the largest magnitude of the expected output (a fused reduction rounds differently). */
function expectNear(got: Float32Array, want: Float32Array, ofMax: number, what: string): void {
  const max = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  want.forEach((w, i) => {
    if (!(Math.abs(got[i]! - w) <= ofMax * max)) expect(got[i], `${what}[${i}]`).toBe(w);
  });
}

/**
 * Lower with `caps`, check the graph, and check the outputs equal the unlowered graph's (to `ulps`,
 * or to `{ ofMax }` of the output's largest magnitude); `feeds` for inputs of other values than generated.
 */
function lowered(spec: BuildSpec, caps: LoweringCapabilities = CPU, ulps: number | { ofMax: number } = 0, feeds?: Map<string, RtValue>) {
  const before = buildModel(spec);
  const { model: after, report } = lower(before, caps, evaluateConstantNode, { verify: true });
  verifyGraph(after.graph);
  feeds ??= feedsOf(before);
  const want = interpret(before.graph, feeds, { opsets: before.opsets });
  const got = interpret(after.graph, feeds, { opsets: after.opsets });
  for (const [name, w] of want) {
    const g = got.get(name)!;
    expect(g.kind === 'tensor' && w.kind === 'tensor' && g.dims).toEqual(w.kind === 'tensor' && w.dims);
    const [gd, wd] = [(g as HostTensor).data as Float32Array, (w as HostTensor).data as Float32Array];
    if (typeof ulps === 'number') expectUlps(gd, wd, ulps, name);
    else expectNear(gd, wd, ulps.ofMax, name);
  }
  const rewrites: Record<string, number> = {};
  for (const p of report.passes) for (const [k, v] of Object.entries(p.rewrites)) rewrites[`${p.name}:${k}`] = v;
  return { after, ops: after.graph.nodes.map((n) => n.opType), rewrites };
}

const hardSwishChain = (x: string, y: string): BuildSpec['nodes'] => [
  { op: 'Add', inputs: [x, 'three'], outputs: [`${y}_a`] },
  { op: 'Clip', inputs: [`${y}_a`, 'zero', 'six'], outputs: [`${y}_c`] },
  { op: 'Mul', inputs: [x, `${y}_c`], outputs: [`${y}_m`] },
  { op: 'Div', inputs: [`${y}_m`, 'six'], outputs: [y] },
];
const hsConsts = { three: f32([], [3]), zero: f32([], [0]), six: f32([], [6]) };

describe('lower-elementwise', () => {
  it('fuses a hard-swish chain (x read twice) into one FusedElementwise', () => {
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32']], initializers: hsConsts, nodes: hardSwishChain('x', 'y') });
    expect(r.ops).toEqual(['FusedElementwise']);
    expect(r.after.graph.nodes[0]!.inputs).toEqual(['x']); // the scalar constants are inlined
    expect(r.rewrites['lower-elementwise:nodes']).toBe(4);
    expect(r.after.opsets.tgraph).toBe(1);
  });
  it('broadcasts leaves of other shapes and evaluates every supported op exactly as the unfused kernels', () => {
    const r = lowered({ opset: 20, inputs: [['x', 'float32', [2, 3, 4]], ['b', 'float32', [4]], ['z', 'float32', [2, 1, 4]], ['c', 'bool', [3, 1]]], outputs: [['y', 'float32']], initializers: { half: f32([], [0.5]), lo: f32([], [-1]) }, nodes: [
      { op: 'Add', inputs: ['x', 'b'], outputs: ['t0'] }, { op: 'Mul', inputs: ['t0', 'z'], outputs: ['t1'] },
      { op: 'Sigmoid', inputs: ['t1'], outputs: ['t2'] }, { op: 'Tanh', inputs: ['t0'], outputs: ['t3'] },
      { op: 'Where', inputs: ['c', 't2', 't3'], outputs: ['t4'] }, { op: 'Erf', inputs: ['t4'], outputs: ['t5'] },
      { op: 'Gelu', inputs: ['t5'], outputs: ['t6'] }, { op: 'Gelu', inputs: ['t6'], outputs: ['t7'], attrs: { approximate: { kind: 'string', value: 'tanh' } } },
      { op: 'LeakyRelu', inputs: ['t7'], outputs: ['t8'], attrs: { alpha: float(0.1) } },
      { op: 'HardSigmoid', inputs: ['t8'], outputs: ['t9'], attrs: { alpha: float(0.3), beta: float(0.4) } },
      { op: 'HardSwish', inputs: ['t1'], outputs: ['t10'] }, { op: 'Max', inputs: ['t9', 't10'], outputs: ['t11'] },
      { op: 'Min', inputs: ['t11', 'half'], outputs: ['t12'] }, { op: 'Abs', inputs: ['t1'], outputs: ['t13'] },
      { op: 'Sqrt', inputs: ['t13'], outputs: ['t14'] }, { op: 'Log', inputs: ['t14'], outputs: ['t15'] },
      { op: 'Exp', inputs: ['t15'], outputs: ['t16'] }, { op: 'Reciprocal', inputs: ['t16'], outputs: ['t17'] },
      { op: 'Neg', inputs: ['t17'], outputs: ['t18'] }, { op: 'Pow', inputs: ['t12', 'half'], outputs: ['t19'] },
      { op: 'Sub', inputs: ['t19', 't18'], outputs: ['t20'] }, { op: 'Relu', inputs: ['t20'], outputs: ['t21'] },
      { op: 'Clip', inputs: ['t21', 'lo'], outputs: ['t22'] }, { op: 'Floor', inputs: ['t22'], outputs: ['t23'] },
      { op: 'Ceil', inputs: ['t21'], outputs: ['t24'] }, { op: 'Add', inputs: ['t23', 't24'], outputs: ['y'] },
    ] }, CPU, 8);
    expect(r.ops).toEqual(['FusedElementwise']);
    const node = r.after.graph.nodes[0]!;
    expect(node.inputs).toEqual(['x', 'b', 'z', 'c']);
    // The generated loop and the instruction interpreter (used where code generation is forbidden) agree bit for bit.
    const p = decodeProgram((node.attributes.program as { value: string }).value, 4);
    const feeds = feedsOf(buildModel({ inputs: [['x', 'float32', [2, 3, 4]], ['b', 'float32', [4]], ['z', 'float32', [2, 1, 4]], ['c', 'bool', [3, 1]]], outputs: [], nodes: [] }));
    const leaves = ['x', 'b', 'z', 'c'].map((k) => feeds.get(k) as HostTensor).map((t) => ({ data: t.data as Float32Array | Uint8Array, dims: t.dims }));
    const [a, b] = [new Float32Array(24), new Float32Array(24)];
    evaluateProgram(p, leaves, a, [2, 3, 4], { engine: 'js' });
    evaluateProgram(p, leaves, b, [2, 3, 4], { engine: 'interpret' });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.some((v) => v !== 0)).toBe(true);
  });
  it('stops at an intermediate that is a graph output or read by another node', () => {
    const asOutput = lowered({ opset: 13, inputs: [['x', 'float32', [6]]], outputs: [['y', 'float32'], ['y_c', 'float32']], initializers: hsConsts, nodes: hardSwishChain('x', 'y') });
    expect(asOutput.ops).toEqual(['FusedElementwise', 'FusedElementwise']);
    expect(asOutput.after.graph.outputs.map((o) => o.name)).toEqual(['y', 'y_c']);
    const shared = lowered({ opset: 13, inputs: [['x', 'float32', [6]]], outputs: [['y', 'float32'], ['s', 'float32']], initializers: hsConsts, nodes: [
      ...hardSwishChain('x', 'y'), { op: 'ReduceSum', inputs: ['y_m'], outputs: ['s'] },
    ] });
    expect(shared.ops).toEqual(['FusedElementwise', 'Div', 'ReduceSum']);
  });
  it('keeps an op on a smaller broadcast operand out of the group (it would be recomputed per element)', () => {
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [4, 8]], ['v', 'float32', [4, 1]]], outputs: [['y', 'float32']], initializers: { eps: f32([], [1e-5]) }, nodes: [
      { op: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] }, { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
      { op: 'Div', inputs: ['x', 'sd'], outputs: ['n'] }, { op: 'Relu', inputs: ['n'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['FusedElementwise', 'FusedElementwise']);
    expect(r.after.graph.nodes[1]!.inputs).toEqual(['x', 'sd']);
  });
  it('does not fuse integer chains, Clip with computed bounds, or ops the backend does not declare', () => {
    const ints = lowered({ opset: 13, inputs: [['x', 'int32', [4]]], outputs: [['y', 'int32']], nodes: [{ op: 'Abs', inputs: ['x'], outputs: ['a'] }, { op: 'Neg', inputs: ['a'], outputs: ['y'] }] });
    expect(ints.ops).toEqual(['Abs', 'Neg']);
    const clip = lowered({ opset: 13, inputs: [['x', 'float32', [4]], ['lo', 'float32', []]], outputs: [['y', 'float32']], nodes: [
      { op: 'Exp', inputs: ['x'], outputs: ['e'] }, { op: 'Clip', inputs: ['e', 'lo'], outputs: ['c'] }, { op: 'Neg', inputs: ['c'], outputs: ['y'] },
    ] });
    expect(clip.ops).toEqual(['Exp', 'Clip', 'Neg']);
    const noClip: LoweringCapabilities = { elementwise: { ops: FUSED_OPS.filter((o) => o !== 'Clip'), maxInputs: 8 } };
    expect(lowered({ opset: 13, inputs: [['x', 'float32', [6]]], outputs: [['y', 'float32']], initializers: hsConsts, nodes: hardSwishChain('x', 'y') }, noClip).ops).toEqual(['Add', 'Clip', 'FusedElementwise']);
    expect(lowered({ opset: 13, inputs: [['x', 'float32', [6]]], outputs: [['y', 'float32']], initializers: hsConsts, nodes: hardSwishChain('x', 'y') }, {}).ops).toEqual(['Add', 'Clip', 'Mul', 'Div']);
  });
  it('keeps a group within the declared input count', () => {
    const nodes: BuildSpec['nodes'] = [];
    const inputs: BuildSpec['inputs'] = [['x0', 'float32', [5]]];
    for (let i = 1; i <= 4; i++) {
      inputs.push([`x${i}`, 'float32', [5]]);
      nodes.push({ op: 'Add', inputs: [i === 1 ? 'x0' : `s${i - 1}`, `x${i}`], outputs: [i === 4 ? 'y' : `s${i}`] });
    }
    const r = lowered({ opset: 13, inputs, outputs: [['y', 'float32']], nodes }, { elementwise: { ops: FUSED_OPS, maxInputs: 3 } });
    expect(r.ops).toEqual(['FusedElementwise', 'FusedElementwise']);
    expect(r.after.graph.nodes.every((n) => n.inputs.length <= 3)).toBe(true);
  });
});

const conv = (x: string, w: string, y: string, extra: Record<string, Attr> = {}, b?: string) => ({ op: 'Conv', inputs: b ? [x, w, b] : [x, w], outputs: [y], attrs: { pads: { kind: 'ints' as const, value: [1, 1, 1, 1] }, ...extra } });
const convInits = { w: f32([4, 3, 3, 3], wave(108, 0.3)), cb: f32([4], [0.1, -0.2, 0.3, 0]), bias: f32([1, 4, 1, 1], [0.5, -0.5, 1, -1]), bias4: f32([4], [1, 2, 3, 4]) };

describe('lower-epilogue', () => {
  it('applies bias Add, residual Add and an activation after Conv in one FusedConv', () => {
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [2, 3, 5, 4]], ['res', 'float32', [2, 4, 5, 4]]], outputs: [['y', 'float32']], initializers: { ...convInits, ...hsConsts }, nodes: [
      conv('x', 'w', 'c', {}, 'cb'), { op: 'Add', inputs: ['c', 'bias'], outputs: ['cb2'] }, { op: 'Add', inputs: ['cb2', 'res'], outputs: ['r'] },
      ...hardSwishChain('r', 'y'),
    ] });
    expect(r.ops).toEqual(['FusedConv']);
    expect(r.after.graph.nodes[0]!.inputs).toEqual(['x', 'w', 'cb', 'bias', 'res']);
    expect(r.rewrites['lower-epilogue:Conv']).toBe(1);
  });
  it('fuses each activation after a Conv without bias', () => {
    for (const act of <{ op: string; attrs?: Record<string, Attr> }[]>[{ op: 'Relu' }, { op: 'Sigmoid' }, { op: 'Tanh' }, { op: 'HardSwish' }, { op: 'LeakyRelu', attrs: { alpha: float(0.2) } }, { op: 'HardSigmoid', attrs: { alpha: float(0.2), beta: float(0.5) } }]) {
      const r = lowered({ opset: 14, inputs: [['x', 'float32', [1, 3, 4, 4]]], outputs: [['y', 'float32']], initializers: convInits, nodes: [conv('x', 'w', 'c'), { ...act, inputs: ['c'], outputs: ['y'] }] }, CPU, 4);
      expect(r.ops, act.op).toEqual(['FusedConv']);
      expect(r.after.graph.nodes[0]!.inputs).toEqual(['x', 'w', '']);
    }
  });
  it('does not take a bias that broadcasts along another axis, a computed per-channel operand, or a shared output', () => {
    // [4] aligns with W (the last axis), not with the channels.
    const wAxis = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]]], outputs: [['y', 'float32']], initializers: convInits, nodes: [conv('x', 'w', 'c'), { op: 'Add', inputs: ['c', 'bias4'], outputs: ['y'] }] });
    expect(wAxis.ops).toEqual(['Conv', 'Add']);
    const computed = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]], ['s', 'float32', [1, 4, 1, 1]]], outputs: [['y', 'float32']], initializers: convInits, nodes: [conv('x', 'w', 'c'), { op: 'Mul', inputs: ['c', 's'], outputs: ['y'] }] });
    expect(computed.ops).toEqual(['Conv', 'Mul']);
    // Squeeze-and-excitation: the scale is computed from the conv output itself.
    const se = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]]], outputs: [['y', 'float32']], initializers: convInits, nodes: [
      conv('x', 'w', 'c'), { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['p'] }, { op: 'Sigmoid', inputs: ['p'], outputs: ['s'] }, { op: 'Mul', inputs: ['c', 's'], outputs: ['y'] },
    ] });
    expect(se.ops).toEqual(['Conv', 'GlobalAveragePool', 'Sigmoid', 'Mul']);
    const asOutput = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]]], outputs: [['y', 'float32'], ['c', 'float32']], initializers: convInits, nodes: [conv('x', 'w', 'c'), { op: 'Relu', inputs: ['c'], outputs: ['y'] }] });
    expect(asOutput.ops).toEqual(['Conv', 'Relu']);
    // A bool condition is not an epilogue input: the Where chain becomes a FusedElementwise after the Conv.
    const where = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]], ['m', 'bool', [1, 4, 4, 4]]], outputs: [['y', 'float32']], initializers: { ...convInits, zero: f32([], [0]) }, nodes: [
      conv('x', 'w', 'c'), { op: 'Relu', inputs: ['c'], outputs: ['r'] }, { op: 'Where', inputs: ['m', 'r', 'zero'], outputs: ['y'] },
    ] });
    expect(where.ops).toEqual(['Conv', 'FusedElementwise']);
  });
  it('fuses MatMul + bias + erf-Gelu below opset 20 and Gemm + Relu; not a per-row bias', () => {
    const mm = lowered({ opset: 13, inputs: [['a', 'float32', [2, 3, 5]]], outputs: [['y', 'float32']], initializers: { b: f32([5, 4], wave(20, 0.5)), bias: f32([4], [0.1, 0.2, -0.3, 0.4]), r2: f32([], [Math.SQRT2]), one: f32([], [1]), half: f32([], [0.5]) }, nodes: [
      { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'bias'], outputs: ['mb'] },
      { op: 'Div', inputs: ['mb', 'r2'], outputs: ['s'] }, { op: 'Erf', inputs: ['s'], outputs: ['e'] }, { op: 'Add', inputs: ['e', 'one'], outputs: ['p'] },
      { op: 'Mul', inputs: ['mb', 'p'], outputs: ['xp'] }, { op: 'Mul', inputs: ['xp', 'half'], outputs: ['y'] },
    ] }, CPU, 4);
    expect(mm.ops).toEqual(['FusedMatMul']);
    expect(mm.after.graph.nodes[0]!.inputs).toEqual(['a', 'b', 'bias']);
    const gemm = lowered({ opset: 13, inputs: [['a', 'float32', [3, 5]]], outputs: [['y', 'float32']], initializers: { b: f32([4, 5], wave(20, 0.5)), c: f32([4], [1, 2, 3, 4]) }, nodes: [
      { op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['g'], attrs: { transB: { kind: 'int', value: 1 } } }, { op: 'Relu', inputs: ['g'], outputs: ['y'] },
    ] });
    expect(gemm.ops).toEqual(['FusedGemm']);
    const perRow = lowered({ opset: 13, inputs: [['a', 'float32', [3, 5]]], outputs: [['y', 'float32']], initializers: { b: f32([5, 4], wave(20, 0.5)), rb: f32([3, 1], [1, 2, 3]) }, nodes: [
      { op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'rb'], outputs: ['y'] },
    ] });
    expect(perRow.ops).toEqual(['MatMul', 'Add']);
  });
  it('is off for a backend that declares no epilogues (the chain is still fused elementwise)', () => {
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [1, 3, 4, 4]]], outputs: [['y', 'float32']], initializers: { ...convInits, ...hsConsts }, nodes: [conv('x', 'w', 'c'), ...hardSwishChain('c', 'y')] }, ELEMENTWISE_ONLY);
    expect(r.ops).toEqual(['Conv', 'FusedElementwise']);
    // The CPU declares epilogues in both modes (the parallel scheduler splits fused Conv/MatMul/Gemm too).
    expect(cpuCapabilities('parallel').epilogue).toEqual(cpuCapabilities('sequential').epilogue);
    expect(WEBGPU_CAPABILITIES.elementwise!.maxInputs).toBeLessThanOrEqual(7);
  });
});

const ints = (value: number[]): Attr => ({ kind: 'ints', value });
const i64 = (values: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
/** A layer norm as torch exports it below opset 17 (`axesInput`: ReduceMean's axes as an input, opset 18). */
function layerNormNodes(x: string, y: string, o: { scale?: string; bias?: string; axes?: number[]; axesInput?: boolean; squareByMul?: boolean } = {}): BuildSpec['nodes'] {
  const rm = (i: string, out: string): BuildSpec['nodes'][number] => (o.axesInput
    ? { op: 'ReduceMean', inputs: [i, 'axes'], outputs: [out] }
    : { op: 'ReduceMean', inputs: [i], outputs: [out], attrs: { axes: ints(o.axes ?? [-1]) } });
  const normed = o.scale || o.bias ? `${y}_n` : y;
  const scaled = o.scale ? (o.bias ? `${y}_s` : y) : normed;
  return [
    rm(x, `${y}_mean`), { op: 'Sub', inputs: [x, `${y}_mean`], outputs: [`${y}_d`] },
    o.squareByMul ? { op: 'Mul', inputs: [`${y}_d`, `${y}_d`], outputs: [`${y}_sq`] } : { op: 'Pow', inputs: [`${y}_d`, 'two'], outputs: [`${y}_sq`] },
    rm(`${y}_sq`, `${y}_var`),
    { op: 'Add', inputs: [`${y}_var`, 'eps'], outputs: [`${y}_ve`] }, { op: 'Sqrt', inputs: [`${y}_ve`], outputs: [`${y}_sd`] },
    { op: 'Div', inputs: [`${y}_d`, `${y}_sd`], outputs: [normed] },
    ...(o.scale ? [{ op: 'Mul', inputs: [normed, o.scale], outputs: [scaled] }] : []),
    ...(o.bias ? [{ op: 'Add', inputs: [scaled, o.bias], outputs: [y] }] : []),
  ];
}
const lnConsts = { two: f32([], [2]), eps: f32([], [1e-5]), gamma: f32([8], wave(8, 0.9)), beta: f32([8], wave(8, 0.4, 2)), axes: i64([-1]) };
/** The fused kernel computes mean and variance in one pass over the row (no float32 rounding of the intermediates). */
const LN_TOL = { ofMax: 2e-6 };
const lnSpec = (opset: number, nodes: BuildSpec['nodes'], outputs: BuildSpec['outputs'] = [['y', 'float32']]): BuildSpec =>
  ({ opset, inputs: [['x', 'float32', [2, 3, 8]]], outputs, initializers: lnConsts, nodes });

describe('lower-patterns', () => {
  it('runs an exported layer norm below opset 17 as one tgraph.LayerNormalization: with scale and bias, scale only, neither', () => {
    const both = lowered(lnSpec(13, [...layerNormNodes('x', 'ln', { scale: 'gamma', bias: 'beta' }), { op: 'Relu', inputs: ['ln'], outputs: ['r'] }, { op: 'Neg', inputs: ['r'], outputs: ['y'] }]), CPU, LN_TOL);
    // Before the elementwise passes: they take what follows it, not the pattern's tail.
    expect(both.after.graph.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:LayerNormalization', 'tgraph:FusedElementwise']);
    const ln = both.after.graph.nodes[0]!;
    expect(ln.inputs).toEqual(['x', 'gamma', 'beta']);
    expect(ln.attributes.axis).toEqual({ kind: 'int', value: -1 });
    expect(ln.attributes.epsilon).toEqual({ kind: 'float', value: Math.fround(1e-5) });
    expect(both.rewrites['lower-patterns:LayerNormalization']).toBe(1);
    expect(both.after.opsets.tgraph).toBe(1);
    const scaleOnly = lowered(lnSpec(13, layerNormNodes('x', 'y', { scale: 'gamma' })), CPU, LN_TOL);
    expect(scaleOnly.ops).toEqual(['LayerNormalization']);
    expect(scaleOnly.after.graph.nodes[0]!.inputs).toEqual(['x', 'gamma']);
    const neither = lowered(lnSpec(13, layerNormNodes('x', 'y')), CPU, LN_TOL);
    expect(neither.ops).toEqual(['LayerNormalization']);
    expect(neither.after.graph.nodes[0]!.inputs).toEqual(['x']);
    const biasOnly = lowered(lnSpec(13, layerNormNodes('x', 'y', { bias: 'beta' })), CPU, LN_TOL);
    expect(biasOnly.ops).toEqual(['LayerNormalization']);
    expect(biasOnly.after.graph.nodes[0]!.inputs).toEqual(['x', '', 'beta']);
    // The square as Mul(d, d) (tg.layerNorm without weight writes it so).
    const byMul = lowered(lnSpec(13, layerNormNodes('x', 'y', { scale: 'gamma', bias: 'beta', squareByMul: true })), CPU, LN_TOL);
    expect(byMul.ops).toEqual(['LayerNormalization']);
    expect(byMul.after.graph.nodes[0]!.inputs).toEqual(['x', 'gamma', 'beta']);
    // The last axis by its index (the rank is known), not another one.
    expect(lowered(lnSpec(13, layerNormNodes('x', 'y', { axes: [2] })), CPU, LN_TOL).ops).toEqual(['LayerNormalization']);
    expect(lowered(lnSpec(13, layerNormNodes('x', 'y', { axes: [1] })), CPU, LN_TOL).ops).not.toContain('LayerNormalization');
  });
  it('from opset 17 only a layer norm without scale (with one, fuse-patterns makes the standard op); axes as an input', () => {
    const scaled = lowered(lnSpec(18, layerNormNodes('x', 'y', { scale: 'gamma', bias: 'beta', axesInput: true })), CPU, LN_TOL);
    expect(scaled.ops).not.toContain('LayerNormalization');
    expect(scaled.rewrites['lower-patterns:LayerNormalization']).toBeUndefined();
    const bare = lowered(lnSpec(18, layerNormNodes('x', 'y', { axesInput: true })), CPU, LN_TOL);
    expect(bare.ops).toEqual(['LayerNormalization']);
    expect(bare.after.graph.nodes[0]!.inputs).toEqual(['x']);
  });
  it('does not fire when an intermediate is read elsewhere or is a graph output, or for a backend that declares nothing', () => {
    const nodes = layerNormNodes('x', 'y', { scale: 'gamma', bias: 'beta' });
    const shared = lowered(lnSpec(13, [...nodes, { op: 'ReduceSum', inputs: ['y_d'], outputs: ['s'] }], [['y', 'float32'], ['s', 'float32']]), CPU, LN_TOL);
    expect(shared.ops).not.toContain('LayerNormalization');
    for (const out of ['y_var', 'y_mean', 'y_sd']) {
      const r = lowered(lnSpec(13, nodes, [['y', 'float32'], [out, 'float32']]), CPU, LN_TOL);
      expect(r.ops, out).not.toContain('LayerNormalization');
    }
    // The normalized value read as an output: the scale and bias stay outside (a fused elementwise Mul, Add).
    const normed = lowered(lnSpec(13, nodes, [['y', 'float32'], ['y_n', 'float32']]), CPU, LN_TOL);
    expect(normed.ops).toEqual(['LayerNormalization', 'FusedElementwise']);
    expect(normed.after.graph.nodes[0]!.inputs).toEqual(['x']);
    expect(lowered(lnSpec(13, nodes), ELEMENTWISE_ONLY, LN_TOL).ops).not.toContain('LayerNormalization');
    expect(lowered(lnSpec(13, nodes), {}, LN_TOL).ops).toEqual(nodes.map((n) => n.op));
    // Declared by the CPU in both execution modes (split.ts cuts it by rows) and by WebGPU.
    expect(cpuCapabilities('parallel').patterns).toContain('LayerNormalization');
    expect(WEBGPU_CAPABILITIES.patterns).toContain('LayerNormalization');
  });
  it('fires inside an If branch that reads the outer graph\'s input and weights', () => {
    const branch = (name: string, nodes: BuildSpec['nodes']): Attr => {
      const m = buildModel({ inputs: [], outputs: [[`${name}_y`, 'float32', [2, 3, 8]]], nodes });
      return { kind: 'graph', value: { ...m.graph, name } };
    };
    const spec: BuildSpec = { opset: 13, inputs: [['x', 'float32', [2, 3, 8]], ['c', 'bool', []]], outputs: [['y', 'float32']], initializers: lnConsts, nodes: [
      { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: branch('then', layerNormNodes('x', 'then_y', { scale: 'gamma', bias: 'beta' })), else_branch: branch('else', [{ op: 'Neg', inputs: ['x'], outputs: ['else_y'] }]) } },
    ] };
    const feeds = feedsOf(buildModel(spec));
    feeds.set('c', { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) });
    const r = lowered(spec, CPU, LN_TOL, feeds);
    const then = (r.after.graph.nodes[0]!.attributes.then_branch as { value: Model['graph'] }).value;
    expect(then.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:LayerNormalization']);
    expect(then.nodes[0]!.inputs).toEqual(['x', 'gamma', 'beta']);
    expect(r.rewrites['lower-patterns:LayerNormalization']).toBe(1);
  });
});

describe('lowering inside subgraphs', () => {
  it('fuses a chain in an If branch that reads an outer value, not across the scope boundary', () => {
    const branch = (name: string, nodes: BuildSpec['nodes']): Attr => {
      const m = buildModel({ inputs: [], outputs: [[`${name}_y`, 'float32', [2, 3]]], initializers: hsConsts, nodes });
      return { kind: 'graph', value: { ...m.graph, name } };
    };
    const then = branch('then', [{ op: 'Relu', inputs: ['e'], outputs: ['r'] }, ...hardSwishChain('r', 'then_y')]);
    const other = branch('else', [{ op: 'Neg', inputs: ['e'], outputs: ['else_y'] }]);
    const r = lowered({ opset: 13, inputs: [['x', 'float32', [2, 3]], ['c', 'bool', []]], outputs: [['y', 'float32']], nodes: [
      { op: 'Exp', inputs: ['x'], outputs: ['e'] }, { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: then, else_branch: other } },
    ] });
    expect(r.ops).toEqual(['Exp', 'If']); // e is read by the branches: it stays a value of the outer graph
    const thenGraph = (r.after.graph.nodes[1]!.attributes.then_branch as { value: Model['graph'] }).value;
    expect(thenGraph.nodes.map((n) => n.opType)).toEqual(['FusedElementwise']);
    expect(thenGraph.nodes[0]!.inputs).toEqual(['e']);
    expect(r.rewrites['lower-elementwise:nodes']).toBe(5);
  });
});

describe('lowering in the session', () => {
  const spec: BuildSpec = { opset: 13, inputs: [['x', 'float32', [1, 3, 6, 6]]], outputs: [['y', 'float32']], initializers: { ...convInits, ...hsConsts }, nodes: [conv('x', 'w', 'c', {}, 'cb'), ...hardSwishChain('c', 'y')] };
  it('lowers for the chosen backend, reports the passes, and can be switched off by name or level', async () => {
    const model = buildModel(spec);
    const x = new Tensor('float32', Float32Array.from(wave(108, 0.2)), [1, 3, 6, 6]);
    const on = await InferenceSession.fromModel(model, { executionProviders: ['cpu'], fuseCpuKernels: true });
    const off = await InferenceSession.fromModel(model, { executionProviders: ['cpu'], fuseCpuKernels: true, disabledOptimizers: ['lower-epilogue', 'lower-elementwise'] });
    const plain = await InferenceSession.fromModel(model, { executionProviders: ['cpu'] });
    expect(plain.model.graph.nodes.map((n) => `${n.domain}:${n.opType}`), 'CPU sessions lower by default').toEqual(['tgraph:FusedConv']);
    const unfused = await InferenceSession.fromModel(model, { executionProviders: ['cpu'], fuseCpuKernels: false });
    expect(unfused.model.graph.nodes.some((n) => n.domain === 'tgraph'), 'fuseCpuKernels: false').toBe(false);
    const none = await InferenceSession.fromModel(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    expect(on.model.graph.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:FusedConv']);
    expect(on.optimizeReport!.passes.find((p) => p.name === 'lower-epilogue')!.rewrites).toEqual({ Conv: 1 });
    expect(off.model.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Add', 'Clip', 'Mul', 'Div']);
    expect(none.model.graph.nodes.some((n) => n.domain === 'tgraph')).toBe(false);
    const [a, b, c] = await Promise.all([on.run({ x }), off.run({ x }), none.run({ x })]);
    expect(Array.from(a.y!.data as Float32Array)).toEqual(Array.from(b.y!.data as Float32Array));
    expect(Array.from(a.y!.data as Float32Array)).toEqual(Array.from(c.y!.data as Float32Array));
  });
  it('keeps a lowering made only inside an If branch (the main graph\'s node count does not change)', async () => {
    const branch = (name: string, nodes: BuildSpec['nodes']): Attr => {
      const m = buildModel({ inputs: [], outputs: [[`${name}_y`, 'float32', [1, 4, 6, 6]]], initializers: { ...convInits, ...hsConsts }, nodes });
      return { kind: 'graph', value: { ...m.graph, name } };
    };
    const model = buildModel({ opset: 13, inputs: [['x', 'float32', [1, 3, 6, 6]], ['c', 'bool', []]], outputs: [['y', 'float32']], nodes: [
      { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: branch('then', [conv('x', 'w', 'cv', {}, 'cb'), ...hardSwishChain('cv', 'then_y')]), else_branch: branch('else', [conv('x', 'w', 'else_y')]) } },
    ] });
    const s = await InferenceSession.fromModel(model, { executionProviders: ['cpu'] });
    const then = (s.model.graph.nodes[0]!.attributes.then_branch as { value: Model['graph'] }).value;
    expect(then.nodes.map((n) => `${n.domain}:${n.opType}`)).toEqual(['tgraph:FusedConv']);
    const none = await InferenceSession.fromModel(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    const x = new Tensor('float32', Float32Array.from(wave(108, 0.2)), [1, 3, 6, 6]);
    for (const c of [true, false]) {
      const feeds = { x, c: new Tensor('bool', Uint8Array.of(c ? 1 : 0), []) };
      const [a, b] = await Promise.all([s.run(feeds), none.run(feeds)]);
      expect(Array.from(a.y!.data as Float32Array), `c = ${c}`).toEqual(Array.from(b.y!.data as Float32Array));
    }
  });
  it('hey_jarvis (opset 13): its four exported layer norms, two in an If branch, run as tgraph.LayerNormalization and match onnxruntime-node', async () => {
    const m = REAL_MODELS.find((r) => r.name === 'openwakeword hey_jarvis')!;
    const model = importModel(readFileSync(m.file));
    // The verifier branch runs when the first net's score is >= 0.5: a threshold of 0 runs it for any input.
    const threshold = model.graph.nodes.find((n) => n.outputs[0] === 'onnx::GreaterOrEqual_50')!;
    expect(threshold.attributes.value).toMatchObject({ kind: 'tensor', value: { data: Float32Array.of(0.5) } });
    threshold.attributes.value = { kind: 'tensor', value: f32([], [0]) };
    // The main graph's normalized layers (after Relu, outside the pattern) as outputs too: a sigmoid score alone would hide small errors.
    model.graph.outputs.push({ name: 'result' }, { name: 'result.3' });
    const bytes = exportModel(model);
    const s = await InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const count = (g: Graph, key: string): number => g.nodes.reduce((k, n) => k + (`${n.domain}:${n.opType}` === key ? 1 : 0) + subgraphsOf(n).reduce((a, sg) => a + count(sg, key), 0), 0);
    expect(count(s.model.graph, 'tgraph:LayerNormalization')).toBe(4);
    expect(count(s.model.graph, ':ReduceMean')).toBe(0);
    expect(s.optimizeReport!.passes.find((p) => p.name === 'lower-patterns')!.rewrites).toEqual({ LayerNormalization: 4 });
    const oracle = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    for (const seed of [0, 1]) {
      const { feeds, ortFeeds } = realModelFeeds({ ...m, values: seed ? { 'x.1': { type: 'float32', dims: [1, 16, 96], data: wave(1536, 0.013, 5) } } : undefined }, s.inputMetadata);
      const [got, want] = [await s.run(feeds), await oracle.run(ortFeeds)];
      for (const name of s.outputNames) {
        const r = maxRelError(got[name]!.data as Float32Array, want[name]!.data as Float32Array, 1e-4, 1e-5);
        expect(r.ok, `${name}: worst error ${r.worst.toFixed(2)}x the tolerance`).toBe(true);
      }
    }
    await s.release();
  }, 60_000);
});
