// WebGPU kernels added for GatherElements, Trilu, Range, CumSum, RMSNormalization, Swish and Attention,
// against the CPU kernels on random inputs.
import type { HostTensor } from '../../graph/tensor.js';
import { float, int, ints, intsAttr, rand, str, tensor } from './helpers.js';
import { type Case, defineParity, TOL } from './parity-cases.js';

const f = (...dims: number[]) => tensor('float32', dims);
const i32 = (...dims: number[]) => tensor('int32', dims, () => rand() * 20 - 10);
const b = (...dims: number[]) => tensor('bool', dims, () => rand() - 0.3);
const scalar = (dtype: 'float32' | 'int32' | 'int64', v: number): HostTensor => (dtype === 'int64' ? { kind: 'tensor', dtype, dims: [], data: BigInt64Array.of(BigInt(v)) } : tensor(dtype, [], () => v));
const idx = (dtype: 'int32' | 'int64', dims: number[], lo: number, hi: number) => tensor(dtype, dims, () => Math.floor(lo + rand() * (hi - lo)));

const cases: Case[] = [];
// GatherElements
cases.push({ name: 'GatherElements axis 0 int64 negative', nodes: [{ op: 'GatherElements', inputs: ['x', 'i'] }], feeds: { x: f(4, 3) }, consts: { i: idx('int64', [2, 3], -4, 4) }, tol: TOL.exact });
cases.push({ name: 'GatherElements axis 1 int32', nodes: [{ op: 'GatherElements', inputs: ['x', 'i'], attrs: { axis: int(1) } }], feeds: { x: f(2, 5, 3) }, consts: { i: idx('int32', [2, 4, 3], 0, 5) }, tol: TOL.exact });
cases.push({ name: 'GatherElements int32 data axis -1', nodes: [{ op: 'GatherElements', inputs: ['x', 'i'], attrs: { axis: int(-1) } }], feeds: { x: i32(3, 4) }, consts: { i: idx('int64', [3, 2], -4, 4) }, tol: TOL.exact });
// Trilu
for (const upper of [0, 1]) {
  for (const k of [undefined, -1, 2, 10]) {
    cases.push({
      name: `Trilu upper=${upper} k=${k ?? 'none'}`,
      nodes: [{ op: 'Trilu', inputs: k === undefined ? ['x'] : ['x', 'k'], attrs: { upper: int(upper) } }],
      feeds: { x: f(2, 4, 5) },
      consts: k === undefined ? {} : { k: scalar('int64', k) },
      tol: TOL.exact,
    });
  }
}
cases.push({ name: 'Trilu int32', nodes: [{ op: 'Trilu', inputs: ['x'] }], feeds: { x: i32(3, 3) }, tol: TOL.exact });
// Range
cases.push({ name: 'Range float', nodes: [{ op: 'Range', inputs: ['s', 'l', 'd'] }], feeds: {}, consts: { s: scalar('float32', 1), l: scalar('float32', 5.5), d: scalar('float32', 0.5) } });
cases.push({ name: 'Range float negative delta', nodes: [{ op: 'Range', inputs: ['s', 'l', 'd'] }], feeds: {}, consts: { s: scalar('float32', 10), l: scalar('float32', 6), d: scalar('float32', -3) } });
cases.push({ name: 'Range int32', nodes: [{ op: 'Range', inputs: ['s', 'l', 'd'] }], feeds: {}, consts: { s: scalar('int32', -3), l: scalar('int32', 9), d: scalar('int32', 4) }, tol: TOL.exact, allGpu: false });
// CumSum
for (const [exclusive, reverse] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
  cases.push({ name: `CumSum exclusive=${exclusive} reverse=${reverse}`, nodes: [{ op: 'CumSum', inputs: ['x', 'a'], attrs: { exclusive: int(exclusive!), reverse: int(reverse!) } }], feeds: { x: f(3, 5, 2) }, consts: { a: scalar('int64', 1) } });
}
cases.push({ name: 'CumSum int32 axis -1', nodes: [{ op: 'CumSum', inputs: ['x', 'a'] }], feeds: { x: i32(4, 6) }, consts: { a: scalar('int32', -1) }, tol: TOL.exact });
// RMSNormalization, Swish
cases.push({ name: 'RMSNormalization last axis', nodes: [{ op: 'RMSNormalization', inputs: ['x', 's'] }], feeds: { x: f(3, 4, 70) }, consts: { s: f(70) }, opset: 23 });
cases.push({ name: 'RMSNormalization axis 1 eps', nodes: [{ op: 'RMSNormalization', inputs: ['x', 's'], attrs: { axis: int(1), epsilon: float(0.1) } }], feeds: { x: f(2, 3, 5) }, consts: { s: f(3, 5) }, opset: 23 });
cases.push({ name: 'Swish alpha', nodes: [{ op: 'Swish', inputs: ['x'], attrs: { alpha: float(0.7) } }], feeds: { x: f(4, 9) }, opset: 24 });
// Attention
const ATOL = { atol: 1e-4, rtol: 1e-4 };
cases.push({ name: 'Attention 4-D', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v'] }], feeds: { q: f(2, 3, 4, 8), k: f(2, 3, 6, 8), v: f(2, 3, 6, 5) }, opset: 23, tol: ATOL });
cases.push({ name: 'Attention 4-D causal GQA scaled', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v'], attrs: { is_causal: int(1), scale: float(0.3) } }], feeds: { q: f(1, 4, 5, 8), k: f(1, 2, 5, 8), v: f(1, 2, 5, 8) }, opset: 23, tol: ATOL });
cases.push({ name: 'Attention 3-D softcap', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v'], attrs: { q_num_heads: int(4), kv_num_heads: int(2), softcap: float(2) } }], feeds: { q: f(2, 3, 32), k: f(2, 6, 16), v: f(2, 6, 12) }, opset: 23, tol: ATOL });
cases.push({ name: 'Attention bool mask 2-D', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v', 'm'] }], feeds: { q: f(2, 2, 4, 8), k: f(2, 2, 6, 8), v: f(2, 2, 6, 8), m: b(4, 6) }, opset: 23, tol: ATOL });
cases.push({ name: 'Attention additive mask 4-D shorter', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v', 'm'], attrs: { is_causal: int(1) } }], feeds: { q: f(2, 2, 4, 8), k: f(2, 2, 6, 8), v: f(2, 2, 6, 8), m: f(2, 1, 4, 5) }, opset: 23, tol: ATOL });
cases.push({ name: 'Attention fully masked rows', nodes: [{ op: 'Attention', inputs: ['q', 'k', 'v', 'm'] }], feeds: { q: f(1, 1, 3, 4), k: f(1, 1, 3, 4), v: f(1, 1, 3, 4), m: tensor('bool', [3, 3], (i) => (i < 3 ? 0 : 1)) }, opset: 23, tol: ATOL });

// Losses
for (const reduction of ['none', 'sum', 'mean']) {
  for (const weighted of [false, true]) {
    const attrs = { reduction: str(reduction), ignore_index: int(1) };
    const consts: Record<string, HostTensor> = weighted ? { w: tensor('float32', [4], () => rand() + 0.5) } : {};
    const ins = weighted ? ['x', 't', 'w'] : ['x', 't'];
    cases.push({ name: `NegativeLogLikelihoodLoss ${reduction}${weighted ? ' weighted' : ''}`, nodes: [{ op: 'NegativeLogLikelihoodLoss', inputs: ins, attrs }], feeds: { x: f(3, 4, 2, 5), t: idx('int64', [3, 2, 5], 0, 4) }, consts });
    cases.push({ name: `SoftmaxCrossEntropyLoss ${reduction}${weighted ? ' weighted' : ''} with log_prob`, nodes: [{ op: 'SoftmaxCrossEntropyLoss', inputs: ins, outputs: ['loss', 'lp'], attrs }], feeds: { x: f(3, 4, 5), t: idx('int64', [3, 5], 0, 4) }, consts });
  }
}
cases.push({ name: 'SoftmaxCrossEntropyLoss NC int32 target', nodes: [{ op: 'SoftmaxCrossEntropyLoss', inputs: ['x', 't'] }], feeds: { x: f(6, 7) }, consts: { t: idx('int32', [6], 0, 7) } });

// ConvTranspose
const CT = { atol: 1e-4, rtol: 1e-4 };
cases.push({ name: 'ConvTranspose 2-D bias', nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w', 'b'] }], feeds: { x: f(1, 3, 4, 5) }, consts: { w: f(3, 2, 3, 3), b: f(2) }, tol: CT });
cases.push({ name: 'ConvTranspose strided padded output_padding', nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], attrs: { strides: intsAttr([3, 2]), pads: intsAttr([1, 2, 1, 0]), output_padding: intsAttr([1, 1]) } }], feeds: { x: f(2, 2, 3, 3) }, consts: { w: f(2, 3, 3, 3) }, tol: CT });
cases.push({ name: 'ConvTranspose grouped dilated 1-D', nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], attrs: { group: int(2), dilations: intsAttr([2]), strides: intsAttr([2]) } }], feeds: { x: f(1, 4, 6) }, consts: { w: f(4, 3, 3) }, tol: CT });
cases.push({ name: 'ConvTranspose 3-D SAME_UPPER', nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], attrs: { auto_pad: str('SAME_UPPER'), strides: intsAttr([2, 2, 2]) } }], feeds: { x: f(1, 2, 2, 3, 3) }, consts: { w: f(2, 2, 3, 3, 2) }, tol: CT });
cases.push({ name: 'ConvTranspose output_shape', nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], attrs: { strides: intsAttr([3, 2]), output_shape: intsAttr([10, 8]) } }], feeds: { x: f(1, 1, 3, 3) }, consts: { w: f(1, 2, 3, 3) }, tol: CT });

// GridSample
const gridT = (...dims: number[]) => tensor('float32', dims, () => rand() * 2.6 - 1.3);
for (const mode of ['nearest', 'linear', 'cubic']) {
  for (const padding of ['zeros', 'border', 'reflection']) {
    for (const align of [0, 1]) {
      cases.push({ name: `GridSample 2-D ${mode} ${padding} align=${align}`, nodes: [{ op: 'GridSample', inputs: ['x', 'g'], attrs: { mode: str(mode), padding_mode: str(padding), align_corners: int(align) } }], feeds: { x: f(2, 3, 4, 5), g: gridT(2, 3, 6, 2) }, opset: 20, tol: { atol: 1e-4, rtol: 1e-4 } });
    }
  }
}
cases.push({ name: 'GridSample 3-D linear', nodes: [{ op: 'GridSample', inputs: ['x', 'g'] }], feeds: { x: f(1, 2, 3, 4, 5), g: gridT(1, 2, 3, 4, 3) }, opset: 20, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'GridSample opset 16 bilinear', nodes: [{ op: 'GridSample', inputs: ['x', 'g'], attrs: { mode: str('bilinear') } }], feeds: { x: f(1, 2, 4, 4), g: gridT(1, 3, 3, 2) }, opset: 16, tol: { atol: 1e-4, rtol: 1e-4 } });

// Axis lines, fills, small elementwise
cases.push({ name: 'CumProd reverse exclusive', nodes: [{ op: 'CumProd', inputs: ['x', 'a'], attrs: { exclusive: int(1), reverse: int(1) } }], feeds: { x: f(3, 4) }, consts: { a: scalar('int64', 0) }, opset: 26 });
cases.push({ name: 'CumProd int32', nodes: [{ op: 'CumProd', inputs: ['x', 'a'] }], feeds: { x: tensor('int32', [2, 5], () => Math.round(rand() * 4 - 2)) }, consts: { a: scalar('int64', 1) }, opset: 26, tol: TOL.exact });
cases.push({ name: 'Hardmax opset 13 axis 1 with ties', nodes: [{ op: 'Hardmax', inputs: ['x'], attrs: { axis: int(1) } }], feeds: { x: tensor('float32', [2, 5, 3], () => Math.round(rand() * 3)) }, opset: 13, tol: TOL.exact });
cases.push({ name: 'Hardmax opset 11 flatten', nodes: [{ op: 'Hardmax', inputs: ['x'], attrs: { axis: int(1) } }], feeds: { x: f(2, 3, 4) }, opset: 11, tol: TOL.exact });
for (const p of [1, 2]) cases.push({ name: `LpNormalization p=${p} axis 0 with a zero line`, nodes: [{ op: 'LpNormalization', inputs: ['x'], attrs: { p: int(p), axis: int(0) } }], feeds: { x: tensor('float32', [3, 4], (i) => (i % 4 === 1 ? 0 : rand() - 0.5)) } });
for (const [dt, v] of [['float32', 2.5], ['int32', -7], ['bool', 1]] as const) {
  const value: HostTensor = dt === 'float32' ? tensor('float32', [1], () => v) : dt === 'int32' ? tensor('int32', [1], () => v) : { kind: 'tensor', dtype: 'bool', dims: [1], data: Uint8Array.of(1) };
  cases.push({ name: `ConstantOfShape ${dt}`, nodes: [{ op: 'ConstantOfShape', inputs: ['s'], attrs: { value: { kind: 'tensor', value } } }], feeds: { s: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(3n, 4n) } }, tol: TOL.exact });
}
cases.push({ name: 'Shrink', nodes: [{ op: 'Shrink', inputs: ['x'], attrs: { lambd: float(0.3), bias: float(0.1) } }], feeds: { x: f(20) } });
cases.push({ name: 'SwiGLU broadcast', nodes: [{ op: 'SwiGLU', inputs: ['a', 'b'], attrs: { alpha: float(1.5) } }], feeds: { a: f(3, 4), b: f(4) }, opset: 28 });

// RotaryEmbedding
for (const interleaved of [0, 1]) {
  cases.push({ name: `RotaryEmbedding 4-D position_ids interleaved=${interleaved}`, nodes: [{ op: 'RotaryEmbedding', inputs: ['x', 'c', 's', 'p'], attrs: { interleaved: int(interleaved) } }], feeds: { x: f(2, 3, 4, 8) }, consts: { c: f(10, 4), s: f(10, 4), p: idx('int64', [2, 4], 0, 10) }, opset: 23 });
  cases.push({ name: `RotaryEmbedding 3-D partial dim interleaved=${interleaved}`, nodes: [{ op: 'RotaryEmbedding', inputs: ['x', 'c', 's'], attrs: { interleaved: int(interleaved), num_heads: int(2), rotary_embedding_dim: int(4) } }], feeds: { x: f(2, 3, 16) }, consts: { c: f(2, 3, 2), s: f(2, 3, 2) }, opset: 23 });
}

// LpPool
for (const p of [1, 2, 3]) {
  cases.push({ name: `LpPool p=${p} pads strides`, nodes: [{ op: 'LpPool', inputs: ['x'], attrs: { p: int(p), kernel_shape: intsAttr([3, 2]), strides: intsAttr([2, 1]), pads: intsAttr([1, 0, 1, 1]) } }], feeds: { x: f(1, 2, 7, 6) }, tol: { atol: 1e-4, rtol: 1e-4 } });
}
cases.push({ name: 'LpPool 1-D', nodes: [{ op: 'LpPool', inputs: ['x'], attrs: { kernel_shape: intsAttr([3]) } }], feeds: { x: f(2, 3, 9) }, tol: { atol: 1e-4, rtol: 1e-4 } });

// DepthToSpace, SpaceToDepth, EyeLike
for (const mode of ['DCR', 'CRD']) cases.push({ name: `DepthToSpace ${mode}`, nodes: [{ op: 'DepthToSpace', inputs: ['x'], attrs: { blocksize: int(2), mode: str(mode) } }], feeds: { x: f(2, 8, 3, 2) }, tol: TOL.exact });
cases.push({ name: 'SpaceToDepth', nodes: [{ op: 'SpaceToDepth', inputs: ['x'], attrs: { blocksize: int(2) } }], feeds: { x: f(2, 3, 4, 6) }, tol: TOL.exact });
cases.push({ name: 'EyeLike k=1 int32', nodes: [{ op: 'EyeLike', inputs: ['x'], attrs: { k: int(1), dtype: int(6) } }], feeds: { x: f(4, 5) }, tol: TOL.exact });
cases.push({ name: 'EyeLike k=-2 float', nodes: [{ op: 'EyeLike', inputs: ['x'], attrs: { k: int(-2) } }], feeds: { x: f(5, 3) }, tol: TOL.exact });

// ScatterElements, ScatterND (duplicate indices included: applied in order)
for (const reduction of ['none', 'add', 'mul', 'max', 'min']) {
  cases.push({ name: `ScatterElements axis 1 ${reduction}`, nodes: [{ op: 'ScatterElements', inputs: ['x', 'i', 'u'], attrs: { axis: int(1), reduction: str(reduction) } }], feeds: { x: f(3, 5), u: f(2, 4) }, consts: { i: idx('int64', [2, 4], -5, 5) } });
  cases.push({ name: `ScatterND ${reduction}`, nodes: [{ op: 'ScatterND', inputs: ['x', 'i', 'u'], attrs: { reduction: str(reduction) } }], feeds: { x: f(4, 3, 2), u: f(5, 2) }, consts: { i: tensor('int64', [5, 2], (j) => (j % 2 === 0 ? [0, 1, 3, 1, -1][j / 2]! : [2, 0, 1, 0, 2][(j - 1) / 2]!)) } });
}
cases.push({ name: 'ScatterND int32 slices', nodes: [{ op: 'ScatterND', inputs: ['x', 'i', 'u'] }], feeds: { x: i32(4, 3), u: i32(2, 3) }, consts: { i: tensor('int32', [2, 1], (j) => [3, 0][j]!) }, tol: TOL.exact });

// OneHot
cases.push({ name: 'OneHot int64 indices axis 1', nodes: [{ op: 'OneHot', inputs: ['i', 'd', 'v'], attrs: { axis: int(1) } }], feeds: { i: idx('int64', [2, 3], -5, 6) }, consts: { d: scalar('int64', 5), v: tensor('float32', [2], (j) => [0.5, 3][j]!) }, tol: TOL.exact });
cases.push({ name: 'OneHot float indices int32 values', nodes: [{ op: 'OneHot', inputs: ['i', 'd', 'v'] }], feeds: { i: tensor('float32', [4], (j) => [1.7, -2, 9, 0][j]!) }, consts: { d: scalar('float32', 4), v: tensor('int32', [2], (j) => [-1, 7][j]!) }, tol: TOL.exact });

// GatherND
cases.push({ name: 'GatherND k=2 slices', nodes: [{ op: 'GatherND', inputs: ['x', 'i'] }], feeds: { x: f(3, 4, 5) }, consts: { i: tensor('int64', [2, 2, 2], (j) => [0, 1, 2, -1, 1, 0, -3, 3][j]!) }, tol: TOL.exact });
cases.push({ name: 'GatherND batch_dims 1 int32', nodes: [{ op: 'GatherND', inputs: ['x', 'i'], attrs: { batch_dims: int(1) } }], feeds: { x: i32(2, 3, 4) }, consts: { i: tensor('int64', [2, 2, 2], (j) => [0, 1, 2, 3, 1, 0, 2, 2][j]!) }, tol: TOL.exact });

// AffineGrid
for (const align of [0, 1]) {
  cases.push({ name: `AffineGrid 2-D align=${align}`, nodes: [{ op: 'AffineGrid', inputs: ['t', 's'], attrs: { align_corners: int(align) } }], feeds: { t: f(2, 2, 3), s: { kind: 'tensor', dtype: 'int64', dims: [4], data: BigInt64Array.of(2n, 3n, 4n, 5n) } }, opset: 20 });
  cases.push({ name: `AffineGrid 3-D align=${align}`, nodes: [{ op: 'AffineGrid', inputs: ['t', 's'], attrs: { align_corners: int(align) } }], feeds: { t: f(1, 3, 4), s: { kind: 'tensor', dtype: 'int64', dims: [5], data: BigInt64Array.of(1n, 1n, 2n, 1n, 3n) } }, opset: 20 });
}

// LayerNormalization with its Mean and InvStdDev outputs; reductions over an empty axis (the identity)
for (const axis of [1, -1]) {
  cases.push({ name: `LayerNormalization axis=${axis} with Mean and InvStdDev`, nodes: [{ op: 'LayerNormalization', inputs: ['x', 's', 'b'], outputs: ['y', 'm', 'i'], attrs: { axis: int(axis) } }], feeds: { x: f(2, 3, 70) }, consts: { s: f(...(axis === 1 ? [3, 70] : [70])), b: f(...(axis === 1 ? [3, 70] : [70])) }, opset: 17, tol: { atol: 1e-4, rtol: 1e-4 } });
}
cases.push({ name: 'GroupNormalization per channel (opset 21)', nodes: [{ op: 'GroupNormalization', inputs: ['x', 's', 'b'], attrs: { num_groups: int(2), epsilon: float(0.01) } }], feeds: { x: f(2, 6, 3, 5) }, consts: { s: f(6), b: f(6) }, opset: 21, tol: { atol: 1e-4, rtol: 1e-4 } });
cases.push({ name: 'GroupNormalization per group (opset 18)', nodes: [{ op: 'GroupNormalization', inputs: ['x', 's', 'b'], attrs: { num_groups: int(3) } }], feeds: { x: f(2, 6, 7) }, consts: { s: f(3), b: f(3) }, opset: 18, tol: { atol: 1e-4, rtol: 1e-4 } });
for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL2', 'ReduceLogSumExp']) {
  cases.push({ name: `${op} over an empty axis`, nodes: [{ op, inputs: ['x', 'a'], attrs: { keepdims: int(1) } }], feeds: { x: tensor('float32', [2, 0, 4]) }, consts: { a: ints([1]) }, opset: 18, tol: TOL.exact });
}

// Col2Im
cases.push({ name: 'Col2Im 2-D strided padded dilated', nodes: [{ op: 'Col2Im', inputs: ['x', 'img', 'blk'], attrs: { strides: intsAttr([2, 1]), pads: intsAttr([1, 0, 1, 1]), dilations: intsAttr([1, 2]) } }], feeds: { x: f(2, 2 * 6, 4 * 3) }, consts: { img: ints([7, 6]), blk: ints([2, 3]) } });
cases.push({ name: 'Col2Im 1-D', nodes: [{ op: 'Col2Im', inputs: ['x', 'img', 'blk'] }], feeds: { x: f(1, 3 * 2, 4) }, consts: { img: ints([5]), blk: ints([2]) } });

defineParity('webgpu parity with the CPU kernels: more ops', cases);
