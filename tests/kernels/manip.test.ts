// Manip kernels against onnxruntime-node for what the ONNX node tests miss: older opsets (attributes that
// became inputs), non-float dtypes (int64, string, bool, float16 bits), reductions, edge cases; and typed errors.
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../graph/errors.js';
import { float, int, ints, iota, runOne, str, t, tensorAttr } from './manip-helpers.js';

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

describe('manip kernels vs onnxruntime-node', () => {
  it('Slice opset 1 (attributes) and opset 13 (negative steps, INT64 ends, int64 and string data)', async () => {
    await runOne('Slice', ['x'], { x: iota('float32', [4, 5, 3]) }, { starts: ints([1, -4]), ends: ints([1000, -1]), axes: ints([0, 1]) }, 1);
    const se = { s: t('int64', [2], [-1, 4]), e: t('int64', [2], [INT64_MIN, -INT64_MAX]), a: t('int64', [2], [0, -1]), st: t('int64', [2], [-2, -1]) };
    await runOne('Slice', ['x', 's', 'e', 'a', 'st'], { x: iota('int64', [5, 6]), ...se }, {}, 13);
    await runOne('Slice', ['x', 's', 'e', 'a', 'st'], { x: iota('string', [5, 6]), ...se }, {}, 13);
    const [y] = await runOne('Slice', ['x', 's', 'e'], { x: iota('int32', [3, 4]), s: t('int64', [1], [1]), e: t('int64', [1], [INT64_MAX]) }, {}, 13);
    expect(y!.dims).toEqual([2, 4]);
  });

  it('Split: split attribute (opset 11), split input (13), num_outputs with an uneven last part (18)', async () => {
    const x = iota('int64', [7, 2]);
    await runOne('Split', ['x'], { x }, { axis: int(0), split: ints([2, 5]) }, 11, ['a', 'b']);
    await runOne('Split', ['x', 's'], { x, s: t('int64', [3], [3, 0, 4]) }, {}, 13, ['a', 'b', 'c']);
    const outs = await runOne('Split', ['x'], { x }, { num_outputs: int(3) }, 18, ['a', 'b', 'c']);
    expect(outs.map((o) => o.dims[0])).toEqual([3, 3, 1]);
    await runOne('Split', ['x'], { x: iota('float16', [2, 6]) }, { axis: int(-1) }, 11, ['a', 'b', 'c']);
  });

  it('Pad: attributes (opset 2), reflect/edge/wrap on int64, negative pads, axes input (18)', async () => {
    await runOne('Pad', ['x'], { x: iota('float32', [2, 3]) }, { pads: ints([1, 2, 0, 1]), value: float(1.5) }, 2);
    for (const mode of ['reflect', 'edge']) {
      await runOne('Pad', ['x', 'p'], { x: iota('int64', [3, 4]), p: t('int64', [4], [2, -1, 1, 2]) }, { mode: str(mode) }, 11);
    }
    await runOne('Pad', ['x', 'p'], { x: iota('int32', [3, 4]), p: t('int64', [4], [2, 1, 1, 3]) }, { mode: str('wrap') }, 19);
    await runOne('Pad', ['x', 'p', 'v', 'a'], { x: iota('float32', [2, 3, 2]), p: t('int64', [2], [1, 2]), v: t('float32', [], [7]), a: t('int64', [1], [-2]) }, {}, 18);
    await runOne('Pad', ['x', 'p', 'v'], { x: iota('bool', [2, 3]), p: t('int64', [4], [0, 1, 1, 0]), v: t('bool', [], [1]) }, {}, 13);
  });

  it('Squeeze/Unsqueeze with axes attributes (opset 11) and inputs (13)', async () => {
    const x = iota('string', [1, 3, 1, 2]);
    await runOne('Squeeze', ['x'], { x }, { axes: ints([0, -2]) }, 11);
    await runOne('Squeeze', ['x'], { x }, {}, 13);
    await runOne('Unsqueeze', ['x'], { x: iota('int64', [3, 2]) }, { axes: ints([-1, 0]) }, 11);
    await runOne('Unsqueeze', ['x', 'a'], { x: iota('int64', [3, 2]), a: t('int64', [2], [3, 1]) }, {}, 13);
  });

  it('Reshape with 0, -1 and allowzero; Flatten negative axis; Transpose of int64, string and float16', async () => {
    await runOne('Reshape', ['x', 's'], { x: iota('int64', [2, 3, 4]), s: t('int64', [3], [0, -1, 2]) }, {}, 13);
    const [z] = await runOne('Reshape', ['x', 's'], { x: iota('float32', [0, 3]), s: t('int64', [2], [3, 0]) }, { allowzero: int(1) }, 14);
    expect(z!.dims).toEqual([3, 0]);
    await runOne('Flatten', ['x'], { x: iota('bool', [2, 3, 4]) }, { axis: int(-1) }, 13);
    await runOne('Transpose', ['x'], { x: iota('int64', [2, 3, 4, 5]) }, { perm: ints([2, 0, 3, 1]) }, 13);
    await runOne('Transpose', ['x'], { x: iota('string', [2, 3, 4]) }, {}, 13);
    await runOne('Transpose', ['x'], { x: iota('float16', [3, 1, 40]) }, { perm: ints([2, 1, 0]) }, 13);
  });

  it('Gather, GatherElements, GatherND (batch_dims) on int64 and string data with negative indices', async () => {
    await runOne('Gather', ['x', 'i'], { x: iota('string', [3, 4]), i: t('int32', [2, 2], [-1, 0, 3, 1]) }, { axis: int(1) }, 13);
    await runOne('Gather', ['x', 'i'], { x: iota('int64', [3, 4]), i: t('int64', [], [-2]) }, {}, 13);
    await runOne('GatherElements', ['x', 'i'], { x: iota('int64', [3, 4]), i: t('int64', [2, 4], [0, -1, 2, 1, 1, 1, 0, 2]) }, {}, 13);
    await runOne('GatherElements', ['x', 'i'], { x: iota('float32', [3, 4]), i: t('int32', [3, 2], [3, 0, -1, 2, 1, 1]) }, { axis: int(1) }, 13);
    await runOne('GatherND', ['x', 'i'], { x: iota('int64', [2, 3, 4]), i: t('int64', [2, 2, 1], [2, -1, 0, 1]) }, { batch_dims: int(1) }, 13);
    await runOne('GatherND', ['x', 'i'], { x: iota('float32', [2, 3, 4]), i: t('int64', [3, 2], [1, 2, 0, 0, -1, -3]) }, {}, 13);
  });

  it('ScatterElements and ScatterND reductions on int64, int32 and float', async () => {
    const idx = t('int64', [2, 3], [1, 0, 2, 1, 0, 2]);
    for (const reduction of ['add', 'mul', 'max', 'min']) {
      await runOne('ScatterElements', ['x', 'i', 'u'], { x: iota('int64', [3, 3], 1), i: idx, u: iota('int64', [2, 3], 5) }, { reduction: str(reduction) }, 18);
      await runOne('ScatterND', ['x', 'i', 'u'], { x: iota('float32', [4, 3], 1), i: t('int64', [3, 1], [1, 3, 1]), u: iota('float32', [3, 3], -2) }, { reduction: str(reduction) }, 18);
    }
    await runOne('ScatterElements', ['x', 'i', 'u'], { x: iota('string', [2, 3]), i: t('int32', [2, 1], [-1, 0]), u: t('string', [2, 1], ['a', 'b']) }, { axis: int(1) }, 13);
    await runOne('ScatterND', ['x', 'i', 'u'], { x: iota('int32', [2, 3]), i: t('int64', [2, 2], [1, 2, 0, -1]), u: t('int32', [2], [-5, -6]) }, {}, 13);
    await runOne('Scatter', ['x', 'i', 'u'], { x: iota('float32', [3, 3]), i: idx, u: iota('float32', [2, 3], 10) }, {}, 10);
  });

  it('Tile, Expand, Compress, OneHot, NonZero, Trilu on non-float dtypes', async () => {
    await runOne('Tile', ['x', 'r'], { x: iota('int64', [2, 3]), r: t('int64', [2], [2, 3]) }, {}, 13);
    await runOne('Tile', ['x', 'r'], { x: iota('string', [2, 1]), r: t('int64', [2], [1, 0]) }, {}, 13);
    await runOne('Expand', ['x', 's'], { x: iota('bool', [3, 1]), s: t('int64', [3], [2, 1, 4]) }, {}, 13);
    await runOne('Compress', ['x', 'c'], { x: iota('int64', [3, 4]), c: t('bool', [3], [0, 1, 1]) }, { axis: int(-1) }, 11);
    await runOne('Compress', ['x', 'c'], { x: iota('string', [2, 2]), c: t('bool', [3], [1, 0, 1]) }, {}, 11);
    await runOne('OneHot', ['i', 'd', 'v'], { i: t('int64', [2, 2], [0, -1, 5, 2]), d: t('int64', [], [4]), v: t('int64', [2], [3, 9]) }, { axis: int(1) }, 11);
    await runOne('NonZero', ['x'], { x: t('int32', [2, 3], [0, 1, 0, 5, 0, -2]) }, {}, 13);
    for (const upper of [0, 1]) {
      await runOne('Trilu', ['x', 'k'], { x: iota('int64', [2, 3, 4], 1), k: t('int64', [], [-1]) }, { upper: int(upper) }, 14);
    }
  });

  it('DepthToSpace (DCR, CRD), SpaceToDepth, EyeLike, Range, ReverseSequence', async () => {
    await runOne('DepthToSpace', ['x'], { x: iota('float32', [2, 8, 2, 3]) }, { blocksize: int(2), mode: str('CRD') }, 13);
    await runOne('DepthToSpace', ['x'], { x: iota('float32', [1, 8, 2, 3]) }, { blocksize: int(2) }, 13);
    await runOne('SpaceToDepth', ['x'], { x: iota('float32', [2, 2, 4, 6]) }, { blocksize: int(2) }, 13);
    await runOne('EyeLike', ['x'], { x: iota('float32', [3, 5]) }, { k: int(-1), dtype: int(7) }, 9);
    await runOne('EyeLike', ['x'], { x: iota('int32', [4, 3]) }, { k: int(2) }, 9);
    await runOne('Range', ['a', 'b', 'c'], { a: t('int64', [], [10]), b: t('int64', [], [-3]), c: t('int64', [], [-4]) }, {}, 11);
    await runOne('Range', ['a', 'b', 'c'], { a: t('int32', [], [1]), b: t('int32', [], [1]), c: t('int32', [], [2]) }, {}, 11);
    await runOne('ReverseSequence', ['x', 'l'], { x: iota('int64', [3, 4, 2]), l: t('int64', [3], [4, 0, 2]) }, { batch_axis: int(0), time_axis: int(1) }, 10);
  });

  it('Unique: sorted and unsorted, with and without axis, all four outputs', async () => {
    const outs = ['y', 'i', 'inv', 'c'];
    const x = t('float32', [8], [2, 1, 1, 3, 4, 3, -1, 2]);
    await runOne('Unique', ['x'], { x }, {}, 11, outs);
    await runOne('Unique', ['x'], { x }, { sorted: int(0) }, 11, outs);
    const m = t('int64', [3, 4], [1, 0, 1, 0, 2, 2, 2, 2, 1, 0, 1, 0]);
    await runOne('Unique', ['x'], { x: m }, { axis: int(1) }, 11, outs);
    await runOne('Unique', ['x'], { x: m }, { axis: int(0), sorted: int(0) }, 11, outs);
    await runOne('Unique', ['x'], { x: t('string', [5], ['b', 'a', 'b', 'c', 'a']) }, {}, 11, outs);
  });

  it('Constant forms, Shape start/end, Size, ConstantOfShape with an int64 value, Dropout mask', async () => {
    const [a] = await runOne('Constant', [], {}, { value_ints: ints([3, -1]) }, 13);
    expect(Array.from(a!.data as BigInt64Array)).toEqual([3n, -1n]);
    const [b] = await runOne('Constant', [], {}, { value_strings: { kind: 'strings', value: ['x', 'y'] } }, 13, ['y'], { ort: false });
    expect(b!.data).toEqual(['x', 'y']);
    await runOne('Constant', [], {}, { value: tensorAttr(iota('float16', [2, 2])) }, 13);
    await runOne('Shape', ['x'], { x: iota('float32', [2, 3, 4, 5]) }, { start: int(-3), end: int(-1) }, 15);
    await runOne('Size', ['x'], { x: iota('string', [2, 3]) }, {}, 13);
    await runOne('ConstantOfShape', ['s'], { s: t('int64', [2], [2, 3]) }, { value: tensorAttr(t('int64', [1], [INT64_MAX])) }, 13);
    await runOne('Dropout', ['x'], { x: iota('float32', [2, 3]) }, {}, 13, ['y', 'm']);
    await runOne('Dropout', ['x', 'r', 'tm'], { x: iota('float32', [2, 3]), r: t('float32', [], [0]), tm: t('bool', [], [1]) }, {}, 13, ['y', 'm']);
  });
});

describe('manip kernels: typed errors for bad inputs', () => {
  const bad = async (op: string, inputs: string[], vals: Parameters<typeof runOne>[2], attrs: Parameters<typeof runOne>[3], re: RegExp) => {
    const p = runOne(op, inputs, vals, attrs, 13, ['y'], { ort: false });
    await expect(p).rejects.toThrow(re);
    await expect(p).rejects.toBeInstanceOf(KernelError);
  };
  it('names what is wrong', async () => {
    await bad('Gather', ['x', 'i'], { x: iota('float32', [3]), i: t('int64', [1], [3]) }, {}, /index 3 is out of range/);
    await bad('Reshape', ['x', 's'], { x: iota('float32', [6]), s: t('int64', [2], [4, -1]) }, {}, /cannot reshape/);
    await bad('Transpose', ['x'], { x: iota('float32', [2, 3]) }, { perm: ints([0, 0]) }, /not a permutation/);
    await bad('Concat', ['x', 'z'], { x: iota('float32', [2, 3]), z: iota('float32', [3, 3]) }, { axis: int(1) }, /differ outside axis/);
    await bad('Squeeze', ['x', 'a'], { x: iota('float32', [2, 3]), a: t('int64', [1], [0]) }, {}, /cannot squeeze axis 0/);
    await bad('Expand', ['x', 's'], { x: iota('float32', [2, 3]), s: t('int64', [1], [4]) }, {}, /cannot expand/);
    await bad('GatherND', ['x', 'i'], { x: iota('float32', [2, 3]), i: t('int64', [1, 3], [0, 0, 0]) }, {}, /exceeds data rank/);
  });
});

describe('NonZero on float bit patterns', () => {
  it('treats -0 as zero and NaN as nonzero for float16/32/64, int64 high words count', async () => {
    await runOne('NonZero', ['x'], { x: t('float32', [5], [0, -0, NaN, 1e-45, -2]) }, {}, 13);
    const nz = async (x: ReturnType<typeof t>) => Array.from((await runOne('NonZero', ['x'], { x }, {}, 13, ['y'], { ort: false }))[0]!.data as BigInt64Array);
    expect(await nz(t('float64', [4], [-0, 0, 5e-324, NaN]))).toEqual([2n, 3n]);
    expect(await nz(t('int64', [3], [0, 2 ** 40, -1]))).toEqual([1n, 2n]);
    const [y] = await runOne('NonZero', ['x'], { x: t('float16', [4], [0x8000, 0x0000, 0x0001, 0x7e00]) }, {}, 13, ['y'], { ort: false });
    expect(Array.from(y!.data as BigInt64Array)).toEqual([2n, 3n]);
  });
});

describe('manip kernels: opset-1 forms', () => {
  it('Reshape shape attribute (opset 4), Tile-1 (tiles, axis inputs), Concat-1 default axis, Pad-1 paddings', async () => {
    await runOne('Reshape', ['x'], { x: iota('float32', [2, 3, 4]) }, { shape: ints([4, 0, -1]) }, 4);
    const [a] = await runOne('Tile', ['x', 'n', 'ax'], { x: iota('int32', [2, 2]), n: t('int64', [], [3]), ax: t('int64', [], [1]) }, {}, 1, ['y'], { ort: false });
    expect(a!.dims).toEqual([2, 6]);
    expect(Array.from(a!.data as Int32Array)).toEqual([0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3]);
    const [c] = await runOne('Concat', ['x', 'z'], { x: iota('float32', [2, 1]), z: iota('float32', [2, 2]) }, {}, 1, ['y'], { ort: false });
    expect(c!.dims).toEqual([2, 3]);
    const [p] = await runOne('Pad', ['x'], { x: iota('float32', [1, 2]) }, { paddings: ints([0, 1, 0, 0]), value: float(-1) }, 1, ['y'], { ort: false });
    expect(Array.from(p!.data as Float32Array)).toEqual([-1, 0, 1]);
  });
});
