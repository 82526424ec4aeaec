// quant kernels on what the ONNX node tests miss: int8 and negative axes, ties (round half to even),
// float16 inputs and scales, int32 dequantization, blocks that do not divide the axis, output_dtype
// without a zero point, DynamicQuantizeLinear on all-zero and one-signed inputs; onnxruntime-node is the oracle.
import { describe, expect, it } from 'vitest';
import { I, R, T, int, runNode, vsOrt } from './image-oracle.js';

describe('QuantizeLinear', () => {
  it('int8 per tensor with ties rounding to even', async () => {
    const x = T('float32', [8], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 300, -300]);
    await vsOrt('QuantizeLinear', [x, T('float32', [], [1]), T('int8', [], [0])], {}, { opset: 21 });
  });
  it('per axis with a negative axis, uint8 and int8', async () => {
    const x = R([2, 3, 4], -50, 50);
    await vsOrt('QuantizeLinear', [x, T('float32', [4], [0.5, 1, 2, 0.25]), I([4], 0, 255, 'uint8')], { axis: int(-1) }, { opset: 13 });
    await vsOrt('QuantizeLinear', [x, T('float32', [3], [0.5, 1, 2]), I([3], -10, 10, 'int8')], { axis: int(1) }, { opset: 13 });
  });
  it('blocks that do not divide the axis', async () => {
    const x = R([2, 5, 3], -20, 20);
    await vsOrt('QuantizeLinear', [x, R([2, 2, 3], 0.1, 2), I([2, 2, 3], -5, 5, 'int8')], { axis: int(1), block_size: int(3) }, { opset: 21 });
  });
  it('output_dtype without a zero point', async () => {
    const x = R([6], -1000, 1000);
    await vsOrt('QuantizeLinear', [x, T('float32', [], [3])], { output_dtype: int(4) }, { opset: 21 });
    await vsOrt('QuantizeLinear', [x, T('float32', [], [3])], { output_dtype: int(3) }, { opset: 21 });
  });
  it('float16 input and scale', async () => {
    await vsOrt('QuantizeLinear', [R([10], -30, 30, 'float16'), T('float16', [], [0.5]), T('uint8', [], [120])], {}, { opset: 19 });
  });
  it('rejects mismatched scale shapes', () => {
    expect(() => runNode('QuantizeLinear', [R([2, 3]), R([2])], { axis: int(1) }, { opset: 13 })).toThrow(/per-axis scale/);
    expect(() => runNode('QuantizeLinear', [R([2, 4]), R([2, 3])], { axis: int(1), block_size: int(2) }, { opset: 21 })).toThrow(/blocked scale/);
  });
});

describe('DequantizeLinear', () => {
  it('int8 per axis, int32 per tensor, no zero point', async () => {
    await vsOrt('DequantizeLinear', [I([2, 3, 2], -128, 127, 'int8'), T('float32', [3], [0.5, 0.1, 2]), I([3], -3, 3, 'int8')], { axis: int(-2) }, { opset: 13 });
    await vsOrt('DequantizeLinear', [I([5], -100000, 100000, 'int32'), T('float32', [], [0.001])], {}, { opset: 13 });
    await vsOrt('DequantizeLinear', [I([5], 0, 255, 'uint8'), T('float32', [], [0.3])], {}, { opset: 13 });
  });
  it('float16 scale gives float16 output', async () => {
    await vsOrt('DequantizeLinear', [I([6], 0, 255, 'uint8'), T('float16', [], [0.125]), T('uint8', [], [128])], {}, { opset: 19 });
  });
  it('blocked with a ragged last block', async () => {
    await vsOrt('DequantizeLinear', [I([3, 7], -128, 127, 'int8'), R([3, 3], 0.1, 1), I([3, 3], -4, 4, 'int8')], { axis: int(1), block_size: int(3) }, { opset: 21 });
  });
});

describe('DynamicQuantizeLinear', () => {
  it('mixed, all-positive, all-negative and all-zero inputs', async () => {
    await vsOrt('DynamicQuantizeLinear', [R([3, 4], -3, 5)], {}, { opset: 11, outputs: 3 });
    await vsOrt('DynamicQuantizeLinear', [R([7], 1, 5)], {}, { opset: 11, outputs: 3 });
    await vsOrt('DynamicQuantizeLinear', [R([7], -5, -1)], {}, { opset: 11, outputs: 3 });
    await vsOrt('DynamicQuantizeLinear', [T('float32', [3], [0, 0, 0])], {}, { opset: 11, outputs: 3 });
  });
});
