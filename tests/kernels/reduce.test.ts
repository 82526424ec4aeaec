// Reduce-family kernels on what the ONNX node tests miss: the axes attribute of older opsets, integer and
// float16 dtypes, multi-axis and interleaved reductions, legacy (flattening) Softmax, TopK's selection
// path and ties, exact int64 scans, and bad inputs; checked against onnxruntime-node.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import { numberToF16Bits } from '../../graph/dtype.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { KernelInputError } from '../../kernels/cpu/errors.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { T, attr, rand, vsOrt } from './linalg-oracle.js';

const n = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const F = (dims: number[], seed = 1) => T('float32', dims, rand(n(dims), seed));

function run(op: string, inputs: (HostTensor | undefined)[], attributes: Node['attributes'] = {}, opset = 21): HostTensor[] {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: [], outputs: ['y', 'z'], attributes };
  const ctx: CpuContext = { node, opset, attrs: new AttrReader(node), runGraph: () => [] };
  return (CPU_KERNELS as Record<string, (i: typeof inputs, c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx);
}

const REDUCE = ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

describe('reductions', () => {
  const axesCases: number[][] = [[0], [1], [2], [0, 2], [1, 2], [-1, 0], []];
  for (const op of REDUCE) {
    it(`${op} float32 over axes attribute (opset 11) and input (opset 18)`, async () => {
      // Positive data keeps LogSum defined.
      const x = T('float32', [3, 4, 5], rand(60, 3).map((v) => (op === 'ReduceLogSum' ? Math.abs(v) + 0.1 : v)));
      for (const axes of axesCases) {
        for (const keep of [0, 1]) {
          const at = { keepdims: attr.int(keep), ...(axes.length ? { axes: attr.ints(axes) } : {}) };
          await vsOrt(op, [x], at, 11);
          if (op !== 'ReduceSum') {
            await vsOrt(op, [x, axes.length ? T('int64', [axes.length], axes) : undefined], { keepdims: attr.int(keep) }, 18);
          }
        }
      }
      await vsOrt(op, [x, T('int64', [2], [0, 2])], {}, 18);
    });
  }
  it('ReduceSum opset 13: axes input, noop_with_empty_axes', async () => {
    const x = F([2, 3, 4]);
    await vsOrt('ReduceSum', [x, T('int64', [2], [2, 0])], { keepdims: attr.int(0) }, 13);
    await vsOrt('ReduceSum', [x], {}, 13);
    const y = run('ReduceSum', [x, T('int64', [0], [])], { noop_with_empty_axes: attr.int(1) }, 13)[0]!;
    expect(y.dims).toEqual([2, 3, 4]);
  });
  it('integer and float64 dtypes', async () => {
    for (const dtype of ['int32', 'int64', 'float64'] as const) {
      const x = T(dtype, [3, 4, 2], rand(24, 5, 20));
      for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1']) {
        await vsOrt(op, [x], { axes: attr.ints([1]), keepdims: attr.int(0) }, 12);
        await vsOrt(op, [x], { axes: attr.ints([0, 2]) }, 12);
      }
    }
    await vsOrt('ReduceMax', [T('uint8', [3, 4], rand(12, 5, 200).map(Math.abs))], { axes: attr.ints([1]) }, 12);
    await vsOrt('ReduceMin', [T('int8', [3, 4], rand(12, 5, 200))], { axes: attr.ints([0]) }, 12);
  });
  it('float16 is computed in float32', async () => {
    const x = { ...F([4, 6], 2) };
    const h: HostTensor = { kind: 'tensor', dtype: 'float16', dims: x.dims, data: Uint16Array.from(x.data as Float32Array, (v) => numberToF16Bits(v)) };
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceL2']) await vsOrt(op, [h], { axes: attr.ints([1]) }, 12, 2e-3);
  });
  it('empty reductions give the identity of each op', () => {
    const x = T('float32', [2, 0, 3], []);
    const want: Record<string, number> = { ReduceSum: 0, ReduceProd: 1, ReduceMax: -Infinity, ReduceMin: Infinity, ReduceL1: 0, ReduceL2: 0, ReduceLogSum: -Infinity, ReduceLogSumExp: -Infinity, ReduceSumSquare: 0 };
    for (const [op, v] of Object.entries(want)) {
      const y = run(op, [x, T('int64', [1], [1])], {}, 18)[0]!;
      expect(y.dims).toEqual([2, 1, 3]);
      expect(Array.from(y.data as Float32Array)).toEqual([v, v, v, v, v, v]);
    }
    expect(Number.isNaN((run('ReduceMean', [x, T('int64', [1], [1])], {}, 18)[0]!.data as Float32Array)[0])).toBe(true);
    const yi = run('ReduceMax', [T('int32', [0, 2], []), T('int64', [1], [0])], {}, 18)[0]!;
    expect(Array.from(yi.data as Int32Array)).toEqual([-2147483648, -2147483648]);
  });
  it('rejects bad axes', () => {
    expect(() => run('ReduceSum', [F([2, 3]), T('int64', [1], [2])], {}, 13)).toThrow(KernelInputError);
    expect(() => run('ReduceMax', [F([2, 3])], { axes: attr.ints([1, -1]) }, 13)).toThrow(KernelInputError);
  });
});

describe('softmax family', () => {
  for (const op of ['Softmax', 'LogSoftmax', 'Hardmax']) {
    it(`${op} legacy flattening (opset 11) and per-axis (opset 13)`, async () => {
      const x = F([2, 3, 4], 7);
      for (const axis of [0, 1, 2, -1]) {
        await vsOrt(op, [x], { axis: attr.int(axis) }, 11);
        await vsOrt(op, [x], { axis: attr.int(axis) }, 13);
      }
      await vsOrt(op, [x], {}, 11);
      if (op !== 'Hardmax') await vsOrt(op, [T('float64', [3, 5], rand(15, 2).map((v) => v * 100))], {}, 13, 1e-10);
    });
  }
  it('Softmax copes with -inf and huge values', () => {
    const y = run('Softmax', [T('float32', [1, 4], [-Infinity, 1000, 1000, -Infinity])], {}, 13)[0]!;
    expect(Array.from(y.data as Float32Array)).toEqual([0, 0.5, 0.5, 0]);
  });
});

describe('ArgMax / ArgMin / TopK', () => {
  it('ArgMax and ArgMin on ints with ties and select_last_index', async () => {
    const x = T('int32', [3, 4, 5], rand(60, 9, 4));
    for (const op of ['ArgMax', 'ArgMin']) {
      for (const axis of [0, 1, -1]) {
        for (const last of [0, 1]) await vsOrt(op, [x], { axis: attr.int(axis), select_last_index: attr.int(last), keepdims: attr.int(axis & 1) }, 13);
      }
    }
    await vsOrt('ArgMax', [T('int64', [2, 3], [5, 9, 9, -1, -7, -1])], { axis: attr.int(1) }, 13);
  });
  it('TopK: k attribute (opset 1), K input, smallest, ties, and the few-of-many selection path', async () => {
    await vsOrt('TopK', [F([3, 10], 1)], { k: attr.int(3) }, 1, 1e-6, 2);
    const ties = T('float32', [2, 40], rand(80, 4, 6));
    for (const largest of [0, 1]) {
      for (const k of [1, 3, 40]) {
        await vsOrt('TopK', [ties, T('int64', [1], [k])], { largest: attr.int(largest) }, 11, 1e-6, 2);
        await vsOrt('TopK', [ties, T('int64', [1], [Math.min(k, 2)])], { axis: attr.int(0), largest: attr.int(largest) }, 11, 1e-6, 2);
      }
    }
    await vsOrt('TopK', [T('int32', [50], rand(50, 3, 10)), T('int64', [1], [4])], {}, 11, 0, 2);
  });
  it('TopK rejects k past the axis', () => {
    expect(() => run('TopK', [F([2, 3]), T('int64', [1], [4])], {}, 11)).toThrow(KernelInputError);
  });
});

describe('CumSum / CumProd', () => {
  it('CumSum in every direction, float and exact int64', async () => {
    for (const dtype of ['float32', 'int32', 'int64', 'float64'] as const) {
      const x = T(dtype, [3, 4], rand(12, 2, 20));
      for (const axis of [0, 1, -1]) {
        for (const exclusive of [0, 1]) {
          for (const reverse of [0, 1]) {
            await vsOrt('CumSum', [x, T('int32', [], [axis])], { exclusive: attr.int(exclusive), reverse: attr.int(reverse) }, 14);
          }
        }
      }
    }
    const big = run('CumSum', [T('int64', [2], [2n ** 60n, 2n ** 60n + 1n]), T('int64', [], [0])], {}, 14)[0]!;
    expect(Array.from(big.data as BigInt64Array)).toEqual([2n ** 60n, 2n ** 61n + 1n]);
  });
  it('CumProd int32 wraps like C', () => {
    const y = run('CumProd', [T('int32', [3], [65536, 65536, 3]), T('int32', [], [0])], {}, 26)[0]!;
    expect(Array.from(y.data as Int32Array)).toEqual([65536, 0, 0]);
    const r = run('CumProd', [T('float32', [4], [1, 2, 3, 4]), T('int64', [1], [0])], { exclusive: attr.int(1), reverse: attr.int(1) }, 26)[0]!;
    expect(Array.from(r.data as Float32Array)).toEqual([24, 12, 4, 1]);
  });
});

describe('losses', () => {
  it('SoftmaxCrossEntropyLoss and NLL agree with onnxruntime (weights, ignore_index, reductions)', async () => {
    const x = F([3, 5, 4], 11);
    const t = T('int64', [3, 4], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 2, 2]);
    const w = T('float32', [5], [0.5, 1, 2, 1.5, 0.25]);
    for (const reduction of ['none', 'sum', 'mean']) {
      for (const ii of [undefined, 2]) {
        const at = { reduction: attr.string(reduction), ...(ii !== undefined ? { ignore_index: attr.int(ii) } : {}) };
        await vsOrt('SoftmaxCrossEntropyLoss', [x, t, w], at, 13, 1e-5, 2);
        await vsOrt('SoftmaxCrossEntropyLoss', [x, t], at, 13, 1e-5, 1);
        await vsOrt('NegativeLogLikelihoodLoss', [x, t, w], at, 13);
      }
    }
  });
  it('rejects targets out of range', () => {
    expect(() => run('NegativeLogLikelihoodLoss', [F([2, 3]), T('int64', [2], [0, 3])], {}, 13)).toThrow(KernelInputError);
  });
});
