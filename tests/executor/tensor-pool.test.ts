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

describe('tensor pool', () => {
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
