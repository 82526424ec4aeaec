// The onnxruntime-compatible surface: Tensor and InferenceSession behave like onnxruntime's.
import { describe, expect, it } from 'vitest';
import { InferenceSession, InputError, Tensor } from '../../src/index.js';
import { buildBytes } from '../helpers/build.js';
import { ort } from '../helpers/ort.js';

describe('Tensor', () => {
  it('holds type, data, dims and size like onnxruntime', () => {
    const t = new Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const o = new ort.Tensor('float32', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect([t.type, [...t.dims], t.size, t.location]).toEqual([o.type, [...o.dims], o.size, o.location]);
    expect(new Tensor('int64', [1, 2]).data).toBeInstanceOf(BigInt64Array);
    expect(new Tensor('bool', [true, false]).data).toEqual(new Uint8Array([1, 0]));
    expect(new Tensor(['a', 'b']).type).toBe('string');
    expect(new Tensor(new Int32Array(4)).dims).toEqual([4]);
  });
  it('refuses data that does not fit', () => {
    expect(() => new Tensor('float32', new Float32Array(5), [2, 3])).toThrow(/5 elements.*\[2,3\]/);
    expect(() => new Tensor('float32', new Int32Array(6), [2, 3])).toThrow(InputError);
    expect(() => new Tensor('complex' as 'float32', new Float32Array(1))).toThrow(/unknown tensor type/);
  });
  it('getData, dispose and using', async () => {
    const t = new Tensor('float32', new Float32Array([1]), [1]);
    expect(await t.getData()).toEqual(new Float32Array([1]));
    {
      using u = new Tensor('float32', new Float32Array([2]), [1]);
      expect(u.disposed).toBe(false);
    }
    t.dispose();
    expect(() => t.data).toThrow(/disposed/);
  });
});

describe('InferenceSession', () => {
  const bytes = buildBytes({
    inputs: [['a', 'float32', ['N', 3]], ['b', 'float32', [3]]],
    outputs: [['sum', 'float32'], ['prod', 'float32']],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Mul', inputs: ['a', 'b'], outputs: ['prod'] },
    ],
  });
  it('reports names and metadata, and runs like onnxruntime-node', async () => {
    const s = await InferenceSession.create(bytes);
    const o = await ort.InferenceSession.create(bytes);
    expect(s.inputNames).toEqual(o.inputNames);
    expect(s.outputNames).toEqual(o.outputNames);
    expect(s.inputMetadata[0]).toMatchObject({ name: 'a', isTensor: true, type: 'float32', shape: ['N', 3] });
    const a = Float32Array.from({ length: 6 }, (_, i) => i - 2.5);
    const b = Float32Array.from([0.5, -1, 2]);
    const got = await s.run({ a: new Tensor('float32', a, [2, 3]), b: new Tensor('float32', b, [3]) });
    const want = await o.run({ a: new ort.Tensor('float32', a, [2, 3]), b: new ort.Tensor('float32', b, [3]) });
    for (const k of ['sum', 'prod']) {
      expect(got[k]!.dims).toEqual(want[k]!.dims);
      expect(got[k]!.data).toEqual(want[k]!.data);
    }
  });
  it('fetches only what is asked, by list or by object', async () => {
    const s = await InferenceSession.create(bytes);
    const feeds = { a: new Tensor('float32', new Float32Array(3), [1, 3]), b: new Tensor('float32', new Float32Array(3), [3]) };
    expect(Object.keys(await s.run(feeds, ['prod']))).toEqual(['prod']);
    expect(Object.keys(await s.run(feeds, { sum: null }))).toEqual(['sum']);
    await expect(s.run(feeds, ['nope'])).rejects.toThrow(/'nope' is not an output/);
  });
  it('freeDimensionOverrides fixes named symbolic dims (as onnxruntime-node does); bad sizes and unknown names are typed errors', async () => {
    const s = await InferenceSession.create(bytes, { freeDimensionOverrides: { N: 2 } });
    const o = await ort.InferenceSession.create(bytes, { freeDimensionOverrides: { N: 2 } });
    const a = Float32Array.from({ length: 6 }, (_, i) => i * 0.75 - 2);
    const b = Float32Array.from([1.5, -2, 0.25]);
    const got = await s.run({ a: new Tensor('float32', a, [2, 3]), b: new Tensor('float32', b, [3]) });
    const want = await o.run({ a: new ort.Tensor('float32', a, [2, 3]), b: new ort.Tensor('float32', b, [3]) });
    expect(got.sum!.data).toEqual(want.sum!.data);
    // A feed of another size no longer fits the plan: a typed error (onnxruntime-node runs it anyway).
    const three = { a: new Tensor('float32', new Float32Array(9), [3, 3]), b: new Tensor('float32', b, [3]) };
    await expect(s.run(three)).rejects.toThrow(/input 'a' dim 0 should be 2/);
    for (const bad of [0, -5, 1.5, Number.NaN]) {
      await expect(InferenceSession.create(bytes, { freeDimensionOverrides: { N: bad } })).rejects.toThrow(/freeDimensionOverrides\['N'\] is .*positive integer/);
    }
    await expect(InferenceSession.create(bytes, { freeDimensionOverrides: { M: 2 } })).rejects.toThrow(/no input has a dim of that name \(symbolic dims: N\)/);
  });
  it('refuses runs after release', async () => {
    const s = await InferenceSession.create(bytes);
    await s.release();
    await expect(s.run({})).rejects.toThrow(/released/);
  });
  it('an aborted signal or an expired timeout rejects the run', async () => {
    const s = await InferenceSession.create(bytes);
    const feeds = { a: new Tensor('float32', new Float32Array(3), [1, 3]), b: new Tensor('float32', new Float32Array(3), [3]) };
    const ctl = new AbortController();
    ctl.abort();
    await expect(s.run(feeds, { signal: ctl.signal })).rejects.toThrow(/aborted/);
  });
});
