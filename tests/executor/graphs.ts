// Small graphs for the executor tests.
import type { Attr, Model } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { Tensor } from '../../src/index.js';
import { buildModel } from '../helpers/build.js';

export function f32(dims: number[], seed = 1): HostTensor<'float32'> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = ((s >>> 8) / 2 ** 24 - 0.5) * 0.2;
  }
  return { kind: 'tensor', dtype: 'float32', dims, data };
}

export function tensorOf(t: HostTensor<'float32'>): Tensor {
  return new Tensor('float32', t.data, [...t.dims]);
}

/** x -> Add(one) n times -> y: long enough to abort midway. */
export function chain(n: number, size = 64): Model {
  return buildModel({
    inputs: [['x', 'float32', [size]]],
    outputs: [['y', 'float32', [size]]],
    initializers: { one: { kind: 'tensor', dtype: 'float32', dims: [1], data: Float32Array.of(1) } },
    nodes: Array.from({ length: n }, (_, i) => ({ op: 'Add', name: `add_${i}`, inputs: [i ? `v${i - 1}` : 'x', 'one'], outputs: [i === n - 1 ? 'y' : `v${i}`] })),
    opset: 17,
  });
}

/**
 * Two independent branches of `depth` Convs each (grouped: tasks of a few ms, which may be split by
 * groups), each followed by Relu, joined by an Add.
 */
export function branches(depth = 3, c = 16, hw = 48): Model {
  const nodes: { op: string; name: string; inputs: string[]; outputs: string[]; attrs?: Record<string, Attr> }[] = [];
  const inits: Record<string, HostTensor> = {};
  const attrs: Record<string, Attr> = { group: { kind: 'int', value: 2 }, pads: { kind: 'ints', value: [1, 1, 1, 1] } };
  for (const b of ['a', 'b']) {
    let v = 'x';
    for (let i = 0; i < depth; i++) {
      inits[`w${b}${i}`] = f32([c, c / 2, 3, 3], 7 + i + (b === 'a' ? 0 : 100));
      nodes.push({ op: 'Conv', name: `${b}_conv${i}`, inputs: [v, `w${b}${i}`], outputs: [`${b}${i}`], attrs });
      nodes.push({ op: 'Relu', name: `${b}_relu${i}`, inputs: [`${b}${i}`], outputs: [`${b}${i}r`] });
      v = `${b}${i}r`;
    }
  }
  nodes.push({ op: 'Add', name: 'join', inputs: [`a${depth - 1}r`, `b${depth - 1}r`], outputs: ['y'] });
  return buildModel({ inputs: [['x', 'float32', [1, c, hw, hw]]], outputs: [['y', 'float32', [1, c, hw, hw]]], initializers: inits, nodes, opset: 17 });
}

/** The input of `branches()`. */
export const BRANCH_INPUT = [1, 16, 48, 48];

/** One MatMul big enough to be split across workers, then Gemm and a Conv. */
export function heavy(): Model {
  return buildModel({
    inputs: [['x', 'float32', [256, 256]], ['img', 'float32', [1, 8, 32, 32]]],
    outputs: [['y', 'float32'], ['z', 'float32'], ['c', 'float32']],
    initializers: { w: f32([256, 256], 3), g: f32([256, 128], 4), bias: f32([256, 128], 5), k: f32([32, 8, 3, 3], 6), kb: f32([32], 7) },
    nodes: [
      { op: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['y'] },
      { op: 'Gemm', name: 'gemm', inputs: ['y', 'g', 'bias'], outputs: ['z'], attrs: { alpha: { kind: 'float', value: 0.5 } } },
      { op: 'Conv', name: 'conv', inputs: ['img', 'k', 'kb'], outputs: ['c'], attrs: { pads: { kind: 'ints', value: [1, 1, 1, 1] } } },
    ],
    opset: 17,
  });
}

/** A Reshape to a size that does not fit: fails at run time in the kernel. */
export function failing(): Model {
  return buildModel({
    inputs: [['x', 'float32', ['N', 4]]],
    outputs: [['y', 'float32']],
    initializers: { shape: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(3n, 4n) } },
    nodes: [
      { op: 'Relu', name: 'relu', inputs: ['x'], outputs: ['r'] },
      { op: 'Reshape', name: 'bad_reshape', inputs: ['r', 'shape'], outputs: ['y'] },
    ],
    opset: 17,
  });
}
