// Splitting one big node across workers. Every split cuts the node's outputs into contiguous blocks
// of leading "rows" and runs the unsplit kernel on the matching slices of the inputs (views, no copy),
// so results equal the unsplit kernel's row for row:
//   MatMul/FusedMatMul   rows of A (B 2-D), or batches of A and B (same batch dims)
//   Gemm/FusedGemm       rows of A (and of C when C has M rows)
//   Conv/FusedConv       batch; at batch 1 output channels (whole groups, `group` rewritten per part)
//   elementwise ops      leading output axes (flattened) that every input either has in full or
//                        broadcasts whole (unary, binary, variadic, Where, Clip, FusedElementwise)
//   Reduce*, Softmax,    the axes before the first reduced one (collapsed into one axis so the part
//   LogSoftmax, Hardmax, keeps the node's rank, axes and attributes)
//   LayerNormalization   (and tgraph.LayerNormalization)
//   pooling              batch x channels (a part is batch 1 with a range of channels)
// An epilogue's extra inputs (fused ops) are sliced like the output when they have its full shape and
// passed whole when per channel (and the channel is not cut) or scalar.
// The node's first output is allocated once in shared memory by the scheduler and each part's kernel
// allocates its result straight into its block (tensor-pool.ts `withOutputTarget`); other outputs
// (LayerNormalization's Mean/InvStdDev) are concatenated.
import { AttrReader } from '../../graph/attrs.js';
import { BYTES, type DType } from '../../graph/dtype.js';
import type { Attr, Node, TensorType } from '../../graph/ir.js';
import { channelAxisOf, EPILOGUE_BASE_INPUTS, EPILOGUE_BASE_OP, epilogueRead, type EpilogueOp } from '../../graph/ops/fused.js';
import { findSchema } from '../../graph/ops/index.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import type { OutputBlock } from '../../graph/tensor-pool.js';
import { sizeOf } from '../../graph/tensor.js';
import { isConstant, markConstant } from '../../kernels/cpu/constants.js';
import { allocLike, sharedMemoryAvailable } from './shared.js';

/**
 * When a node leaves the scheduling thread, and how it is split. Work is counted in multiply-adds
 * for MatMul/Gemm/Conv and in elements (the largest input) for everything else. Picked by
 * measurement on a loaded 2-core machine (docs/ARCHITECTURE.md, the executor): a worker round trip
 * costs 0.1-0.4 ms there, an elementwise op ~1-2 ns per element, a GEMM ~0.3-1 ns per multiply-add,
 * and single-node splits below these sizes were slower than the unsplit kernel.
 */
export const splitTuning = {
  /** Elements from which a non-GEMM node runs on a worker instead of inline. */
  workerMinElements: 1 << 19,
  /** Multiply-adds from which a MatMul/Gemm/Conv runs on a worker. */
  workerMinMacs: 1 << 21,
  /** Elements from which a splittable non-GEMM node is split. */
  splitMinElements: 1 << 20,
  /** Multiply-adds from which a MatMul/Gemm/Conv is split. */
  splitMinMacs: 1 << 22,
  /**
   * Most parts per worker: a node of at least k x workers x the split threshold is cut into k parts
   * per worker (up to this), so a worker that is busy or descheduled leaves more of it to the other.
   * Two per worker measured no better than one on PP-OCR det/rec (noise larger than the difference).
   */
  maxPartsPerWorker: 1,
  /** The scheduling thread runs one part of each split node itself (measured slower; off). */
  callerRuns: false,
  /**
   * Kernel time per unit of work (ns per element, per multiply-add), to weigh work against the
   * pool's measured round trip: a node goes to a worker when its estimated time is at least one
   * round trip, and is split when half of it (what a two-way split saves) is at least two (the
   * second part's trip and the wait for the slower part). On an idle machine the size thresholds
   * above decide; under load the round trip grows to milliseconds and keeps nodes inline.
   */
  nsPerElement: 1,
  nsPerMac: 0.3,
  /** Weigh work against the measured round trip (tests that assert where nodes run turn it off). */
  adaptive: true,
};

function estimatedMs(w: { kind: 'macs' | 'elements'; n: number }): number {
  if (!splitTuning.adaptive) return Infinity;
  return (w.n * (w.kind === 'macs' ? splitTuning.nsPerMac : splitTuning.nsPerElement)) / 1e6;
}

/** Where one part of a split node writes its first output: a block of the node's shared output. */
export interface OutputTarget extends OutputBlock {
  readonly dtype: DType;
}

export interface SplitPart {
  /** The node the part runs (the node itself, or a copy with `group` rewritten). */
  readonly node: Node;
  readonly inputs: (RtValue | undefined)[];
  readonly target?: OutputTarget;
}

export interface SplitPlan {
  readonly parts: SplitPart[];
  /** The node's outputs from the parts' outputs; `wrote[k]`: part k's first output is in its target. */
  combine(outs: readonly RtValue[][], wrote: readonly boolean[]): RtValue[];
}

/** Allocates a node's output in shared memory, owned by the run; `dirty`: not zeroed (each part zeroes its block). */
export type SharedAlloc = (dtype: DType, dims: readonly number[]) => { tensor: HostTensor; dirty: boolean };

type Tensor = HostTensor;
type Ins = readonly (RtValue | undefined)[];

const ELEMENTWISE = new Set([
  'Abs', 'Neg', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Sqrt', 'Exp', 'Log', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Tanh',
  'Asinh', 'Acosh', 'Atanh', 'Erf', 'Sign', 'IsNaN', 'IsInf', 'Not', 'BitwiseNot', 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'BitShift', 'BitwiseAnd',
  'BitwiseOr', 'BitwiseXor', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Min', 'Max', 'Sum', 'Mean', 'Where',
  'Clip', 'Cast', 'CastLike', 'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'HardSigmoid', 'HardSwish', 'Mish', 'Softplus', 'Softsign',
  'ThresholdedRelu', 'Sigmoid', 'Swish', 'Shrink',
]);
const REDUCE = new Set(['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);
const SOFTMAX = new Set(['Softmax', 'LogSoftmax', 'Hardmax']);
const POOL = new Set(['MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const GEMMS = new Set(['MatMul', 'Gemm', 'Conv']);

const FUSED_BASE: Record<string, EpilogueOp | undefined> = { 'tgraph:FusedConv': 'FusedConv', 'tgraph:FusedMatMul': 'FusedMatMul', 'tgraph:FusedGemm': 'FusedGemm' };

function keyOf(node: Node): string {
  return node.domain === '' ? node.opType : `${node.domain}:${node.opType}`;
}

function tensor(v: RtValue | undefined): Tensor | undefined {
  return v?.kind === 'tensor' && !Array.isArray(v.data) ? v : undefined;
}

/** Row ranges [r0, r1) cutting `rows` into at most `parts` pieces. */
function ranges(rows: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, rows));
  const out: [number, number][] = [];
  for (let k = 0; k < n; k++) out.push([Math.floor((k * rows) / n), Math.floor(((k + 1) * rows) / n)]);
  return out.filter(([a, b]) => b > a);
}

// Views of constant data (weights sliced by output channel) are constant too, and kept, so a worker
// receives each once and kernels keep their packed forms of it (kernels/cpu/constants.ts).
const constViews = new WeakMap<object, Map<string, Tensor['data']>>();

/** Elements [e0, e1) of `t` under `dims` (a view: no copy). */
function view(t: Tensor, e0: number, e1: number, dims: readonly number[]): Tensor {
  const data = t.data as Exclude<Tensor['data'], string[]>;
  if (e0 === 0 && e1 === data.length) return { ...t, dims: [...dims] } as Tensor;
  if (!isConstant(data)) return { ...t, dims: [...dims], data: data.subarray(e0, e1) } as Tensor;
  let m = constViews.get(data);
  if (!m) constViews.set(data, (m = new Map()));
  let v = m.get(`${e0}:${e1}`);
  if (!v) {
    v = data.subarray(e0, e1);
    markConstant(v);
    m.set(`${e0}:${e1}`, v);
  }
  return { ...t, dims: [...dims], data: v } as Tensor;
}

/** `t` with `dims` over the same data. */
const reshaped = (t: Tensor, dims: readonly number[]): Tensor => ({ ...t, dims: [...dims] }) as Tensor;

/** The node's output types for these concrete inputs, from the op registry's shape rule. */
function outputTypes(node: Node, inputs: Ins, opsets: Readonly<Record<string, number>>): TensorType[] | undefined {
  const schema = findSchema(node.domain, node.opType);
  if (!schema) return undefined;
  let inputCount = node.inputs.length;
  while (inputCount > 0 && !node.inputs[inputCount - 1]) inputCount--;
  try {
    const outs = schema.infer({
      node,
      opset: opsets[node.domain] ?? 1,
      attrs: new AttrReader(node),
      inputs: inputs.map((v) => (v?.kind === 'tensor' ? { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] } : undefined)),
      inputCount,
      constant: (i) => tensor(inputs[i]),
    });
    const live = outs.slice(0, node.outputs.length);
    if (live.some((t) => t?.kind !== 'tensor' || !t.shape || t.shape.some((d) => typeof d !== 'number'))) return undefined;
    return live as TensorType[];
  } catch {
    return undefined;
  }
}

/** A cut of a node into row blocks: `rows` rows, and the node and inputs of rows [r0, r1). */
interface Cut {
  readonly rows: number;
  slice(r0: number, r1: number): { node?: Node; inputs: (RtValue | undefined)[] };
}

function build(node: Node, inputs: Ins, cut: Cut, parts: number, opsets: Readonly<Record<string, number>>, alloc?: SharedAlloc): SplitPlan | undefined {
  const rs = ranges(cut.rows, parts);
  if (rs.length < 2) return undefined;
  const types = outputTypes(node, inputs, opsets);
  if (!types || types.length === 0) return undefined;
  const dims = types.map((t) => t.shape as number[]);
  // Every output must be made of `rows` equal contiguous blocks.
  if (dims.some((d) => sizeOf(d) % cut.rows !== 0)) return undefined;
  const t0 = types[0]!;
  const made = alloc && sharedMemoryAvailable && t0.dtype !== 'string' ? alloc(t0.dtype, dims[0]!) : undefined;
  const whole = made?.tensor;
  const wholeData = whole?.data as Exclude<Tensor['data'], string[]> | undefined;
  const row0 = sizeOf(dims[0]!) / cut.rows;
  const bpe = BYTES[t0.dtype];
  return {
    parts: rs.map(([r0, r1]) => {
      const p = cut.slice(r0, r1);
      return {
        node: p.node ?? node,
        inputs: p.inputs,
        ...(wholeData ? { target: { buffer: wholeData.buffer as SharedArrayBuffer, byteOffset: wholeData.byteOffset + r0 * row0 * bpe, bytes: (r1 - r0) * row0 * bpe, dtype: t0.dtype, dirty: made!.dirty } } : {}),
      };
    }),
    combine: (outs, wrote) => dims.map((d, k) => (k === 0 && whole && wrote.every(Boolean) ? whole : concat(outs.map((o) => o[k] as Tensor), d))),
  };
}

/** Concatenate the parts' outputs (contiguous row blocks) under `dims`. */
function concat(parts: Tensor[], dims: number[]): RtValue {
  const arrays = parts.map((p) => p.data as Exclude<Tensor['data'], string[]>);
  const data = allocLike(arrays[0]!, sizeOf(dims));
  let at = 0;
  for (const a of arrays) {
    (data as unknown as { set(a: ArrayLike<unknown>, at: number): void }).set(a as ArrayLike<unknown>, at);
    at += a.length;
  }
  return { kind: 'tensor', dtype: parts[0]!.dtype, dims, data } as RtValue;
}

/** Estimated work of a node: multiply-adds for MatMul/Gemm/Conv (kind 'macs'), else elements. */
export function workOf(node: Node, inputs: Ins): { kind: 'macs' | 'elements'; n: number } {
  const fused = FUSED_BASE[keyOf(node)];
  const key = fused ? EPILOGUE_BASE_OP[fused] : node.domain === '' ? node.opType : '';
  const a = tensor(inputs[0]);
  const b = tensor(inputs[1]);
  if (a && b && GEMMS.has(key)) {
    if (key === 'Conv') return { kind: 'macs', n: sizeOf(a.dims.slice(2)) * a.dims[0]! * sizeOf(b.dims) };
    const k = a.dims[a.dims.length - 1] ?? 1;
    const n = key === 'Gemm' && new AttrReader(node).int('transB', 0) ? b.dims[0]! : b.dims[b.dims.length - 1]!;
    return { kind: 'macs', n: (sizeOf(a.dims) / Math.max(1, k)) * k * n };
  }
  let n = 0;
  for (const v of inputs) if (v?.kind === 'tensor' && !Array.isArray(v.data)) n = Math.max(n, v.data.length);
  return { kind: 'elements', n };
}

/** Whether a node is worth the trip to a worker. */
export function worthAWorker(node: Node, inputs: Ins, roundTripMs = 0): boolean {
  const w = workOf(node, inputs);
  return w.n >= (w.kind === 'macs' ? splitTuning.workerMinMacs : splitTuning.workerMinElements) && estimatedMs(w) >= roundTripMs;
}

export function planSplit(node: Node, inputs: Ins, workers: number, opsets: Readonly<Record<string, number>>, alloc?: SharedAlloc, roundTripMs = 0): SplitPlan | undefined {
  if (workers < 2) return undefined;
  const w = workOf(node, inputs);
  const min = w.kind === 'macs' ? splitTuning.splitMinMacs : splitTuning.splitMinElements;
  if (w.n < min || estimatedMs(w) / 2 < 2 * roundTripMs) return undefined;
  const perWorker = Math.max(1, Math.min(Math.floor(splitTuning.maxPartsPerWorker), Math.floor(w.n / Math.max(1, min * workers))));
  const parts = workers * perWorker;
  const key = keyOf(node);
  const fused = FUSED_BASE[key];
  let cut: Cut | undefined;
  if (key === 'tgraph:FusedElementwise') cut = elementwiseCut(inputs);
  else if (fused || (node.domain === '' && GEMMS.has(node.opType))) {
    const y = outputTypes(node, inputs, opsets)?.[0]?.shape as number[] | undefined;
    if (y && node.outputs.length === 1) cut = fused ? epilogueCut(node, inputs, fused, y) : gemmCut(node, node.opType, inputs, y)?.cut;
  } else if (node.domain === '') cut = baseCut(node, node.opType, inputs, opsets);
  else if (key === 'tgraph:LayerNormalization') cut = baseCut(node, 'LayerNormalization', inputs, opsets);
  return cut ? build(node, inputs, cut, parts, opsets, alloc) : undefined;
}

function baseCut(node: Node, op: string, inputs: Ins, opsets: Readonly<Record<string, number>>): Cut | undefined {
  const live = node.outputs.filter(Boolean).length;
  if (ELEMENTWISE.has(op)) {
    // Before opset 7 binary ops broadcast by `broadcast`/`axis` attributes and PRelu's 1-D slope is per channel.
    if ((opsets[''] ?? 1) < 7 || node.attributes.broadcast || node.outputs.length !== 1) return undefined;
    return elementwiseCut(inputs);
  }
  const x = tensor(inputs[0]);
  if (!x) return undefined;
  const attrs = new AttrReader(node);
  const rank = x.dims.length;
  if (REDUCE.has(op)) {
    if (node.outputs.length !== 1) return undefined;
    const fromInput = tensor(inputs[1]);
    const axes = fromInput ? Array.from(fromInput.data as ArrayLike<number | bigint>, Number) : (attrs.ints('axes') ?? []);
    if (axes.length === 0) return undefined; // all axes, or none (noop_with_empty_axes)
    return leadingCut(inputs, Math.min(...axes.map((a) => (a < 0 ? a + rank : a))));
  }
  if (SOFTMAX.has(op)) {
    if (node.outputs.length !== 1) return undefined;
    const axis = attrs.int('axis', (opsets[''] ?? 13) >= 13 ? -1 : 1);
    return leadingCut(inputs, axis < 0 ? axis + rank : axis);
  }
  if (op === 'LayerNormalization') {
    const axis = attrs.int('axis', -1);
    return leadingCut(inputs, axis < 0 ? axis + rank : axis);
  }
  if (POOL.has(op)) {
    if (live !== 1 || node.outputs.length > 1 || rank < 3) return undefined;
    const per = sizeOf(x.dims.slice(2));
    return {
      rows: x.dims[0]! * x.dims[1]!,
      slice: (r0, r1) => ({ inputs: [view(x, r0 * per, r1 * per, [1, r1 - r0, ...x.dims.slice(2)]), ...inputs.slice(1)] }),
    };
  }
  return undefined;
}

/** Rows: the axes before `axis` of input 0, collapsed into axis `axis - 1`; other inputs whole. */
function leadingCut(inputs: Ins, axis: number): Cut | undefined {
  const x = tensor(inputs[0])!;
  if (!(axis >= 1 && axis <= x.dims.length)) return undefined;
  const rows = sizeOf(x.dims.slice(0, axis));
  const per = sizeOf(x.dims.slice(axis));
  const ones = new Array<number>(axis - 1).fill(1);
  return { rows, slice: (r0, r1) => ({ inputs: [view(x, r0 * per, r1 * per, [...ones, r1 - r0, ...x.dims.slice(axis)]), ...inputs.slice(1)] }) };
}

/**
 * Elementwise: the most leading output axes k (flattened into one) such that every input, aligned
 * to the output's rank, has all of them in full or broadcasts over all of them.
 */
function elementwiseCut(inputs: Ins): Cut | undefined {
  const ts: (Tensor | undefined)[] = [];
  for (const v of inputs) {
    if (v === undefined) ts.push(undefined);
    else if (!tensor(v)) return undefined;
    else ts.push(v as Tensor);
  }
  const given = ts.filter((t): t is Tensor => !!t);
  if (!given.length) return undefined;
  const R = Math.max(...given.map((t) => t.dims.length));
  const out = new Array<number>(R).fill(1);
  for (const t of given) t.dims.forEach((d, i) => {
    const j = R - t.dims.length + i;
    if (d !== 1) out[j] = d;
  });
  const padded = ts.map((t) => (t ? [...new Array<number>(R - t.dims.length).fill(1), ...t.dims] : undefined));
  for (let k = R; k >= 1; k--) {
    const lead = out.slice(0, k);
    const rows = sizeOf(lead);
    if (rows < 2) continue;
    const full = padded.map((p) => !!p && p.slice(0, k).every((d, i) => d === lead[i]));
    if (!padded.every((p, i) => !p || full[i] || p.slice(0, k).every((d) => d === 1))) continue;
    return {
      rows,
      slice: (r0, r1) => ({
        inputs: ts.map((t, i) => {
          if (!t) return undefined;
          const rest = padded[i]!.slice(k);
          const per = sizeOf(rest);
          return full[i] ? view(t, r0 * per, r1 * per, [r1 - r0, ...rest]) : reshaped(t, [1, ...rest]);
        }),
      }),
    };
  }
  return undefined;
}

interface GemmCut {
  readonly cut: Cut;
  /** The dims of a part's output (rows [r0, r1)). */
  partDims(r0: number, r1: number): number[];
  /** Conv at batch 1: output channels per row of the cut (the channel axis is cut). */
  readonly channelsPerRow?: number;
}

const groupNodes = new WeakMap<Node, Map<number, Node>>();
/** `node` with `group` = g (cached, so a worker receives each part node once). */
function withGroup(node: Node, g: number): Node {
  let m = groupNodes.get(node);
  if (!m) groupNodes.set(node, (m = new Map()));
  let n = m.get(g);
  if (!n) m.set(g, (n = { ...node, attributes: { ...node.attributes, group: { kind: 'int', value: g } as Attr } }));
  return n;
}

/** The cut of a MatMul/Gemm/Conv whose output has dims `y`. */
function gemmCut(node: Node, op: string, inputs: Ins, y: readonly number[]): GemmCut | undefined {
  const a = tensor(inputs[0]);
  const b = tensor(inputs[1]);
  if (!a || !b || a.dtype !== b.dtype || (a.dtype !== 'float32' && a.dtype !== 'float64')) return undefined;
  const attrs = new AttrReader(node);
  if (op === 'MatMul') {
    if (a.dims.length < 2 || b.dims.length < 2) return undefined;
    const k = a.dims[a.dims.length - 1]!;
    const n = b.dims[b.dims.length - 1]!;
    if (b.dims.length === 2) {
      if (k !== b.dims[0]) return undefined;
      const rows = sizeOf(a.dims) / Math.max(1, k);
      return { partDims: (r0, r1) => [r1 - r0, n], cut: { rows, slice: (r0, r1) => ({ inputs: [view(a, r0 * k, r1 * k, [r1 - r0, k]), b] }) } };
    }
    // Batched: the same batch dims on both sides, cut by batch.
    const batch = a.dims.slice(0, -2);
    if (b.dims.length !== a.dims.length || b.dims.slice(0, -2).some((d, i) => d !== batch[i])) return undefined;
    const m = a.dims[a.dims.length - 2]!;
    if (b.dims[b.dims.length - 2] !== k) return undefined;
    return {
      partDims: (r0, r1) => [r1 - r0, m, n],
      cut: { rows: sizeOf(batch), slice: (r0, r1) => ({ inputs: [view(a, r0 * m * k, r1 * m * k, [r1 - r0, m, k]), view(b, r0 * k * n, r1 * k * n, [r1 - r0, k, n])] }) },
    };
  }
  if (op === 'Gemm') {
    if (attrs.int('transA', 0) !== 0 || a.dims.length !== 2 || b.dims.length !== 2) return undefined;
    const [m, k] = a.dims as [number, number];
    const n = attrs.int('transB', 0) ? b.dims[0]! : b.dims[1]!;
    const c = inputs[2];
    const cf = tensor(c);
    if (c && !cf) return undefined;
    const cRows = cf && cf.dims.length === 2 && cf.dims[0] === m && m > 1;
    return {
      partDims: (r0, r1) => [r1 - r0, n],
      cut: {
        rows: m,
        slice: (r0, r1) => ({ inputs: [view(a, r0 * k, r1 * k, [r1 - r0, k]), b, c && cRows ? view(cf!, r0 * cf!.dims[1]!, r1 * cf!.dims[1]!, [r1 - r0, cf!.dims[1]!]) : c] }),
      },
    };
  }
  // Conv
  if (a.dims.length < 3 || b.dims.length !== a.dims.length || y.length !== a.dims.length) return undefined;
  const bias = tensor(inputs[2]);
  if (inputs[2] && !bias) return undefined;
  const batch = a.dims[0]!;
  const cout = b.dims[0]!;
  if (batch > 1) {
    const per = sizeOf(a.dims.slice(1));
    return {
      partDims: (r0, r1) => [r1 - r0, ...y.slice(1)],
      cut: { rows: batch, slice: (r0, r1) => ({ inputs: [view(a, r0 * per, r1 * per, [r1 - r0, ...a.dims.slice(1)]), b, inputs[2]] }) },
    };
  }
  // Batch 1: output channels in whole groups; a part of g' groups reads its groups' input channels.
  const group = attrs.int('group', 1);
  const cin = a.dims[1]!;
  if (cout % group !== 0 || cin % group !== 0 || b.dims[1]! * group !== cin) return undefined;
  const mg = cout / group;
  const cg = cin / group;
  const kernel = sizeOf(b.dims.slice(1));
  const hw = sizeOf(a.dims.slice(2));
  const channelsPerRow = group > 1 ? mg : 1;
  return {
    channelsPerRow,
    partDims: (r0, r1) => [1, (r1 - r0) * channelsPerRow, ...y.slice(2)],
    cut: {
      rows: group > 1 ? group : cout,
      slice: (g0, g1) => {
        if (group === 1) return { inputs: [a, view(b, g0 * kernel, g1 * kernel, [g1 - g0, ...b.dims.slice(1)]), bias ? view(bias, g0, g1, [g1 - g0]) : undefined] };
        return {
          node: withGroup(node, g1 - g0),
          inputs: [
            view(a, g0 * cg * hw, g1 * cg * hw, [1, (g1 - g0) * cg, ...a.dims.slice(2)]),
            view(b, g0 * mg * kernel, g1 * mg * kernel, [(g1 - g0) * mg, ...b.dims.slice(1)]),
            bias ? view(bias, g0 * mg, g1 * mg, [(g1 - g0) * mg]) : undefined,
          ],
        };
      },
    },
  };
}

/**
 * A fused Conv/MatMul/Gemm: the base op's cut, with each extra input of the epilogue cut like the
 * output (full shape), cut along the channel (per channel, when the cut runs along it) or whole.
 */
function epilogueCut(node: Node, inputs: Ins, op: EpilogueOp, y: readonly number[]): Cut | undefined {
  const base = EPILOGUE_BASE_OP[op];
  const nb = EPILOGUE_BASE_INPUTS[op];
  const g = gemmCut(node, base, inputs.slice(0, nb), y);
  if (!g) return undefined;
  const extras = inputs.slice(nb).map(tensor);
  if (extras.some((e) => !e)) return undefined;
  const channelAxis = channelAxisOf(op, y.length);
  const reads = extras.map((e) => epilogueRead(e!.dims, y, channelAxis));
  if (reads.some((r) => !r)) return undefined;
  const rowElems = sizeOf(y) / g.cut.rows;
  return {
    rows: g.cut.rows,
    slice: (r0, r1) => {
      const p = g.cut.slice(r0, r1);
      const base = [...p.inputs, ...new Array<undefined>(Math.max(0, nb - p.inputs.length)).fill(undefined)].slice(0, nb);
      const ex = extras.map((e, k) => {
        const t = e!;
        switch (reads[k]) {
          case 'scalar': return reshaped(t, [1]);
          case 'full': return view(t, r0 * rowElems, r1 * rowElems, g.partDims(r0, r1));
          default: {
            if (g.channelsPerRow === undefined) return op === 'FusedConv' ? t : reshaped(t, [y[channelAxis]!]);
            const c = g.channelsPerRow;
            const dims = [...t.dims];
            dims[channelAxis - (y.length - dims.length)] = (r1 - r0) * c;
            return view(t, r0 * c, r1 * c, dims);
          }
        }
      });
      return { node: p.node, inputs: [...base, ...ex] };
    },
  };
}
