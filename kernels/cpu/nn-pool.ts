// CPU kernels: MaxPool, AveragePool, LpPool, their Global forms, MaxUnpool.
// Spatial ranks 1-3 run as 3-D with leading size-1 dims; per dim and output index the in-input tap range
// [kLo, kHi) is precomputed, so window loops carry no bounds checks.
import type { DType } from '../../graph/dtype.js';
import { allocTensor, type HostTensor, toIntList, UNINIT } from '../../graph/tensor.js';
import { windowGeometry, type WindowAttrs } from '../../graph/ops/nn-window.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';
import { windowAttrsOf } from './nn-conv.js';
import { prod } from './nn-im2col.js';
import { stageSums } from './reduce-simd.js';
import { type PoolDim, simdPool2d } from './nn-pool-simd.js';

type NumArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

type DimPlan = PoolDim;

interface Plan { dims: [DimPlan, DimPlan, DimPlan]; planes: number; outDims: number[] }

function dimPlan(inLen: number, outLen: number, k: number, s: number, dil: number, ph: number, pt: number): DimPlan {
  const base = new Int32Array(outLen), kLo = new Int32Array(outLen), kHi = new Int32Array(outLen), padCount = new Int32Array(outLen);
  for (let o = 0; o < outLen; o++) {
    const b = o * s - ph;
    base[o] = b;
    let lo = 0, hi = k, plo = 0, phi = k;
    while (lo < k && b + lo * dil < 0) lo++;
    while (hi > lo && b + (hi - 1) * dil >= inLen) hi--;
    while (plo < k && b + plo * dil < -ph) plo++;
    while (phi > plo && b + (phi - 1) * dil >= inLen + pt) phi--;
    kLo[o] = lo;
    kHi[o] = Math.max(lo, hi);
    padCount[o] = Math.max(0, phi - plo);
  }
  return { inLen, outLen, base, kLo, kHi, padCount, dil, k, s };
}

function plan(ctx: CpuContext, X: HostTensor, a: WindowAttrs): Plan {
  const xd = X.dims;
  const nd = xd.length - 2;
  if (nd < 1 || nd > 3) throw new KernelInputError(ctx, `pooling supports 1 to 3 spatial dims, got input [${xd.join(',')}]`);
  const inSp = xd.slice(2);
  const geo = windowGeometry(inSp, a);
  if (geo.out.some((o) => o < 1)) throw new KernelInputError(ctx, `output spatial dims [${geo.out.join(',')}] are empty`);
  const pads = 3 - nd;
  const dims: DimPlan[] = [];
  for (let i = 0; i < pads; i++) dims.push(dimPlan(1, 1, 1, 1, 1, 0, 0));
  for (let i = 0; i < nd; i++) dims.push(dimPlan(inSp[i]!, geo.out[i]!, a.kernel[i]!, a.strides[i]!, a.dilations[i]!, geo.padHead[i]!, geo.padTail[i]!));
  return { dims: dims as Plan['dims'], planes: xd[0]! * xd[1]!, outDims: [xd[0]!, xd[1]!, ...geo.out] };
}

function numData(ctx: CpuContext, t: HostTensor): NumArray {
  if (t.dtype === 'string' || t.dtype === 'bool' || t.dtype === 'int64' || t.dtype === 'uint64') {
    throw new KernelInputError(ctx, `input dtype ${t.dtype} is not supported`);
  }
  return t.data as NumArray;
}

const maxPool: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const a = windowAttrsOf(ctx, X.dims.length - 2);
  const p = plan(ctx, X, a);
  const x = numData(ctx, X);
  // Each output position (and its index) is written once below.
  const Y = allocTensor(X.dtype, p.outDims, UNINIT);
  const y = Y.data as NumArray;
  const wantIdx = ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== '';
  const I = wantIdx ? allocTensor('int64', p.outDims, UNINIT) : undefined;
  const idx = I?.data as BigInt64Array | undefined;
  const colMajor = ctx.attrs.int('storage_order', 0) === 1;
  const [D, H, W] = p.dims;
  if (!idx && D.inLen === 1 && D.outLen === 1 && x instanceof Float32Array && y instanceof Float32Array) {
    maxPool2d(x, y, p.planes, H, W);
    return [Y];
  }
  const inPlane = D.inLen * H.inLen * W.inLen;
  // Index strides of the flat Indices output (row-major, or column-major over the spatial dims).
  const sD = colMajor ? 1 : H.inLen * W.inLen, sH = colMajor ? D.inLen : W.inLen, sW = colMajor ? D.inLen * H.inLen : 1;
  let o = 0;
  for (let pl = 0; pl < p.planes; pl++) {
    const xo = pl * inPlane;
    for (let od = 0; od < D.outLen; od++) {
      for (let oh = 0; oh < H.outLen; oh++) {
        for (let ow = 0; ow < W.outLen; ow++, o++) {
          let best = -Infinity;
          let bi = -1;
          for (let kd = D.kLo[od]!; kd < D.kHi[od]!; kd++) {
            const id = D.base[od]! + kd * D.dil;
            for (let kh = H.kLo[oh]!; kh < H.kHi[oh]!; kh++) {
              const ih = H.base[oh]! + kh * H.dil;
              const row = xo + (id * H.inLen + ih) * W.inLen;
              for (let kw = W.kLo[ow]!; kw < W.kHi[ow]!; kw++) {
                const iw = W.base[ow]! + kw * W.dil;
                const v = x[row + iw]!;
                if (v > best || bi < 0) {
                  best = v;
                  bi = id * sD + ih * sH + iw * sW;
                }
              }
            }
          }
          y[o] = best;
          if (idx) idx[o] = BigInt(bi < 0 ? -1 : pl * inPlane + bi);
        }
      }
    }
  }
  return idx ? [Y, I!] : [Y];
};

/** Every window of this dim is taps 0 and 1 at input 2·o (kernel 2, stride 2, dilation 1, no padding inside). */
function isPlain2x2(d: DimPlan): boolean {
  if (d.dil !== 1) return false;
  for (let o = 0; o < d.outLen; o++) if (d.base[o] !== 2 * o || d.kLo[o] !== 0 || d.kHi[o] !== 2) return false;
  return true;
}

/** MaxPool over 1-2 spatial dims of float32 without indices (wasm SIMD where it applies: nn-pool-simd.ts): the same taps in the same order as the general loop, with the geometry in locals. */
function maxPool2d(x: Float32Array, y: Float32Array, planes: number, H: DimPlan, W: DimPlan): void {
  if (simdPool2d('max', x, y, planes, H, W, false)) return;
  const wi = W.inLen, inPlane = H.inLen * wi, dh = H.dil, dw = W.dil, oh1 = H.outLen, ow1 = W.outLen;
  if (isPlain2x2(H) && isPlain2x2(W)) {
    // 2x2 windows at stride 2 inside the input (the common downsampling): four loads, same order.
    let o = 0;
    for (let pl = 0; pl < planes; pl++) {
      for (let oh = 0; oh < oh1; oh++) {
        const r0 = pl * inPlane + 2 * oh * wi, r1 = r0 + wi;
        for (let ow = 0, c = 0; ow < ow1; ow++, o++, c += 2) {
          let best = x[r0 + c]!;
          const b = x[r0 + c + 1]!, d = x[r1 + c]!, e = x[r1 + c + 1]!;
          if (b > best) best = b;
          if (d > best) best = d;
          if (e > best) best = e;
          y[o] = best;
        }
      }
    }
    return;
  }
  const hBase = H.base, hLo = H.kLo, hHi = H.kHi, wBase = W.base, wLo = W.kLo, wHi = W.kHi;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * inPlane;
    for (let oh = 0; oh < oh1; oh++) {
      const hb = hBase[oh]!, h0 = hLo[oh]!, h1 = hHi[oh]!;
      for (let ow = 0; ow < ow1; ow++, o++) {
        const wb = wBase[ow]!, w0 = wLo[ow]!, w1 = wHi[ow]!;
        let best = -Infinity;
        let first = true;
        for (let kh = h0; kh < h1; kh++) {
          const row = xo + (hb + kh * dh) * wi + wb;
          for (let kw = w0; kw < w1; kw++) {
            const v = x[row + kw * dw]!;
            if (v > best || first) {
              best = v;
              first = false;
            }
          }
        }
        y[o] = best;
      }
    }
  }
}

/** AveragePool over 1-2 spatial dims of float32: the general loop's sums (float64, same order) with the geometry in locals. */
function avgPool2d(x: Float32Array, y: Float32Array, planes: number, H: DimPlan, W: DimPlan, includePad: boolean): void {
  if (simdPool2d('avg', x, y, planes, H, W, includePad)) return;
  const wi = W.inLen, inPlane = H.inLen * wi, dh = H.dil, dw = W.dil, oh1 = H.outLen, ow1 = W.outLen;
  const hBase = H.base, hLo = H.kLo, hHi = H.kHi, wBase = W.base, wLo = W.kLo, wHi = W.kHi;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * inPlane;
    for (let oh = 0; oh < oh1; oh++) {
      const hb = hBase[oh]!, h0 = hLo[oh]!, h1 = hHi[oh]!;
      for (let ow = 0; ow < ow1; ow++, o++) {
        const wb = wBase[ow]!, w0 = wLo[ow]!, w1 = wHi[ow]!;
        let sum = 0;
        for (let kh = h0; kh < h1; kh++) {
          const row = xo + (hb + kh * dh) * wi + wb;
          for (let kw = w0; kw < w1; kw++) sum += x[row + kw * dw]!;
        }
        const n = includePad ? H.padCount[oh]! * W.padCount[ow]! : (h1 - h0) * (w1 - w0);
        y[o] = n > 0 ? sum / n : NaN;
      }
    }
  }
}

/** AveragePool and LpPool: a sum of f(x) over the window, then a final transform. */
function sumPool(kind: 'avg' | 'lp'): CpuKernel {
  return (inputs, ctx) => {
    const X = tensorArg(inputs, 0, ctx);
    if (X.dtype !== 'float32' && X.dtype !== 'float64') throw new KernelInputError(ctx, `input should be a float tensor, got ${X.dtype}`);
    const a = windowAttrsOf(ctx, X.dims.length - 2);
    const p = plan(ctx, X, a);
    const x = numData(ctx, X);
    const Y = allocTensor(X.dtype, p.outDims, UNINIT); // each output position is written once below
    const y = Y.data;
    const includePad = ctx.attrs.int('count_include_pad', 0) !== 0;
    const pw = ctx.attrs.float('p', 2);
    const [D, H, W] = p.dims;
    if (kind === 'avg' && D.inLen === 1 && D.outLen === 1 && x instanceof Float32Array && y instanceof Float32Array) {
      avgPool2d(x, y, p.planes, H, W, includePad);
      return [Y];
    }
    const inPlane = D.inLen * H.inLen * W.inLen;
    let o = 0;
    for (let pl = 0; pl < p.planes; pl++) {
      const xo = pl * inPlane;
      for (let od = 0; od < D.outLen; od++) {
        for (let oh = 0; oh < H.outLen; oh++) {
          for (let ow = 0; ow < W.outLen; ow++, o++) {
            let sum = 0;
            for (let kd = D.kLo[od]!; kd < D.kHi[od]!; kd++) {
              const id = D.base[od]! + kd * D.dil;
              for (let kh = H.kLo[oh]!; kh < H.kHi[oh]!; kh++) {
                const row = xo + (id * H.inLen + H.base[oh]! + kh * H.dil) * W.inLen + W.base[ow]!;
                if (kind === 'avg') for (let kw = W.kLo[ow]!; kw < W.kHi[ow]!; kw++) sum += x[row + kw * W.dil]!;
                else if (pw === 2) for (let kw = W.kLo[ow]!; kw < W.kHi[ow]!; kw++) { const v = x[row + kw * W.dil]!; sum += v * v; }
                else for (let kw = W.kLo[ow]!; kw < W.kHi[ow]!; kw++) sum += Math.abs(x[row + kw * W.dil]!) ** pw;
              }
            }
            if (kind === 'lp') {
              y[o] = pw === 2 ? Math.sqrt(sum) : sum ** (1 / pw);
            } else {
              const n = includePad
                ? D.padCount[od]! * H.padCount[oh]! * W.padCount[ow]!
                : (D.kHi[od]! - D.kLo[od]!) * (H.kHi[oh]! - H.kLo[oh]!) * (W.kHi[ow]! - W.kLo[ow]!);
              y[o] = n > 0 ? sum / n : NaN;
            }
          }
        }
      }
    }
    return [retype(Y, X.dtype)];
  };
}

function retype(t: HostTensor, dtype: DType): HostTensor {
  return dtype === t.dtype ? t : ({ ...t, dtype } as HostTensor);
}

/**
 * GlobalAveragePool on float32 (monomorphic): float64 sums, by wasm SIMD in lane order where available
 * (reduce-simd.ts; within 1 ulp of the sequential sum), else in the same order as the general loop.
 */
function globalAvgF32(x: Float32Array, y: Float32Array, planes: number, size: number): void {
  const st = size >= 16 ? stageSums(x) : undefined;
  if (st) {
    for (let pl = 0; pl < planes; pl++) y[pl] = st.sumRun(pl * size, size) / size;
    return;
  }
  for (let pl = 0, o = 0; pl < planes; pl++, o += size) {
    let s = 0;
    for (let i = o, e = o + size; i < e; i++) s += x[i]!;
    y[pl] = s / size;
  }
}

function globalPool(kind: 'avg' | 'max' | 'lp'): CpuKernel {
  return (inputs, ctx) => {
    const X = tensorArg(inputs, 0, ctx);
    const xd = X.dims;
    if (xd.length < 2) throw new KernelInputError(ctx, `input should have rank >= 2, got [${xd.join(',')}]`);
    if (kind !== 'max' && X.dtype !== 'float32' && X.dtype !== 'float64') throw new KernelInputError(ctx, `input should be a float tensor, got ${X.dtype}`);
    const x = numData(ctx, X);
    const planes = xd[0]! * xd[1]!;
    const size = prod(xd.slice(2));
    const outDims = [xd[0]!, xd[1]!, ...xd.slice(2).map(() => 1)];
    // One value per plane, each written below.
    const Y = kind === 'max' ? allocTensor(X.dtype, outDims, UNINIT) : allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', outDims, UNINIT);
    const y = Y.data as NumArray;
    const pw = ctx.attrs.float('p', 2);
    if (kind === 'avg' && x instanceof Float32Array && y instanceof Float32Array) {
      globalAvgF32(x, y, planes, size);
      return [Y];
    }
    for (let pl = 0; pl < planes; pl++) {
      const o = pl * size;
      if (kind === 'max') {
        let m = -Infinity;
        for (let i = o; i < o + size; i++) if (x[i]! > m || Number.isNaN(x[i]!)) m = x[i]!;
        y[pl] = m;
      } else if (kind === 'avg') {
        let s = 0;
        for (let i = o; i < o + size; i++) s += x[i]!;
        y[pl] = s / size;
      } else {
        let s = 0;
        for (let i = o; i < o + size; i++) s += Math.abs(x[i]!) ** pw;
        y[pl] = s ** (1 / pw);
      }
    }
    return [retype(Y, X.dtype)];
  };
}

const maxUnpool: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const I = tensorArg(inputs, 1, ctx);
  const OS = optTensorArg(inputs, 2, ctx);
  const xd = X.dims;
  if (xd.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${xd.join(',')}]`);
  if (I.dims.join() !== xd.join()) throw new KernelInputError(ctx, `indices shape [${I.dims.join(',')}] should equal the input shape`);
  const nd = xd.length - 2;
  const a = windowAttrsOf(ctx, nd);
  // Indices address the default unpooled shape; an explicit output_shape keeps each element's coordinates.
  const inferred = xd.slice(2).map((d, i) => (d - 1) * a.strides[i]! + a.kernel[i]! - a.pads[i]! - a.pads[i + nd]!);
  let outSp = inferred;
  if (OS) {
    const os = toIntList(OS);
    if (os.length !== xd.length || os[0] !== xd[0] || os[1] !== xd[1]) throw new KernelInputError(ctx, `output_shape [${os.join(',')}] should be [${xd[0]},${xd[1]},...] of rank ${xd.length}`);
    outSp = os.slice(2);
  }
  const Y = allocTensor(X.dtype, [xd[0]!, xd[1]!, ...outSp]);
  const inPlane = prod(inferred), outPlane = prod(outSp);
  const remap = outSp.some((d, i) => d !== inferred[i]);
  const total = xd[0]! * xd[1]! * inPlane;
  const idx = I.data as BigInt64Array | Int32Array;
  const x = X.data as unknown as ArrayLike<number | bigint>;
  const y = Y.data as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < x.length; i++) {
    let j = Number(idx[i]!);
    if (!(j >= 0 && j < total)) throw new KernelInputError(ctx, `index ${j} at position ${i} is outside [0, ${total})`);
    if (remap) {
      const plane = Math.floor(j / inPlane);
      const r = j - plane * inPlane;
      let o = 0;
      for (let d = nd - 1, si = 1, so = 1; d >= 0; d--) {
        const c = Math.floor(r / si) % inferred[d]!;
        if (c >= outSp[d]!) throw new KernelInputError(ctx, `index ${j} at position ${i} lands outside output_shape`);
        o += c * so;
        si *= inferred[d]!;
        so *= outSp[d]!;
      }
      j = plane * outPlane + o;
    }
    y[j] = x[i]!;
  }
  return [Y];
};

export const poolKernels = {
  MaxPool: viaF32(maxPool),
  AveragePool: viaF32(sumPool('avg')),
  LpPool: viaF32(sumPool('lp')),
  GlobalAveragePool: viaF32(globalPool('avg')),
  GlobalMaxPool: viaF32(globalPool('max')),
  GlobalLpPool: viaF32(globalPool('lp')),
  MaxUnpool: maxUnpool,
} satisfies Record<string, CpuKernel>;
