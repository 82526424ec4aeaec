// Op schemas and shape rules: manip family (tensor manipulation: reshape, slicing, gather/scatter, padding).
// Shape rules use constant inputs (constInts) where ONNX moved attributes to inputs, and fall back to
// fresh symbols for dims that depend on data.
import type { Dim, ValueType } from '../ir.js';
import { constInts, dtypeOf, fail, mulDims, normAxis, sameAsInput, shapeOf, tensorOut, broadcastDims } from './shape-util.js';
import { op, type InferContext, type OpSchema } from './types.js';
import { addDim, dtypeAttr, fresh, freshDims, given, intsAttrOrInput, normAxes, numProduct, sumDims } from './manip-rules.js';
import { rangeCount, shapeRange, sliceRange, splitSizes } from './manip-util.js';
import { gatherOps } from './manip-gather.js';
import { shapeInput } from './manip-values.js';

function constantRule(ctx: InferContext): (ValueType | undefined)[] {
  const a = ctx.node.attributes;
  const t = a.value ?? a.sparse_value;
  if (t && (t.kind === 'tensor' || t.kind === 'sparse')) return [tensorOut(t.value.dtype, [...t.value.dims])];
  if (a.value_float) return [tensorOut('float32', [])];
  if (a.value_floats?.kind === 'floats') return [tensorOut('float32', [a.value_floats.value.length])];
  if (a.value_int) return [tensorOut('int64', [])];
  if (a.value_ints?.kind === 'ints') return [tensorOut('int64', [a.value_ints.value.length])];
  if (a.value_string) return [tensorOut('string', [])];
  if (a.value_strings?.kind === 'strings') return [tensorOut('string', [a.value_strings.value.length])];
  return fail(ctx, 'Constant needs one of value, sparse_value, value_float(s), value_int(s), value_string(s)');
}

/** The size of Reshape's -1 dim: cancels equal symbols and numeric factors where it can. */
function inferMinusOne(ctx: InferContext, inShape: readonly Dim[], others: readonly Dim[], at: number): Dim {
  const inSyms = inShape.filter((d): d is string => typeof d === 'string');
  let inNum = 1;
  for (const d of inShape) if (typeof d === 'number') inNum *= d;
  let outNum = 1;
  for (const d of others) {
    if (typeof d === 'number') outNum *= d;
    else {
      const k = inSyms.indexOf(d);
      if (k < 0) return fresh(ctx, 0, at);
      inSyms.splice(k, 1);
    }
  }
  if (outNum === 0) {
    if (inNum === 0 && !inSyms.length) fail(ctx, 'cannot infer the -1 dim of a reshape with a 0 dim');
    return fresh(ctx, 0, at);
  }
  if (inNum % outNum !== 0) {
    if (!inSyms.length) fail(ctx, `cannot reshape [${inShape.join(',')}] into [${others.join(',')}] with one -1 dim`);
    return fresh(ctx, 0, at);
  }
  let d: Dim = inNum / outNum;
  for (const s of inSyms) d = mulDims(d, s);
  return d;
}

function reshapeRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const inShape = shapeOf(ctx, 0);
  const target: Dim[] | undefined = ctx.opset < 5 ? ctx.attrs.ints('shape') : shapeInput(ctx, 1);
  if (!target) {
    const n = shapeOf(ctx, 1)?.[0];
    return [tensorOut(dt, typeof n === 'number' ? freshDims(ctx, 0, n) : undefined)];
  }
  const allowzero = ctx.attrs.int('allowzero', 0) === 1;
  if (allowzero && target.includes(0) && target.includes(-1)) fail(ctx, 'shape has both 0 and -1 while allowzero is set');
  const out: Dim[] = [];
  let neg = -1;
  target.forEach((t, i) => {
    if (typeof t === 'string') out.push(t); // a symbolic dim from Shape(...) of another value
    else if (t === -1) {
      if (neg >= 0) fail(ctx, `shape [${target.join(',')}] has more than one -1`);
      neg = i;
      out.push(0);
    } else if (t === 0 && !allowzero) {
      if (inShape && i >= inShape.length) fail(ctx, `shape [${target.join(',')}] copies dim ${i} (0), which input rank ${inShape.length} lacks`);
      out.push(inShape ? inShape[i]! : fresh(ctx, 0, i));
    } else if (t < 0) fail(ctx, `shape [${target.join(',')}] has an invalid dim ${t}`);
    else out.push(t);
  });
  if (neg >= 0) {
    out[neg] = inShape ? inferMinusOne(ctx, inShape, out.filter((_, i) => i !== neg), neg) : fresh(ctx, 0, neg);
  } else if (inShape) {
    const a = numProduct(inShape);
    const b = numProduct(out);
    if (a !== undefined && b !== undefined && a !== b) fail(ctx, `cannot reshape [${inShape.join(',')}] (${a} elements) into [${out.join(',')}] (${b})`);
  }
  return [tensorOut(dt, out)];
}

function transposeRule(ctx: InferContext): (ValueType | undefined)[] {
  const s = shapeOf(ctx, 0);
  const dt = dtypeOf(ctx, 0);
  const perm = ctx.attrs.ints('perm');
  if (!s) return [tensorOut(dt, perm ? freshDims(ctx, 0, perm.length) : undefined)];
  const p = perm ?? s.map((_, i) => s.length - 1 - i);
  if (p.length !== s.length || [...p].sort((a, b) => a - b).some((v, i) => v !== i)) {
    fail(ctx, `perm [${p.join(',')}] is not a permutation of rank ${s.length}`);
  }
  return [tensorOut(dt, p.map((i) => s[i]!))];
}

function concatRule(ctx: InferContext): (ValueType | undefined)[] {
  const n = ctx.inputCount;
  const dt = dtypeOf(ctx, 0);
  const shapes = Array.from({ length: n }, (_, i) => shapeOf(ctx, i));
  const known = shapes.find((s) => s);
  if (!known) return [tensorOut(dt)];
  const rank = known.length;
  const axis = normAxis(ctx.attrs.int('axis', 1), rank, ctx);
  const out: Dim[] = [];
  for (let j = 0; j < rank; j++) {
    if (j === axis) {
      out.push(shapes.every((s) => s) ? sumDims(shapes.map((s) => s![j]!)) : fresh(ctx, 0, j));
      continue;
    }
    let d: Dim | undefined;
    for (const s of shapes) {
      if (!s) continue;
      if (s.length !== rank) fail(ctx, `inputs have different ranks (${rank} and ${s.length})`);
      const x = s[j]!;
      if (typeof x === 'number') {
        if (typeof d === 'number' && d !== x) fail(ctx, `inputs differ in dim ${j} (${d} and ${x}) outside the concat axis`);
        d = x;
      } else d ??= x;
    }
    out.push(d!);
  }
  return [tensorOut(dt, out)];
}

function splitRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const count = ctx.node.outputs.length;
  if (!s) return ctx.node.outputs.map(() => tensorOut(dt));
  const axis = normAxis(ctx.attrs.int('axis', 0), s.length, ctx);
  let split: number[] | undefined;
  let known = true;
  if (ctx.opset >= 13 || (ctx.opset < 2 && given(ctx, 1))) {
    if (given(ctx, 1)) {
      split = constInts(ctx, 1);
      known = !!split;
    }
  } else split = ctx.attrs.ints('split');
  const numOutputs = ctx.attrs.int('num_outputs');
  if (numOutputs !== undefined && split) fail(ctx, 'both split and num_outputs are given');
  if (numOutputs !== undefined && numOutputs !== count) fail(ctx, `num_outputs ${numOutputs} but the node has ${count} outputs`);
  const d = s[axis]!;
  const shapes = ctx.node.outputs.map((_, k) => {
    const o = [...s];
    o[axis] = fresh(ctx, k, axis);
    return o;
  });
  if (known && typeof d === 'number') {
    const sizes = splitSizes(d, count, split, ctx.opset >= 18 && numOutputs !== undefined);
    if (typeof sizes === 'string') fail(ctx, sizes);
    sizes.forEach((z, k) => (shapes[k]![axis] = z));
  } else if (split) split.forEach((z, k) => shapes[k] && (shapes[k][axis] = z));
  else if (count === 1) shapes[0]![axis] = d;
  return shapes.map((o) => tensorOut(dt, o));
}

function sliceRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  let starts: number[] | undefined, ends: number[] | undefined, axes: number[] | undefined, steps: number[] | undefined;
  let axesKnown = true;
  if (ctx.opset < 10) {
    starts = ctx.attrs.ints('starts');
    ends = ctx.attrs.ints('ends');
    axes = ctx.attrs.ints('axes');
  } else {
    starts = constInts(ctx, 1);
    ends = constInts(ctx, 2);
    if (given(ctx, 3)) {
      axes = constInts(ctx, 3);
      axesKnown = !!axes;
    }
    if (given(ctx, 4)) {
      steps = constInts(ctx, 4);
      if (!steps) starts = undefined; // steps not constant: the sliced sizes are unknown
    }
  }
  if (!axesKnown) return [tensorOut(dt, freshDims(ctx, 0, s.length))];
  const out = [...s];
  if (!starts || !ends) {
    // Only the sliced axes change; which ones is known when axes is.
    const ax = axes ? normAxes(ctx, axes, s.length) : s.map((_, i) => i);
    for (const a of ax) out[a] = fresh(ctx, 0, a);
    return [tensorOut(dt, out)];
  }
  if (starts.length !== ends.length) fail(ctx, `starts (${starts.length}) and ends (${ends.length}) differ in length`);
  const ax = normAxes(ctx, axes ?? starts.map((_, i) => i), s.length);
  if (ax.length !== starts.length) fail(ctx, `axes has ${ax.length} entries for ${starts.length} starts`);
  ax.forEach((a, k) => {
    const st = steps?.[k] ?? 1;
    if (st === 0) fail(ctx, 'slice step is 0');
    const d = s[a]!;
    if (typeof d === 'number') out[a] = sliceRange(d, starts![k]!, ends![k]!, st).len;
    else if (st === -1 && starts![k]! === -1 && ends![k]! <= -(2 ** 31)) out[a] = d; // full reverse
    else if (!(starts![k] === 0 && st === 1 && ends![k]! >= 2 ** 31 - 1)) out[a] = fresh(ctx, 0, a);
  });
  return [tensorOut(dt, out)];
}

function squeezeRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const axes = intsAttrOrInput(ctx, 'axes', 1, 13);
  if (!s) return [tensorOut(dt)];
  if (!axes.known) return [tensorOut(dt)];
  if (!axes.value) {
    if (s.some((d) => typeof d !== 'number')) return [tensorOut(dt)];
    return [tensorOut(dt, s.filter((d) => d !== 1))];
  }
  const ax = normAxes(ctx, axes.value, s.length);
  for (const a of ax) if (typeof s[a] === 'number' && s[a] !== 1) fail(ctx, `cannot squeeze axis ${a} of size ${s[a]}`);
  return [tensorOut(dt, s.filter((_, i) => !ax.includes(i)))];
}

function unsqueezeRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const axes = intsAttrOrInput(ctx, 'axes', 1, 13);
  if (axes.known && !axes.value) fail(ctx, 'Unsqueeze needs axes');
  if (!s || !axes.value) {
    const n = shapeOf(ctx, 1)?.[0];
    return [tensorOut(dt, s && typeof n === 'number' ? freshDims(ctx, 0, s.length + n) : undefined)];
  }
  const rank = s.length + axes.value.length;
  const ax = normAxes(ctx, axes.value, rank);
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(ax.includes(i) ? 1 : s[k++]!);
  return [tensorOut(dt, out)];
}

function flattenRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt, freshDims(ctx, 0, 2))];
  let axis = ctx.attrs.int('axis', 1);
  if (axis < 0) axis += s.length;
  if (axis < 0 || axis > s.length) fail(ctx, `axis ${ctx.attrs.int('axis', 1)} is out of range for rank ${s.length}`);
  return [tensorOut(dt, [s.slice(0, axis).reduce<Dim>(mulDims, 1), s.slice(axis).reduce<Dim>(mulDims, 1)])];
}

function expandRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const shape = shapeInput(ctx, 1);
  if (s && shape) return [tensorOut(dt, broadcastDims(s, shape, ctx))];
  const n = shapeOf(ctx, 1)?.[0];
  if (s && typeof n === 'number') return [tensorOut(dt, freshDims(ctx, 0, Math.max(n, s.length)))];
  return [tensorOut(dt)];
}

function tileRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  let reps = constInts(ctx, 1);
  if (ctx.opset < 6 && reps) {
    // Tile-1: a count of copies along one axis (input 2).
    const axis = constInts(ctx, 2);
    if (!axis) return [tensorOut(dt, freshDims(ctx, 0, s.length))];
    const r = s.map(() => 1);
    r[normAxis(axis[0]!, s.length, ctx)] = reps[0]!;
    reps = r;
  }
  if (!reps) return [tensorOut(dt, freshDims(ctx, 0, s.length))];
  if (reps.length !== s.length) fail(ctx, `repeats has ${reps.length} entries for rank ${s.length}`);
  if (reps.some((r) => r < 0)) fail(ctx, `repeats [${reps.join(',')}] has a negative count`);
  return [tensorOut(dt, s.map((d, i) => mulDims(d, reps![i]!)))];
}

function padRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  const pads = ctx.opset < 11 ? ctx.attrs.ints('pads') ?? ctx.attrs.ints('paddings') : constInts(ctx, 1);
  let axes: number[] | undefined = s.map((_, i) => i);
  if (ctx.opset >= 18 && given(ctx, 3)) axes = constInts(ctx, 3);
  if (!pads || !axes) return [tensorOut(dt, freshDims(ctx, 0, s.length))];
  const ax = normAxes(ctx, axes, s.length);
  if (pads.length !== 2 * ax.length) fail(ctx, `pads has ${pads.length} entries for ${ax.length} axes (needs ${2 * ax.length})`);
  const out = [...s];
  ax.forEach((a, k) => {
    const d = addDim(s[a]!, pads[k]! + pads[k + ax.length]!);
    if (typeof d === 'number' && d < 0) fail(ctx, `pads [${pads.join(',')}] leave axis ${a} with a negative size`);
    out[a] = d;
  });
  return [tensorOut(dt, out)];
}

function shapeRule(ctx: InferContext): (ValueType | undefined)[] {
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut('int64', [fresh(ctx, 0, 0)])];
  const [a, b] = shapeRange(s.length, ctx.attrs.int('start', 0), ctx.attrs.int('end'));
  return [tensorOut('int64', [b - a])];
}

function rangeRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const [a, b, c] = [constInts(ctx, 0), constInts(ctx, 1), constInts(ctx, 2)];
  if (a && b && c) {
    if (c[0] === 0) fail(ctx, 'Range delta is 0');
    return [tensorOut(dt, [rangeCount(a[0]!, b[0]!, c[0]!)])];
  }
  return [tensorOut(dt, [fresh(ctx, 0, 0)])];
}

function constantOfShapeRule(ctx: InferContext): (ValueType | undefined)[] {
  const v = ctx.attrs.tensor('value');
  const dt = v?.dtype ?? 'float32';
  const shape = shapeInput(ctx, 0);
  if (shape) {
    if (shape.some((d) => typeof d === 'number' && d < 0)) fail(ctx, `shape [${shape.join(',')}] has a negative dim`);
    return [tensorOut(dt, shape)];
  }
  const n = shapeOf(ctx, 0)?.[0];
  return [tensorOut(dt, typeof n === 'number' ? freshDims(ctx, 0, n) : undefined)];
}

function depthToSpaceRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const b = ctx.attrs.required('blocksize', 'int');
  if (b <= 0) fail(ctx, `blocksize ${b} must be positive`);
  if (!s) return [tensorOut(dt, freshDims(ctx, 0, 4))];
  if (s.length !== 4) fail(ctx, `input must be 4-D, got rank ${s.length}`);
  const [n, c, h, w] = s as [Dim, Dim, Dim, Dim];
  if (typeof c === 'number' && c % (b * b) !== 0) fail(ctx, `channels ${c} are not divisible by blocksize² ${b * b}`);
  return [tensorOut(dt, [n, typeof c === 'number' ? c / (b * b) : fresh(ctx, 0, 1), mulDims(h, b), mulDims(w, b)])];
}

function spaceToDepthRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const b = ctx.attrs.required('blocksize', 'int');
  if (b <= 0) fail(ctx, `blocksize ${b} must be positive`);
  if (!s) return [tensorOut(dt, freshDims(ctx, 0, 4))];
  if (s.length !== 4) fail(ctx, `input must be 4-D, got rank ${s.length}`);
  const [n, c, h, w] = s as [Dim, Dim, Dim, Dim];
  const div = (d: Dim, i: number): Dim => {
    if (typeof d !== 'number') return fresh(ctx, 0, i);
    if (d % b !== 0) fail(ctx, `spatial dim ${d} is not divisible by blocksize ${b}`);
    return d / b;
  };
  return [tensorOut(dt, [n, mulDims(c, b * b), div(h, 2), div(w, 3)])];
}

function eyeLikeRule(ctx: InferContext): (ValueType | undefined)[] {
  const s = shapeOf(ctx, 0);
  if (s && s.length !== 2) fail(ctx, `input must be 2-D, got rank ${s.length}`);
  return [tensorOut(dtypeAttr(ctx, 'dtype') ?? dtypeOf(ctx, 0), s)];
}

function compressRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const axis = ctx.attrs.int('axis');
  if (axis === undefined) return [tensorOut(dt, [fresh(ctx, 0, 0)])];
  if (!s) return [tensorOut(dt)];
  const a = normAxis(axis, s.length, ctx);
  const out = [...s];
  out[a] = fresh(ctx, 0, a);
  return [tensorOut(dt, out)];
}

function uniqueRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  const axis = ctx.attrs.int('axis');
  const u = fresh(ctx, 0, 'unique');
  let y: Dim[] | undefined = [u];
  let inv: Dim[] | undefined = s ? [s.reduce<Dim>(mulDims, 1)] : [fresh(ctx, 2, 0)];
  if (axis !== undefined) {
    if (s) {
      const a = normAxis(axis, s.length, ctx);
      y = [...s];
      y[a] = u;
      inv = [s[a]!];
    } else y = undefined;
  }
  return [tensorOut(dt, y), tensorOut('int64', [u]), tensorOut('int64', inv), tensorOut('int64', [u])];
}

function centerCropPadRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 0);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  const shape = constInts(ctx, 1);
  const axes = normAxes(ctx, ctx.attrs.ints('axes') ?? s.map((_, i) => i), s.length);
  const out = [...s];
  axes.forEach((a, k) => (out[a] = shape ? shape[k]! : fresh(ctx, 0, a)));
  if (shape && shape.length !== axes.length) fail(ctx, `shape has ${shape.length} entries for ${axes.length} axes`);
  return [tensorOut(dt, out)];
}

function oneHotRule(ctx: InferContext): (ValueType | undefined)[] {
  const dt = dtypeOf(ctx, 2);
  const s = shapeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  const depth = ctx.constant(1);
  const axis = normAxis(ctx.attrs.int('axis', -1), s.length + 1, ctx);
  const out = [...s];
  out.splice(axis, 0, depth && depth.data.length === 1 ? Math.trunc(Number((depth.data as ArrayLike<number | bigint>)[0])) : fresh(ctx, 0, axis));
  return [tensorOut(dt, out)];
}

function dropoutRule(ctx: InferContext): (ValueType | undefined)[] {
  const t = ctx.inputs[0];
  const s = shapeOf(ctx, 0);
  const maskType = ctx.opset >= 10 ? 'bool' : dtypeOf(ctx, 0);
  return [t, tensorOut(maskType, s)];
}

function triluRule(ctx: InferContext): (ValueType | undefined)[] {
  const s = shapeOf(ctx, 0);
  if (s && s.length < 2) fail(ctx, `input must have rank 2 or more, got ${s.length}`);
  return [ctx.inputs[0]];
}

function reverseSequenceRule(ctx: InferContext): (ValueType | undefined)[] {
  const s = shapeOf(ctx, 0);
  if (s && s.length < 2) fail(ctx, `input must have rank 2 or more, got ${s.length}`);
  return [ctx.inputs[0]];
}

export const manipOps = {
  Identity: op(sameAsInput, { doc: 'Passes its input (tensor, sequence or optional) through.' }),
  Constant: op(constantRule, { doc: 'A constant tensor from an attribute.' }),
  Reshape: op(reshapeRule),
  Transpose: op(transposeRule),
  Concat: op(concatRule),
  Split: op(splitRule),
  Slice: op(sliceRule),
  Squeeze: op(squeezeRule),
  Unsqueeze: op(unsqueezeRule),
  Flatten: op(flattenRule),
  Expand: op(expandRule, { since: 8 }),
  Tile: op(tileRule),
  Pad: op(padRule),
  Shape: op(shapeRule),
  Size: op(() => [tensorOut('int64', [])]),
  Range: op(rangeRule, { since: 11 }),
  ConstantOfShape: op(constantOfShapeRule, { since: 9 }),
  OneHot: op(oneHotRule, { since: 9 }),
  NonZero: op((ctx) => [tensorOut('int64', [shapeOf(ctx, 0)?.length ?? fresh(ctx, 0, 0), fresh(ctx, 0, 1)])], { since: 9 }),
  Trilu: op(triluRule, { since: 14 }),
  DepthToSpace: op(depthToSpaceRule),
  SpaceToDepth: op(spaceToDepthRule),
  EyeLike: op(eyeLikeRule, { since: 9 }),
  Compress: op(compressRule, { since: 9 }),
  ReverseSequence: op(reverseSequenceRule, { since: 10 }),
  Unique: op(uniqueRule, { since: 11 }),
  CenterCropPad: op(centerCropPadRule, { since: 18 }),
  Dropout: op(dropoutRule),
  ...gatherOps,
} satisfies Record<string, OpSchema>;
