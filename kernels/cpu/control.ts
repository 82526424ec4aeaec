// CPU kernels: control family. Keys match graph/ops/control.ts; TypeScript checks none is missing.
// Bodies run through ctx.runGraph, which sees the enclosing scopes' values.
import type { controlOps } from '../../graph/ops/control.js';
import type { Graph } from '../../graph/ir.js';
import { type HostTensor, type RtValue, scalar, toIntList } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg } from './util.js';
import { zerosOfType, joinAlongAxis, takeAlongAxis, truthy } from './control-util.js';

function graphAttr(ctx: CpuContext, name: string): Graph {
  const g = ctx.attrs.graph(name);
  if (!g) throw new KernelInputError(ctx, `attribute '${name}' (a graph) is required`);
  return g;
}

function asTensor(v: RtValue | undefined, ctx: CpuContext, what: string): HostTensor {
  if (!v || v.kind !== 'tensor') throw new KernelInputError(ctx, `${what} should be a tensor, got ${v ? `a ${v.kind}` : 'nothing'}`);
  return v;
}

/** Stack per-iteration outputs on a new axis; with none, an empty tensor of the body output's declared type. */
function stackScan(items: RtValue[], axis: number, body: Graph, outIndex: number, ctx: CpuContext, lead: number): HostTensor {
  if (items.length === 0) {
    const t = zerosOfType(body.outputs[outIndex]?.type, []);
    const dims = [...t.dims];
    dims.splice(axis, 0, 0);
    return zerosOfType({ kind: 'tensor', dtype: t.dtype, shape: dims }, []);
  }
  const ts = items.map((v, i) => asTensor(v, ctx, `scan output ${lead} of iteration ${i}`));
  return joinAlongAxis(ts, axis, true, ctx, `iteration`);
}

const If: CpuKernel = (inputs, ctx) => {
  const cond = truthy(inputs[0], ctx, 'cond');
  const branch = graphAttr(ctx, cond ? 'then_branch' : 'else_branch');
  return ctx.runGraph(branch, []);
};

const Loop: CpuKernel = (inputs, ctx) => {
  const body = graphAttr(ctx, 'body');
  const mT = optTensorArg(inputs, 0, ctx);
  const condT = optTensorArg(inputs, 1, ctx);
  const carriedIn = inputs.slice(2);
  const N = carriedIn.length;
  if (body.inputs.length !== N + 2) throw new KernelInputError(ctx, `body has ${body.inputs.length} inputs, expected ${N + 2} (iteration, cond and ${N} loop-carried)`);
  const K = body.outputs.length - 1 - N;
  if (K < 0) throw new KernelInputError(ctx, `body has ${body.outputs.length} outputs, expected at least ${N + 1}`);
  let maxTrips = Infinity;
  if (mT) {
    if (mT.data.length !== 1) throw new KernelInputError(ctx, `M should be a scalar, got shape [${mT.dims.join(',')}]`);
    maxTrips = Number((mT.data as ArrayLike<number | bigint>)[0]);
  }
  let cond = condT ? truthy(condT, ctx, 'cond') : true;
  let carried: (RtValue | undefined)[] = carriedIn;
  const scans: RtValue[][] = Array.from({ length: K }, () => []);
  const condIn = (c: boolean) => scalar('bool', c);
  for (let i = 0; i < maxTrips && cond; i++) {
    const outs = ctx.runGraph(body, [scalar('int64', BigInt(i)), condIn(cond), ...carried]);
    cond = truthy(outs[0], ctx, 'body output cond');
    carried = outs.slice(1, 1 + N);
    for (let k = 0; k < K; k++) scans[k]!.push(outs[1 + N + k]!);
  }
  const result: RtValue[] = carried.map((v, i) => {
    if (v === undefined) throw new KernelInputError(ctx, `loop-carried value ${i} is missing`);
    return v;
  });
  for (let k = 0; k < K; k++) result.push(stackScan(scans[k]!, 0, body, 1 + N + k, ctx, k));
  return result;
};

/** Normalize per-input axes from an attribute (default 0), each against its own rank. */
function axesAttr(ctx: CpuContext, name: string, ranks: number[]): number[] {
  const given = ctx.attrs.ints(name);
  if (given && given.length !== ranks.length) throw new KernelInputError(ctx, `${name} has ${given.length} entries, expected ${ranks.length}`);
  return ranks.map((r, i) => {
    const a = given?.[i] ?? 0;
    const n = a < 0 ? a + r : a;
    if (n < 0 || n >= r) throw new KernelInputError(ctx, `${name}[${i}] = ${a} is out of range for rank ${r}`);
    return n;
  });
}

function dirsAttr(ctx: CpuContext, name: string, count: number): number[] {
  const given = ctx.attrs.ints(name);
  if (given && given.length !== count) throw new KernelInputError(ctx, `${name} has ${given.length} entries, expected ${count}`);
  return Array.from({ length: count }, (_, i) => given?.[i] ?? 0);
}

/** Scan 9+: scan inputs sliced along their scan axes, scan outputs stacked along theirs. */
const Scan9: CpuKernel = (inputs, ctx) => {
  const body = graphAttr(ctx, 'body');
  const M = ctx.attrs.int('num_scan_inputs', 0);
  const N = inputs.length - M;
  if (M < 1 || N < 0) throw new KernelInputError(ctx, `num_scan_inputs = ${M} does not fit ${inputs.length} inputs`);
  if (body.inputs.length !== N + M) throw new KernelInputError(ctx, `body has ${body.inputs.length} inputs, expected ${N + M}`);
  const K = body.outputs.length - N;
  if (K < 0) throw new KernelInputError(ctx, `body has ${body.outputs.length} outputs, expected at least ${N}`);
  const scanIns = inputs.slice(N).map((v, j) => asTensor(v, ctx, `scan input ${j}`));
  const inAxes = axesAttr(ctx, 'scan_input_axes', scanIns.map((t) => t.dims.length));
  const inDirs = dirsAttr(ctx, 'scan_input_directions', M);
  const T = scanIns[0]!.dims[inAxes[0]!]!;
  scanIns.forEach((t, j) => {
    if (t.dims[inAxes[j]!] !== T) throw new KernelInputError(ctx, `scan input ${j} has length ${t.dims[inAxes[j]!]} along axis ${inAxes[j]}, scan input 0 has ${T}`);
  });
  let states: (RtValue | undefined)[] = inputs.slice(0, N);
  const scans: RtValue[][] = Array.from({ length: K }, () => []);
  for (let t = 0; t < T; t++) {
    const slices = scanIns.map((x, j) => takeAlongAxis(x, inAxes[j]!, inDirs[j] ? T - 1 - t : t));
    const outs = ctx.runGraph(body, [...states, ...slices]);
    states = outs.slice(0, N);
    for (let k = 0; k < K; k++) scans[k]!.push(outs[N + k]!);
  }
  const outDirs = dirsAttr(ctx, 'scan_output_directions', K);
  const givenAxes = ctx.attrs.ints('scan_output_axes');
  if (givenAxes && givenAxes.length !== K) throw new KernelInputError(ctx, `scan_output_axes has ${givenAxes.length} entries, expected ${K}`);
  const result: RtValue[] = states.map((v, i) => {
    if (v === undefined) throw new KernelInputError(ctx, `state ${i} is missing`);
    return v;
  });
  for (let k = 0; k < K; k++) {
    const items = outDirs[k] ? scans[k]!.reverse() : scans[k]!;
    const declared = body.outputs[N + k]?.type;
    const r = (items[0] && items[0].kind === 'tensor' ? items[0].dims.length : declared?.kind === 'tensor' ? declared.shape?.length ?? 0 : 0) + 1;
    const a = givenAxes?.[k] ?? 0;
    const axis = a < 0 ? a + r : a;
    if (axis < 0 || axis >= r) throw new KernelInputError(ctx, `scan_output_axes[${k}] = ${a} is out of range for rank ${r}`);
    result.push(stackScan(items, axis, body, N + k, ctx, k));
  }
  return result;
};

/** Scan 8: inputs carry a leading batch axis; sequence_lens (optional) bounds each batch's scan. */
const Scan8: CpuKernel = (inputs, ctx) => {
  const body = graphAttr(ctx, 'body');
  const M = ctx.attrs.int('num_scan_inputs', 0);
  const lensT = optTensorArg(inputs, 0, ctx);
  const rest = inputs.slice(1);
  const N = rest.length - M;
  if (M < 1 || N < 0) throw new KernelInputError(ctx, `num_scan_inputs = ${M} does not fit ${inputs.length} inputs`);
  if (body.inputs.length !== N + M) throw new KernelInputError(ctx, `body has ${body.inputs.length} inputs, expected ${N + M}`);
  const K = body.outputs.length - N;
  if (K < 0) throw new KernelInputError(ctx, `body has ${body.outputs.length} outputs, expected at least ${N}`);
  const statesIn = rest.slice(0, N).map((v, i) => asTensor(v, ctx, `initial state ${i}`));
  const scanIns = rest.slice(N).map((v, j) => asTensor(v, ctx, `scan input ${j}`));
  const dirs = dirsAttr(ctx, 'directions', M);
  for (const [j, t] of scanIns.entries()) if (t.dims.length < 2) throw new KernelInputError(ctx, `scan input ${j} needs batch and sequence axes, got shape [${t.dims.join(',')}]`);
  const B = scanIns[0]!.dims[0]!;
  const T = scanIns[0]!.dims[1]!;
  scanIns.forEach((t, j) => {
    if (t.dims[0] !== B || t.dims[1] !== T) throw new KernelInputError(ctx, `scan input ${j} has shape [${t.dims.join(',')}], expected batch ${B} and length ${T}`);
  });
  statesIn.forEach((t, i) => {
    if (t.dims[0] !== B) throw new KernelInputError(ctx, `initial state ${i} has batch ${t.dims[0]}, expected ${B}`);
  });
  const lens = lensT ? toIntList(lensT) : new Array<number>(B).fill(T);
  if (lens.length !== B) throw new KernelInputError(ctx, `sequence_lens has ${lens.length} entries, expected ${B}`);
  const finalStates: HostTensor[][] = Array.from({ length: N }, () => []);
  const scanOuts: HostTensor[][] = Array.from({ length: K }, () => []);
  for (let b = 0; b < B; b++) {
    const len = lens[b]!;
    if (len < 0 || len > T) throw new KernelInputError(ctx, `sequence_lens[${b}] = ${len} is outside [0, ${T}]`);
    let states: RtValue[] = statesIn.map((s) => takeAlongAxis(s, 0, b));
    const seqs = scanIns.map((x) => takeAlongAxis(x, 0, b));
    const items: RtValue[][] = Array.from({ length: K }, () => []);
    for (let t = 0; t < len; t++) {
      const slices = seqs.map((x, j) => takeAlongAxis(x, 0, dirs[j] ? len - 1 - t : t));
      const outs = ctx.runGraph(body, [...states, ...slices]);
      states = outs.slice(0, N);
      for (let k = 0; k < K; k++) items[k]!.push(outs[N + k]!);
    }
    states.forEach((s, i) => finalStates[i]!.push(asTensor(s, ctx, `state ${i}`)));
    for (let k = 0; k < K; k++) {
      // Steps past this batch's length are zero, shaped like its other steps.
      const shapeOf = items[k]![0] ?? zerosOfType(body.outputs[N + k]?.type, []);
      const like = asTensor(shapeOf, ctx, `scan output ${k}`);
      while (items[k]!.length < T) items[k]!.push(zerosOfType({ kind: 'tensor', dtype: like.dtype, shape: [...like.dims] }, []));
      scanOuts[k]!.push(stackScan(items[k]!, 0, body, N + k, ctx, k));
    }
  }
  const result: RtValue[] = finalStates.map((ts, i) => (B ? joinAlongAxis(ts, 0, true, ctx, 'batch') : zerosOfType(statesIn[i] && { kind: 'tensor', dtype: statesIn[i]!.dtype, shape: [...statesIn[i]!.dims] }, [])));
  for (let k = 0; k < K; k++) result.push(B ? joinAlongAxis(scanOuts[k]!, 0, true, ctx, 'batch') : zerosOfType(body.outputs[N + k]?.type, [0, T]));
  return result;
};

const Scan: CpuKernel = (inputs, ctx) => (ctx.opset >= 9 ? Scan9 : Scan8)(inputs, ctx);

export const controlKernels = {
  If,
  Loop,
  Scan,
} satisfies Record<keyof typeof controlOps, CpuKernel>;
