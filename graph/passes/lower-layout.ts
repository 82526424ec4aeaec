// lower-layout: regions of convolutions run channels-last (tgraph.ConvNhwc) where the backend declares
// that it pays (LoweringCapabilities.layout: estimated costs of each conv in both layouts and of a
// layout Transpose). A region is a connected set of convs that are cheaper channels-last and of
// layout-agnostic ops between them: elementwise ops (per-channel constants re-laid out here, at
// lowering time), GlobalAverage/MaxPool (ReduceMean/ReduceMax over H, W). Values enter through one
// Transpose to NHWC and leave through one Transpose back, only where something outside the region
// reads them (graph outputs stay NCHW). A Transpose NHWC->NCHW feeding the region (a Keras/tf2onnx
// export's input) and a Transpose NCHW->NHWC reading it cancel instead. A region is kept only when
// its convs' estimated saving exceeds `margin` times its boundary Transposes' estimated cost.
import { AttrReader } from '../attrs.js';
import { inferGraph } from '../infer.js';
import type { Attr, Graph, Model, Node } from '../ir.js';
import { FUSED_DOMAIN } from '../ops/fused.js';
import { TO_NCHW, TO_NHWC } from '../ops/layout.js';
import { readWindowAttrs, windowGeometry } from '../ops/nn-window.js';
import { allocTensor, type HostTensor } from '../tensor.js';
import { eachGraph, shapeOf, type Types } from './lower-groups.js';
import type { ConvShape, LayoutCapabilities } from './lower-types.js';
import type { Pass } from './types.js';
import { constantOf, uniqueValueName, useCounts } from './util.js';

/** Elementwise ops whose result does not depend on the layout (given inputs re-laid out alike). */
const UNARY = new Set(['Relu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'LeakyRelu', 'Clip', 'Neg', 'Abs', 'Exp', 'Log', 'Sqrt',
  'Reciprocal', 'Erf', 'Floor', 'Ceil', 'Elu', 'Selu', 'Softplus', 'Softsign', 'Gelu', 'Mish', 'Identity']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Pow']);
const GLOBAL_POOL: Record<string, 'average' | 'max'> = { GlobalAveragePool: 'average', GlobalMaxPool: 'max' };

/** How a member reads each input: a rank-4 value of the region, a constant to re-lay out, or as it is (one element). */
type Read = 'value' | 'const' | 'keep';

interface Member {
  readonly node: Node;
  readonly reads: Read[];
  /** Estimated saving (nchw - nhwc) of a conv; less than 0 for a global pool that costs more channels-last; else 0. */
  readonly gain: number;
  readonly kind: 'conv' | 'pool' | 'elementwise';
}

const numel = (s: readonly (number | string)[]) => s.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
const isTensor4 = (types: Types, v: string) => {
  const t = types.get(v);
  return t?.kind === 'tensor' && t.dtype === 'float32' && shapeOf(types, v)?.length === 4;
};
const isPerm = (n: Node, perm: readonly number[]) => {
  if (n.opType !== 'Transpose' || n.domain !== '') return false;
  const p = new AttrReader(n).ints('perm');
  return !!p && p.length === 4 && p.every((d, i) => d === perm[i]);
};

function convMember(n: Node, g: Graph, types: Types, caps: LayoutCapabilities): Member | undefined {
  const [x, w, b] = n.inputs;
  if (!x || !w || n.outputs.length !== 1 || n.inputs.length > 3 || !isTensor4(types, x)) return undefined;
  const xs = shapeOf(types, x)!;
  const wt = constantOf(g, w);
  const bt = b ? constantOf(g, b) : undefined;
  if (!xs.every((d) => typeof d === 'number') || wt?.dtype !== 'float32' || wt.dims.length !== 4 || (b && bt?.dtype !== 'float32')) return undefined;
  const [N, C, H, W] = xs as number[] as [number, number, number, number];
  const [M, Cg, KH, KW] = wt.dims as [number, number, number, number];
  const attrs = new AttrReader(n);
  const group = attrs.int('group', 1);
  if (!((group === 1 && Cg === C) || (group === C && Cg === 1 && M === C))) return undefined;
  let geo;
  try {
    const a = readWindowAttrs(attrs, 2, [KH, KW]);
    if (a.kernel[0] !== KH || a.kernel[1] !== KW) return undefined;
    geo = { ...windowGeometry([H, W], a), strides: a.strides, dilations: a.dilations };
  } catch {
    return undefined;
  }
  const shape: ConvShape = { N, C, H, W, M, KH, KW, OH: geo.out[0]!, OW: geo.out[1]!, SH: geo.strides[0]!, SW: geo.strides[1]!, DH: geo.dilations[0]!, DW: geo.dilations[1]!, group };
  const cost = caps.convCost(shape);
  // On a 1x1 map both layouts are the same bytes: such a conv (squeeze-excitation) joins at no gain.
  const flat = H * W === 1 && shape.OH * shape.OW === 1;
  if (!cost || !(cost.nhwc < cost.nchw || flat)) return undefined;
  return { node: n, reads: ['value', 'keep', 'keep'].slice(0, n.inputs.length) as Read[], gain: flat ? 0 : cost.nchw - cost.nhwc, kind: 'conv' };
}

function agnosticMember(n: Node, g: Graph, types: Types, opset: number, caps: LayoutCapabilities): Member | undefined {
  if (n.domain !== '' || n.outputs.length !== 1 || !isTensor4(types, n.outputs[0]!)) return undefined;
  if (GLOBAL_POOL[n.opType]) {
    if (n.inputs.length !== 1 || !isTensor4(types, n.inputs[0]!)) return undefined;
    const e = numel(shapeOf(types, n.inputs[0]!)!);
    return Number.isFinite(e) ? { node: n, reads: ['value'], gain: -caps.globalPoolCost(e), kind: 'pool' } : undefined;
  }
  const unary = UNARY.has(n.opType);
  if (!unary && !(BINARY.has(n.opType) && n.inputs.length === 2 && opset >= (n.opType === 'Max' || n.opType === 'Min' ? 8 : 7))) return undefined;
  const reads: Read[] = [];
  for (const [i, v] of n.inputs.entries()) {
    const s = v ? shapeOf(types, v) : undefined;
    if (!v) reads.push('keep');
    else if (s && numel(s) === 1) reads.push('keep');
    else if (unary && i > 0) return undefined; // a Clip bound that is not one value
    else if (constantOf(g, v)) {
      if (constantOf(g, v)!.dims.length > 4) return undefined;
      reads.push('const');
    } else if (isTensor4(types, v)) reads.push('value');
    else return undefined;
  }
  return reads.includes('value') ? { node: n, reads, gain: 0, kind: 'elementwise' } : undefined;
}

/** A constant broadcast against NCHW data, re-laid out to broadcast the same way against NHWC data. */
function toNhwc(t: HostTensor): HostTensor {
  const d = [...new Array<number>(4 - t.dims.length).fill(1), ...t.dims] as [number, number, number, number];
  const out = allocTensor(t.dtype, [d[0], d[2], d[3], d[1]]);
  const src = t.data as Float32Array, dst = out.data as Float32Array;
  let k = 0;
  for (let n = 0; n < d[0]; n++) for (let h = 0; h < d[2]; h++) for (let w = 0; w < d[3]; w++) for (let c = 0; c < d[1]; c++) dst[k++] = src[((n * d[1] + c) * d[2] + h) * d[3] + w]!;
  return out;
}

/** An ONNX [M, C/group, KH, KW] weight as ConvNhwc's [KH, KW, C/group, M]. */
function toHwio(t: HostTensor): HostTensor {
  const [M, Cg, KH, KW] = t.dims as [number, number, number, number];
  const src = t.data as Float32Array;
  const dst = new Float32Array(src.length);
  const K = KH * KW;
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < Cg; c++) {
      const s0 = (m * Cg + c) * K;
      for (let k = 0, d = c * M + m; k < K; k++, d += Cg * M) dst[d] = src[s0 + k]!;
    }
  }
  return { kind: 'tensor', dtype: 'float32', dims: [KH, KW, Cg, M], data: dst };
}

const transposeNode = (name: string, input: string, output: string, perm: readonly number[]): Node => ({
  name, opType: 'Transpose', domain: '', inputs: [input], outputs: [output], attributes: { perm: { kind: 'ints', value: [...perm] } as Attr },
});

interface Stats { regions: number; convs: number; transposes: number; reshapes: number; cancelled: number; rejected: number }

function lowerGraph(g: Graph, types: Types, opset: number, caps: LayoutCapabilities, stats: Stats): void {
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const members = new Map<Node, Member>();
  for (const n of g.nodes) {
    const m = n.domain === '' && n.opType === 'Conv' ? convMember(n, g, types, caps) : agnosticMember(n, g, types, opset, caps);
    if (m) members.set(n, m);
  }
  const pays = (m: Member) => m.kind === 'conv' && m.gain > 0;
  if (![...members.values()].some(pays)) return;
  // Regions: members joined through the values they pass each other or read together.
  const parent = new Map<Node, Node>([...members.keys()].map((n) => [n, n]));
  const find = (n: Node): Node => {
    while (parent.get(n) !== n) n = parent.get(n)!;
    return n;
  };
  const readers = new Map<string, Node[]>();
  for (const m of members.values()) {
    m.node.inputs.forEach((v, i) => {
      if (m.reads[i] !== 'value') return;
      const p = producer.get(v);
      if (p && members.has(p)) parent.set(find(m.node), find(p));
      const r = readers.get(v) ?? readers.set(v, []).get(v)!;
      if (r.length) parent.set(find(m.node), find(r[0]!));
      r.push(m.node);
    });
  }
  const regions = new Map<Node, Member[]>();
  for (const m of members.values()) (regions.get(find(m.node)) ?? regions.set(find(m.node), []).get(find(m.node))!).push(m);
  const uses = useCounts(g);
  // Readers of each value by node (to find the Transposes NCHW->NHWC that would cancel).
  const allReaders = new Map<string, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) if (v) (allReaders.get(v) ?? allReaders.set(v, []).get(v)!).push(n);
  const elements = (v: string) => numel(shapeOf(types, v)!);
  // A value on a 1x1 map or of one channel has the same bytes in both layouts: it crosses a boundary
  // as a Reshape, at no cost.
  const flat = (v: string) => { const s = shapeOf(types, v)!; return opset >= 5 && ((s[2] === 1 && s[3] === 1) || s[1] === 1); };
  const crossing = (v: string) => (flat(v) ? 0 : caps.transposeCost(elements(v)));

  interface Plan { members: Set<Node>; entries: string[]; exits: Set<string>; sinks: Map<string, Node>; cost: number }
  /** Where a region's values cross the boundary, and what its Transposes cost. */
  const boundary = (list: readonly Member[]): Plan => {
    const set = new Set(list.map((m) => m.node));
    const produced = new Set(list.flatMap((m) => m.node.outputs));
    const entries = [...new Set(list.flatMap((m) => m.node.inputs.filter((v, i) => m.reads[i] === 'value' && !produced.has(v))))];
    const insideReads = new Map<string, number>();
    for (const m of list) m.node.inputs.forEach((v, i) => m.reads[i] === 'value' && insideReads.set(v, (insideReads.get(v) ?? 0) + 1));
    const sinks = new Map<string, Node>();
    const exits = new Set<string>();
    let cost = 0;
    for (const v of entries) if (!isPerm(producer.get(v) ?? ({} as Node), TO_NCHW)) cost += crossing(v);
    for (const v of produced) {
      const inside = insideReads.get(v) ?? 0;
      const sink = (allReaders.get(v) ?? []).find((n) => !set.has(n) && isPerm(n, TO_NHWC));
      if (sink) sinks.set(v, sink);
      if (inside + (sink ? 1 : 0) < (uses.get(v) ?? 0)) {
        exits.add(v);
        cost += crossing(v);
      }
    }
    return { members: set, entries, exits, sinks, cost };
  };
  const plans: Plan[] = [];
  for (let list of regions.values()) {
    if (!list.some(pays)) continue;
    let plan = boundary(list);
    // A member that does not pay at the region's end stays outside when that needs fewer Transposes
    // (a Relu whose input leaves the region anyway); at its start, also when it needs no more (the op
    // then stays the epilogue of the NCHW conv before it).
    for (let pruned = true; pruned; ) {
      pruned = false;
      for (const m of list) {
        if (pays(m)) continue;
        const tail = !m.node.outputs.some((o) => list.some((r) => r.node.inputs.some((v, i) => v === o && r.reads[i] === 'value')));
        const head = m.node.inputs.every((v, i) => m.reads[i] !== 'value' || !list.some((r) => r.node.outputs.includes(v)));
        if (!tail && !head) continue;
        const rest = list.filter((r) => r !== m);
        const p = boundary(rest);
        if (p.cost < plan.cost || (head && p.cost === plan.cost)) {
          [list, plan, pruned] = [rest, p, true];
          break;
        }
      }
    }
    const gain = list.reduce((a, m) => a + m.gain, 0);
    if (!(gain > caps.margin * plan.cost)) {
      stats.rejected++;
      continue;
    }
    plans.push(plan);
  }
  if (!plans.length) return;

  // Rewrite: one sweep in graph order, so every entry Transpose precedes its first reader.
  const nhwc = new Map<string, string>();
  const relaid = new Map<string, string>();
  const constant = (v: string, f: (t: HostTensor) => HostTensor, suffix: string) => {
    let name = relaid.get(`${suffix}:${v}`);
    if (!name) {
      name = uniqueValueName(g, `${v}/${suffix}`);
      g.initializers.set(name, f(constantOf(g, v)!));
      relaid.set(`${suffix}:${v}`, name);
    }
    return name;
  };
  const planOf = new Map<Node, Plan>();
  const dropped = new Set<Node>();
  const sources = new Set<Node>();
  for (const p of plans) {
    for (const n of p.members) planOf.set(n, p);
    for (const [v, sink] of p.sinks) {
      nhwc.set(v, sink.outputs[0]!);
      dropped.add(sink);
      stats.cancelled++;
    }
    stats.regions++;
  }
  /** The boundary node from `v` to `to`: a Transpose, or a Reshape (no copy) for a `flat` value. */
  const cross = (v: string, to: string, perm: readonly number[], what: string, nchwName = v): Node => {
    if (!flat(nchwName)) {
      stats.transposes++;
      return transposeNode(`${nchwName}/${what}`, v, to, perm);
    }
    const s = shapeOf(types, nchwName)! as number[];
    const shape = uniqueValueName(g, `${nchwName}/${what}/shape`);
    g.initializers.set(shape, { kind: 'tensor', dtype: 'int64', dims: [4], data: BigInt64Array.from(perm === TO_NHWC ? TO_NHWC.map((p) => s[p]!) : s, BigInt) } as HostTensor);
    stats.reshapes++;
    return { name: `${nchwName}/${what}`, opType: 'Reshape', domain: '', inputs: [v, shape], outputs: [to], attributes: {} };
  };
  const out: Node[] = [];
  for (const n of g.nodes) {
    if (dropped.has(n)) continue;
    const p = planOf.get(n);
    if (!p) {
      out.push(n);
      continue;
    }
    const m = members.get(n)!;
    const inputs = n.inputs.map((v, i) => {
      if (m.reads[i] === 'keep') return v;
      if (m.reads[i] === 'const') return constant(v, toNhwc, 'nhwc');
      let name = nhwc.get(v);
      if (name === undefined) {
        // An entry: the NHWC data a Transpose to NCHW read, or a new Transpose to NHWC.
        const src = producer.get(v);
        if (src && isPerm(src, TO_NCHW)) {
          name = src.inputs[0]!;
          sources.add(src);
          stats.cancelled++;
        } else {
          name = uniqueValueName(g, `${v}/nhwc`);
          out.push(cross(v, name, TO_NHWC, 'ToNhwc'));
        }
        nhwc.set(v, name);
      }
      return name;
    });
    const outputs = n.outputs.map((o) => {
      let name = nhwc.get(o);
      if (name === undefined) nhwc.set(o, (name = uniqueValueName(g, `${o}/nhwc`)));
      return name;
    });
    if (m.kind === 'conv') {
      inputs[1] = constant(n.inputs[1]!, toHwio, 'hwio');
      out.push({ ...n, name: `${n.name}/ConvNhwc`, opType: 'ConvNhwc', domain: FUSED_DOMAIN, inputs, outputs, attributes: { ...n.attributes } });
      stats.convs++;
    } else if (GLOBAL_POOL[n.opType]) {
      out.push({ name: `${n.name}/GlobalPoolNhwc`, opType: 'GlobalPoolNhwc', domain: FUSED_DOMAIN, inputs, outputs, attributes: { mode: { kind: 'string', value: GLOBAL_POOL[n.opType]! } as Attr } });
    } else {
      out.push({ ...n, inputs, outputs });
    }
    for (const o of n.outputs) {
      if (!p.exits.has(o)) continue;
      out.push(cross(nhwc.get(o)!, o, TO_NCHW, 'ToNchw', o));
    }
  }
  g.nodes = out;
  // A cancelled Transpose to NCHW that nothing else reads goes away.
  const after = useCounts(g);
  g.nodes = g.nodes.filter((n) => !sources.has(n) || (after.get(n.outputs[0]!) ?? 0) > 0);
}

export const lowerLayout: Pass = {
  name: 'lower-layout',
  level: 'extended',
  doc: 'runs regions of convolutions channels-last (tgraph.ConvNhwc) with Transposes only at their boundaries, where the backend estimates it pays',
  run(model: Model, ctx) {
    const caps = ctx.capabilities?.layout;
    if (!caps) return {};
    const opset = model.opsets[''] ?? 1;
    const stats: Stats = { regions: 0, convs: 0, transposes: 0, reshapes: 0, cancelled: 0, rejected: 0 };
    inferGraph(model.graph, { opsets: model.opsets, evaluate: ctx.evaluate });
    eachGraph(model.graph, new Map(), (g, types) => lowerGraph(g, types, opset, caps, stats));
    if (stats.convs) model.opsets = { ...model.opsets, [FUSED_DOMAIN]: 1 };
    return stats.regions || stats.rejected ? { ...stats } : {};
  },
};
