// Each WebGPU kernel against the CPU kernels on random inputs (per-dtype tolerances).
import type { HostTensor } from '../../graph/tensor.js';
import { float, int, ints, intsAttr, rand, str, tensor } from './helpers.js';
import { type Case, defineParity, TOL } from './parity-cases.js';

const f = (...dims: number[]) => tensor('float32', dims);
const pos = (...dims: number[]) => tensor('float32', dims, () => rand() * 2 + 0.1);
const i32 = (...dims: number[]) => tensor('int32', dims, () => rand() * 20 - 10);
const b = (...dims: number[]) => tensor('bool', dims, () => rand() - 0.5);

const cases: Case[] = [];
const unaryF = ['Abs', 'Neg', 'Sign', 'Ceil', 'Floor', 'Round', 'Exp', 'Sin', 'Cos', 'Tan', 'Atan', 'Sinh', 'Cosh', 'Tanh', 'Asinh', 'Erf', 'Sigmoid', 'Relu',
  'Softplus', 'Softsign', 'Mish', 'HardSwish', 'Gelu', 'LeakyRelu', 'Elu', 'Celu', 'Selu', 'ThresholdedRelu', 'HardSigmoid', 'IsNaN', 'IsInf'];
for (const op of unaryF) cases.push({ name: `${op} f32`, nodes: [{ op, inputs: ['x'] }], feeds: { x: f(3, 5) } });
for (const op of ['Sqrt', 'Log', 'Reciprocal', 'Acosh']) cases.push({ name: `${op} f32`, nodes: [{ op, inputs: ['x'] }], feeds: { x: tensor('float32', [4, 3], () => rand() * 3 + 1) } });
for (const op of ['Asin', 'Acos', 'Atanh']) cases.push({ name: `${op} f32`, nodes: [{ op, inputs: ['x'] }], feeds: { x: tensor('float32', [7], () => rand() * 1.8 - 0.9) } });
for (const op of ['Abs', 'Neg', 'Sign', 'Relu']) cases.push({ name: `${op} i32`, nodes: [{ op, inputs: ['x'] }], feeds: { x: i32(2, 6) }, tol: TOL.exact });
for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'PRelu']) {
  cases.push({ name: `${op} f32 broadcast`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: f(2, 3, 4), b: pos(3, 1) } });
}
for (const op of ['Add', 'Sub', 'Mul', 'Max', 'Min']) cases.push({ name: `${op} i32 broadcast`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: i32(2, 1, 4), b: i32(3, 1) }, tol: TOL.exact });
cases.push({ name: 'Div i32', nodes: [{ op: 'Div', inputs: ['a', 'b'] }], feeds: { a: i32(10), b: tensor('int32', [10], () => (rand() > 0.5 ? 1 : -1) * Math.ceil(rand() * 5)) }, tol: TOL.exact });
cases.push({ name: 'Mod i32', nodes: [{ op: 'Mod', inputs: ['a', 'b'] }], feeds: { a: i32(10), b: tensor('int32', [10], () => (rand() > 0.5 ? 1 : -1) * Math.ceil(rand() * 5)) }, tol: TOL.exact });
cases.push({ name: 'Mod fmod f32', nodes: [{ op: 'Mod', inputs: ['a', 'b'], attrs: { fmod: int(1) } }], feeds: { a: f(10), b: pos(10) } });
cases.push({ name: 'Pow f32', nodes: [{ op: 'Pow', inputs: ['a', 'b'] }], feeds: { a: pos(3, 4), b: f(4) } });
cases.push({ name: 'Pow negative base integer exponent', nodes: [{ op: 'Pow', inputs: ['a', 'b'] }], feeds: { a: f(6), b: tensor('float32', [6], (i) => i % 3) } });
for (const op of ['Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual']) {
  cases.push({ name: `${op} f32`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: tensor('float32', [4, 4], () => Math.round(rand() * 4)), b: tensor('float32', [4], () => Math.round(rand() * 4)) }, tol: TOL.exact });
  cases.push({ name: `${op} i32`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: i32(4, 4), b: i32(4) }, tol: TOL.exact });
}
for (const op of ['And', 'Or', 'Xor']) cases.push({ name: `${op}`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: b(3, 4), b: b(4) }, tol: TOL.exact });
cases.push({ name: 'Not', nodes: [{ op: 'Not', inputs: ['a'] }], feeds: { a: b(9) }, tol: TOL.exact });
for (const op of ['Sum', 'Mean', 'Max', 'Min']) cases.push({ name: `${op} variadic`, nodes: [{ op, inputs: ['a', 'b', 'c'] }], feeds: { a: f(2, 3), b: f(3), c: f(2, 1) } });
cases.push({ name: 'Where', nodes: [{ op: 'Where', inputs: ['c', 'a', 'b'] }], feeds: { c: b(2, 3), a: f(3), b: f(2, 1) } });
cases.push({ name: 'Clip opset 13', nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'] }], feeds: { x: f(20) }, consts: { lo: tensor('float32', [], () => -0.3), hi: tensor('float32', [], () => 0.4) }, opset: 13 });
cases.push({ name: 'Clip opset 6', nodes: [{ op: 'Clip', inputs: ['x'], attrs: { min: float(-0.2), max: float(0.5) } }], feeds: { x: f(20) }, opset: 6 });
for (const [from, to] of [['float32', 6], ['float32', 9], ['int32', 1], ['bool', 1], ['int32', 9], ['bool', 6], ['float32', 12]] as const) {
  const x = from === 'float32' ? tensor('float32', [12], () => rand() * 20 - 5) : from === 'int32' ? i32(12) : b(12);
  cases.push({ name: `Cast ${from} -> ${to}`, nodes: [{ op: 'Cast', inputs: ['x'], attrs: { to: int(to) } }], feeds: { x }, tol: TOL.exact });
}
cases.push({ name: 'BatchNormalization', nodes: [{ op: 'BatchNormalization', inputs: ['x', 's', 'b', 'm', 'v'] }], feeds: { x: f(2, 3, 4, 5) }, consts: { s: f(3), b: f(3), m: f(3), v: pos(3) } });
// linalg
for (const [a, bb] of [[[5, 7], [7, 3]], [[33, 16], [16, 40]], [[2, 3, 8, 12], [12, 8]], [[8], [8, 5]], [[4, 6], [6]], [[3, 1, 9, 4], [2, 4, 9]], [[64, 64], [64, 64]]]) {
  cases.push({ name: `MatMul [${a}] x [${bb}]`, nodes: [{ op: 'MatMul', inputs: ['a', 'b'] }], feeds: { a: f(...a!), b: f(...bb!) }, tol: { atol: 1e-4, rtol: 1e-4 } });
}
cases.push({ name: 'Gemm transB with bias', nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], attrs: { transB: int(1), alpha: float(0.5), beta: float(2) } }], feeds: { a: f(6, 8) }, consts: { b: f(10, 8), c: f(10) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Gemm transA', nodes: [{ op: 'Gemm', inputs: ['a', 'b'], attrs: { transA: int(1) } }], feeds: { a: f(8, 6), b: f(8, 12) }, tol: { atol: 1e-4, rtol: 1e-4 } });
// nn
cases.push({ name: 'Conv 3x3 pads bias', nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { pads: intsAttr([1, 1, 1, 1]) } }], feeds: { x: f(1, 3, 7, 6) }, consts: { w: f(8, 3, 3, 3), b: f(8) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv strided dilated', nodes: [{ op: 'Conv', inputs: ['x', 'w'], attrs: { strides: intsAttr([2, 2]), dilations: intsAttr([2, 1]) } }], feeds: { x: f(2, 2, 9, 9) }, consts: { w: f(3, 2, 3, 2) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv depthwise SAME_UPPER', nodes: [{ op: 'Conv', inputs: ['x', 'w'], attrs: { group: int(4), auto_pad: str('SAME_UPPER'), strides: intsAttr([2, 2]) } }], feeds: { x: f(1, 4, 8, 7) }, consts: { w: f(4, 1, 3, 3) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv 1x1 as matmul, bias, batch 2', nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'] }], feeds: { x: f(2, 12, 5, 8) }, consts: { w: f(20, 12, 1, 1), b: f(20) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv 1x1 as matmul, odd sizes, no bias', nodes: [{ op: 'Conv', inputs: ['x', 'w'] }], feeds: { x: f(1, 7, 3, 5) }, consts: { w: f(5, 7, 1, 1) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv 1-D 1x1 as matmul', nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'] }], feeds: { x: f(3, 8, 36) }, consts: { w: f(40, 8, 1), b: f(40) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv depthwise 5x5 pads bias strides 2,1', nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { group: int(6), pads: intsAttr([2, 2, 2, 2]), strides: intsAttr([2, 1]) } }], feeds: { x: f(2, 6, 9, 13) }, consts: { w: f(6, 1, 5, 5), b: f(6) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv depthwise 3x3 H-dilated asymmetric pads', nodes: [{ op: 'Conv', inputs: ['x', 'w'], attrs: { group: int(3), pads: intsAttr([0, 1, 2, 0]), dilations: intsAttr([2, 1]) } }], feeds: { x: f(1, 3, 10, 19) }, consts: { w: f(3, 1, 3, 3) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv 1-D depthwise', nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], attrs: { group: int(4), pads: intsAttr([1, 1]) } }], feeds: { x: f(1, 4, 21) }, consts: { w: f(4, 1, 3), b: f(4) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'Conv 1-D grouped', nodes: [{ op: 'Conv', inputs: ['x', 'w'], attrs: { group: int(2) } }], feeds: { x: f(1, 4, 10) }, consts: { w: f(8, 2, 3) }, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'MaxPool 3x3 s2 pads', nodes: [{ op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: intsAttr([3, 3]), strides: intsAttr([2, 2]), pads: intsAttr([1, 1, 1, 1]) } }], feeds: { x: f(1, 2, 9, 8) } });
cases.push({ name: 'MaxPool ceil', nodes: [{ op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: intsAttr([2, 2]), strides: intsAttr([2, 2]), ceil_mode: int(1) } }], feeds: { x: f(1, 2, 7, 7) } });
cases.push({ name: 'AveragePool count_include_pad', nodes: [{ op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: intsAttr([3, 3]), pads: intsAttr([1, 1, 1, 1]), count_include_pad: int(1) } }], feeds: { x: f(1, 2, 5, 5) } });
cases.push({ name: 'AveragePool excl pad', nodes: [{ op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: intsAttr([3, 3]), pads: intsAttr([1, 1, 1, 1]) } }], feeds: { x: f(1, 2, 5, 5) } });
cases.push({ name: 'GlobalAveragePool', nodes: [{ op: 'GlobalAveragePool', inputs: ['x'] }], feeds: { x: f(2, 3, 4, 5) } });
cases.push({ name: 'GlobalMaxPool', nodes: [{ op: 'GlobalMaxPool', inputs: ['x'] }], feeds: { x: f(2, 3, 4, 5) } });
// reduce
for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceSumSquare', 'ReduceL1', 'ReduceL2', 'ReduceLogSumExp']) {
  cases.push({ name: `${op} axes [1] keepdims`, nodes: [{ op, inputs: ['x', 'axes'] }], feeds: { x: f(3, 4, 5) }, consts: { axes: ints([1]) } });
  cases.push({ name: `${op} axes [0,2] no keepdims`, nodes: [{ op, inputs: ['x', 'axes'], attrs: { keepdims: int(0) } }], feeds: { x: f(3, 4, 5) }, consts: { axes: ints([0, -1]) } });
}
cases.push({ name: 'ReduceSum all (large)', nodes: [{ op: 'ReduceSum', inputs: ['x'] }], feeds: { x: f(40, 50) }, tol: { atol: 1e-3, rtol: 1e-4 } });
cases.push({ name: 'ReduceLogSum', nodes: [{ op: 'ReduceLogSum', inputs: ['x', 'axes'] }], feeds: { x: pos(3, 4) }, consts: { axes: ints([1]) } });
cases.push({ name: 'ReduceMean opset 13 attr', nodes: [{ op: 'ReduceMean', inputs: ['x'], attrs: { axes: intsAttr([2]) } }], feeds: { x: f(2, 3, 300) }, opset: 13 });
for (const op of ['Softmax', 'LogSoftmax']) {
  cases.push({ name: `${op} last axis`, nodes: [{ op, inputs: ['x'] }], feeds: { x: f(4, 100) } });
  cases.push({ name: `${op} middle axis`, nodes: [{ op, inputs: ['x'], attrs: { axis: int(1) } }], feeds: { x: f(2, 5, 3) } });
  cases.push({ name: `${op} opset 11 flatten`, nodes: [{ op, inputs: ['x'], attrs: { axis: int(1) } }], feeds: { x: f(2, 5, 3) }, opset: 11 });
}
cases.push({ name: 'LayerNormalization', nodes: [{ op: 'LayerNormalization', inputs: ['x', 's', 'b'], outputs: ['y'] }], feeds: { x: f(3, 4, 70) }, consts: { s: f(70), b: f(70) } });
cases.push({ name: 'LayerNormalization axis 1 no bias', nodes: [{ op: 'LayerNormalization', inputs: ['x', 's'], outputs: ['y'], attrs: { axis: int(1) } }], feeds: { x: f(3, 4, 5) }, consts: { s: f(4, 5) } });
cases.push({ name: 'InstanceNormalization', nodes: [{ op: 'InstanceNormalization', inputs: ['x', 's', 'b'] }], feeds: { x: f(2, 3, 4, 5) }, consts: { s: f(3), b: f(3) } });
// manip
cases.push({ name: 'Transpose', nodes: [{ op: 'Transpose', inputs: ['x'], attrs: { perm: intsAttr([2, 0, 1]) } }], feeds: { x: f(2, 3, 4) } });
cases.push({ name: 'Transpose default', nodes: [{ op: 'Transpose', inputs: ['x'] }], feeds: { x: i32(3, 5) }, tol: TOL.exact });
cases.push({ name: 'Expand', nodes: [{ op: 'Expand', inputs: ['x', 's'] }], feeds: { x: f(3, 1) }, consts: { s: ints([2, 3, 4]) } });
cases.push({ name: 'Slice steps', nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'sp'] }], feeds: { x: f(5, 6, 7) }, consts: { st: ints([1, -1]), en: ints([4, 0]), ax: ints([0, 2]), sp: ints([2, -2]) } });
cases.push({ name: 'Slice clamp', nodes: [{ op: 'Slice', inputs: ['x', 'st', 'en'] }], feeds: { x: f(5, 6) }, consts: { st: ints([1, 2]), en: ints([1000, -1]) } });
cases.push({ name: 'Concat', nodes: [{ op: 'Concat', inputs: ['a', 'b', 'c'], attrs: { axis: int(1) } }], feeds: { a: f(2, 3, 2), b: f(2, 1, 2), c: f(2, 4, 2) } });
for (const mode of ['constant', 'reflect', 'edge', 'wrap']) {
  cases.push({ name: `Pad ${mode}`, nodes: [{ op: 'Pad', inputs: ['x', 'p', 'v'], attrs: { mode: str(mode) } }], feeds: { x: f(3, 4) }, consts: { p: ints([1, 2, 2, 1]), v: tensor('float32', [], () => 1.5) }, opset: 19 });
}
cases.push({ name: 'Split sizes', nodes: [{ op: 'Split', inputs: ['x', 's'], outputs: ['a', 'b', 'c'], attrs: { axis: int(1) } }], feeds: { x: f(2, 7, 3) }, consts: { s: ints([2, 4, 1]) } });
cases.push({ name: 'Split num_outputs uneven', nodes: [{ op: 'Split', inputs: ['x'], outputs: ['a', 'b', 'c'], attrs: { axis: int(-1), num_outputs: int(3) } }], feeds: { x: f(2, 8) } });
cases.push({ name: 'Split opset 11 equal', nodes: [{ op: 'Split', inputs: ['x'], outputs: ['a', 'b'] }], feeds: { x: f(6, 2) }, opset: 11 });
cases.push({ name: 'Tile', nodes: [{ op: 'Tile', inputs: ['x', 'r'] }], feeds: { x: f(2, 3) }, consts: { r: ints([3, 2]) } });
cases.push({ name: 'Gather axis 1 negative indices', nodes: [{ op: 'Gather', inputs: ['x', 'i'], attrs: { axis: int(1) } }], feeds: { x: f(3, 5, 2) }, consts: { i: tensor('int64', [2, 2], () => Math.floor(rand() * 10) - 5) } });
cases.push({ name: 'Reshape Flatten Squeeze Unsqueeze Identity chain', nodes: [
  { op: 'Reshape', inputs: ['x', 's'] }, { op: 'Unsqueeze', inputs: ['y0', 'ax'] }, { op: 'Squeeze', inputs: ['y1', 'ax'] }, { op: 'Flatten', inputs: ['y2'] }, { op: 'Identity', inputs: ['y3'] }, { op: 'Relu', inputs: ['y4'] },
], feeds: { x: f(2, 3, 4) }, consts: { s: ints([3, -1, 0]), ax: ints([0]) } });

// image
const fl = (v: number[]): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims: [v.length], data: Float32Array.from(v) });
const empty: HostTensor = { kind: 'tensor', dtype: 'float32', dims: [0], data: new Float32Array(0) };
for (const mode of ['nearest', 'linear']) {
  for (const ctm of ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric']) {
    cases.push({ name: `Resize ${mode} ${ctm} scales`, nodes: [{ op: 'Resize', inputs: ['x', '', 's'], attrs: { mode: str(mode), coordinate_transformation_mode: str(ctm) } }], feeds: { x: f(1, 2, 4, 5) }, consts: { s: fl([1, 1, 2, 1.5]) } });
  }
  cases.push({ name: `Resize ${mode} sizes downsample`, nodes: [{ op: 'Resize', inputs: ['x', '', '', 'z'], attrs: { mode: str(mode) } }], feeds: { x: f(1, 2, 8, 6) }, consts: { z: ints([1, 2, 3, 4]) } });
}
for (const nm of ['round_prefer_ceil', 'floor', 'ceil']) {
  cases.push({ name: `Resize nearest ${nm}`, nodes: [{ op: 'Resize', inputs: ['x', 'roi', 's'], attrs: { nearest_mode: str(nm) } }], feeds: { x: f(1, 1, 3, 4) }, consts: { roi: empty, s: fl([1, 1, 2.5, 0.75]) } });
}

defineParity('webgpu parity with the CPU kernels', cases);
