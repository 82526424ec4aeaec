// Op schemas and shape rules: nn family (convolution, pooling, normalization).
import type { Dim, ValueType } from '../ir.js';
import { op, type InferContext, type OpSchema } from './types.js';
import { constInts, dtypeOf, fail, normAxis, sameAsInput, shapeOf, tensorOut } from './shape-util.js';
import { convTransposeGeometry, readWindowAttrs, windowGeometry, type WindowAttrs } from './nn-window.js';

/** A dim standing for an unknown size (fresh symbol, unique to this node's output). */
function unknownDim(ctx: InferContext, i: number): Dim {
  return `${ctx.node.name}:d${i}`;
}

/** The window attributes, or undefined when the kernel size is not known yet (no kernel_shape, weight shape unknown). */
function windowAttrs(ctx: InferContext, nSpatial: number, kernelFallback?: readonly Dim[]): WindowAttrs | undefined {
  const kf = kernelFallback && kernelFallback.every((d) => typeof d === 'number') ? (kernelFallback as number[]) : undefined;
  if (!ctx.attrs.has('kernel_shape') && !kf) return undefined;
  try {
    return readWindowAttrs(ctx.attrs, nSpatial, kf);
  } catch (e) {
    return fail(ctx, (e as Error).message);
  }
}

/** Spatial output dims of a forward window op; symbolic input dims give fresh symbols (or pass through for identity windows). */
function spatialOut(ctx: InferContext, spatial: readonly Dim[], a: WindowAttrs | undefined): Dim[] {
  if (!a) return spatial.map((_, i) => unknownDim(ctx, i + 2));
  const known = spatial.map((d) => (typeof d === 'number' ? d : 1));
  const g = windowGeometry(known, a);
  return spatial.map((d, i) => {
    if (typeof d === 'number') {
      if (g.out[i]! < 1) fail(ctx, `spatial dim ${i} of size ${d} gives an empty output (kernel ${a.kernel[i]}, dilation ${a.dilations[i]}, pads ${g.padHead[i]}+${g.padTail[i]})`);
      return g.out[i]!;
    }
    // Stride 1 with pads that add up to the dilated kernel's extent less one keeps the size (3x3 pad 1...).
    const keeps = a.strides[i] === 1 && g.padHead[i]! + g.padTail[i]! === (a.kernel[i]! - 1) * a.dilations[i]!;
    const same = (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') && a.strides[i] === 1;
    return keeps || same ? d : unknownDim(ctx, i + 2);
  });
}

const convRule = (outDtype?: 'int32') => (ctx: InferContext): (ValueType | undefined)[] => {
  const xi = 0;
  const wi = ctx.node.opType === 'QLinearConv' ? 3 : 1;
  const x = shapeOf(ctx, xi);
  const w = shapeOf(ctx, wi);
  const dtype = outDtype ?? (ctx.node.opType === 'QLinearConv' ? dtypeOf(ctx, 7) ?? dtypeOf(ctx, 0) : dtypeOf(ctx, 0));
  if (!x) return [tensorOut(dtype)];
  if (x.length < 3) fail(ctx, `input should have rank >= 3 (N, C, spatial...), got [${x.join(',')}]`);
  const n = x.length - 2;
  if (w && w.length !== x.length) fail(ctx, `weight rank ${w.length} differs from input rank ${x.length}`);
  const group = ctx.attrs.int('group', 1);
  if (w && typeof w[1] === 'number' && typeof x[1] === 'number' && w[1] * group !== x[1]) {
    fail(ctx, `input has ${x[1]} channels but weight expects ${w[1]} x group ${group}`);
  }
  const a = windowAttrs(ctx, n, w?.slice(2));
  return [tensorOut(dtype, [x[0]!, w ? w[0]! : unknownDim(ctx, 1), ...spatialOut(ctx, x.slice(2), a)])];
};

const convTransposeRule = (ctx: InferContext): (ValueType | undefined)[] => {
  const x = shapeOf(ctx, 0);
  const w = shapeOf(ctx, 1);
  const dtype = dtypeOf(ctx, 0);
  if (!x) return [tensorOut(dtype)];
  if (x.length < 3) fail(ctx, `input should have rank >= 3 (N, C, spatial...), got [${x.join(',')}]`);
  const n = x.length - 2;
  const group = ctx.attrs.int('group', 1);
  const a = windowAttrs(ctx, n, w?.slice(2));
  const cout: Dim = w && typeof w[1] === 'number' ? w[1] * group : unknownDim(ctx, 1);
  const spatial = x.slice(2);
  if (!a || !spatial.every((d) => typeof d === 'number')) {
    const os = ctx.attrs.ints('output_shape');
    if (os) return [tensorOut(dtype, [x[0]!, cout, ...(os.length === n + 2 ? os.slice(2) : os)])];
    return [tensorOut(dtype, [x[0]!, cout, ...spatial.map((_, i) => unknownDim(ctx, i + 2))])];
  }
  let g;
  try {
    g = convTransposeGeometry(spatial as number[], a, ctx.attrs.ints('output_padding'), ctx.attrs.ints('output_shape'));
  } catch (e) {
    fail(ctx, (e as Error).message);
  }
  return [tensorOut(dtype, [x[0]!, cout, ...g.out])];
};

const poolRule = (withIndices: boolean) => (ctx: InferContext): (ValueType | undefined)[] => {
  const x = shapeOf(ctx, 0);
  const dtype = dtypeOf(ctx, 0);
  if (!x) return withIndices ? [tensorOut(dtype), tensorOut('int64')] : [tensorOut(dtype)];
  if (x.length < 3) fail(ctx, `input should have rank >= 3 (N, C, spatial...), got [${x.join(',')}]`);
  const a = windowAttrs(ctx, x.length - 2);
  if (!a) fail(ctx, 'kernel_shape is required');
  const shape = [x[0]!, x[1]!, ...spatialOut(ctx, x.slice(2), a)];
  return withIndices ? [tensorOut(dtype, shape), tensorOut('int64', shape)] : [tensorOut(dtype, shape)];
};

const globalPoolRule = (ctx: InferContext): (ValueType | undefined)[] => {
  const x = shapeOf(ctx, 0);
  if (!x) return [tensorOut(dtypeOf(ctx, 0))];
  if (x.length < 2) fail(ctx, `input should have rank >= 2, got [${x.join(',')}]`);
  return [tensorOut(dtypeOf(ctx, 0), [x[0]!, x[1]!, ...x.slice(2).map(() => 1)])];
};

/** Dims of X up to `axis`, then 1s (LayerNormalization's Mean / InvStdDev). */
function statsShape(ctx: InferContext, x: Dim[] | undefined): Dim[] | undefined {
  if (!x) return undefined;
  const axis = normAxis(ctx.attrs.int('axis', -1), x.length, ctx);
  return x.map((d, i) => (i < axis ? d : 1));
}

export const nnOps = {
  Conv: op(convRule(), { since: 1 }),
  ConvInteger: op(convRule('int32'), { since: 10 }),
  QLinearConv: op(convRule(), { since: 10 }),
  DeformConv: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const w = shapeOf(ctx, 1);
    const off = shapeOf(ctx, 2);
    const dtype = dtypeOf(ctx, 0);
    if (!x) return [tensorOut(dtype)];
    const n = x.length - 2;
    if (off && off.length === x.length) return [tensorOut(dtype, [x[0]!, w ? w[0]! : unknownDim(ctx, 1), ...off.slice(2)])];
    const a = windowAttrs(ctx, n, w?.slice(2));
    return [tensorOut(dtype, [x[0]!, w ? w[0]! : unknownDim(ctx, 1), ...spatialOut(ctx, x.slice(2), a)])];
  }, { since: 19 }),
  ConvTranspose: op(convTransposeRule, { since: 1 }),
  AveragePool: op(poolRule(false), { since: 1 }),
  MaxPool: op((ctx) => {
    const r = poolRule(true)(ctx);
    return ctx.node.outputs.length > 1 ? r : [r[0]];
  }, { since: 1 }),
  LpPool: op(poolRule(false), { since: 1 }),
  GlobalAveragePool: op(globalPoolRule, { since: 1 }),
  GlobalMaxPool: op(globalPoolRule, { since: 1 }),
  GlobalLpPool: op(globalPoolRule, { since: 1 }),
  MaxUnpool: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const dtype = dtypeOf(ctx, 0);
    if (ctx.inputCount > 2) {
      const os = constInts(ctx, 2);
      return [tensorOut(dtype, os ?? (shapeOf(ctx, 2)?.[0] !== undefined && typeof shapeOf(ctx, 2)![0] === 'number'
        ? Array.from({ length: shapeOf(ctx, 2)![0] as number }, (_, i) => unknownDim(ctx, i)) : undefined))];
    }
    if (!x) return [tensorOut(dtype)];
    const n = x.length - 2;
    const a = windowAttrs(ctx, n);
    if (!a) fail(ctx, 'kernel_shape is required');
    return [tensorOut(dtype, [x[0]!, x[1]!, ...x.slice(2).map((d, i) => typeof d === 'number'
      ? (d - 1) * a.strides[i]! + a.kernel[i]! - a.pads[i]! - a.pads[i + n]! : unknownDim(ctx, i + 2))])];
  }, { since: 9 }),
  MaxRoiPool: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const r = shapeOf(ctx, 1);
    const ps = ctx.attrs.ints('pooled_shape');
    if (!ps || ps.length !== 2) fail(ctx, 'pooled_shape should hold 2 values');
    return [tensorOut(dtypeOf(ctx, 0), [r?.[0] ?? unknownDim(ctx, 0), x?.[1] ?? unknownDim(ctx, 1), ps[0]!, ps[1]!])];
  }, { since: 1 }),
  RoiAlign: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const r = shapeOf(ctx, 1);
    const oh = ctx.attrs.int('output_height', 1);
    const ow = ctx.attrs.int('output_width', 1);
    return [tensorOut(dtypeOf(ctx, 0), [r?.[0] ?? unknownDim(ctx, 0), x?.[1] ?? unknownDim(ctx, 1), oh, ow])];
  }, { since: 10 }),
  BatchNormalization: op((ctx) => {
    const outs: (ValueType | undefined)[] = [ctx.inputs[0]];
    // Running (or saved) mean and variance have the shapes of the mean and var inputs.
    for (let k = 1; k < ctx.node.outputs.length; k++) outs.push(ctx.inputs[k % 2 === 1 ? 3 : 4]);
    return outs;
  }, { since: 1 }),
  InstanceNormalization: op(sameAsInput, { since: 1 }),
  LayerNormalization: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const st = ctx.attrs.int('stash_type', 1);
    const statType = st === 1 ? 'float32' : st === 11 ? 'float64' : st === 10 ? 'float16' : dtypeOf(ctx, 0);
    const s = statsShape(ctx, x);
    return [ctx.inputs[0], tensorOut(statType, s), tensorOut(statType, s)].slice(0, Math.max(1, ctx.node.outputs.length));
  }, { since: 17 }),
  GroupNormalization: op(sameAsInput, { since: 18 }),
  RMSNormalization: op((ctx) => {
    const x = shapeOf(ctx, 0);
    if (x) normAxis(ctx.attrs.int('axis', -1), x.length, ctx);
    return [ctx.inputs[0]];
  }, { since: 23 }),
  LRN: op(sameAsInput, { since: 1 }),
  LpNormalization: op(sameAsInput, { since: 1 }),
  MeanVarianceNormalization: op(sameAsInput, { since: 9 }),
  Col2Im: op((ctx) => {
    const x = shapeOf(ctx, 0);
    const img = constInts(ctx, 1);
    const blk = constInts(ctx, 2);
    const dtype = dtypeOf(ctx, 0);
    const n = img?.length ?? blk?.length ?? (shapeOf(ctx, 1)?.[0] as number | undefined);
    if (!x || n === undefined || typeof n !== 'number') return [tensorOut(dtype)];
    let c: Dim = unknownDim(ctx, 1);
    if (blk && typeof x[1] === 'number') {
      const prod = blk.reduce((p, v) => p * v, 1);
      if (x[1] % prod !== 0) fail(ctx, `input dim 1 (${x[1]}) is not a multiple of the block size ${prod}`);
      c = x[1] / prod;
    }
    return [tensorOut(dtype, [x[0]!, c, ...(img ?? Array.from({ length: n }, (_, i) => unknownDim(ctx, i + 2)))])];
  }, { since: 18 }),
} satisfies Record<string, OpSchema>;
