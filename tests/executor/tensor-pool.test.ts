// Recycled intermediate buffers (graph/tensor-pool.ts): sequential runs give the same outputs with the
// pool on and off, outputs handed to the caller are never reused (also when they alias an intermediate
// through Reshape or Identity; a value put in a sequence leaves the run's ownership), and the pool does
// fill between runs.
import { afterAll, describe, expect, it } from 'vitest';
import { clearTensorPool, pooledTensorBytes, setTensorPool } from '../../graph/tensor-pool.js';
import { exportModel } from '../../graph/onnx/export.js';
import { InferenceSession, Tensor } from '../../src/index.js';
import { buildModel } from '../helpers/build.js';
import { f32 } from './graphs.js';

const N = 128 * 128; // 64 KiB per float32 tensor: above the pool's size floor

async function runAll(pool: boolean): Promise<Float32Array[][]> {
  const prev = setTensorPool(pool);
  try {
    const s = await InferenceSession.create(modelBytes(), { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    const outs: Float32Array[][] = [];
    const held: Record<string, Tensor>[] = [];
    for (let r = 0; r < 3; r++) {
      const x = f32([128, 128], 11 + r);
      const o = await s.run({ x: new Tensor('float32', x.data, [128, 128]) });
      held.push(o);
      if (pool && r === 0) expect(pooledTensorBytes()).toBeGreaterThan(0);
    }
    // Read the outputs only after every run: a reused buffer would show the last run's values.
    for (const o of held) outs.push(['y1', 'y2', 'y3', 'y4'].map((k) => Float32Array.from(o[k]!.data as Float32Array)));
    await s.release();
    return outs;
  } finally {
    setTensorPool(prev);
  }
}

let bytes: Uint8Array | undefined;
function modelBytes(): Uint8Array {
  if (bytes) return bytes;
  const scalar = (v: number) => ({ kind: 'tensor' as const, dtype: 'float32' as const, dims: [1], data: Float32Array.of(v) });
  const m = buildModel({
    inputs: [['x', 'float32', [128, 128]]],
    outputs: [['y1', 'float32', [N]], ['y2', 'float32', [128, 128]], ['y3', 'float32', [128, 128]], ['y4', 'float32', [128, 128]]],
    initializers: {
      one: scalar(1), two: scalar(2),
      shape: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(N)) },
      zero: { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(0n) },
    },
    nodes: [
      { op: 'Add', inputs: ['x', 'one'], outputs: ['a'] },
      { op: 'Mul', inputs: ['a', 'two'], outputs: ['b'] },
      // y1 aliases b's buffer; b dies at the Sigmoid, y1 must keep it.
      { op: 'Reshape', inputs: ['b', 'shape'], outputs: ['y1'] },
      { op: 'Sigmoid', inputs: ['b'], outputs: ['c'] },
      { op: 'Relu', inputs: ['c'], outputs: ['d'] },
      { op: 'Add', inputs: ['d', 'x'], outputs: ['y2'] },
      // a goes into a sequence: its buffer leaves the run's ownership.
      { op: 'SequenceConstruct', inputs: ['a'], outputs: ['s'] },
      { op: 'SequenceAt', inputs: ['s', 'zero'], outputs: ['a2'] },
      { op: 'Sub', inputs: ['a2', 'd'], outputs: ['e'] },
      { op: 'Identity', inputs: ['e'], outputs: ['y3'] },
      { op: 'Neg', inputs: ['e'], outputs: ['f'] },
      { op: 'Mul', inputs: ['f', 'a'], outputs: ['y4'] },
    ],
    opset: 17,
  });
  bytes = exportModel(m);
  return bytes;
}

/**
 * Small tensors (above the 128-byte floor) recycled inside subgraphs: an If branch whose output aliases a
 * dead intermediate, and a Loop whose carried value is also a scan output (a feed of the next iteration
 * that the Loop still holds, so the body must not recycle it).
 */
function subgraphModel(): Uint8Array {
  const t = (name: string, shape: number[]) => ({ name, type: { kind: 'tensor' as const, dtype: 'float32' as const, shape } });
  const node = (opType: string, inputs: string[], outputs: string[], attributes = {}) => ({ name: `${opType}_${outputs[0]}`, opType, domain: '', inputs, outputs, attributes });
  const branch = (k: number) => ({
    name: `b${k}`, inputs: [], outputs: [t(`o${k}`, [64])], initializers: new Map(), valueInfo: new Map(),
    nodes: [
      node('Add', ['x', 'one'], [`p${k}`]), node('Mul', [`p${k}`, k ? 'two' : 'one'], [`q${k}`]), node('Sigmoid', [`q${k}`], [`r${k}`]),
      node('Add', [`r${k}`, `p${k}`], [`u${k}`]), node('Reshape', [`u${k}`, 'flat'], [`o${k}`]),
    ],
  });
  const body = {
    name: 'body', inputs: [t('i', []), { name: 'cin', type: { kind: 'tensor' as const, dtype: 'bool' as const, shape: [] } }, t('acc', [8, 8])],
    // The carried value is also the scan output (the same value twice), so the Loop holds every iteration's.
    outputs: [{ name: 'cout', type: { kind: 'tensor' as const, dtype: 'bool' as const, shape: [] } }, t('acc2', [8, 8]), t('acc2', [8, 8])],
    initializers: new Map(), valueInfo: new Map(),
    nodes: [
      node('Identity', ['cin'], ['cout']), node('Mul', ['acc', 'two'], ['m']), node('Add', ['m', 'y8'], ['n']),
      node('Neg', ['n'], ['acc2']),
    ],
  };
  const model = buildModel({
    inputs: [['x', 'float32', [8, 8]], ['c', 'bool', []]],
    outputs: [['y', 'float32', [64]], ['last', 'float32', [8, 8]], ['scans', 'float32', [3, 8, 8]]],
    initializers: {
      one: { kind: 'tensor', dtype: 'float32', dims: [1], data: Float32Array.of(1) },
      two: { kind: 'tensor', dtype: 'float32', dims: [1], data: Float32Array.of(2) },
      flat: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(64n) },
      sq: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(8n, 8n) },
      trips: { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(3n) },
      yes: { kind: 'tensor', dtype: 'bool', dims: [], data: Uint8Array.of(1) },
    },
    nodes: [
      { op: 'If', inputs: ['c'], outputs: ['y'], attrs: { then_branch: { kind: 'graph', value: branch(0) }, else_branch: { kind: 'graph', value: branch(1) } } },
      { op: 'Reshape', inputs: ['y', 'sq'], outputs: ['y8'] },
      { op: 'Loop', inputs: ['trips', 'yes', 'x'], outputs: ['last', 'scans'], attrs: { body: { kind: 'graph', value: body } } },
    ],
    opset: 17,
  });
  return exportModel(model);
}

describe('tensor pool', () => {
  it('recycles small buffers inside If and Loop bodies without reusing a held one', async () => {
    const runs = async (pool: boolean) => {
      const prev = setTensorPool(pool);
      try {
        const s = await InferenceSession.create(subgraphModel(), { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
        const held: Record<string, Tensor>[] = [];
        for (let r = 0; r < 4; r++) held.push(await s.run({ x: new Tensor('float32', f32([8, 8], 5 + r).data, [8, 8]), c: new Tensor('bool', Uint8Array.of(r % 2), []) }));
        await s.release();
        return held.map((o) => ['y', 'last', 'scans'].map((k) => Float32Array.from(o[k]!.data as Float32Array)));
      } finally {
        setTensorPool(prev);
      }
    };
    const want = await runs(false);
    const got = await runs(true);
    expect(got).toEqual(want);
    // The oracle: y = sigmoid(k(x+1)) + x + 1 with k = 2 on the else branch (runs 0 and 2).
    const x = f32([8, 8], 5).data;
    for (const i of [0, 17, 63]) expect(want[0]![0]![i]).toBeCloseTo(1 / (1 + Math.exp(-2 * (x[i]! + 1))) + x[i]! + 1, 5);
    // Each scan slice is the carried value after that iteration: acc' = -(2 acc + y8).
    const y = want[0]![0]!;
    let acc = Float64Array.from(x);
    for (let it = 0; it < 3; it++) {
      acc = acc.map((a, i) => -(2 * a + y[i]!));
      for (const i of [0, 40]) expect(want[0]![2]![it * 64 + i]).toBeCloseTo(acc[i]!, 4);
    }
  });
  afterAll(() => clearTensorPool());
  it('gives the same outputs with and without recycling, and never reuses a returned buffer', async () => {
    const want = await runAll(false);
    const got = await runAll(true);
    for (let r = 0; r < 3; r++) {
      for (let k = 0; k < 4; k++) {
        expect(got[r]![k]!.length).toBe(k === 0 ? N : 128 * 128);
        expect(got[r]![k], `run ${r} output ${k}`).toEqual(want[r]![k]);
      }
    }
    // The runs differ, so an output overwritten by a later run would have been caught above.
    expect(want[0]![1]).not.toEqual(want[1]![1]);
    // And the oracle itself is right: y2 = relu(sigmoid(2(x+1))) + x.
    const x = f32([128, 128], 11).data;
    for (const i of [0, 1, 777, N - 1]) expect(want[0]![1]![i]).toBeCloseTo(1 / (1 + Math.exp(-2 * (x[i]! + 1))) + x[i]!, 5);
  });
  it('recycles within a run: a chain of same-size ops settles on a few buffers', async () => {
    clearTensorPool();
    const s = await InferenceSession.create(modelBytes(), { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    await s.run({ x: new Tensor('float32', f32([128, 128], 3).data, [128, 128]) });
    const after1 = pooledTensorBytes();
    await s.run({ x: new Tensor('float32', f32([128, 128], 4).data, [128, 128]) });
    // The second run took its intermediates from the pool and gave them back: the pool does not grow.
    expect(after1).toBeGreaterThan(0);
    expect(pooledTensorBytes()).toBe(after1);
    await s.release();
  });
});
