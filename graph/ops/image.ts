// Op schemas and shape rules: image family (resampling, grid sampling, box suppression).
import type { Dim } from '../ir.js';
import { constInts, dtypeOf, fail, shapeOf, tensorOut, normAxis } from './shape-util.js';
import { op, type InferContext, type OpSchema, type ShapeRule } from './types.js';

/** Float values of a constant input, or undefined when it is not constant. */
function constFloats(ctx: InferContext, i: number): number[] | undefined {
  const t = ctx.constant(i);
  if (!t) return undefined;
  const out: number[] = [];
  for (let k = 0; k < t.data.length; k++) out.push(Number((t.data as ArrayLike<number | bigint>)[k]));
  return out;
}

/**
 * Output dims of Resize/Upsample from scales or sizes over `axes` (all axes when absent),
 * following the ONNX reference: floor(d * scale) for scales, round-half-up for keep_aspect_ratio_policy.
 */
export function resizeOutputDims(
  inDims: readonly Dim[], scales: readonly number[] | undefined, sizes: readonly number[] | undefined,
  axes: readonly number[], policy: string,
): Dim[] | undefined {
  const out: Dim[] = [...inDims];
  if (sizes && sizes.length) {
    if (policy === 'stretch') {
      axes.forEach((a, i) => { out[a] = sizes[i]!; });
      return out;
    }
    let scale = policy === 'not_larger' ? Infinity : -Infinity;
    for (let i = 0; i < axes.length; i++) {
      const d = inDims[axes[i]!];
      if (typeof d !== 'number') return undefined;
      const s = sizes[i]! / d;
      scale = policy === 'not_larger' ? Math.min(scale, s) : Math.max(scale, s);
    }
    for (const a of axes) out[a] = Math.floor(scale * (inDims[a] as number) + 0.5);
    return out;
  }
  if (!scales) return undefined;
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    const d = inDims[a]!;
    if (scales[i] === 1) continue;
    if (typeof d !== 'number') return undefined;
    out[a] = Math.floor(d * scales[i]!);
  }
  return out;
}

const resizeRule: ShapeRule = (ctx) => {
  const dtype = dtypeOf(ctx, 0);
  const shape = shapeOf(ctx, 0);
  if (!shape) return [tensorOut(dtype)];
  const rank = shape.length;
  let scales: number[] | undefined;
  let sizes: number[] | undefined;
  if (ctx.node.opType === 'Upsample' && ctx.opset < 9) scales = ctx.attrs.floats('scales');
  else if (ctx.node.opType === 'Upsample' || ctx.opset < 11) scales = constFloats(ctx, 1);
  else {
    scales = ctx.inputCount > 2 && ctx.inputs[2] ? constFloats(ctx, 2) : undefined;
    sizes = ctx.inputCount > 3 && ctx.inputs[3] ? constInts(ctx, 3) : undefined;
    if (scales && scales.length === 0) scales = undefined;
    if (!scales && !sizes) return [tensorOut(dtype)];
  }
  const axesAttr = ctx.node.opType === 'Resize' && ctx.opset >= 18 ? ctx.attrs.ints('axes') : undefined;
  const axes = axesAttr ? axesAttr.map((a) => normAxis(a, rank, ctx)) : [...Array(rank).keys()];
  const n = (sizes && sizes.length ? sizes : scales)?.length;
  if (n !== undefined && n !== axes.length) fail(ctx, `${sizes && sizes.length ? 'sizes' : 'scales'} has ${n} values for ${axes.length} axes`);
  const policy = ctx.opset >= 18 ? ctx.attrs.string('keep_aspect_ratio_policy', 'stretch') : 'stretch';
  return [tensorOut(dtype, resizeOutputDims(shape, scales, sizes, axes, policy))];
};

const gridSampleRule: ShapeRule = (ctx) => {
  const x = shapeOf(ctx, 0);
  const g = shapeOf(ctx, 1);
  if (!x || !g) return [tensorOut(dtypeOf(ctx, 0))];
  if (x.length < 3 || g.length !== x.length) fail(ctx, `X rank ${x.length} and grid rank ${g.length} do not fit (grid must be [N, D1..Dk, k] for X [N, C, D1..Dk])`);
  return [tensorOut(dtypeOf(ctx, 0), [x[0]!, x[1]!, ...g.slice(1, -1)])];
};

const affineGridRule: ShapeRule = (ctx) => {
  const size = constInts(ctx, 1);
  if (!size) return [tensorOut(dtypeOf(ctx, 0))];
  if (size.length !== 4 && size.length !== 5) fail(ctx, `size must have 4 or 5 values, got ${size.length}`);
  return [tensorOut(dtypeOf(ctx, 0), [size[0]!, ...size.slice(2), size.length - 2])];
};

const nmsRule: ShapeRule = () => [tensorOut('int64', undefined)];

// Image size comes from the encoded data.
const imageDecoderRule: ShapeRule = () => [tensorOut('uint8', undefined)];

export const imageOps = {
  Resize: op(resizeRule, { since: 10, doc: 'Resample with nearest, linear or cubic interpolation' }),
  Upsample: op(resizeRule, { since: 7, doc: 'Deprecated nearest/linear upsampling (Resize of opset 9)' }),
  GridSample: op(gridSampleRule, { since: 16, doc: 'Sample X at normalized grid coordinates' }),
  AffineGrid: op(affineGridRule, { since: 20, doc: 'Sampling grid of an affine transform' }),
  NonMaxSuppression: op(nmsRule, { since: 10, doc: 'Greedy box selection by IoU' }),
  ImageDecoder: op(imageDecoderRule, { since: 20, doc: 'Decode PNG, BMP, PNM or uncompressed TIFF to [H, W, C] uint8' }),
} satisfies Record<string, OpSchema>;
