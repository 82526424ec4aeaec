// CPU kernels: sequence family (sequences and optionals). Keys match graph/ops/sequence.ts.
// Sequences are immutable values: ops that "modify" one return a new SequenceValue sharing the tensors.
import { type DType, dtypeFromOnnx } from '../../graph/dtype.js';
import type { sequenceOps } from '../../graph/ops/sequence.js';
import { type HostTensor, type OptionalValue, type RtValue, type SequenceValue, scalar, toIntList } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';
import { joinAlongAxis, sliceAlongAxis } from './control-util.js';

function seqArg(inputs: readonly (RtValue | undefined)[], i: number, ctx: CpuContext): SequenceValue {
  const v = inputs[i];
  if (v === undefined) throw new KernelInputError(ctx, `input ${i} (a sequence) is required`);
  if (v.kind !== 'sequence') throw new KernelInputError(ctx, `input ${i} should be a sequence, got a ${v.kind}`);
  return v;
}

function seq(items: readonly HostTensor[], elemType: DType | undefined): SequenceValue {
  return { kind: 'sequence', items, elemType: elemType ?? items[0]?.dtype };
}

/** A position input (int32/int64 scalar) normalized into [0, n] (inclusive when `end` may be addressed). */
function position(t: HostTensor, n: number, inclusiveEnd: boolean, ctx: CpuContext): number {
  if (t.data.length !== 1) throw new KernelInputError(ctx, `position should be a scalar, got shape [${t.dims.join(',')}]`);
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new KernelInputError(ctx, `position should be int32 or int64, got ${t.dtype}`);
  const p = Number((t.data as ArrayLike<number | bigint>)[0]);
  const hi = inclusiveEnd ? n : n - 1;
  if (p < -n || p > hi) throw new KernelInputError(ctx, `position ${p} is out of range [${-n}, ${hi}] for a sequence of length ${n}`);
  return p < 0 ? p + n : p;
}

function checkElem(seqv: SequenceValue, t: HostTensor, ctx: CpuContext): void {
  const want = seqv.elemType ?? seqv.items[0]?.dtype;
  if (want && want !== t.dtype) throw new KernelInputError(ctx, `tensor of dtype ${t.dtype} does not fit a sequence of ${want}`);
}

const SequenceEmpty: CpuKernel = (_inputs, ctx) => {
  const code = ctx.attrs.int('dtype', 1);
  const dtype = dtypeFromOnnx(code);
  if (!dtype) throw new KernelInputError(ctx, `dtype ${code} is not supported`);
  return [seq([], dtype)];
};

const SequenceConstruct: CpuKernel = (inputs, ctx) => {
  if (inputs.length === 0) throw new KernelInputError(ctx, 'needs at least one input');
  const items = inputs.map((_, i) => tensorArg(inputs, i, ctx));
  for (const [i, t] of items.entries()) {
    if (t.dtype !== items[0]!.dtype) throw new KernelInputError(ctx, `input ${i} has dtype ${t.dtype}, input 0 has ${items[0]!.dtype}`);
  }
  return [seq(items, items[0]!.dtype)];
};

const SequenceInsert: CpuKernel = (inputs, ctx) => {
  const s = seqArg(inputs, 0, ctx);
  const t = tensorArg(inputs, 1, ctx);
  checkElem(s, t, ctx);
  const posT = optTensorArg(inputs, 2, ctx);
  const p = posT ? position(posT, s.items.length, true, ctx) : s.items.length;
  const items = [...s.items];
  items.splice(p, 0, t);
  return [seq(items, s.elemType ?? t.dtype)];
};

const SequenceAt: CpuKernel = (inputs, ctx) => {
  const s = seqArg(inputs, 0, ctx);
  const p = position(tensorArg(inputs, 1, ctx), s.items.length, false, ctx);
  return [s.items[p]!];
};

const SequenceErase: CpuKernel = (inputs, ctx) => {
  const s = seqArg(inputs, 0, ctx);
  const posT = optTensorArg(inputs, 1, ctx);
  const n = s.items.length;
  if (n === 0) throw new KernelInputError(ctx, 'cannot erase from an empty sequence');
  const p = posT ? position(posT, n, false, ctx) : n - 1;
  const items = [...s.items];
  items.splice(p, 1);
  return [seq(items, s.elemType)];
};

const SequenceLength: CpuKernel = (inputs, ctx) => [scalar('int64', BigInt(seqArg(inputs, 0, ctx).items.length))];

const SplitToSequence: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const splitT = optTensorArg(inputs, 1, ctx);
  const r = x.dims.length;
  const a0 = ctx.attrs.int('axis', 0);
  if (r === 0) throw new KernelInputError(ctx, 'input must have rank 1 or more');
  if (a0 < -r || a0 >= r) throw new KernelInputError(ctx, `axis ${a0} is out of range for rank ${r}`);
  const axis = a0 < 0 ? a0 + r : a0;
  const len = x.dims[axis]!;
  const items: HostTensor[] = [];
  if (!splitT) {
    // No split: one piece per index; keepdims=0 drops the split axis.
    const keep = ctx.attrs.int('keepdims', 1) !== 0;
    const dims = keep ? x.dims : x.dims.filter((_, i) => i !== axis);
    for (let i = 0; i < len; i++) {
      const piece = sliceAlongAxis(x, axis, i, 1);
      items.push(keep ? piece : { ...piece, dims: [...dims] });
    }
    return [seq(items, x.dtype)];
  }
  if (splitT.dtype !== 'int32' && splitT.dtype !== 'int64') throw new KernelInputError(ctx, `split should be int32 or int64, got ${splitT.dtype}`);
  let sizes: number[];
  if (splitT.dims.length === 0) {
    const s = Number((splitT.data as ArrayLike<number | bigint>)[0]);
    if (!(s > 0)) throw new KernelInputError(ctx, `split size ${s} should be positive`);
    sizes = [];
    for (let at = 0; at < len; at += s) sizes.push(Math.min(s, len - at));
  } else if (splitT.dims.length === 1) {
    sizes = toIntList(splitT);
    if (sizes.some((s) => s < 0)) throw new KernelInputError(ctx, `split sizes [${sizes.join(',')}] should not be negative`);
    const sum = sizes.reduce((p, q) => p + q, 0);
    if (sum !== len) throw new KernelInputError(ctx, `split sizes [${sizes.join(',')}] sum to ${sum}, but axis ${axis} has length ${len}`);
  } else {
    throw new KernelInputError(ctx, `split should be a scalar or 1-D, got shape [${splitT.dims.join(',')}]`);
  }
  let at = 0;
  for (const s of sizes) {
    items.push(sliceAlongAxis(x, axis, at, s));
    at += s;
  }
  return [seq(items, x.dtype)];
};

const ConcatFromSequence: CpuKernel = (inputs, ctx) => {
  const s = seqArg(inputs, 0, ctx);
  if (!ctx.attrs.has('axis')) throw new KernelInputError(ctx, "attribute 'axis' is required");
  const a0 = ctx.attrs.int('axis', 0);
  const newAxis = ctx.attrs.int('new_axis', 0) !== 0;
  if (s.items.length === 0) throw new KernelInputError(ctx, 'cannot concatenate an empty sequence');
  const r = s.items[0]!.dims.length + (newAxis ? 1 : 0);
  if (a0 < -r || a0 >= r) throw new KernelInputError(ctx, `axis ${a0} is out of range for rank ${r}`);
  return [joinAlongAxis(s.items, a0 < 0 ? a0 + r : a0, newAxis, ctx, 'sequence item')];
};

const SequenceMap: CpuKernel = (inputs, ctx) => {
  const body = ctx.attrs.graph('body');
  if (!body) throw new KernelInputError(ctx, "attribute 'body' (a graph) is required");
  const first = seqArg(inputs, 0, ctx);
  const n = first.items.length;
  if (body.inputs.length !== inputs.length) throw new KernelInputError(ctx, `body has ${body.inputs.length} inputs, the node ${inputs.length}`);
  inputs.forEach((v, i) => {
    if (v?.kind === 'sequence' && v.items.length !== n) throw new KernelInputError(ctx, `sequence input ${i} has length ${v.items.length}, input 0 has ${n}`);
    if (v?.kind === 'optional') throw new KernelInputError(ctx, `input ${i} should be a tensor or a sequence, got an optional`);
  });
  const outs: HostTensor[][] = body.outputs.map(() => []);
  for (let k = 0; k < n; k++) {
    const args = inputs.map((v) => (v?.kind === 'sequence' ? v.items[k] : v));
    const res = ctx.runGraph(body, args);
    res.forEach((r, j) => {
      if (r.kind !== 'tensor') throw new KernelInputError(ctx, `body output ${j} should be a tensor, got a ${r.kind}`);
      outs[j]!.push(r);
    });
  }
  return outs.map((items, j) => {
    const t = body.outputs[j]!.type;
    return seq(items, items[0]?.dtype ?? (t?.kind === 'tensor' ? t.dtype : undefined));
  });
};

const Optional: CpuKernel = (inputs, ctx) => {
  const v = inputs[0];
  if (v !== undefined) {
    if (v.kind === 'optional') throw new KernelInputError(ctx, 'input should be a tensor or a sequence, got an optional');
    return [{ kind: 'optional', value: v, elem: v.kind === 'tensor' ? { kind: 'tensor', dtype: v.dtype } : { kind: 'sequence', dtype: v.elemType } } satisfies OptionalValue];
  }
  const t = ctx.attrs.type('type');
  if (!t) throw new KernelInputError(ctx, "an Optional without input needs the 'type' attribute");
  const elem: OptionalValue['elem'] =
    t.kind === 'tensor' ? { kind: 'tensor', dtype: t.dtype } : t.kind === 'sequence' ? { kind: 'sequence', dtype: t.elem?.kind === 'tensor' ? t.elem.dtype : undefined } : undefined;
  if (!elem) throw new KernelInputError(ctx, `an optional of ${t.kind} is not supported`);
  return [{ kind: 'optional', value: null, elem }];
};

const OptionalHasElement: CpuKernel = (inputs) => {
  const v = inputs[0];
  const has = v !== undefined && (v.kind !== 'optional' || v.value !== null);
  return [scalar('bool', has)];
};

const OptionalGetElement: CpuKernel = (inputs, ctx) => {
  const v = inputs[0];
  if (v === undefined) throw new KernelInputError(ctx, 'input is required');
  if (v.kind !== 'optional') return [v]; // opset 18: a tensor or sequence passes through
  if (v.value === null) throw new KernelInputError(ctx, 'the optional input holds no element');
  return [v.value];
};

export const sequenceKernels = {
  SequenceEmpty,
  SequenceConstruct,
  SequenceInsert,
  SequenceAt,
  SequenceErase,
  SequenceLength,
  SplitToSequence,
  ConcatFromSequence,
  SequenceMap,
  Optional,
  OptionalHasElement,
  OptionalGetElement,
} satisfies Record<keyof typeof sequenceOps, CpuKernel>;
