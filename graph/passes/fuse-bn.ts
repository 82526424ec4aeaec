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

  const w2 = new Float32Array(W);
  const dims = wT.dims;
  if (prod.opType === 'Conv') {
    if (dims[0] !== C) return false;
    const per = W.length / C;
    for (let c = 0; c < C; c++) for (let i = 0; i < per; i++) w2[c * per + i]! *= scale[c]!;
  } else if (prod.opType === 'ConvTranspose') {
    const group = new AttrReader(prod).int('group', 1);
    const cin = dims[0]!;
    const coutPerGroup = dims[1]!;
    if (coutPerGroup * group !== C) return false;
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
    if (ga.float('alpha', 1) !== 1 || dims.length !== 2) return false;
    const transB = ga.int('transB', 0);
    const [r, cdim] = dims as [number, number];
    if ((transB ? r : cdim) !== C) return false;
    for (let i = 0; i < r; i++) for (let j = 0; j < cdim; j++) w2[i * cdim + j]! *= scale[transB ? i : j]!;
  }
  const oldB = prod.inputs[2] ? f32(constantOf(g, prod.inputs[2])) : new Float32Array(C);
  if (!oldB || (oldB.length !== C && oldB.length !== 1)) return false;
  if (prod.opType === 'Gemm' && prod.inputs[2] && new AttrReader(prod).float('beta', 1) !== 1) return false;
  const b2 = new Float32Array(C);
  for (let c = 0; c < C; c++) b2[c] = ((oldB.length === 1 ? oldB[0]! : oldB[c]!) - mean[c]!) * scale[c]! + beta[c]!;

  const wName = uniqueValueName(g, `${prod.inputs[1]}_bnfold`);
  const bName = uniqueValueName(g, `${prod.name}_bias_bnfold`);
  g.initializers.set(wName, { kind: 'tensor', dtype: 'float32', dims: [...dims], data: w2 });
  g.initializers.set(bName, { kind: 'tensor', dtype: 'float32', dims: [C], data: b2 });
  prod.inputs = [prod.inputs[0]!, wName, bName];
  prod.outputs = [bn.outputs[0]!];
  g.nodes.splice(g.nodes.indexOf(bn), 1);
  return true;
}

/** Output channels of a Conv/ConvTranspose from its weight's dims (ConvTranspose: [Cin, Cout/group, ...]). */
function outChannels(prod: Node, dims: readonly number[]): number {
  return prod.opType === 'Conv' ? dims[0]! : dims[1]! * new AttrReader(prod).int('group', 1);
}

/**
 * Add of a per-channel constant after a Conv or ConvTranspose, folded into its bias (exporters that
 * keep the bias apart, as Paddle2ONNX does for ConvTranspose: then a BatchNormalization after it folds too).
 */
function tryFoldAdd(g: Graph, add: Node, cons: Map<string, Node[]>): boolean {
  const prods = add.inputs.map((i) => g.nodes.find((n) => n.outputs[0] === i));
  const k = prods.findIndex((p) => p && p.domain === '' && (p.opType === 'Conv' || p.opType === 'ConvTranspose'));
  if (k < 0 || add.inputs.length !== 2 || add.inputs[0] === add.inputs[1]) return false;
  const prod = prods[k]!;
  const x = add.inputs[k]!;
  if ((cons.get(x)?.length ?? 0) !== 1 || isGraphOutput(g, x)) return false;
  const cT = constantOf(g, add.inputs[1 - k]!);
  const c = f32(cT);
  const wT = constantOf(g, prod.inputs[1]!);
  if (!c || !cT || !wT || wT.dtype !== 'float32') return false;
  // The constant must vary along the channel axis only once right-aligned to the output's rank.
  const rank = wT.dims.length;
  const C = outChannels(prod, wT.dims);
  if (cT.dims.length > rank) return false;
  const aligned = [...new Array<number>(rank - cT.dims.length).fill(1), ...cT.dims];
  if (aligned.some((d, i) => d !== 1 && !(i === 1 && d === C))) return false;
  const oldB = prod.inputs[2] ? f32(constantOf(g, prod.inputs[2])) : new Float32Array(C);
  if (!oldB || oldB.length !== C) return false;
  const b2 = new Float32Array(C);
  for (let ch = 0; ch < C; ch++) b2[ch] = oldB[ch]! + (c.length === 1 ? c[0]! : c[ch]!);
  const bName = uniqueValueName(g, `${prod.name}_bias_addfold`);
  g.initializers.set(bName, { kind: 'tensor', dtype: 'float32', dims: [C], data: b2 });
  prod.inputs = [prod.inputs[0]!, prod.inputs[1]!, bName];
  prod.outputs = [add.outputs[0]!];
  g.nodes.splice(g.nodes.indexOf(add), 1);
  return true;
}

export const fuseBatchNorm: Pass = {
  name: 'fuse-batchnorm',
  level: 'extended',
  doc: 'folds a per-channel constant Add and inference BatchNormalization into the Conv, ConvTranspose or Gemm before it',
  run(model) {
    const g = model.graph;
    let added = 0;
    for (const add of [...g.nodes]) {
      if (add.opType !== 'Add' || add.domain !== '' || !g.nodes.includes(add)) continue;
      if (tryFoldAdd(g, add, consumers(g))) added++;
    }
    let folded = 0;
    for (const bn of [...g.nodes]) {
      if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
      if (tryFold(g, bn, consumers(g))) folded++;
    }
    return { 'add-into-conv-bias': added, 'bn-into-conv': folded };
  },
};
