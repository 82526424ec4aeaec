// BatchNormalization (inference) folded into the Conv, ConvTranspose or Gemm before it:
// y = (conv(x, W) + B - mean) * s + beta with s = gamma / sqrt(var + eps)
//   = conv(x, W * s) + (B - mean) * s + beta, scaling W along its output-channel axis.
import { AttrReader } from '../attrs.js';
import type { Graph, Node } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import type { Pass } from './types.js';
import { constantOf, consumers, isGraphOutput, uniqueValueName } from './util.js';

function f32(t: HostTensor | undefined): Float32Array | undefined {
  return t && t.dtype === 'float32' ? (t.data as Float32Array) : undefined;
}

/** W scaled along the output channels of prod (Conv, ConvTranspose or Gemm) by scale[C]; undefined where the axes do not line up. */
function scaledWeights(prod: Node, dims: readonly number[], W: Float32Array, scale: Float32Array): Float32Array | undefined {
  const C = scale.length;
  const w2 = new Float32Array(W);
  if (prod.opType === 'Conv') {
    if (dims[0] !== C) return undefined;
    const per = W.length / C;
    for (let c = 0; c < C; c++) for (let i = 0; i < per; i++) w2[c * per + i]! *= scale[c]!;
  } else if (prod.opType === 'ConvTranspose') {
    const group = new AttrReader(prod).int('group', 1);
    const cin = dims[0]!;
    const coutPerGroup = dims[1]!;
    if (coutPerGroup * group !== C) return undefined;
    const k = W.length / (cin * coutPerGroup);
    for (let ci = 0; ci < cin; ci++) {
      const grp = Math.floor(ci / (cin / group));
      for (let j = 0; j < coutPerGroup; j++) {
        const s = scale[grp * coutPerGroup + j]!;
        for (let i = 0; i < k; i++) w2[(ci * coutPerGroup + j) * k + i]! *= s;
      }
    }
  } else {
    // Gemm: the BatchNormalization channel is Gemm's N (output axis 1).
    const ga = new AttrReader(prod);
    if (ga.float('alpha', 1) !== 1 || dims.length !== 2) return undefined;
    const transB = ga.int('transB', 0);
    const [r, cdim] = dims as [number, number];
    if ((transB ? r : cdim) !== C) return undefined;
    for (let i = 0; i < r; i++) for (let j = 0; j < cdim; j++) w2[i * cdim + j]! *= scale[transB ? i : j]!;
  }
  return w2;
}

function tryFold(g: Graph, bn: Node, cons: Map<string, Node[]>): boolean {
  const x = bn.inputs[0]!;
  const prod = g.nodes.find((n) => n.outputs[0] === x);
  if (!prod || prod.domain !== '' || !['Conv', 'ConvTranspose', 'Gemm'].includes(prod.opType)) return false;
  if ((cons.get(x)?.length ?? 0) !== 1 || isGraphOutput(g, x)) return false;
  if (bn.outputs.slice(1).some((o) => o)) return false; // training-mode outputs
  const attrs = new AttrReader(bn);
  if (attrs.int('training_mode', 0) !== 0) return false;
  const eps = attrs.float('epsilon', 1e-5);
  const [gamma, beta, mean, variance] = bn.inputs.slice(1, 5).map((n) => f32(constantOf(g, n!)));
  const wT = constantOf(g, prod.inputs[1]!);
  const W = f32(wT);
  if (!gamma || !beta || !mean || !variance || !W || !wT) return false;
  const C = gamma.length;
  const scale = new Float32Array(C);
  for (let c = 0; c < C; c++) scale[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);

  const w2 = scaledWeights(prod, wT.dims, W, scale);
  if (!w2) return false;
  const oldB = prod.inputs[2] ? f32(constantOf(g, prod.inputs[2])) : new Float32Array(C);
  if (!oldB || (oldB.length !== C && oldB.length !== 1)) return false;
  if (prod.opType === 'Gemm' && prod.inputs[2] && new AttrReader(prod).float('beta', 1) !== 1) return false;
  const b2 = new Float32Array(C);
  for (let c = 0; c < C; c++) b2[c] = ((oldB.length === 1 ? oldB[0]! : oldB[c]!) - mean[c]!) * scale[c]! + beta[c]!;

  absorb(g, bn, prod, w2, b2, 'bnfold');
  return true;
}

/** Output channels of a Conv/ConvTranspose from its weight's dims (ConvTranspose: [Cin, Cout/group, ...]). */
function outChannels(prod: Node, dims: readonly number[]): number {
  return prod.opType === 'Conv' ? dims[0]! : dims[1]! * new AttrReader(prod).int('group', 1);
}

/** A Conv or ConvTranspose read only by `node` (a binary Add or Mul), and the constant on node's other input when it varies along the channel axis only. */
function convWithChannelConstant(g: Graph, node: Node, cons: Map<string, Node[]>): { prod: Node; c: Float32Array; wT: HostTensor; C: number } | undefined {
  const prods = node.inputs.map((i) => g.nodes.find((n) => n.outputs[0] === i));
  const k = prods.findIndex((p) => p && p.domain === '' && (p.opType === 'Conv' || p.opType === 'ConvTranspose'));
  if (k < 0 || node.inputs.length !== 2 || node.inputs[0] === node.inputs[1]) return undefined;
  const prod = prods[k]!;
  const x = node.inputs[k]!;
  if ((cons.get(x)?.length ?? 0) !== 1 || isGraphOutput(g, x)) return undefined;
  const cT = constantOf(g, node.inputs[1 - k]!);
  const c = f32(cT);
  const wT = constantOf(g, prod.inputs[1]!);
  if (!c || !cT || !wT || wT.dtype !== 'float32') return undefined;
  // The constant must vary along the channel axis only once right-aligned to the output's rank.
  const rank = wT.dims.length;
  const C = outChannels(prod, wT.dims);
  if (cT.dims.length > rank) return undefined;
  const aligned = [...new Array<number>(rank - cT.dims.length).fill(1), ...cT.dims];
  if (aligned.some((d, i) => d !== 1 && !(i === 1 && d === C))) return undefined;
  return { prod, c, wT, C };
}

/** Replaces `node` by prod with the new weight and bias (either undefined: kept). */
function absorb(g: Graph, node: Node, prod: Node, w: Float32Array | undefined, b: Float32Array | undefined, tag: string): void {
  const [wIn, bIn] = [prod.inputs[1]!, prod.inputs[2]];
  let wName = wIn;
  if (w) {
    wName = uniqueValueName(g, `${wIn}_${tag}`);
    g.initializers.set(wName, { kind: 'tensor', dtype: 'float32', dims: [...constantOf(g, wIn)!.dims], data: w });
  }
  let bName = bIn;
  if (b) {
    bName = uniqueValueName(g, `${prod.name}_bias_${tag}`);
    g.initializers.set(bName, { kind: 'tensor', dtype: 'float32', dims: [b.length], data: b });
  }
  prod.inputs = bName ? [prod.inputs[0]!, wName, bName] : [prod.inputs[0]!, wName];
  prod.outputs = [node.outputs[0]!];
  g.nodes.splice(g.nodes.indexOf(node), 1);
}

/**
 * Add of a per-channel constant after a Conv or ConvTranspose, folded into its bias (exporters that
 * keep the bias apart, as Paddle2ONNX does for ConvTranspose: then a BatchNormalization after it folds too).
 */
function tryFoldAdd(g: Graph, add: Node, cons: Map<string, Node[]>): boolean {
  const m = convWithChannelConstant(g, add, cons);
  if (!m) return false;
  const { prod, c, C } = m;
  const oldB = prod.inputs[2] ? f32(constantOf(g, prod.inputs[2])) : new Float32Array(C);
  if (!oldB || oldB.length !== C) return false;
  const b2 = new Float32Array(C);
  for (let ch = 0; ch < C; ch++) b2[ch] = oldB[ch]! + (c.length === 1 ? c[0]! : c[ch]!);
  absorb(g, add, prod, undefined, b2, 'addfold');
  return true;
}

/**
 * Mul by a per-channel (or scalar) constant after a Conv or ConvTranspose, folded into its weight and
 * bias: conv(x, W) + B scaled by s is conv(x, W*s) + B*s (PP-OCRv4's learnable affine blocks, a scale
 * then a shift after each conv: the shift then folds into the bias as above).
 */
function tryFoldMul(g: Graph, mul: Node, cons: Map<string, Node[]>): boolean {
  const m = convWithChannelConstant(g, mul, cons);
  if (!m) return false;
  const { prod, c, wT, C } = m;
  const scale = c.length === C ? c : new Float32Array(C).fill(c[0]!);
  const w2 = scaledWeights(prod, wT.dims, wT.data as Float32Array, scale);
  const oldB = prod.inputs[2] ? f32(constantOf(g, prod.inputs[2])) : undefined;
  if (!w2 || (prod.inputs[2] && (!oldB || oldB.length !== C))) return false;
  const b2 = oldB?.map((v, ch) => v * scale[ch]!);
  absorb(g, mul, prod, w2, b2, 'mulfold');
  return true;
}

export const fuseBatchNorm: Pass = {
  name: 'fuse-batchnorm',
  level: 'extended',
  doc: 'folds a per-channel constant Mul and Add and inference BatchNormalization into the Conv, ConvTranspose or Gemm before it',
  run(model) {
    const g = model.graph;
    const counts = { 'mul-into-conv': 0, 'add-into-conv-bias': 0, 'bn-into-conv': 0 };
    // Until nothing folds: a BatchNormalization folded leaves a scale after the Conv, a scale folded leaves
    // a shift (PP-OCRv4: Conv, BatchNormalization, Mul, Add), and a shift may stand before a BatchNormalization.
    for (let changed = true; changed;) {
      changed = false;
      const folds = [['Mul', 'mul-into-conv', tryFoldMul], ['Add', 'add-into-conv-bias', tryFoldAdd], ['BatchNormalization', 'bn-into-conv', tryFold]] as const;
      for (const [op, key, fold] of folds) {
        for (const n of [...g.nodes]) {
          if (n.opType !== op || n.domain !== '' || !g.nodes.includes(n)) continue;
          if (fold(g, n, consumers(g))) {
            counts[key]++;
            changed = true;
          }
        }
      }
    }
    return counts;
  },
};
