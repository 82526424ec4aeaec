// Every pass: the rewrite happens where it should, does not where it must not, and outputs stay the same
// (the graph is run by the CPU interpreter before and after, on the same inputs).
import { describe, expect, it } from 'vitest';
import type { Attr, Model } from '../../graph/ir.js';
import { optimize, type OptimizeOptions } from '../../graph/passes/index.js';
import type { HostTensor } from '../../graph/tensor.js';
import { verifyGraph } from '../../graph/verify.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { checkOutputs } from '../../src/verify-pass.js';
import { type BuildSpec, buildModel } from '../helpers/build.js';

const f32 = (dims: number[], data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data: Float32Array.from(data) });
const i64 = (data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims: [data.length], data: BigInt64Array.from(data.map(BigInt)) });
const range = (n: number, s = 1) => Array.from({ length: n }, (_, i) => Math.sin(i * s + 1));

function run(spec: BuildSpec, opts: OptimizeOptions = {}): { before: Model; after: Model; ops: string[]; rewrites: Record<string, number> } {
  const before = buildModel(spec);
  const { model: after, report } = optimize(before, evaluateConstantNode, { verify: true, ...opts });
  verifyGraph(after.graph);
  // The optimized graph computes the same outputs as the original.
  expect(checkOutputs(before, after, new Map(), true)).toBeUndefined();
  const rewrites: Record<string, number> = {};
  for (const p of report.passes) for (const [k, v] of Object.entries(p.rewrites)) rewrites[`${p.name}:${k}`] = (rewrites[`${p.name}:${k}`] ?? 0) + v;
  return { before, after, ops: after.graph.nodes.map((n) => n.opType), rewrites };
}

describe('eliminate-identity', () => {
  it('removes Identity and inference Dropout, also in front of a graph output', () => {
    const r = run({ inputs: [['x', 'float32', [2, 3]]], outputs: [['y', 'float32']], nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['a'] }, { op: 'Identity', inputs: ['a'], outputs: ['b'] }, { op: 'Dropout', inputs: ['b'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Relu']);
    expect(r.after.graph.nodes[0]!.outputs).toEqual(['y']);
  });
  it('keeps Identity from a graph input to a graph output', () => {
    const r = run({ inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32']], nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }] });
    expect(r.ops).toEqual(['Identity']);
  });
  it('keeps Dropout whose mask is used', () => {
    const r = run({ inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32'], ['m', 'bool']], nodes: [{ op: 'Dropout', inputs: ['x'], outputs: ['y', 'm'] }] });
    expect(r.ops).toEqual(['Dropout']);
  });
});

describe('constant-folding and fold-shape-arithmetic', () => {
  it('folds constant subgraphs and Shape of static shapes', () => {
    const r = run({ inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32']], initializers: { c: f32([1], [2]), d: f32([1], [3]) }, nodes: [
      { op: 'Mul', inputs: ['c', 'd'], outputs: ['cd'] },
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Reshape', inputs: ['x', 's'], outputs: ['x2'] },
      { op: 'Add', inputs: ['x2', 'cd'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Add']); // Reshape to its own shape is then a no-op
    expect(r.rewrites['constant-folding:folded']).toBe(1);
  });
  it('folds the known part of a symbolic shape into Reshape (copied dims)', () => {
    const r = run({ inputs: [['x', 'float32', ['N', 4, 1, 1]]], outputs: [['y', 'float32']], initializers: { idx: i64([0]), four: i64([4]) }, nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      { op: 'Gather', inputs: ['s', 'idx'], outputs: ['n'], attrs: { axis: { kind: 'int', value: 0 } } },
      { op: 'Concat', inputs: ['n', 'four'], outputs: ['target'], attrs: { axis: { kind: 'int', value: 0 } } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Reshape']);
    expect(Array.from(r.after.graph.initializers.get(r.after.graph.nodes[0]!.inputs[1]!)!.data as BigInt64Array, Number)).toEqual([0, 4]);
  });
  // PP-OCRv4's recognizer: Reshape(x, Concat(0, 1, Shape(x)[1], 8)), a literal 0 (copy) beside a dim
  // that is not x's own at that position: -1 recomputes it, whatever the input's size.
  const reshapeFrom = (shape: (number | string)[], picks: number[], consts: Record<string, number>, order: string[]): BuildSpec => ({
    inputs: [['x', 'float32', shape]], outputs: [['y', 'float32']],
    initializers: Object.fromEntries([...Object.entries(consts).map(([k, v]) => [k, i64([v])]), ...picks.map((p) => [`i${p}`, i64([p])])]),
    nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] },
      ...picks.map((p) => ({ op: 'Gather', inputs: ['s', `i${p}`], outputs: [`d${p}`], attrs: { axis: { kind: 'int', value: 0 } as Attr } })),
      { op: 'Concat', inputs: order, outputs: ['target'], attrs: { axis: { kind: 'int', value: 0 } } },
      { op: 'Reshape', inputs: ['x', 'target'], outputs: ['y'] },
    ],
  });
  const sameAtSizes = (r: { before: Model; after: Model }, sizes: number[][]) => {
    for (const dims of sizes) expect(checkOutputs(r.before, r.after, new Map([['x', dims]]), true), `x ${dims}`).toBeUndefined();
  };
  const targetOf = (m: Model) => m.graph.initializers.get(m.graph.nodes.find((n) => n.opType === 'Reshape')!.inputs[1]!);
  it('folds a Reshape target holding a literal 0 and a dim from another position into a constant with -1', () => {
    const r = run(reshapeFrom(['N', 'W', 8], [1], { zero: 0, one: 1, eight: 8 }, ['zero', 'one', 'd1', 'eight']));
    expect(r.ops).toEqual(['Reshape']);
    expect(Array.from(targetOf(r.after)!.data as BigInt64Array, Number)).toEqual([0, 1, -1, 8]);
    sameAtSizes(r, [[2, 3, 8], [1, 7, 8]]);
  });
  it('keeps a Reshape target with two dims that can differ from the input\'s at their positions', () => {
    // [N, B, A] from x[N, A, B]: neither is a copy and at most one can be -1.
    const r = run(reshapeFrom(['N', 'A', 'B'], [2, 1], { zero: 0 }, ['zero', 'd2', 'd1']));
    expect(r.ops).toContain('Shape');
    expect(targetOf(r.after)).toBeUndefined();
    sameAtSizes(r, [[2, 3, 5], [1, 7, 4]]);
    // A literal -1 is the one inferred dim: a further unknown stays computed.
    const r2 = run(reshapeFrom(['N', 'A', 'B'], [2], { zero: 0, minus: -1 }, ['zero', 'd2', 'minus']));
    expect(r2.ops).toContain('Shape');
    sameAtSizes(r2, [[2, 3, 5], [1, 7, 4]]);
  });
  it('does not fold nodes with non-constant inputs, nor random ops', () => {
    const r = run({ inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32'], ['r', 'float32']], initializers: { c: f32([1], [2]) }, nodes: [
      { op: 'Mul', inputs: ['x', 'c'], outputs: ['y'] },
      { op: 'RandomUniform', inputs: [], outputs: ['r'], attrs: { shape: { kind: 'ints', value: [2] }, seed: { kind: 'float', value: 1 } } },
    ] });
    expect(r.ops.sort()).toEqual(['Mul', 'RandomUniform']);
  });
});

describe('simplify', () => {
  it('x*1, x+0 and Transpose of Transpose', () => {
    const r = run({ inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32']], initializers: { one: f32([1], [1]), zero: f32([4], [0, 0, 0, 0]) }, nodes: [
      { op: 'Mul', inputs: ['x', 'one'], outputs: ['a'] },
      { op: 'Add', inputs: ['zero', 'a'], outputs: ['b'] },
      { op: 'Transpose', inputs: ['b'], outputs: ['c'], attrs: { perm: { kind: 'ints', value: [1, 0, 2] } } },
      { op: 'Transpose', inputs: ['c'], outputs: ['y'], attrs: { perm: { kind: 'ints', value: [2, 0, 1] } } },
    ] });
    expect(r.ops).toEqual(['Transpose']);
    expect(r.after.graph.nodes[0]!.attributes.perm).toEqual({ kind: 'ints', value: [2, 1, 0] });
  });
  it('keeps x*1 when broadcasting with the constant changes the shape', () => {
    const r = run({ inputs: [['x', 'float32', [3]]], outputs: [['y', 'float32']], initializers: { one: f32([2, 3], [1, 1, 1, 1, 1, 1]) }, nodes: [
      { op: 'Mul', inputs: ['x', 'one'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Mul']);
  });
  it('keeps a Transpose pair whose middle value is used elsewhere', () => {
    const r = run({ inputs: [['x', 'float32', [2, 3]]], outputs: [['y', 'float32'], ['m', 'float32']], nodes: [
      { op: 'Transpose', inputs: ['x'], outputs: ['m'], attrs: { perm: { kind: 'ints', value: [1, 0] } } },
      { op: 'Transpose', inputs: ['m'], outputs: ['y'], attrs: { perm: { kind: 'ints', value: [1, 0] } } },
    ] });
    expect(r.ops).toEqual(['Transpose', 'Transpose']);
  });
  it('Squeeze/Unsqueeze pairs and Reshape chains and lossless Cast chains', () => {
    const r = run({ inputs: [['x', 'float32', [2, 1, 3]], ['i', 'int32', [4]]], outputs: [['y', 'float32'], ['z', 'float32'], ['w', 'int64']], initializers: { ax: i64([1]), s1: i64([6]), s2: i64([3, 2]) }, nodes: [
      { op: 'Squeeze', inputs: ['x', 'ax'], outputs: ['sq'] },
      { op: 'Unsqueeze', inputs: ['sq', 'ax'], outputs: ['u'] },
      { op: 'Relu', inputs: ['u'], outputs: ['y'] },
      { op: 'Reshape', inputs: ['x', 's1'], outputs: ['r1'] },
      { op: 'Reshape', inputs: ['r1', 's2'], outputs: ['z'] },
      { op: 'Cast', inputs: ['i'], outputs: ['c1'], attrs: { to: { kind: 'int', value: 11 } } },
      { op: 'Cast', inputs: ['c1'], outputs: ['w'], attrs: { to: { kind: 'int', value: 7 } } },
    ] });
    expect(r.ops.sort()).toEqual(['Cast', 'Relu', 'Reshape']);
  });
  it('keeps a lossy Cast chain (float -> int32 -> float rounds)', () => {
    const r = run({ inputs: [['x', 'float32', [4]]], outputs: [['y', 'float32']], nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['c'], attrs: { to: { kind: 'int', value: 6 } } },
      { op: 'Cast', inputs: ['c'], outputs: ['y'], attrs: { to: { kind: 'int', value: 1 } } },
    ] });
    expect(r.ops).toEqual(['Cast', 'Cast']);
  });
});

describe('common-subexpression-elimination', () => {
  it('merges equal nodes, with commutative inputs normalized', () => {
    const r = run({ inputs: [['a', 'float32', [3]], ['b', 'float32', [3]]], outputs: [['y', 'float32']], nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['s1'] },
      { op: 'Add', inputs: ['b', 'a'], outputs: ['s2'] },
      { op: 'Mul', inputs: ['s1', 's2'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Add', 'Mul']);
  });
  it('keeps Sub with swapped inputs and nodes with different attributes', () => {
    const r = run({ inputs: [['a', 'float32', [3]], ['b', 'float32', [3]]], outputs: [['y', 'float32'], ['z', 'float32']], nodes: [
      { op: 'Sub', inputs: ['a', 'b'], outputs: ['s1'] },
      { op: 'Sub', inputs: ['b', 'a'], outputs: ['s2'] },
      { op: 'Add', inputs: ['s1', 's2'], outputs: ['y'] },
      { op: 'LeakyRelu', inputs: ['a'], outputs: ['l1'], attrs: { alpha: { kind: 'float', value: 0.1 } } },
      { op: 'LeakyRelu', inputs: ['a'], outputs: ['l2'], attrs: { alpha: { kind: 'float', value: 0.2 } } },
      { op: 'Add', inputs: ['l1', 'l2'], outputs: ['z'] },
    ] });
    expect(r.ops.filter((o) => o === 'Sub').length).toBe(2);
    expect(r.ops.filter((o) => o === 'LeakyRelu').length).toBe(2);
  });
});

describe('fuse-batchnorm', () => {
  const bn = (x: string, y: string) => ({ op: 'BatchNormalization', inputs: [x, 'g', 'b', 'm', 'v'], outputs: [y], attrs: { epsilon: { kind: 'float' as const, value: 1e-3 } } });
  const bnInits = { g: f32([2], [1.5, 0.5]), b: f32([2], [0.1, -0.2]), m: f32([2], [0.3, -0.1]), v: f32([2], [2, 0.25]) };
  it('folds into Conv (with and without bias) and ConvTranspose with groups', () => {
    const r = run({ inputs: [['x', 'float32', [1, 2, 5, 5]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: { w: f32([2, 2, 3, 3], range(36)), wt: f32([2, 1, 2, 2], range(8, 0.7)), ...bnInits }, nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'] }, bn('c', 'y'),
      { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['t'], attrs: { group: { kind: 'int', value: 2 } } }, bn('t', 'z'),
    ] });
    expect(r.ops).toEqual(['Conv', 'ConvTranspose']);
  });
  it('folds into Gemm (transB) and keeps it when the Conv output is also used elsewhere', () => {
    const r = run({ inputs: [['x', 'float32', [3, 4]], ['im', 'float32', [1, 2, 4, 4]]], outputs: [['y', 'float32'], ['z', 'float32'], ['c', 'float32']], initializers: { w: f32([2, 4], range(8)), cw: f32([2, 2, 1, 1], range(4)), ...bnInits }, nodes: [
      { op: 'Gemm', inputs: ['x', 'w'], outputs: ['gm'], attrs: { transB: { kind: 'int', value: 1 } } }, bn('gm', 'y'),
      { op: 'Conv', inputs: ['im', 'cw'], outputs: ['c'] }, bn('c', 'z'),
    ] });
    expect(r.ops.sort()).toEqual(['BatchNormalization', 'Conv', 'Gemm']);
  });
  it('folds a per-channel constant Add into the Conv/ConvTranspose bias, then the BatchNormalization after it', () => {
    // Paddle2ONNX's ConvTranspose -> Add(bias [1,C,1,1]) -> BatchNormalization; a Conv with a bias and a [C,1,1] Add; a scalar Add.
    const r = run({ inputs: [['x', 'float32', [1, 2, 5, 5]]], outputs: [['y', 'float32'], ['z', 'float32'], ['s', 'float32']], initializers: { w: f32([2, 2, 3, 3], range(36)), cb: f32([2], [0.5, -1]), wt: f32([2, 1, 2, 2], range(8, 0.7)), tb: f32([1, 2, 1, 1], [0.25, 2]), cc: f32([2, 1, 1], [3, -3]), one: f32([], [1]), ...bnInits }, nodes: [
      { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['t'], attrs: { group: { kind: 'int', value: 2 }, strides: { kind: 'ints', value: [2, 2] } } },
      { op: 'Add', inputs: ['t', 'tb'], outputs: ['tplus'] }, bn('tplus', 'y'),
      { op: 'Conv', inputs: ['x', 'w', 'cb'], outputs: ['c'] }, { op: 'Add', inputs: ['cc', 'c'], outputs: ['z'] },
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c2'] }, { op: 'Add', inputs: ['c2', 'one'], outputs: ['s'] },
    ] }, { disable: ['common-subexpression-elimination'] });
    expect(r.ops).toEqual(['ConvTranspose', 'Conv', 'Conv']);
    expect(r.rewrites['fuse-batchnorm:add-into-conv-bias']).toBe(3);
  });
  it('folds a per-channel or scalar constant Mul into the Conv/ConvTranspose weight and bias, after a BatchNormalization and before a shift', () => {
    // PP-OCRv4's blocks: Conv -> BatchNormalization -> Mul(scalar) -> Add(scalar) -> HardSwish; a ConvTranspose scaled per channel.
    const r = run({ inputs: [['x', 'float32', [1, 2, 5, 5]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: { w: f32([2, 2, 3, 3], range(36)), cb: f32([2], [0.5, -1]), s: f32([1], [1.75]), t: f32([1], [-0.5]), wt: f32([2, 1, 2, 2], range(8, 0.7)), ts: f32([1, 2, 1, 1], [0.25, -2]), ...bnInits }, nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'cb'], outputs: ['c'] }, bn('c', 'n'), { op: 'Mul', inputs: ['s', 'n'], outputs: ['sc'] }, { op: 'Add', inputs: ['sc', 't'], outputs: ['sh'] },
      { op: 'HardSwish', inputs: ['sh'], outputs: ['y'] },
      { op: 'ConvTranspose', inputs: ['x', 'wt'], outputs: ['tc'], attrs: { group: { kind: 'int', value: 2 } } }, { op: 'Mul', inputs: ['tc', 'ts'], outputs: ['z'] },
    ], opset: 14 });
    expect(r.ops).toEqual(['Conv', 'HardSwish', 'ConvTranspose']);
    expect(r.rewrites['fuse-batchnorm:mul-into-conv']).toBe(2);
    expect(r.rewrites['fuse-batchnorm:bn-into-conv']).toBe(1);
    expect(r.rewrites['fuse-batchnorm:add-into-conv-bias']).toBe(1);
  });
  it('keeps a Mul that is not per-channel, reads the Conv output twice, or scales by a computed value', () => {
    const r = run({ inputs: [['x', 'float32', [1, 2, 2, 2]], ['k', 'float32', [1]]], outputs: [['y', 'float32'], ['z', 'float32'], ['c', 'float32'], ['u', 'float32']], initializers: { w: f32([2, 2, 1, 1], range(4)), row: f32([2], [1, 2]), w2: f32([2, 2, 1, 1], range(4, 0.3)), w3: f32([2, 2, 1, 1], range(4, 0.6)) }, nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['a'] }, { op: 'Mul', inputs: ['a', 'row'], outputs: ['y'] },
      { op: 'Conv', inputs: ['x', 'w2'], outputs: ['c'] }, { op: 'Mul', inputs: ['c', 'row'], outputs: ['z'] },
      { op: 'Conv', inputs: ['x', 'w3'], outputs: ['d'] }, { op: 'Mul', inputs: ['d', 'k'], outputs: ['u'] },
    ] });
    expect(r.ops.filter((o) => o === 'Mul').length).toBe(3);
  });
  it('keeps an Add that is not per-channel (a [C] constant lines up with the last axis) or reads the Conv output twice', () => {
    const r = run({ inputs: [['x', 'float32', [1, 2, 2, 2]]], outputs: [['y', 'float32'], ['z', 'float32'], ['c', 'float32']], initializers: { w: f32([2, 2, 1, 1], range(4)), row: f32([2], [1, 2]), w2: f32([2, 2, 1, 1], range(4, 0.3)) }, nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['a'] }, { op: 'Add', inputs: ['a', 'row'], outputs: ['y'] },
      { op: 'Conv', inputs: ['x', 'w2'], outputs: ['c'] }, { op: 'Add', inputs: ['c', 'row'], outputs: ['z'] },
    ] });
    expect(r.ops.filter((o) => o === 'Add').length).toBe(2);
  });
});

describe('fuse-matmul-add', () => {
  it('MatMul + bias on a 2-D input becomes Gemm', () => {
    const r = run({ inputs: [['x', 'float32', [3, 4]]], outputs: [['y', 'float32']], initializers: { w: f32([4, 5], range(20)), b: f32([5], range(5, 3)) }, nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['mm'] }, { op: 'Add', inputs: ['b', 'mm'], outputs: ['y'] },
    ] });
    expect(r.ops).toEqual(['Gemm']);
  });
  it('keeps a 3-D MatMul, a non-constant bias, and a bias that broadcasts over rows', () => {
    const r = run({ inputs: [['x', 'float32', [2, 3, 4]], ['x2', 'float32', [3, 4]], ['bias', 'float32', [5]]], outputs: [['y', 'float32'], ['z', 'float32'], ['u', 'float32']], initializers: { w: f32([4, 5], range(20)), b: f32([5], range(5)), col: f32([3, 1], [1, 2, 3]) }, nodes: [
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m1'] }, { op: 'Add', inputs: ['m1', 'b'], outputs: ['y'] },
      { op: 'MatMul', inputs: ['x2', 'w'], outputs: ['m2'] }, { op: 'Add', inputs: ['m2', 'bias'], outputs: ['z'] },
      { op: 'MatMul', inputs: ['x2', 'w'], outputs: ['m3'] }, { op: 'Add', inputs: ['m3', 'col'], outputs: ['u'] },
    ], opset: 17 }, { disable: ['common-subexpression-elimination'] });
    expect(r.ops.filter((o) => o === 'Gemm').length).toBe(0);
  });
});

describe('dead-code-elimination and levels', () => {
  it('removes unused nodes and initializers; disabled does nothing', () => {
    const spec: BuildSpec = { inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32']], initializers: { unused: f32([1], [1]) }, nodes: [
      { op: 'Relu', inputs: ['x'], outputs: ['y'] }, { op: 'Neg', inputs: ['x'], outputs: ['dead'] },
    ] };
    const r = run(spec);
    expect(r.ops).toEqual(['Relu']);
    expect(r.after.graph.initializers.size).toBe(0);
    expect(run(spec, { level: 'disabled' }).ops).toEqual(['Relu', 'Neg']);
    expect(run(spec, { level: 'disabled', enable: ['dead-code-elimination'] }).ops).toEqual(['Relu']);
  });
  it('names an unknown pass', () => {
    expect(() => optimize(buildModel({ inputs: [], outputs: [], nodes: [] }), evaluateConstantNode, { disable: ['nope'] })).toThrow(/unknown pass 'nope'/);
  });
});

describe('passes inside subgraphs (If branches, Loop bodies)', () => {
  const branch = (name: string, outs: [string, number[]][], nodes: BuildSpec['nodes'], initializers: Record<string, HostTensor> = {}): Attr => {
    const m = buildModel({ inputs: [], outputs: outs.map(([n, d]) => [n, 'float32', d]), initializers, nodes });
    return { kind: 'graph', value: { ...m.graph, name } };
  };
  const sub = (m: Model, node: number, attr: string) => (m.graph.nodes[node]!.attributes[attr] as { value: Model['graph'] }).value;
  it('fold and fuse in a branch with the enclosing scope\'s weights and types, which stay outside', () => {
    // then: MatMul(x, Unsqueeze(w)) + b, where x, w, b are all the outer graph's (x an input, w and b initializers).
    const then = branch('then', [['ty', [3, 5]]], [
      { op: 'Unsqueeze', inputs: ['w', 'ax'], outputs: ['w2'] },
      { op: 'Reshape', inputs: ['w2', 'shape'], outputs: ['w3'] },
      { op: 'MatMul', inputs: ['x', 'w3'], outputs: ['mm'] },
      { op: 'Add', inputs: ['mm', 'b'], outputs: ['ty'] },
    ], { ax: i64([0]), shape: i64([4, 5]) });
    const other = branch('else', [['ey', [3, 5]]], [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['ey'] }]);
    const r = run({ opset: 13, inputs: [['x', 'float32', [3, 4]], ['c', 'bool', []]], outputs: [['y', 'float32']], initializers: { w: f32([4, 5], range(20)), b: f32([5], range(5, 3)) }, nodes: [
      { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: then, else_branch: other } },
    ] });
    const t = sub(r.after, 0, 'then_branch');
    expect(t.nodes.map((n) => n.opType)).toEqual(['Gemm']);
    expect(r.rewrites['constant-folding:folded']).toBeGreaterThanOrEqual(2);
    // The folded weight is the branch's own; the outer ones are neither copied in nor dropped outside.
    expect([...t.initializers.keys()].some((k) => k === 'w' || k === 'b')).toBe(false);
    expect([...r.after.graph.initializers.keys()].sort()).toEqual(['b', 'w']);
    expect(r.rewrites['dead-code-elimination:unused-initializer'] ?? 0).toBe(0);
    // Both branches, against the unoptimized model (run() checked whichever branch its generated c took).
    for (const c of [true, false]) {
      const feeds = new Map<string, number[]>([['x', [3, 4]]]);
      const before = { ...r.before, graph: { ...r.before.graph, initializers: new Map([...r.before.graph.initializers, ['c', { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(c ? 1 : 0) } as HostTensor]]) } };
      const after = { ...r.after, graph: { ...r.after.graph, initializers: new Map([...r.after.graph.initializers, ['c', { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(c ? 1 : 0) } as HostTensor]]) } };
      expect(checkOutputs(before, after, feeds, true), `c = ${c}`).toBeUndefined();
    }
  });
  it('an If whose condition folds to a constant is replaced by the branch it takes, nested ones too', () => {
    // cond = (Shape(x)[0] == 3): constant for a static x. then: Relu(x) * w; its inner If (constant true)
    // yields an outer value, which becomes an Identity copy. else: Neg(x).
    const inner = branch('inner_then', [['x', [3, 4]]], []);
    const innerElse = branch('inner_else', [['ie', [3, 4]]], [{ op: 'Neg', inputs: ['x'], outputs: ['ie'] }]);
    const then = branch('then', [['ty', [3, 4]], ['tz', [3, 4]]], [
      { op: 'Relu', inputs: ['x'], outputs: ['r'] }, { op: 'Mul', inputs: ['r', 'w'], outputs: ['ty'] },
      { op: 'If', inputs: ['yes'], outputs: ['tz'], attrs: { then_branch: inner, else_branch: innerElse } },
    ], { yes: { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) } });
    const other = branch('else', [['ey', [3, 4]], ['ez', [3, 4]]], [{ op: 'Neg', inputs: ['x'], outputs: ['ey'] }, { op: 'Abs', inputs: ['x'], outputs: ['ez'] }]);
    const r = run({ opset: 13, inputs: [['x', 'float32', [3, 4]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: { w: f32([4], range(4)), zero: i64([0]), three: i64([3]) }, nodes: [
      { op: 'Shape', inputs: ['x'], outputs: ['s'] }, { op: 'Gather', inputs: ['s', 'zero'], outputs: ['n'] },
      { op: 'Equal', inputs: ['n', 'three'], outputs: ['c1'] }, { op: 'Squeeze', inputs: ['c1'], outputs: ['c'] },
      { op: 'If', inputs: ['c'], outputs: ['y', 'z'], attrs: { then_branch: then, else_branch: other } },
    ] });
    expect(r.ops.sort()).toEqual(['Identity', 'Mul', 'Relu']);
    expect(r.rewrites['constant-folding:if-inlined']).toBe(2);
    expect(r.after.graph.nodes.find((n) => n.opType === 'Mul')!.outputs).toEqual(['y']);
  });
  it('keeps an If whose condition is a graph input, and one whose branch would shadow an outer name', () => {
    const then = branch('then', [['y1', [2]]], [{ op: 'Relu', inputs: ['x'], outputs: ['y1'] }]);
    const other = branch('else', [['y2', [2]]], [{ op: 'Neg', inputs: ['x'], outputs: ['y2'] }]);
    const r = run({ opset: 13, inputs: [['x', 'float32', [2]], ['c', 'bool', []]], outputs: [['y', 'float32']], nodes: [
      { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: then, else_branch: other } },
    ] });
    expect(r.ops).toEqual(['If']);
    const shadow = branch('then', [['y1', [2]]], [{ op: 'Relu', inputs: ['x'], outputs: ['a'] }, { op: 'Neg', inputs: ['a'], outputs: ['y1'] }]);
    const built = buildModel({ opset: 13, inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32'], ['a', 'float32']], initializers: { t: { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) } }, nodes: [
      { op: 'Abs', inputs: ['x'], outputs: ['a'] },
      { op: 'If', inputs: ['t'], outputs: ['y'], attrs: { then_branch: shadow, else_branch: other } },
    ] });
    const { model } = optimize(built, evaluateConstantNode, { verify: true });
    expect(model.graph.nodes.map((n) => n.opType)).toContain('If');
  });
  it('a body input that shadows an outer initializer is not a constant there', () => {
    // Loop body: v_out = v + one, where the body's input v hides the outer initializer v.
    const body = buildModel({ inputs: [['i', 'int64', []], ['cin', 'bool', []], ['v', 'float32', [2]]], outputs: [['cout', 'bool', []], ['vout', 'float32', [2]]], nodes: [
      { op: 'Identity', inputs: ['cin'], outputs: ['cout'] },
      { op: 'Add', inputs: ['v', 'one'], outputs: ['vout'] },
    ] }).graph;
    const r = run({ opset: 13, inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: { v: f32([2], [1, 2]), one: f32([2], [1, 1]), n: i64([3]), t: { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) } }, nodes: [
      { op: 'Loop', inputs: ['n', 't', 'x'], outputs: ['y'], attrs: { body: { kind: 'graph', value: { ...body, name: 'body' } } } },
      { op: 'Add', inputs: ['x', 'v'], outputs: ['z'] },
    ] });
    expect(sub(r.after, 0, 'body').nodes.map((n) => n.opType)).toContain('Add');
  });
});

describe('fuse-patterns', () => {
  const f = (name: string, v: number) => ({ [name]: f32([], [v]) });
  const axesAttrs = (on: boolean): Record<string, Attr> => (on ? { axes: { kind: 'ints', value: [-1] } } : {});
  const lnNodes = (axesAttr: boolean): BuildSpec['nodes'] => [
    { op: 'ReduceMean', inputs: axesAttr ? ['x'] : ['x', 'ax'], outputs: ['mean'], attrs: axesAttrs(axesAttr) },
    { op: 'Sub', inputs: ['x', 'mean'], outputs: ['d'] },
    { op: 'Pow', inputs: ['d', 'two'], outputs: ['sq'] },
    { op: 'ReduceMean', inputs: axesAttr ? ['sq'] : ['sq', 'ax'], outputs: ['var'], attrs: axesAttrs(axesAttr) },
    { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
    { op: 'Sqrt', inputs: ['ve'], outputs: ['sd'] },
    { op: 'Div', inputs: ['d', 'sd'], outputs: ['n'] },
    { op: 'Mul', inputs: ['n', 'g'], outputs: ['m'] },
    { op: 'Add', inputs: ['m', 'b'], outputs: ['y'] },
  ];
  const lnInits = { ...f('two', 2), ...f('eps', 1e-5), ax: i64([-1]), g: f32([4], [1, 2, 0.5, -1]), b: f32([4], [0.1, 0, -0.2, 0.3]) };
  it('fuses the exported layer-norm subgraph into LayerNormalization (opset 18, axes as input)', () => {
    const r = run({ opset: 18, inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32']], initializers: lnInits, nodes: lnNodes(false) });
    expect(r.ops).toEqual(['LayerNormalization']);
  });
  it('fuses with axes as an attribute (opset 17), and not below opset 17', () => {
    const spec = { inputs: [['x', 'float32', [2, 3, 4]]] as [string, 'float32', number[]][], outputs: [['y', 'float32']] as [string, 'float32'][], initializers: lnInits, nodes: lnNodes(true) };
    expect(run({ ...spec, opset: 17 }).ops).toEqual(['LayerNormalization']);
    expect(run({ ...spec, opset: 13 }).ops).not.toContain('LayerNormalization');
  });
  it('does not fuse when an intermediate is also a graph output or read inside a subgraph', () => {
    const r = run({ opset: 18, inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32'], ['d', 'float32']], initializers: lnInits, nodes: lnNodes(false) });
    expect(r.ops).not.toContain('LayerNormalization');
    const branch = (name: string, op: string): Attr => ({ kind: 'graph', value: { ...buildModel({ inputs: [], outputs: [[`${name}_y`, 'float32', [2, 3, 4]]], nodes: [{ op, inputs: ['d'], outputs: [`${name}_y`] }] }).graph, name } });
    const inIf = run({ opset: 18, inputs: [['x', 'float32', [2, 3, 4]], ['c', 'bool', []]], outputs: [['y', 'float32'], ['z', 'float32']], initializers: lnInits, nodes: [
      ...lnNodes(false), { op: 'If', inputs: ['c'], outputs: ['z'], attrs: { then_branch: branch('then', 'Neg'), else_branch: branch('else', 'Abs') } },
    ] });
    expect(inIf.ops).not.toContain('LayerNormalization');
  });
  it('fuses the square written as Mul(d, d)', () => {
    const nodes = lnNodes(false).map((n) => (n.op === 'Pow' ? { op: 'Mul', inputs: ['d', 'd'], outputs: ['sq'] } : n));
    expect(run({ opset: 18, inputs: [['x', 'float32', [2, 3, 4]]], outputs: [['y', 'float32']], initializers: lnInits, nodes }).ops).toEqual(['LayerNormalization']);
  });
  it('fuses x * 0.5 * (1 + erf(x / sqrt 2)) into Gelu (opset 20 only)', () => {
    const spec = { inputs: [['x', 'float32', [2, 5]]] as [string, 'float32', number[]][], outputs: [['y', 'float32']] as [string, 'float32'][], initializers: { ...f('r2', Math.SQRT2), ...f('one', 1), ...f('half', 0.5) }, nodes: [
      { op: 'Div', inputs: ['x', 'r2'], outputs: ['s'] }, { op: 'Erf', inputs: ['s'], outputs: ['e'] },
      { op: 'Add', inputs: ['e', 'one'], outputs: ['p'] }, { op: 'Mul', inputs: ['x', 'p'], outputs: ['xp'] },
      { op: 'Mul', inputs: ['xp', 'half'], outputs: ['y'] },
    ] };
    expect(run({ ...spec, opset: 20 }).ops).toEqual(['Gelu']);
    expect(run({ ...spec, opset: 18 }).ops).not.toContain('Gelu');
  });
  it('fuses x * HardSigmoid(x, 1/6, 0.5) into HardSwish, not with other HardSigmoid parameters', () => {
    const spec = (alpha: number) => ({ opset: 14, inputs: [['x', 'float32', [6]]] as [string, 'float32', number[]][], outputs: [['y', 'float32']] as [string, 'float32'][], nodes: [
      { op: 'HardSigmoid', inputs: ['x'], outputs: ['h'], attrs: { alpha: { kind: 'float' as const, value: alpha }, beta: { kind: 'float' as const, value: 0.5 } } },
      { op: 'Mul', inputs: ['x', 'h'], outputs: ['y'] },
    ] });
    expect(run(spec(1 / 6)).ops).toEqual(['HardSwish']);
    expect(run(spec(0.2)).ops).toEqual(['HardSigmoid', 'Mul']);
  });

  // Exp(x - ReduceMax(x, a)) / ReduceSum(Exp(...), a): axes are attributes of ReduceMax before 18 and of ReduceSum before 13.
  const smNodes = (opset: number, maxAxis: number, sumAxis: number, keep = 1): BuildSpec['nodes'] => {
    const k = { keepdims: { kind: 'int' as const, value: keep } };
    const ax = (a: number): Record<string, Attr> => ({ axes: { kind: 'ints', value: [a] } });
    return [
      opset >= 18 ? { op: 'ReduceMax', inputs: ['x', 'amax'], outputs: ['m'], attrs: k } : { op: 'ReduceMax', inputs: ['x'], outputs: ['m'], attrs: { ...k, ...ax(maxAxis) } },
      { op: 'Sub', inputs: ['x', 'm'], outputs: ['d'] },
      { op: 'Exp', inputs: ['d'], outputs: ['e'] },
      opset >= 13 ? { op: 'ReduceSum', inputs: ['e', 'asum'], outputs: ['s'], attrs: k } : { op: 'ReduceSum', inputs: ['e'], outputs: ['s'], attrs: { ...k, ...ax(sumAxis) } },
      { op: 'Div', inputs: ['e', 's'], outputs: ['y'] },
    ];
  };
  const sm = (opset: number, maxAxis: number, sumAxis: number, opts: { keep?: number; outputs?: string[] } = {}) => run({
    opset, inputs: [['x', 'float32', [2, 3, 4]]], outputs: (opts.outputs ?? ['y']).map((o) => [o, 'float32']),
    initializers: { amax: i64([maxAxis]), asum: i64([sumAxis]) }, nodes: smNodes(opset, maxAxis, sumAxis, opts.keep),
  });
  it('fuses the exported softmax subgraph into Softmax on any single axis from opset 13', () => {
    for (const opset of [13, 18]) {
      const r = sm(opset, 1, -2);
      expect(r.ops).toEqual(['Softmax']);
      expect(r.after.graph.nodes[0]!.attributes.axis).toEqual({ kind: 'int', value: 1 });
      expect(r.rewrites['fuse-patterns:Softmax']).toBe(1);
    }
  });
  it('before opset 13 fuses only a softmax over the last axis (older Softmax flattens from its axis)', () => {
    expect(sm(11, -1, 2).ops).toEqual(['Softmax']);
    expect(sm(9, 2, 2).ops).toEqual(['Softmax']);
    expect(sm(11, 1, 1).ops).not.toContain('Softmax');
  });
  it('does not fuse over different axes, without keepdims, or when exp(...) is also an output', () => {
    expect(sm(13, 1, 2).ops).not.toContain('Softmax');
    expect(sm(13, 0, 0, { keep: 0 }).ops).not.toContain('Softmax'); // [3,4] still broadcasts: a different function
    expect(sm(13, 2, 2, { outputs: ['y', 'e'] }).ops).not.toContain('Softmax');
  });
});
