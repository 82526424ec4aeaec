// Resize (opsets 10-19) and Upsample on CPU. Resampling is separable: each resized axis gets a table of
// taps (source index, weight) per output index, built like the ONNX reference (edge-clamped neighbours,
// ratio in (0, 1]), and the axes are applied one pass at a time over contiguous inner runs.
import { type DType, isBig } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, getNumber, setElement, stridesOf, UNINIT } from '../../graph/tensor.js';
import { resizeOutputDims } from '../../graph/ops/image.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';

type Mode = 'nearest' | 'linear' | 'cubic';

interface ResizeParams {
  mode: Mode;
  ctm: string;
  nearestMode: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
}

/** Taps of one axis: output index o reads idx[o*n + k] with weight w[o*n + k]; outside[o] marks extrapolation. */
interface AxisTaps {
  n: number;
  idx: Int32Array;
  w: Float64Array;
  outside?: Uint8Array;
  identity: boolean;
}

/**
 * Source coordinate of output index x. `f` rounds each step: Math.fround for nearest mode, so that
 * ties (x.5) break as in onnxruntime, which computes in float32; identity otherwise.
 */
function sourceCoord(p: ResizeParams, x: number, inLen: number, outLen: number, scale: number, roiStart: number, roiEnd: number, f: (v: number) => number): number {
  scale = f(scale);
  const outWidth = f(scale * inLen);
  switch (p.ctm) {
    case 'half_pixel': return f(f(f(x + 0.5) / scale) - 0.5);
    case 'asymmetric': return f(x / scale);
    case 'align_corners': return outWidth === 1 ? 0 : f(f(x * (inLen - 1)) / f(outWidth - 1));
    case 'pytorch_half_pixel': return outWidth === 1 ? -0.5 : f(f(f(x + 0.5) / scale) - 0.5);
    case 'tf_half_pixel_for_nn': return f(f(x + 0.5) / scale);
    case 'half_pixel_symmetric': {
      const adjustment = f(outLen / outWidth);
      const offset = f(f(inLen / 2) * f(1 - adjustment));
      return f(offset + f(f(f(x + 0.5) / scale) - 0.5));
    }
    case 'tf_crop_and_resize': {
      const c = outWidth === 1
        ? f(f(f(roiEnd - roiStart) * (inLen - 1)) / 2)
        : f(f(f(x * f(roiEnd - roiStart)) * (inLen - 1)) / f(outWidth - 1));
      return f(c + f(roiStart * (inLen - 1)));
    }
  }
  throw new Error(`unknown coordinate_transformation_mode '${p.ctm}'`);
}

const same = (v: number) => v;

function cubicWeight(x: number, a: number): number {
  x = Math.abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

function axisTaps(p: ResizeParams, inLen: number, outLen: number, scale: number, roiStart: number, roiEnd: number): AxisTaps {
  // Filter half-width in source pixels: antialias stretches linear/cubic kernels by 1/scale when downscaling.
  const support = p.mode === 'cubic' ? 2 : 1;
  const aaScale = p.antialias && p.mode !== 'nearest' ? Math.min(scale, 1) : 1;
  // Taps span [base + start, base + start + n) where base = ceil(x) - 1, as in the reference.
  const start = p.mode === 'nearest' ? 0 : Math.floor(-support / aaScale) + 1;
  const n = p.mode === 'nearest' ? 1 : 2 - 2 * start;
  const idx = new Int32Array(outLen * n);
  const w = new Float64Array(outLen * n);
  const outside = p.ctm === 'tf_crop_and_resize' ? new Uint8Array(outLen) : undefined;
  let identity = inLen === outLen;
  const clamp = (i: number) => (i < 0 ? 0 : i >= inLen ? inLen - 1 : i);
  for (let o = 0; o < outLen; o++) {
    const x = sourceCoord(p, o, inLen, outLen, scale, roiStart, roiEnd, p.mode === 'nearest' ? Math.fround : same);
    if (outside && (x < 0 || x > inLen - 1)) {
      outside[o] = 1;
      identity = false;
    }
    const isInt = Number.isInteger(x);
    const base = isInt ? x - 1 : Math.floor(x);
    const ratio = isInt ? 1 : x - base;
    const off = o * n;
    if (p.mode === 'nearest') {
      let pick: number;
      if (isInt) pick = x;
      else {
        switch (p.nearestMode) {
          case 'round_prefer_floor': pick = ratio <= 0.5 ? base : base + 1; break;
          case 'round_prefer_ceil': pick = ratio < 0.5 ? base : base + 1; break;
          case 'floor': pick = base; break;
          case 'ceil': pick = base + 1; break;
          // Resize-10 and Upsample (as onnxruntime): truncate when upsampling, ceil when downsampling.
          case 'simple': pick = scale < 1 ? Math.ceil(x) : Math.trunc(x); break;
          default: throw new Error(`unknown nearest_mode '${p.nearestMode}'`);
        }
      }
      idx[off] = clamp(pick);
      w[off] = 1;
      if (idx[off] !== o) identity = false;
      continue;
    }
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const i = base + start + k;
      const d = i - base - ratio; // signed distance from x in source pixels
      let wk: number;
      if (p.mode === 'linear') wk = p.antialias ? Math.max(0, 1 - Math.abs(d * aaScale)) : Math.max(0, 1 - Math.abs(d));
      else wk = cubicWeight(p.antialias ? d * aaScale : d, p.cubicA);
      if (p.excludeOutside && (i < 0 || i >= inLen)) wk = 0;
      idx[off + k] = clamp(i);
      w[off + k] = wk;
      sum += wk;
    }
    // Antialiased kernels and exclude_outside renormalize to unit sum (the reference does both).
    if ((p.antialias || p.excludeOutside) && sum !== 0) for (let k = 0; k < n; k++) w[off + k]! /= sum;
    if (identity) {
      for (let k = 0; k < n; k++) {
        const wk = w[off + k]!;
        if (wk !== 0 && !(idx[off + k] === o && wk === 1)) identity = false;
      }
    }
  }
  return { n, idx, w, outside, identity };
}

/** One separable pass along `axis`: src has dims `dims`, the result has dims[axis] = outLen. */
function applyAxis(src: Float64Array, dims: number[], axis: number, taps: AxisTaps, outLen: number): Float64Array {
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i]!;
  let inner = 1;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  const inLen = dims[axis]!;
  const dst = new Float64Array(outer * outLen * inner);
  const { n, idx, w } = taps;
  for (let p = 0; p < outer; p++) {
    const srcBase = p * inLen * inner;
    for (let o = 0; o < outLen; o++) {
      const dstOff = (p * outLen + o) * inner;
      for (let k = 0; k < n; k++) {
        const wk = w[o * n + k]!;
        if (wk === 0) continue;
        const s = srcBase + idx[o * n + k]! * inner;
        for (let j = 0; j < inner; j++) dst[dstOff + j]! += wk * src[s + j]!;
      }
    }
  }
  return dst;
}

/** Gather for nearest mode: exact for every dtype (int64 and strings included). */
function gatherNearest(x: HostTensor, outDims: number[], taps: (AxisTaps | undefined)[]): HostTensor {
  // Every element is written (strings too: the walk below covers the whole output).
  const out = allocTensor(x.dtype, outDims, UNINIT);
  const rank = outDims.length;
  const inStrides = stridesOf(x.dims);
  const total = out.data.length;
  if (total === 0) return out;
  // Source offset contributed by each axis's output index, then an odometer walk over the output.
  const contrib = outDims.map((d, a) => {
    const t = new Float64Array(d);
    for (let o = 0; o < d; o++) t[o] = (taps[a] ? taps[a].idx[o]! : o) * inStrides[a]!;
    return t;
  });
  const counter = new Array<number>(rank).fill(0);
  let base = 0;
  for (let a = 0; a < rank - 1; a++) base += contrib[a]![0]!;
  const last = rank - 1;
  const lastLen = rank ? outDims[last]! : 1;
  const lastC = rank ? contrib[last]! : new Float64Array([0]);
  if (x.data instanceof Float32Array && out.data instanceof Float32Array && rank >= 2 && taps.slice(0, rank - 2).every((t) => !t)) {
    // Only the two innermost axes resized (images): plane by plane.
    const H = outDims[rank - 2]!, W = lastLen;
    gatherPlanesF32(x.data, out.data, total / (H * W), x.dims[rank - 2]!, x.dims[rank - 1]!, H, W, taps[rank - 2]?.idx, Int32Array.from(taps[rank - 1]?.idx ?? lastC));
    return out;
  }
  if (x.data instanceof Float32Array && out.data instanceof Float32Array) {
    gatherRowsF32(x.data, out.data, outDims, contrib, base, lastC, lastLen);
    return out;
  }
  const src = x.data as ArrayLike<unknown>;
  const dst = out.data as unknown as Record<number, unknown>;
  for (let i = 0; i < total; i += lastLen) {
    for (let j = 0; j < lastLen; j++) dst[i + j] = src[base + lastC[j]!];
    for (let a = last - 1; a >= 0; a--) {
      base -= contrib[a]![counter[a]!]!;
      if (++counter[a]! < outDims[a]!) {
        base += contrib[a]![counter[a]!]!;
        break;
      }
      counter[a] = 0;
      base += contrib[a]![0]!;
    }
  }
  return out;
}

/**
 * Nearest gather of float32 planes [IH, IW] -> [H, W] with source row hIdx[oh] (identity when absent) and
 * source column wIdx[ow]; an output row reading the previous one's source row is a copy of it.
 */
function gatherPlanesF32(src: Float32Array, dst: Float32Array, planes: number, IH: number, IW: number, H: number, W: number, hIdx: ArrayLike<number> | undefined, wIdx: Int32Array): void {
  if (H === 2 * IH && W === 2 * IW && hIdx && isRepeat(hIdx, 2) && isRepeat(wIdx, 2)) {
    // 2x upsampling (FPN/U-Net decoders): each source value fills a 2x2 block, read once.
    for (let pl = 0, s = 0, d = 0; pl < planes; pl++) {
      for (let r = 0; r < IH; r++, d += 2 * W) {
        for (let j = 0, e = d; j < IW; j++, s++, e += 2) {
          const v = src[s]!;
          dst[e] = v; dst[e + 1] = v; dst[e + W] = v; dst[e + W + 1] = v;
        }
      }
    }
    return;
  }
  const sh = H / IH, sw = W / IW;
  if (Number.isInteger(sh) && Number.isInteger(sw) && sh > 1 && sw > 1 && hIdx && isRepeat(hIdx, sh) && isRepeat(wIdx, sw)) {
    // Integer upsampling (FPN decoders' 4x and 8x): each source value repeated sw times along a row, the
    // row copied for the sh - 1 rows after it.
    for (let pl = 0, s = 0, d = 0; pl < planes; pl++) {
      for (let r = 0; r < IH; r++) {
        for (let j = 0, e = d; j < IW; j++, s++) {
          const v = src[s]!;
          for (let k = 0; k < sw; k++) dst[e++] = v;
        }
        // (copyWithin is a call into the engine: short rows copy faster in the loop)
        if (W >= 64) for (let k = 1; k < sh; k++) dst.copyWithin(d + k * W, d, d + W);
        else for (let j = d + W, e = d + sh * W; j < e; j++) dst[j] = dst[j - W]!;
        d += sh * W;
      }
    }
    return;
  }
  let d = 0;
  for (let pl = 0; pl < planes; pl++) {
    const sp = pl * IH * IW;
    let prev = -1;
    for (let oh = 0; oh < H; oh++, d += W) {
      const sr = hIdx ? hIdx[oh]! : oh;
      if (sr === prev) {
        if (W >= 64) dst.copyWithin(d, d - W, d);
        else for (let j = d, e = d + W; j < e; j++) dst[j] = dst[j - W]!;
      } else {
        const s = sp + sr * IW;
        for (let j = 0; j < W; j++) dst[d + j] = src[s + wIdx[j]!]!;
        prev = sr;
      }
    }
  }
}

/** idx[o] = floor(o / s) for every o. */
function isRepeat(idx: ArrayLike<number>, s: number): boolean {
  for (let o = 0; o < idx.length; o++) if (idx[o] !== Math.floor(o / s)) return false;
  return true;
}

/** gatherNearest's walk on float32 (monomorphic); an output row reading the same source row as the previous one is a copy of it (upsampling). */
function gatherRowsF32(src: Float32Array, dst: Float32Array, outDims: number[], contrib: Float64Array[], base: number, lastC: Float64Array, lastLen: number): void {
  const rank = outDims.length;
  const last = rank - 1;
  const counter = new Array<number>(rank).fill(0);
  const total = dst.length;
  const lc = Int32Array.from(lastC);
  let prevBase = -1;
  for (let i = 0; i < total; i += lastLen) {
    if (base === prevBase) for (let j = i, e = i + lastLen; j < e; j++) dst[j] = dst[j - lastLen]!;
    else for (let j = 0; j < lastLen; j++) dst[i + j] = src[base + lc[j]!]!;
    prevBase = base;
    for (let a = last - 1; a >= 0; a--) {
      base -= contrib[a]![counter[a]!]!;
      if (++counter[a]! < outDims[a]!) {
        base += contrib[a]![counter[a]!]!;
        break;
      }
      counter[a] = 0;
      base += contrib[a]![0]!;
    }
  }
}

function toF64(x: HostTensor): Float64Array {
  if (x.dtype === 'float64') return x.data as Float64Array;
  const out = new Float64Array(x.data.length);
  if (x.dtype === 'float32' || (!isBig(x.dtype) && x.dtype !== 'float16' && x.dtype !== 'bfloat16' && x.dtype !== 'string')) {
    out.set(x.data as ArrayLike<number>);
  } else for (let i = 0; i < out.length; i++) out[i] = getNumber(x, i);
  return out;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};

function fromF64(dtype: DType, dims: number[], v: Float64Array): HostTensor {
  if (dtype === 'float64') return { kind: 'tensor', dtype, dims, data: v };
  const out = allocTensor(dtype, dims);
  if (dtype === 'float32') (out.data as Float32Array).set(v);
  else if (INT_RANGE[dtype]) {
    // Integer images: round to nearest and saturate (interpolation can overshoot with cubic).
    const [lo, hi] = INT_RANGE[dtype]!;
    const d = out.data as Int32Array;
    for (let i = 0; i < v.length; i++) d[i] = Math.min(hi, Math.max(lo, Math.round(v[i]!)));
  } else for (let i = 0; i < v.length; i++) setElement(out, i, isBig(dtype) ? Math.round(v[i]!) : v[i]!);
  return out;
}

function floatList(t: HostTensor | undefined): number[] | undefined {
  if (!t) return undefined;
  const out: number[] = [];
  for (let i = 0; i < t.data.length; i++) out.push(getNumber(t, i));
  return out;
}

function readParams(ctx: CpuContext, legacy: boolean): ResizeParams {
  const a = ctx.attrs;
  let mode = a.string('mode', 'nearest') as Mode;
  // Upsample-7 exporters sometimes spell linear 'bilinear'.
  if ((mode as string) === 'bilinear') mode = 'linear';
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'cubic') throw new KernelInputError(ctx, `mode must be nearest, linear or cubic, got '${mode}'`);
  if (legacy) {
    return { mode, ctm: 'asymmetric', nearestMode: 'simple', cubicA: -0.75, excludeOutside: false, extrapolation: 0, antialias: false };
  }
  const p: ResizeParams = {
    mode,
    ctm: a.string('coordinate_transformation_mode', 'half_pixel'),
    nearestMode: a.string('nearest_mode', 'round_prefer_floor'),
    cubicA: a.float('cubic_coeff_a', -0.75),
    excludeOutside: a.int('exclude_outside', 0) !== 0,
    extrapolation: a.float('extrapolation_value', 0),
    antialias: ctx.opset >= 18 && a.int('antialias', 0) !== 0,
  };
  const ctms = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn', 'tf_crop_and_resize'];
  if (!ctms.includes(p.ctm)) throw new KernelInputError(ctx, `unknown coordinate_transformation_mode '${p.ctm}'`);
  if (!['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'].includes(p.nearestMode)) {
    throw new KernelInputError(ctx, `unknown nearest_mode '${p.nearestMode}'`);
  }
  return p;
}

function resizeCore(ctx: CpuContext, x: HostTensor, p: ResizeParams, scalesIn: number[] | undefined, sizesIn: number[] | undefined, roiIn: number[] | undefined, axesIn: number[] | undefined, policy: string): HostTensor {
  const rank = x.dims.length;
  const axes = (axesIn ?? [...Array(rank).keys()]).map((ax) => {
    const v = ax < 0 ? ax + rank : ax;
    if (v < 0 || v >= rank) throw new KernelInputError(ctx, `axis ${ax} is out of range for rank ${rank}`);
    return v;
  });
  if (new Set(axes).size !== axes.length) throw new KernelInputError(ctx, `axes [${axes.join(',')}] repeat an axis`);
  if (sizesIn && sizesIn.length) {
    if (scalesIn && scalesIn.length) throw new KernelInputError(ctx, 'only one of scales and sizes may be given');
    if (sizesIn.length !== axes.length) throw new KernelInputError(ctx, `sizes has ${sizesIn.length} values for ${axes.length} axes`);
    if (sizesIn.some((s) => !Number.isInteger(s) || s < 0)) throw new KernelInputError(ctx, `sizes [${sizesIn.join(',')}] must be non-negative integers`);
  } else {
    if (!scalesIn) throw new KernelInputError(ctx, 'one of scales and sizes is required');
    if (scalesIn.length !== axes.length) throw new KernelInputError(ctx, `scales has ${scalesIn.length} values for ${axes.length} axes`);
    if (scalesIn.some((s) => !(s > 0) || !Number.isFinite(s))) throw new KernelInputError(ctx, `scales [${scalesIn.join(',')}] must be positive`);
  }
  const useSizes = !!(sizesIn && sizesIn.length);
  const outDims = resizeOutputDims(x.dims, useSizes ? undefined : scalesIn, useSizes ? sizesIn : undefined, axes, policy) as number[];
  // Per-axis scale as the reference uses it for coordinates: sizes give out/in (or the policy's common scale).
  const scale = new Array<number>(rank).fill(1);
  if (useSizes) {
    if (policy === 'stretch') axes.forEach((a, i) => { scale[a] = sizesIn![i]! / x.dims[a]!; });
    else {
      let s = policy === 'not_larger' ? Infinity : -Infinity;
      axes.forEach((a, i) => { const r = sizesIn![i]! / x.dims[a]!; s = policy === 'not_larger' ? Math.min(s, r) : Math.max(s, r); });
      for (const a of axes) scale[a] = s;
    }
  } else axes.forEach((a, i) => { scale[a] = scalesIn![i]!; });
  const roiStart = new Array<number>(rank).fill(0);
  const roiEnd = new Array<number>(rank).fill(1);
  if (p.ctm === 'tf_crop_and_resize') {
    if (!roiIn || roiIn.length !== 2 * axes.length) {
      throw new KernelInputError(ctx, `tf_crop_and_resize needs roi with ${2 * axes.length} values, got ${roiIn ? roiIn.length : 'none'}`);
    }
    axes.forEach((a, i) => { roiStart[a] = roiIn[i]!; roiEnd[a] = roiIn[axes.length + i]!; });
  }
  for (let a = 0; a < rank; a++) {
    if (x.dims[a] === 0 && outDims[a]! > 0) throw new KernelInputError(ctx, `cannot resize empty axis ${a} to ${outDims[a]}`);
  }
  const taps: (AxisTaps | undefined)[] = [];
  for (let a = 0; a < rank; a++) {
    const t = outDims[a] === 0 ? undefined : axisTaps(p, x.dims[a]!, outDims[a]!, scale[a]!, roiStart[a]!, roiEnd[a]!);
    taps.push(t && !t.identity ? t : undefined);
  }
  if (outDims.some((d) => d === 0)) return allocTensor(x.dtype, outDims);
  let out: HostTensor;
  if (p.mode === 'nearest') out = gatherNearest(x, outDims, taps);
  else {
    if (x.dtype === 'string' || x.dtype === 'bool') throw new KernelInputError(ctx, `${p.mode} mode needs a numeric input, got ${x.dtype}`);
    let buf = toF64(x);
    const dims = [...x.dims];
    // Shrinking axes first keeps the intermediate buffers small.
    const order = [...Array(rank).keys()].filter((a) => taps[a]).sort((a, b) => outDims[a]! / dims[a]! - outDims[b]! / dims[b]!);
    for (const a of order) {
      buf = applyAxis(buf, dims, a, taps[a]!, outDims[a]!);
      dims[a] = outDims[a]!;
    }
    if (buf === x.data) buf = buf.slice();
    out = fromF64(x.dtype, outDims, buf);
  }
  if (p.ctm === 'tf_crop_and_resize' && taps.some((t) => t?.outside)) fillOutside(out, outDims, taps, p.extrapolation);
  return out;
}

/** tf_crop_and_resize: elements whose source coordinate falls outside the input on any axis get extrapolation_value. */
function fillOutside(out: HostTensor, dims: number[], taps: (AxisTaps | undefined)[], value: number): void {
  const strides = stridesOf(dims);
  const fill = (axis: number, off: number, outside: boolean): void => {
    if (axis === dims.length) {
      if (outside) setElement(out, off, value);
      return;
    }
    const o = taps[axis]?.outside;
    for (let i = 0; i < dims[axis]!; i++) fill(axis + 1, off + i * strides[axis]!, outside || (o !== undefined && o[i] === 1));
  };
  fill(0, 0, false);
}

export const resizeKernel: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (ctx.opset < 11) {
    const scales = floatList(tensorArg(inputs, 1, ctx));
    return [resizeCore(ctx, x, readParams(ctx, true), scales, undefined, undefined, undefined, 'stretch')];
  }
  const roi = floatList(optTensorArg(inputs, 1, ctx));
  const scales = floatList(optTensorArg(inputs, 2, ctx));
  const sizesT = optTensorArg(inputs, 3, ctx);
  const sizes = sizesT ? Array.from(sizesT.data as ArrayLike<number | bigint>, Number) : undefined;
  const axes = ctx.opset >= 18 ? ctx.attrs.ints('axes') : undefined;
  const policy = ctx.opset >= 18 ? ctx.attrs.string('keep_aspect_ratio_policy', 'stretch') : 'stretch';
  if (!['stretch', 'not_larger', 'not_smaller'].includes(policy)) throw new KernelInputError(ctx, `unknown keep_aspect_ratio_policy '${policy}'`);
  const p = readParams(ctx, false);
  if (p.antialias && p.mode === 'nearest') throw new KernelInputError(ctx, 'antialias is not defined for nearest mode');
  return [resizeCore(ctx, x, p, scales && scales.length ? scales : undefined, sizes, roi, axes, policy)];
};

export const upsampleKernel: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const scales = ctx.opset >= 9 ? floatList(tensorArg(inputs, 1, ctx)) : ctx.attrs.floats('scales');
  if (!scales) throw new KernelInputError(ctx, 'scales is required');
  if (scales.some((s) => s < 1)) throw new KernelInputError(ctx, `Upsample scales must be >= 1, got [${scales.join(',')}]`);
  return [resizeCore(ctx, x, readParams(ctx, true), scales, undefined, undefined, undefined, 'stretch')];
};
