// The graph analyses on small hand-built graphs with known answers.
import { describe, expect, it } from 'vitest';
import { analyzeModel, checkPlan, formatAnalysis, partitionModel, planMemory } from '../../graph/analysis/index.js';
import { inferGraph } from '../../graph/infer.js';
import type { Model } from '../../graph/ir.js';
import { makeTensor } from '../../graph/tensor.js';
import { buildModel, type BuildSpec } from '../helpers/build.js';

function typed(spec: BuildSpec): Model {
  const m = buildModel(spec);
  inferGraph(m.graph, { opsets: m.opsets, strict: true });
  return m;
}

const F = 'float32' as const;
const W = makeTensor('float32', [8, 8], new Float32Array(64));

/** x -> MatMul -> MatMul -> a (costly) ; x -> Relu -> b (cheap): two branches sharing only x. */
const twoBranches = (): Model => typed({
  inputs: [['x', F, [4, 8]]],
  outputs: [['a', F], ['b', F]],
  initializers: { w: W },
  nodes: [
    { op: 'MatMul', inputs: ['x', 'w'], outputs: ['m1'], name: 'mm1' },
    { op: 'Relu', inputs: ['x'], outputs: ['b'], name: 'relu' },
    { op: 'MatMul', inputs: ['m1', 'w'], outputs: ['a'], name: 'mm2' },
  ],
});

describe('parallel partitioning', () => {
  it('two independent branches form two partitions; the critical path is the costlier one', () => {
    const r = partitionModel(twoBranches());
    expect(r.branches.map((b) => b.nodes).sort()).toEqual([1, 2]);
    expect(r.stages).toEqual([[0, 1], [2]]);
    expect(r.maxStageWidth).toBe(2);
    // MatMul [4,8]x[8,8]: 2·32·8 = 512 FLOPs each; Relu: 32.
    expect(r.costs).toEqual([512, 32, 512]);
    expect(r.criticalPath.nodes.map((i) => r.names[i])).toEqual(['mm1', 'mm2']);
    expect(r.criticalPath.cost).toBe(1024);
    expect(r.chains).toEqual([[0, 2], [1]]);
  });
  it('a diamond is one branch with a two-wide stage', () => {
    const m = typed({
      inputs: [['x', F, [2, 3]]],
      outputs: [['y', F]],
      nodes: [
        { op: 'Exp', inputs: ['x'], outputs: ['e'] },
        { op: 'Relu', inputs: ['e'], outputs: ['p'] },
        { op: 'Sigmoid', inputs: ['e'], outputs: ['q'] },
        { op: 'Add', inputs: ['p', 'q'], outputs: ['y'] },
      ],
    });
    const r = partitionModel(m);
    expect(r.branches.length).toBe(1);
    expect(r.stages.map((s) => s.length)).toEqual([1, 2, 1]);
    expect(r.criticalPath.nodes.length).toBe(3);
    expect(r.chains.length).toBe(4);
  });
  it('islands and copies for a given placement', () => {
    // gpu: Exp, Relu ; cpu: Sigmoid ; gpu: Add. e goes gpu->cpu once, q cpu->gpu once.
    const m = typed({
      inputs: [['x', F, [2, 3]]],
      outputs: [['y', F]],
      nodes: [
        { op: 'Exp', inputs: ['x'], outputs: ['e'] },
        { op: 'Relu', inputs: ['e'], outputs: ['p'] },
        { op: 'Sigmoid', inputs: ['e'], outputs: ['q'] },
        { op: 'Neg', inputs: ['e'], outputs: ['r'] },
        { op: 'Add', inputs: ['p', 'q'], outputs: ['s'] },
        { op: 'Add', inputs: ['s', 'r'], outputs: ['y'] },
      ],
    });
    const r = partitionModel(m, { placeNode: (n) => (n.opType === 'Sigmoid' || n.opType === 'Neg' ? 'cpu' : 'gpu') });
    const i = r.islands!;
    // gpu {Exp, Relu, Add, Add} is connected through gpu edges (e->p->s->y); cpu {Sigmoid} and {Neg} are not joined.
    expect(i.islands.map((x) => [x.device, x.nodes])).toEqual([['gpu', 4], ['cpu', 1], ['cpu', 1]]);
    // e to the cpu once (shared by Sigmoid and Neg), q and r back to the gpu.
    expect(i.copies).toBe(3);
    expect(i.uploads).toBe(1);
    expect(i.downloads).toBe(1);
    const all = partitionModel(m, { placeNode: () => 'cpu' }).islands!;
    expect([all.islands.length, all.copies, all.uploads, all.downloads]).toEqual([1, 0, 0, 0]);
  });
});

const chain = (op: string): Model => typed({
  inputs: [['x', F, [2, 4]]],
  outputs: [['d', F]],
  nodes: ['a', 'b', 'c', 'd'].map((o, i) => ({ op, inputs: [i ? 'abcd'[i - 1]! : 'x'], outputs: [o], ...(op === 'Softmax' ? { attrs: { axis: { kind: 'int' as const, value: 1 } } } : {}) })),
});

describe('memory planning', () => {
  it('a chain plans to 2 buffers with reuse', () => {
    const p = planMemory(chain('Softmax'));
    expect(p.buffers.length).toBe(2);
    expect(p.buffers.map((b) => b.values)).toEqual([['a', 'c'], ['b', 'd']]);
    expect(p.plannedBytes).toBe(64);
    expect(p.totalBytes).toBe(128);
    expect(p.inPlaceCount).toBe(0);
    expect(checkPlan(p)).toEqual([]);
  });
  it('a Relu chain runs in place in one buffer', () => {
    const p = planMemory(chain('Relu'));
    expect(p.buffers.length).toBe(1);
    expect(p.values.map((v) => v.inPlaceOf ?? null)).toEqual([null, 'a', 'b', 'c']);
    expect(p.plannedBytes).toBe(32);
    expect(checkPlan(p)).toEqual([]);
    expect(planMemory(chain('Relu'), { inPlace: false }).buffers.length).toBe(2);
  });
  it('no in-place when the input lives on or the shapes differ', () => {
    const m = typed({
      inputs: [['x', F, [2, 4]], ['z', F, [4]]],
      outputs: [['y', F], ['w', F]],
      nodes: [
        { op: 'Exp', inputs: ['x'], outputs: ['e'] },
        { op: 'Relu', inputs: ['e'], outputs: ['r'] }, // e is read later: not in place
        { op: 'Add', inputs: ['e', 'r'], outputs: ['y'] }, // e dies here, same shape: in place
        { op: 'Exp', inputs: ['z'], outputs: ['ez'] },
        { op: 'Add', inputs: ['ez', 'y'], outputs: ['w'] }, // ez [4] dies but is smaller; y is a graph output
      ],
    });
    const p = planMemory(m);
    const by = new Map(p.values.map((v) => [v.name, v]));
    expect(by.get('r')!.inPlaceOf).toBeUndefined();
    expect(by.get('y')!.inPlaceOf).toBe('e');
    expect(by.get('w')!.inPlaceOf).toBeUndefined();
    expect(checkPlan(p)).toEqual([]);
  });
  it('the planned peak equals a hand-computed value', () => {
    // x[1,16] -> MatMul(w1[16,64]) -> h[1,64] 256 B ; Softmax -> s 256 B ; MatMul(w2[64,8]) -> o[1,8] 32 B;
    // Sigmoid(o) -> y[1,8] 32 B (in place of o). h -> buf0 (256); s -> buf1 (256); h dies at node 1;
    // o -> buf0 (best fit, 32 <= 256); y in place in buf0. Planned 512 B; every value 256+256+32+32 = 576 B.
    const m = typed({
      inputs: [['x', F, [1, 16]]],
      outputs: [['y', F]],
      initializers: { w1: makeTensor('float32', [16, 64], new Float32Array(1024)), w2: makeTensor('float32', [64, 8], new Float32Array(512)) },
      nodes: [
        { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h'] },
        { op: 'Softmax', inputs: ['h'], outputs: ['s'] },
        { op: 'MatMul', inputs: ['s', 'w2'], outputs: ['o'] },
        { op: 'Sigmoid', inputs: ['o'], outputs: ['y'] },
      ],
    });
    const p = planMemory(m);
    expect(p.buffers.map((b) => [b.size, b.values])).toEqual([[256, ['h', 'o', 'y']], [256, ['s']]]);
    expect(p.plannedBytes).toBe(512);
    expect(p.totalBytes).toBe(576);
    expect(p.liveLowerBound).toBe(512);
    expect(p.weightBytes).toBe(4096 + 2048);
    expect(p.inputBytes).toBe(64);
  });
  it('symbolic dims take a binding or count as 1, and the report says so', () => {
    const m = buildModel({ inputs: [['x', F, ['N', 4]]], outputs: [['y', F]], nodes: [{ op: 'Softmax', inputs: ['x'], outputs: ['t'] }, { op: 'Softmax', inputs: ['t'], outputs: ['y'] }] });
    const loose = analyzeModel(m);
    expect(loose.memory.totalBytes).toBe(32);
    expect(loose.memory.unboundDims).toEqual(['N']);
    expect(formatAnalysis(loose)).toMatch(/symbolic dims N unbound: counted as 1/);
    const bound = analyzeModel(m, { dims: { N: 10 } });
    expect(bound.memory.totalBytes).toBe(320);
    expect(bound.memory.unboundDims).toEqual([]);
    expect(m.graph.valueInfo.size).toBe(0); // the model is not modified
  });
});
