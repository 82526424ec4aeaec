// GridSample (opset 16: 2-D; opset 20+: N-D) and AffineGrid on CPU, following the ONNX reference
// (which follows PyTorch): denormalize, fold out-of-range coordinates for border/reflection padding,
// then interpolate from taps fetched with the padding mode.
import { allocTensor, stridesOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';

function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (rng <= 0) return lo;
  if (x < lo) {
    const dx = lo - x;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi;
    const n = Math.trunc(dx / rng);
    const r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

function cubicCoeffs(t: number, out: Float64Array, off: number): void {
  const A = -0.75;
  const x = Math.abs(t);
  out[off] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
  out[off + 1] = ((A + 2) * x - (A + 3)) * x * x + 1;
  out[off + 2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
  out[off + 3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

/** Round half to even (std::nearbyint), used by PyTorch's 2-D nearest. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const gridSample: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const grid = tensorArg(inputs, 1, ctx);
  const rank = x.dims.length;
  const k = rank - 2;
  if (k < 1) throw new KernelInputError(ctx, `X must have rank 3 or more, got ${rank}`);
  if (grid.dims.length !== rank || grid.dims[rank - 1] !== k || grid.dims[0] !== x.dims[0]) {
    throw new KernelInputError(ctx, `grid must be [${x.dims[0]}, ..., ${k}] of rank ${rank}, got [${grid.dims.join(',')}]`);
  }
  if (ctx.opset < 20 && k !== 2) throw new KernelInputError(ctx, `GridSample-${ctx.opset} takes 4-D inputs only`);
  let mode = ctx.attrs.string('mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
  if (mode === 'bilinear') mode = 'linear';
  if (mode === 'bicubic') mode = 'cubic';
  if (mode !== 'linear' && mode !== 'nearest' && mode !== 'cubic') throw new KernelInputError(ctx, `unknown mode '${mode}'`);
  if (mode === 'cubic' && k !== 2) throw new KernelInputError(ctx, 'cubic mode supports 2-D sampling only');
  const padding = ctx.attrs.string('padding_mode', 'zeros');
  if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') throw new KernelInputError(ctx, `unknown padding_mode '${padding}'`);
  const align = ctx.attrs.int('align_corners', 0) !== 0;

  const [N, C] = [x.dims[0]!, x.dims[1]!];
  const inDims = x.dims.slice(2);
  const outSpatial = grid.dims.slice(1, -1);
  const out = allocTensor(x.dtype, [N, C, ...outSpatial]);
  const P = outSpatial.reduce((a, b) => a * b, 1);
  const S = inDims.reduce((a, b) => a * b, 1);
  if (out.data.length === 0) return [out];
  const xs = x.data as Float32Array | Float64Array;
  const gs = grid.data as Float32Array | Float64Array;
  const ys = out.data as Float32Array | Float64Array;
  const inStrides = stridesOf(inDims);
  const lo = inDims.map(() => (align ? 0 : -0.5));
  const hi = inDims.map((d) => (align ? d - 1 : d - 0.5));

  const nt = mode === 'nearest' ? 1 : mode === 'linear' ? 2 : 4;
  // Per dim: tap offsets into the spatial block (-1: a zero pixel) and weights.
  const tapOff = new Int32Array(k * nt);
  const tapW = new Float64Array(k * nt);
  const combos = nt ** k;
  const comboOff = new Int32Array(combos);
  const comboW = new Float64Array(combos);
  const fetchIndex = (i: number, d: number): number => {
    const len = inDims[d]!;
    if (i >= 0 && i < len) return i;
    if (padding === 'zeros') return -1;
    if (padding === 'border') return i < 0 ? 0 : len - 1;
    const r = Math.trunc(reflect(i, lo[d]!, hi[d]!));
    return r < 0 ? 0 : r >= len ? len - 1 : r;
  };

  for (let n = 0; n < N; n++) {
    for (let p = 0; p < P; p++) {
      const g = (n * P + p) * k;
      for (let d = 0; d < k; d++) {
        // The grid's last axis lists coordinates innermost-first (x for width, then y, ...).
        const norm = gs[g + (k - 1 - d)]!;
        const len = inDims[d]!;
        let c = align ? ((norm + 1) / 2) * (len - 1) : ((norm + 1) * len - 1) / 2;
        // Round half to even in every rank: the ONNX test data for 3-D uses it too (the reference comment says std::round).
        if (mode === 'nearest') c = rint(c);
        // Cubic folds each tap instead of the coordinate (as PyTorch and onnxruntime; the ONNX reference
        // also clamps the coordinate for border, which no node test exercises).
        if ((c < lo[d]! || c > hi[d]!) && !(mode === 'cubic' && padding === 'border')) {
          if (padding === 'border') c = Math.min(Math.max(c, 0), len - 1);
          else if (padding === 'reflection') c = reflect(c, lo[d]!, hi[d]!);
        }
        const o = d * nt;
        if (mode === 'nearest') {
          tapOff[o] = fetchIndex(Math.trunc(c), d);
          tapW[o] = 1;
          continue;
        }
        const c0 = Math.floor(c);
        const t = c - c0;
        if (mode === 'linear') {
          tapOff[o] = fetchIndex(c0, d);
          tapOff[o + 1] = fetchIndex(c0 + 1, d);
          tapW[o] = 1 - t;
          tapW[o + 1] = t;
        } else {
          for (let j = 0; j < 4; j++) tapOff[o + j] = fetchIndex(c0 - 1 + j, d);
          cubicCoeffs(t, tapW, o);
        }
      }
      // Combine per-dim taps into offsets within one channel's spatial block.
      let m = 0;
      for (let ci = 0; ci < combos; ci++) {
        let rest = ci;
        let off = 0;
        let w = 1;
        for (let d = k - 1; d >= 0; d--) {
          const j = rest % nt;
          rest = (rest - j) / nt;
          const ti = tapOff[d * nt + j]!;
          if (ti < 0) { w = 0; break; }
          off += ti * inStrides[d]!;
          w *= tapW[d * nt + j]!;
        }
        if (w !== 0) {
          comboOff[m] = off;
          comboW[m++] = w;
        }
      }
      for (let c = 0; c < C; c++) {
        const base = (n * C + c) * S;
        let acc = 0;
        for (let q = 0; q < m; q++) acc += comboW[q]! * xs[base + comboOff[q]!]!;
        ys[(n * C + c) * P + p] = acc;
      }
    }
  }
  return [out];
};

const affineGrid: CpuKernel = (inputs, ctx) => {
  const theta = tensorArg(inputs, 0, ctx);
  const sizeT = tensorArg(inputs, 1, ctx);
  const size = Array.from(sizeT.data as ArrayLike<number | bigint>, Number);
  const align = ctx.attrs.int('align_corners', 0) !== 0;
  const k = size.length - 2;
  if (k !== 2 && k !== 3) throw new KernelInputError(ctx, `size must have 4 or 5 values, got ${size.length}`);
  const N = size[0]!;
  if (theta.dims.length !== 3 || theta.dims[0] !== N || theta.dims[1] !== k || theta.dims[2] !== k + 1) {
    throw new KernelInputError(ctx, `theta must be [${N}, ${k}, ${k + 1}], got [${theta.dims.join(',')}]`);
  }
  const spatial = size.slice(2); // [H, W] or [D, H, W]
  const out = allocTensor(theta.dtype, [N, ...spatial, k]);
  const o = out.data as Float32Array | Float64Array;
  const th = theta.data as Float32Array | Float64Array;
  const lin = (len: number): Float64Array => {
    const v = new Float64Array(len);
    for (let i = 0; i < len; i++) v[i] = align ? (len > 1 ? -1 + (2 * i) / (len - 1) : -1) : (2 * i + 1) / len - 1;
    return v;
  };
  // Base coordinates are (x, y[, z]) with x along the last spatial axis.
  const axes = spatial.map(lin).reverse();
  const P = spatial.reduce((a, b) => a * b, 1);
  const coord = new Float64Array(k);
  for (let n = 0; n < N; n++) {
    const t = n * k * (k + 1);
    for (let p = 0; p < P; p++) {
      let rest = p;
      for (let d = 0; d < k; d++) {
        const len = spatial[k - 1 - d]!;
        const i = rest % len;
        rest = (rest - i) / len;
        coord[d] = axes[d]![i]!;
      }
      const dst = (n * P + p) * k;
      for (let r = 0; r < k; r++) {
        let acc = th[t + r * (k + 1) + k]!;
        for (let c = 0; c < k; c++) acc += th[t + r * (k + 1) + c]! * coord[c]!;
        o[dst + r] = acc;
      }
    }
  }
  return [out];
};

export const gridKernels = {
  GridSample: viaF32(gridSample),
  AffineGrid: viaF32(affineGrid),
};
