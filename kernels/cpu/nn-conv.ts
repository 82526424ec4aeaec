// CPU kernels: Conv, ConvTranspose, ConvInteger, QLinearConv, DeformConv, Col2Im.
// Conv is im2col + blocked GEMM per (batch, group), with direct paths for 1x1 kernels and 2-D depthwise.
import { allocTensor, type HostTensor, toIntList, UNINIT } from '../../graph/tensor.js';
import { convTransposeGeometry, readWindowAttrs, windowGeometry, type WindowAttrs } from '../../graph/ops/nn-window.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { keptArray, optTensorArg, tensorArg, viaF32 } from './util.js';
import { convImplicitF32, gemmF32, gemmF32Out, gemmF32Staged, gemmF32TransB, gemmF64, gemmStageB, im2colStaged2d, simdGemmInUse } from './nn-gemm.js';
import { conv2dDirectSimd, type DirectConv2d, type DirectEpilogue } from './nn-depthwise-simd.js';
import { armGemmEpilogue, disarmGemmEpilogue } from './nn-gemm-epilogue.js';
import { evaluateProgram } from './fused-eval.js';
import { tiles2CopyOut, tiles2Kernel } from './nn-convt-simd.js';
import { convWinogradF32 } from './nn-winograd.js';
import { gemvF32, gemvWeights } from './linalg-gemv-simd.js';
import { simdBinary } from './elementwise-simd.js';
import { col2im, col2imTilesF32, type FloatArray, type Grid, im2col, im2colRows2d, prod } from './nn-im2col.js';

let useImplicit = true;
/** Turn the implicit-im2col path for stride-1 2-D convs off or on (tests compare it with im2col); returns the previous setting. */
export function setImplicitConv(on: boolean): boolean {
  const prev = useImplicit;
  useImplicit = on;
  return prev;
}

/** Most floats an im2col buffer holds at once (64 MiB as float32). */
let COL_LIMIT = 1 << 24;
/** Change the im2col buffer limit (tests use a small one to exercise banding); returns the previous one. */
export function setConvColLimit(n: number): number {
  const prev = COL_LIMIT;
  COL_LIMIT = n;
  return prev;
}

export function windowAttrsOf(ctx: CpuContext, nSpatial: number, kernelFallback?: readonly number[]): WindowAttrs {
  try {
    return readWindowAttrs(ctx.attrs, nSpatial, kernelFallback);
  } catch (e) {
    throw new KernelInputError(ctx, (e as Error).message);
  }
}

export function floatData(t: HostTensor, ctx: CpuContext, what: string): FloatArray {
  if (t.dtype === 'float32' || t.dtype === 'float64') return t.data as FloatArray;
  throw new KernelInputError(ctx, `${what} should be float32, float64 or float16, got ${t.dtype}`);
}

/** The GEMM of the data's type; float32 rows start from bias[biasOff + row] when a bias is given. */
function gemm(M: number, N: number, K: number, A: FloatArray, aOff: number, aRow: number, aCol: number,
  B: FloatArray, bOff: number, ldb: number, C: FloatArray, cOff: number, ldc: number, acc: boolean,
  bias?: FloatArray, biasOff = 0): void {
  if (C instanceof Float32Array) gemmF32(M, N, K, A as Float32Array, aOff, aRow, aCol, B as Float32Array, bOff, ldb, C, cOff, ldc, acc, bias, biasOff);
  else gemmF64(M, N, K, A as Float64Array, aOff, aRow, aCol, B as Float64Array, bOff, ldb, C, cOff, ldc, acc);
}

function checkConvShapes(ctx: CpuContext, x: readonly number[], w: readonly number[], group: number): void {
  if (x.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${x.join(',')}]`);
  if (w.length !== x.length) throw new KernelInputError(ctx, `weight rank ${w.length} differs from input rank ${x.length}`);
  if (!(group >= 1) || x[1]! % group !== 0 || w[0]! % group !== 0) {
    throw new KernelInputError(ctx, `group ${group} does not divide input channels ${x[1]} and output channels ${w[0]}`);
  }
  if (w[1]! * group !== x[1]) throw new KernelInputError(ctx, `input has ${x[1]} channels but weight expects ${w[1]} x group ${group}`);
}

function checkKernel(ctx: CpuContext, a: WindowAttrs, w: readonly number[]): void {
  if (a.kernel.some((k, i) => k !== w[i + 2])) {
    throw new KernelInputError(ctx, `kernel_shape [${a.kernel.join(',')}] differs from the weight's spatial dims [${w.slice(2).join(',')}]`);
  }
}

/**
 * Forward convolution of float data: Y[N, M, out...] = W (*) X + bias. X and W hold the same array type.
 * Shared by Conv (float) and the integer convs (which feed zero-point-shifted float64 data). `exact`: the
 * sums must be exact for integer data within 2^24 (no Winograd, whose transforms halve and reassociate).
 * `epi` (a FusedConv's epilogue) is applied by the direct SIMD conv and the GEMM paths: `epilogue` says
 * whether the result has it.
 */
export function convForward(ctx: CpuContext, x: FloatArray, xd: readonly number[], w: FloatArray, wd: readonly number[],
  bias: FloatArray | undefined, group: number, a: WindowAttrs, opts: { exact?: boolean; epi?: DirectEpilogue } = {}): { data: FloatArray; dims: number[]; epilogue: boolean } {
  const { exact = false, epi } = opts;
  checkConvShapes(ctx, xd, wd, group);
  checkKernel(ctx, a, wd);
  const nd = xd.length - 2;
  const N = xd[0]!, C = xd[1]!, M = wd[0]!;
  const inSp = xd.slice(2);
  const geo = windowGeometry(inSp, a);
  if (geo.out.some((o) => o < 1)) throw new KernelInputError(ctx, `output spatial dims [${geo.out.join(',')}] are empty`);
  if (bias && bias.length !== M) throw new KernelInputError(ctx, `bias has ${bias.length} values for ${M} output channels`);
  const dims = [N, M, ...geo.out];
  const outSize = prod(geo.out);
  const inSize = prod(inSp);
  const kSize = prod(a.kernel);
  const Cg = C / group, Mg = M / group;
  // Every path below writes each output element (GEMMs without accumulation, the direct conv's copy-out,
  // the JS depthwise loops after zeroing), so a recycled buffer is not zeroed first.
  const y = x instanceof Float32Array ? allocTensor('float32', dims, UNINIT).data : allocTensor('float64', dims, UNINIT).data;
  const g: Grid = { img: inSp, out: geo.out, kernel: a.kernel, strides: a.strides, dilations: a.dilations, padHead: geo.padHead };
  const pointwise = a.kernel.every((k) => k === 1) && a.strides.every((s) => s === 1) && geo.padHead.every((p) => p === 0) && geo.padTail.every((p) => p === 0);
  // float32 GEMMs start their rows from the bias (no second pass over the output); other paths add it after.
  let gBias: FloatArray | undefined;
  let epilogue = false;
  // The GEMM paths apply `epi` in the GEMM's memory (nn-gemm-epilogue.ts); `settle` applies it to any
  // region a path left without (few positions, JS fallbacks), so every output gets it exactly once.
  const gepi = epi && y instanceof Float32Array ? armGemmEpilogue(epi) : undefined;
  const settle = (before: number, off: number, rows: number, cols: number, ld: number): void => {
    if (!gepi) return;
    const done = gepi.applied - before;
    if (done === rows * cols) return;
    if (done !== 0) throw new Error(`internal: the epilogue reached ${done} of ${rows * cols} outputs`);
    const yf = y as Float32Array;
    for (let r = 0, o = off; r < (cols === ld ? 1 : rows); r++, o += ld) {
      const n = cols === ld ? rows * cols : cols;
      evaluateProgram(gepi.epi.program, [{ data: yf.subarray(o, o + n), dims: [n] }], yf.subarray(o, o + n), [n]);
    }
    gepi.applied += rows * cols;
  };
  try {
    if (Cg === 1 && Mg === 1 && nd === 2 && !pointwise) {
      if (depthwise2d(x, w, y, N * C, inSp, geo.out, a, geo.padHead, bias, epi)) [gBias, epilogue] = [bias, !!epi];
    } else if (Cg === 1 && Mg === 1 && nd === 1 && !pointwise) {
      // 1-D depthwise (audio/sequence models) runs as 2-D with a height of 1.
      const a2: WindowAttrs = { ...a, kernel: [1, a.kernel[0]!], strides: [1, a.strides[0]!], dilations: [1, a.dilations[0]!] };
      if (depthwise2d(x, w, y, N * C, [1, inSp[0]!], [1, geo.out[0]!], a2, [0, geo.padHead[0]!], bias, epi)) [gBias, epilogue] = [bias, !!epi];
    } else if (group > 1 && Cg <= DIRECT_MAX_CHANNELS && nd <= 2 && !pointwise && a.kernel[nd - 1]! <= 16 && y instanceof Float32Array &&
      conv2dDirectSimd(x, w, bias, y, directGeometry(N, group, Cg, Mg, inSp, geo.out, a, geo.padHead), epi)) {
      // Groups of few input channels (depthwise with a multiplier, small groups): direct, no im2col and no
      // GEMM per group (32 groups of 1 -> 2 channels at 24x48: 2.70 -> 0.14 ms). A first layer (group 1 over
      // RGB) measured faster as im2col + GEMM (3x224x224 -> 32: 1.24 against 1.82 ms direct).
      [gBias, epilogue] = [bias, !!epi];
    } else if (group === 1 && nd <= 2 && !exact && x instanceof Float32Array && w instanceof Float32Array && y instanceof Float32Array &&
      convWinogradF32(x, N, C, nd === 2 ? g : rowGrid(g), M, w, y, bias)) {
      // Stride-1 3x3, 3x1, 1x3 and 1-D 3-tap: Winograd, 1.5-2.25x fewer multiply-adds (nn-winograd.ts).
      gBias = bias;
      settle(0, 0, N * M, outSize, outSize);
      epilogue = !!gepi;
    } else {
      // 2-D im2col runs over bands of output rows, so the col buffer stays bounded (and cache-friendly) on
      // large images; other ranks take the whole grid at once.
      gBias = y instanceof Float32Array ? bias : undefined;
      const rowLen = Cg * kSize * (nd === 2 ? geo.out[1]! : outSize);
      const rowsPerBand = nd === 2 ? Math.max(1, Math.min(geo.out[0]!, Math.floor(COL_LIMIT / rowLen))) : 1;
      const colLen = nd === 2 ? rowLen * rowsPerBand : rowLen;
      let col: FloatArray | undefined;
      // The col buffer: the SIMD GEMM's own B stage where it has one (saves copying the columns there).
      const colFor = (m: number, cols: number, k: number): { buf: FloatArray; staged: boolean } => {
        const st = y instanceof Float32Array ? gemmStageB(m, cols, k) : undefined;
        if (st) return { buf: st, staged: true };
        col ??= x instanceof Float32Array ? new Float32Array(colLen) : new Float64Array(colLen);
        return { buf: col, staged: false };
      };
      // A batch of 1x1 convs on small maps: one product over every image's positions (the weight read once).
      const b0 = gepi?.applied ?? 0;
      const batched = group === 1 && pointwise && N > 1 && x instanceof Float32Array && w instanceof Float32Array && y instanceof Float32Array &&
        pointwiseBatched(x, N, C, outSize, w, M, y, bias as Float32Array | undefined);
      if (batched) settle(b0, 0, N * M, outSize, outSize);
      for (let n = 0; n < (batched ? 0 : N); n++) {
        for (let gi = 0; gi < group; gi++) {
          const xOff = (n * C + gi * Cg) * inSize;
          const yOff = (n * M + gi * Mg) * outSize;
          const wOff = gi * Mg * Cg * kSize;
          const before = gepi?.applied ?? 0;
          if (y instanceof Float32Array && x instanceof Float32Array && w instanceof Float32Array) {
            const b = bias as Float32Array | undefined;
            if ((pointwise && pointwiseFewPositions(x, xOff, Cg, outSize, w, wOff, Mg, y, yOff, b, gi * Mg)) ||
              convGemv(x, xOff, Cg, g, pointwise, w, wOff, Mg, y, yOff, b, gi * Mg)) {
              settle(before, yOff, Mg, outSize, outSize);
              continue;
            }
          }
          if (pointwise) {
            gemm(Mg, outSize, Cg, w, wOff, Cg, 1, x, xOff, inSize, y, yOff, outSize, false, gBias, gi * Mg);
          } else if (nd === 2) {
            if (useImplicit && y instanceof Float32Array && x instanceof Float32Array && w instanceof Float32Array &&
              convImplicitF32(x, xOff, Cg, g, Mg, w, wOff, y, yOff, gBias, gi * Mg)) {
              settle(before, yOff, Mg, outSize, outSize);
              continue;
            }
            const OH = geo.out[0]!, OW = geo.out[1]!;
            for (let r0 = 0; r0 < OH; r0 += rowsPerBand) {
              const r1 = Math.min(OH, r0 + rowsPerBand);
              const cols = (r1 - r0) * OW;
              const band = gepi?.applied ?? 0;
              if (y instanceof Float32Array && im2colStaged2d(x as Float32Array, xOff, Cg, g, r0, r1, Mg)) {
                gemmF32Staged(Mg, cols, Cg * kSize, w as Float32Array, wOff, Cg * kSize, 1, y, yOff + r0 * OW, outSize, false, gBias, gi * Mg);
              } else {
                const c = colFor(Mg, cols, Cg * kSize);
                im2colRows2d(x, xOff, Cg, g, c.buf, r0, r1);
                if (c.staged) gemmF32Staged(Mg, cols, Cg * kSize, w as Float32Array, wOff, Cg * kSize, 1, y as Float32Array, yOff + r0 * OW, outSize, false, gBias, gi * Mg);
                else gemm(Mg, cols, Cg * kSize, w, wOff, Cg * kSize, 1, c.buf, 0, cols, y, yOff + r0 * OW, outSize, false, gBias, gi * Mg);
              }
              settle(band, yOff + r0 * OW, Mg, cols, outSize);
            }
            continue;
          } else {
            const c = colFor(Mg, outSize, Cg * kSize);
            im2col(x, xOff, Cg, g, c.buf, 0);
            if (c.staged) gemmF32Staged(Mg, outSize, Cg * kSize, w as Float32Array, wOff, Cg * kSize, 1, y as Float32Array, yOff, outSize, false, gBias, gi * Mg);
            else gemm(Mg, outSize, Cg * kSize, w, wOff, Cg * kSize, 1, c.buf, 0, outSize, y, yOff, outSize, false, gBias, gi * Mg);
          }
          settle(before, yOff, Mg, outSize, outSize);
        }
      }
      epilogue = !!gepi;
    }
  } finally {
    disarmGemmEpilogue();
  }
  if (bias && !gBias) addChannelBias(y, bias, N, M, outSize);
  return { data: y, dims, epilogue };
}

/**
 * 1x1 convs over few positions (deep, small feature maps): the GEMM's 8-column tiles would pad the
 * positions (9 -> 16), so compute Y^T[pos, M] = X^T W^T instead, tiling the output channels (the
 * transposed constant weight is cached resident like a Gemm transB weight), and transpose into y adding
 * the bias. False where that would not pad less, or the SIMD GEMM does not take it. (Convs with an
 * im2col measured slower this way: the columns would be copied out of and back into wasm memory.)
 */
function pointwiseFewPositions(x: Float32Array, xOff: number, Cg: number, P: number, w: Float32Array, wOff: number,
  Mg: number, y: Float32Array, yOff: number, bias: Float32Array | undefined, biasOff: number): boolean {
  if (!transposedPadsLess(P, Mg)) return false;
  const t = transposedScratch(P * Mg);
  if (!gemmF32TransB(P, Mg, Cg, x, xOff, 1, P, w, wOff, Cg, t, 0, Mg, false)) return false;
  transposeOut(t, 0, P, Mg, y, yOff, bias, biasOff);
  return true;
}

/** Whether Y^T = X^T W^T (positions as rows, tiles of 4) pads P positions and M channels less than Y = W X (tiles of 8 positions). */
function transposedPadsLess(P: number, M: number): boolean {
  return P >= 4 && P < 64 && Math.ceil(P / 4) * 4 * Math.ceil(M / 8) * 8 <= 0.85 * Math.ceil(M / 4) * 4 * Math.ceil(P / 8) * 8;
}

/** One image's Y [M, P] from its Y^T rows at t[tOff..] ([P, M]), adding bias[biasOff + m] (0 where none). */
function transposeOut(t: Float32Array, tOff: number, P: number, M: number, y: Float32Array, yOff: number, bias: Float32Array | undefined, biasOff: number): void {
  for (let m = 0; m < M; m++) {
    const b = bias ? bias[biasOff + m]! : 0;
    for (let p = 0, d = yOff + m * P, s = tOff + m; p < P; p++, s += M) y[d + p] = t[s]! + b;
  }
}

// The transposed products' result and the batched X^T, kept between calls (kernels run one at a time per
// thread; every element is written before it is read): a fresh zeroed array cost ~10 us a call, about a
// tenth of a 384->384 1x1 conv on a 3x3 map.
const transposedScratch = keptArray((n) => new Float32Array(n));
const gatheredScratch = keptArray((n) => new Float32Array(n));

/** Whether an M x K weight goes to the GEMV module for 1-3 positions (from 1024 weights: 32x2x32 ~1.8 against ~5 us in JS). */
const gemvTakes = (M: number, K: number): boolean => M >= 8 && M * K >= 1024;

/**
 * 1x1 convs of N images with few positions each (P = 1, or P in 4-63 where pointwiseFewPositions would
 * take each image): one product over all N*P positions, so the weight is read once instead of per image
 * (PP-OCRv4 detector x4: 384->384 at 3x3). P = 1 is a matrix-vector product of N rows against the weight
 * in the GEMV module (each image's channels are a row); otherwise X^T [N*P, C] is gathered and
 * Y^T = X^T W^T computed through gemmF32TransB, then transposed into y adding the bias. False where not taken.
 */
function pointwiseBatched(x: Float32Array, N: number, C: number, P: number, w: Float32Array, M: number, y: Float32Array, bias: Float32Array | undefined): boolean {
  if (P === 1) {
    if (!gemvTakes(M, C)) return false;
    const wts = gemvWeights(w, 0, C, M, C, true);
    if (!wts) return false;
    gemvF32(wts, N, x, 0, C, 1, y, 0, M, false, bias, 0);
    return true;
  }
  if (!transposedPadsLess(P, M)) return false;
  const R = N * P;
  const xt = gatheredScratch(R * C);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let p = 0, s = (n * C + c) * P, d = n * P * C + c; p < P; p++, d += C) xt[d] = x[s + p]!;
    }
  }
  const t = transposedScratch(R * M);
  if (!gemmF32TransB(R, M, C, xt, 0, C, 1, w, 0, C, t, 0, M, false)) return false;
  for (let n = 0; n < N; n++) transposeOut(t, n * P * M, P, M, y, n * M * P, bias, 0);
  return true;
}

/**
 * 1-3 output positions (squeeze-excite 1x1 convs on pooled maps, the last convs of a net): Y^T[pos, M] =
 * cols^T W^T as a matrix-vector product against the weight laid out resident in the GEMV module
 * (linalg-gemv-simd.ts; laid out per call when not a registered constant), instead of a GEMM padding
 * the positions to an 8-column tile; transposed into y.
 */
function convGemv(x: Float32Array, xOff: number, Cg: number, g: Grid, pointwise: boolean, w: Float32Array, wOff: number,
  Mg: number, y: Float32Array, yOff: number, bias: Float32Array | undefined, biasOff: number): boolean {
  const P = prod(g.out);
  const K = Cg * prod(g.kernel);
  if (P > 3 || !gemvTakes(Mg, K)) return false;
  const wts = gemvWeights(w, wOff, K, Mg, K, true);
  if (!wts) return false;
  let A = x, aOff = xOff;
  if (!pointwise) {
    A = new Float32Array(K * P);
    im2col(x, xOff, Cg, g, A, 0);
    aOff = 0;
  }
  if (P === 1) {
    gemvF32(wts, 1, A, aOff, 0, 1, y, yOff, Mg, false, bias, biasOff);
    return true;
  }
  const t = transposedScratch(P * Mg);
  gemvF32(wts, P, A, aOff, 1, P, t, 0, Mg, false, bias, biasOff);
  for (let m = 0; m < Mg; m++) for (let p = 0; p < P; p++) y[yOff + m * P + p] = t[p * Mg + m]!;
  return true;
}

/** A 1-D conv's grid as a 2-D one of height 1. */
function rowGrid(g: Grid): Grid {
  return { img: [1, g.img[0]!], out: [1, g.out[0]!], kernel: [1, g.kernel[0]!], strides: [1, g.strides[0]!], dilations: [1, g.dilations[0]!], padHead: [0, g.padHead[0]!] };
}

/** Input channels per group up to which grouped 2-D convs run direct (`conv2dDirectSimd`) rather than im2col + GEMM. */
const DIRECT_MAX_CHANNELS = 4;

/** The direct conv's geometry; 1-D convs run as 2-D with a height of 1. */
function directGeometry(N: number, group: number, Cg: number, Mg: number, inSp: readonly number[], outSp: readonly number[], a: WindowAttrs, padHead: readonly number[]): DirectConv2d {
  const two = inSp.length === 2;
  const d = (v: readonly number[], one: number) => (two ? v[0]! : one);
  const last = inSp.length - 1;
  return {
    N, group, Cg, Mg,
    IH: d(inSp, 1), IW: inSp[last]!, OH: d(outSp, 1), OW: outSp[last]!,
    KH: d(a.kernel, 1), KW: a.kernel[last]!, SH: d(a.strides, 1), SW: a.strides[last]!,
    DH: d(a.dilations, 1), DW: a.dilations[last]!, PH: d(padHead, 0), PW: padHead[last]!,
  };
}

function addChannelBias(y: FloatArray, bias: ArrayLike<number>, N: number, M: number, size: number): void {
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const b = bias[m]!;
      if (b === 0) continue;
      const o = (n * M + m) * size;
      if (simdBinary('add', y, y, bias, o, o, 1, m, 0, size)) continue;
      for (let i = 0; i < size; i++) y[o + i] = y[o + i]! + b;
    }
  }
}

/**
 * One filter per channel: accumulate kernel taps over contiguous output rows. For 3- and 5-wide kernels the
 * taps of a kernel row are summed together where all are inside the image (less output traffic).
 * True when the SIMD path ran, which adds the bias itself; the JS loops leave it to the caller.
 */
function depthwise2d(x: FloatArray, w: FloatArray, y: FloatArray, planes: number, inSp: readonly number[], outSp: readonly number[], a: WindowAttrs, padHead: readonly number[],
  bias: FloatArray | undefined, epi: DirectEpilogue | undefined): boolean {
  const [IH, IW] = inSp as [number, number];
  const [OH, OW] = outSp as [number, number];
  const [KH, KW] = a.kernel as [number, number];
  const [SH, SW] = a.strides as [number, number];
  const [DH, DW] = a.dilations as [number, number];
  const [PH, PW] = padHead as [number, number];
  const C = w.length / (KH * KW); // channels (one filter each)
  if (conv2dDirectSimd(x, w, bias, y, { N: planes / C, group: C, Cg: 1, Mg: 1, IH, IW, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW }, epi)) return true;
  y.fill(0); // the loops below accumulate taps (and skip padded rows); y may be a recycled buffer
  // Valid output column range of each kernel column, and where all of them overlap.
  const lo = new Int32Array(KW), hi = new Int32Array(KW);
  let loAll = 0, hiAll = OW;
  for (let kw = 0; kw < KW; kw++) {
    const offW = kw * DW - PW;
    lo[kw] = Math.min(OW, offW >= 0 ? 0 : Math.ceil(-offW / SW));
    hi[kw] = Math.max(lo[kw]!, IW - 1 - offW < 0 ? 0 : Math.min(OW, Math.floor((IW - 1 - offW) / SW) + 1));
    loAll = Math.max(loAll, lo[kw]!);
    hiAll = Math.min(hiAll, hi[kw]!);
  }
  const fused = (KW === 3 || KW === 5) && loAll < hiAll;
  for (let p = 0; p < planes; p++) {
    const c = p % C;
    const xo = p * IH * IW;
    const yo = p * OH * OW;
    for (let kh = 0; kh < KH; kh++) {
      const wb = (c * KH + kh) * KW;
      for (let oh = 0; oh < OH; oh++) {
        const ih = oh * SH - PH + kh * DH;
        if (ih < 0 || ih >= IH) continue;
        const row = xo + ih * IW;
        const d = yo + oh * OW;
        if (fused && KW === 3) {
          const w0 = w[wb]!, w1 = w[wb + 1]!, w2 = w[wb + 2]!;
          let s = row + loAll * SW - PW;
          for (let ow = loAll; ow < hiAll; ow++, s += SW) y[d + ow] = y[d + ow]! + w0 * x[s]! + w1 * x[s + DW]! + w2 * x[s + 2 * DW]!;
        } else if (fused) {
          const w0 = w[wb]!, w1 = w[wb + 1]!, w2 = w[wb + 2]!, w3 = w[wb + 3]!, w4 = w[wb + 4]!;
          let s = row + loAll * SW - PW;
          for (let ow = loAll; ow < hiAll; ow++, s += SW) {
            y[d + ow] = y[d + ow]! + w0 * x[s]! + w1 * x[s + DW]! + w2 * x[s + 2 * DW]! + w3 * x[s + 3 * DW]! + w4 * x[s + 4 * DW]!;
          }
        }
        for (let kw = 0; kw < KW; kw++) {
          const wv = w[wb + kw]!;
          const offW = kw * DW - PW;
          // With the fused interior done, only the columns outside [loAll, hiAll) remain for this tap.
          const a0 = lo[kw]!, a1 = fused ? Math.min(hi[kw]!, loAll) : hi[kw]!;
          for (let ow = a0, s = row + a0 * SW + offW; ow < a1; ow++, s += SW) y[d + ow] = y[d + ow]! + wv * x[s]!;
          if (fused) {
            const b0 = Math.max(lo[kw]!, hiAll), b1 = hi[kw]!;
            for (let ow = b0, s = row + b0 * SW + offW; ow < b1; ow++, s += SW) y[d + ow] = y[d + ow]! + wv * x[s]!;
          }
        }
      }
    }
  }
  return false;
}

/** Conv, with `epi` (a FusedConv's epilogue) applied where the direct SIMD conv runs (`epilogue` true). */
export function convWithEpilogue(inputs: Parameters<CpuKernel>[0], ctx: CpuContext, epi?: DirectEpilogue): { y: HostTensor; epilogue: boolean } {
  const X = tensorArg(inputs, 0, ctx);
  const W = tensorArg(inputs, 1, ctx);
  const B = optTensorArg(inputs, 2, ctx);
  if (W.dtype !== X.dtype) throw new KernelInputError(ctx, `weight dtype ${W.dtype} differs from input dtype ${X.dtype}`);
  if (X.dims.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${X.dims.join(',')}]`);
  const a = windowAttrsOf(ctx, X.dims.length - 2, W.dims.slice(2));
  const r = convForward(ctx, floatData(X, ctx, 'input'), X.dims, floatData(W, ctx, 'weight'), W.dims,
    B ? floatData(B, ctx, 'bias') : undefined, ctx.attrs.int('group', 1), a, { epi });
  return { y: { kind: 'tensor', dtype: X.dtype, dims: r.dims, data: r.data } as HostTensor, epilogue: r.epilogue };
}

const conv: CpuKernel = (inputs, ctx) => [convWithEpilogue(inputs, ctx).y];

// ConvTranspose's column buffer, kept between calls (kernels run synchronously, one at a time per
// thread; every element is written by the GEMM before col2im reads it): a fresh one per call cost an
// allocation and zeroing of Mg*KH*KW*H*W floats (220 KB on PP-OCRv4's detector upsampling).
const colF32 = keptArray((n) => new Float32Array(n));
const colF64 = keptArray((n) => new Float64Array(n));
const colScratch = (f32: boolean, n: number): Float32Array | Float64Array => (f32 ? colF32(n) : colF64(n));

const convTranspose: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const W = tensorArg(inputs, 1, ctx);
  const B = optTensorArg(inputs, 2, ctx);
  if (W.dtype !== X.dtype) throw new KernelInputError(ctx, `weight dtype ${W.dtype} differs from input dtype ${X.dtype}`);
  const xd = X.dims, wd = W.dims;
  if (xd.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${xd.join(',')}]`);
  if (wd.length !== xd.length) throw new KernelInputError(ctx, `weight rank ${wd.length} differs from input rank ${xd.length}`);
  const group = ctx.attrs.int('group', 1);
  const N = xd[0]!, C = xd[1]!;
  if (wd[0] !== C) throw new KernelInputError(ctx, `weight dim 0 (${wd[0]}) should equal the input channels ${C}`);
  if (!(group >= 1) || C % group !== 0) throw new KernelInputError(ctx, `group ${group} does not divide input channels ${C}`);
  const a = windowAttrsOf(ctx, xd.length - 2, wd.slice(2));
  checkKernel(ctx, a, wd);
  const inSp = xd.slice(2);
  let geo;
  try {
    geo = convTransposeGeometry(inSp, a, ctx.attrs.ints('output_padding'), ctx.attrs.ints('output_shape'));
  } catch (e) {
    throw new KernelInputError(ctx, (e as Error).message);
  }
  if (geo.out.some((o) => o < 1)) throw new KernelInputError(ctx, `output spatial dims [${geo.out.join(',')}] are empty`);
  const Mg = wd[1]!, M = Mg * group, Cg = C / group;
  const x = floatData(X, ctx, 'input');
  const w = floatData(W, ctx, 'weight');
  const bias = B ? floatData(B, ctx, 'bias') : undefined;
  if (bias && bias.length !== M) throw new KernelInputError(ctx, `bias has ${bias.length} values for ${M} output channels`);
  const dims = [N, M, ...geo.out];
  // Kernel = stride without padding or dilation (2x2/2 upsampling): col2im is a permutation that writes
  // every output element once, with the bias, so Y needs no zeroing and no bias pass.
  const tiles = x instanceof Float32Array && inSp.length === 2 && a.kernel.every((k, i) => k === a.strides[i] && a.dilations[i] === 1 && geo.padHead[i] === 0 && geo.out[i] === inSp[i]! * k);
  const Y = allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', dims, tiles ? UNINIT : undefined);
  const y = Y.data;
  const inSize = prod(inSp), outSize = prod(geo.out), kSize = prod(a.kernel);
  // KH x 2 tiles: the GEMM's C is permuted in wasm memory and copied out once (nn-convt-simd.ts).
  const simd = tiles && a.kernel[1] === 2 ? simdGemmInUse(Mg * kSize, inSize, Cg) : undefined;
  const tiles2 = simd && tiles2Kernel(simd);
  if (tiles2) {
    const [OH, OW] = inSp as [number, number], KH = a.kernel[0]!;
    const yf = y as Float32Array, wf = w as Float32Array, xf = x as Float32Array;
    for (let n = 0; n < N; n++) {
      for (let gi = 0; gi < group; gi++) {
        const yOff = (n * M + gi * Mg) * outSize;
        gemmF32Out(Mg * kSize, inSize, Cg, wf, gi * Cg * Mg * kSize, 1, Mg * kSize, xf, (n * C + gi * Cg) * inSize, inSize,
          (s, pc, ldc, free) => tiles2CopyOut(s, tiles2, pc, ldc, free, Mg, KH, OH, OW, yf, yOff, bias, gi * Mg));
      }
    }
    return [{ ...Y, dtype: X.dtype } as HostTensor];
  }
  const col = colScratch(y instanceof Float32Array, Mg * kSize * inSize);
  // The block grid of col2im is the input grid; the image is the output.
  const g: Grid = { img: geo.out, out: inSp, kernel: a.kernel, strides: a.strides, dilations: a.dilations, padHead: geo.padHead };
  for (let n = 0; n < N; n++) {
    for (let gi = 0; gi < group; gi++) {
      // col[Mg*kSize, inSize] = W_g^T [Mg*kSize, Cg] * X_g [Cg, inSize]
      gemm(Mg * kSize, inSize, Cg, w, gi * Cg * Mg * kSize, 1, Mg * kSize, x, (n * C + gi * Cg) * inSize, inSize, col, 0, inSize, false);
      if (tiles) col2imTilesF32(col as Float32Array, Mg, inSp[0]!, inSp[1]!, a.kernel[0]!, a.kernel[1]!, y as Float32Array, (n * M + gi * Mg) * outSize, bias, gi * Mg);
      else col2im(col, 0, Mg, g, y, (n * M + gi * Mg) * outSize);
    }
  }
  if (bias && !tiles) addChannelBias(y, bias, N, M, outSize);
  return [{ ...Y, dtype: X.dtype } as HostTensor];
};

/** Integer values of a quantized tensor, shifted by a zero point (scalar or per channel along axis 0). */
function shifted(ctx: CpuContext, t: HostTensor, zp: HostTensor | undefined, what: string, perChannel: number): Float32Array {
  if (t.dtype !== 'uint8' && t.dtype !== 'int8') throw new KernelInputError(ctx, `${what} should be uint8 or int8, got ${t.dtype}`);
  const src = t.data as Uint8Array | Int8Array;
  const out = new Float32Array(src.length); // |value| <= 255: exact
  if (!zp || zp.data.length === 0) {
    for (let i = 0; i < src.length; i++) out[i] = src[i]!;
    return out;
  }
  if (zp.dtype !== t.dtype) throw new KernelInputError(ctx, `${what} zero point dtype ${zp.dtype} differs from ${t.dtype}`);
  const z = zp.data as Uint8Array | Int8Array;
  if (z.length === 1) {
    const zv = z[0]!;
    for (let i = 0; i < src.length; i++) out[i] = src[i]! - zv;
    return out;
  }
  if (z.length !== perChannel) throw new KernelInputError(ctx, `${what} zero point has ${z.length} values, expected 1 or ${perChannel}`);
  const inner = src.length / perChannel;
  for (let c = 0; c < perChannel; c++) {
    const zv = z[c]!;
    for (let i = c * inner; i < (c + 1) * inner; i++) out[i] = src[i]! - zv;
  }
  return out;
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/**
 * Integer convolution sums of zero-point-shifted values, exact. The float32 (SIMD) conv is exact while
 * every partial sum stays below 2^24 whatever the summation order; when the bound K * max|x| * max|w|
 * is above that, input channels are taken in chunks that keep it, and the chunks summed in float64.
 */
function integerConv(ctx: CpuContext, x: Float32Array, xd: readonly number[], w: Float32Array, wd: readonly number[],
  group: number, a: WindowAttrs): { data: FloatArray; dims: number[] } {
  const C = xd[1]!, Cg = C / group, kSize = prod(wd.slice(2));
  const perChannel = kSize * maxAbs(x) * maxAbs(w);
  const chunk = perChannel === 0 ? Cg : Math.floor(2 ** 24 / perChannel);
  if (chunk >= Cg) return convForward(ctx, x, xd, w, wd, undefined, group, a, { exact: true });
  if (group !== 1 || chunk < 1) return convForward(ctx, Float64Array.from(x), xd, Float64Array.from(w), wd, undefined, group, a);
  const N = xd[0]!, M = wd[0]!, inSize = prod(xd.slice(2));
  let acc: Float64Array | undefined;
  let dims: number[] = [];
  for (let c0 = 0; c0 < C; c0 += chunk) {
    const c1 = Math.min(C, c0 + chunk), cn = c1 - c0;
    const xs = new Float32Array(N * cn * inSize);
    for (let n = 0; n < N; n++) xs.set(x.subarray((n * C + c0) * inSize, (n * C + c1) * inSize), n * cn * inSize);
    const ws = new Float32Array(M * cn * kSize);
    for (let m = 0; m < M; m++) ws.set(w.subarray((m * C + c0) * kSize, (m * C + c1) * kSize), m * cn * kSize);
    const r = convForward(ctx, xs, [N, cn, ...xd.slice(2)], ws, [M, cn, ...wd.slice(2)], undefined, 1, a, { exact: true });
    acc ??= new Float64Array(r.data.length);
    for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + r.data[i]!;
    dims = r.dims;
  }
  return { data: acc!, dims };
}

const convInteger: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const W = tensorArg(inputs, 1, ctx);
  if (X.dims.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${X.dims.join(',')}]`);
  const x = shifted(ctx, X, optTensorArg(inputs, 2, ctx), 'input', 1);
  const w = shifted(ctx, W, optTensorArg(inputs, 3, ctx), 'weight', W.dims[0]!);
  const a = windowAttrsOf(ctx, X.dims.length - 2, W.dims.slice(2));
  const r = integerConv(ctx, x, X.dims, w, W.dims, ctx.attrs.int('group', 1), a);
  const Y = allocTensor('int32', r.dims);
  for (let i = 0; i < Y.data.length; i++) Y.data[i] = r.data[i]!; // exact: integer sums well below 2^53
  return [Y];
};

function scalesOf(ctx: CpuContext, t: HostTensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new KernelInputError(ctx, `${what} should be float32, got ${t.dtype}`);
  return t.data as Float32Array;
}

const qlinearConv: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const xs = scalesOf(ctx, tensorArg(inputs, 1, ctx), 'x_scale');
  const W = tensorArg(inputs, 3, ctx);
  const ws = scalesOf(ctx, tensorArg(inputs, 4, ctx), 'w_scale');
  const ys = scalesOf(ctx, tensorArg(inputs, 6, ctx), 'y_scale');
  const YZ = optTensorArg(inputs, 7, ctx);
  const B = optTensorArg(inputs, 8, ctx);
  if (X.dims.length < 3) throw new KernelInputError(ctx, `input should have rank >= 3 (N, C, spatial...), got [${X.dims.join(',')}]`);
  const M = W.dims[0]!;
  const x = shifted(ctx, X, optTensorArg(inputs, 2, ctx), 'input', 1);
  const w = shifted(ctx, W, optTensorArg(inputs, 5, ctx), 'weight', M);
  if (ws.length !== 1 && ws.length !== M) throw new KernelInputError(ctx, `w_scale has ${ws.length} values, expected 1 or ${M}`);
  if (B && B.dtype !== 'int32') throw new KernelInputError(ctx, `bias should be int32, got ${B.dtype}`);
  const bias = B ? Float64Array.from(B.data as Int32Array) : undefined;
  const a = windowAttrsOf(ctx, X.dims.length - 2, W.dims.slice(2));
  const sums = integerConv(ctx, x, X.dims, w, W.dims, ctx.attrs.int('group', 1), a);
  // The int32 bias is added in float64, where the sums stay exact.
  const r = { dims: sums.dims, data: sums.data instanceof Float64Array ? sums.data : Float64Array.from(sums.data) };
  if (bias) addChannelBias(r.data, bias, r.dims[0]!, M, prod(r.dims.slice(2)));
  const outType = YZ ? YZ.dtype : X.dtype;
  if (outType !== 'uint8' && outType !== 'int8') throw new KernelInputError(ctx, `y_zero_point should be uint8 or int8, got ${outType}`);
  const yzp = YZ && YZ.data.length > 0 ? Number((YZ.data as Uint8Array)[0]) : 0;
  const [lo, hi] = outType === 'uint8' ? [0, 255] : [-128, 127];
  const Y = allocTensor(outType, r.dims);
  const out = Y.data as Uint8Array | Int8Array;
  const size = prod(r.dims.slice(2));
  const N = r.dims[0]!;
  for (let m = 0; m < M; m++) {
    // The requantization scale is formed in float32, as onnxruntime does.
    const scale = Math.fround(Math.fround(xs[0]! * ws[ws.length === 1 ? 0 : m]!) / ys[0]!);
    for (let n = 0; n < N; n++) {
      const o = (n * M + m) * size;
      for (let i = o; i < o + size; i++) {
        const v = roundHalfEven(Math.fround(r.data[i]! * scale)) + yzp;
        out[i] = v < lo ? lo : v > hi ? hi : v;
      }
    }
  }
  return [Y];
};

export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Bilinear sample of one plane; corners outside the plane count as 0. */
function bilinear(x: FloatArray, off: number, H: number, W: number, h: number, w: number): number {
  if (h <= -1 || h >= H || w <= -1 || w >= W) return 0;
  const h0 = Math.floor(h), w0 = Math.floor(w);
  const lh = h - h0, lw = w - w0;
  const hh = 1 - lh, hw = 1 - lw;
  const in0 = h0 >= 0, in1 = h0 + 1 < H, jn0 = w0 >= 0, jn1 = w0 + 1 < W;
  let v = 0;
  if (in0 && jn0) v += hh * hw * x[off + h0 * W + w0]!;
  if (in0 && jn1) v += hh * lw * x[off + h0 * W + w0 + 1]!;
  if (in1 && jn0) v += lh * hw * x[off + (h0 + 1) * W + w0]!;
  if (in1 && jn1) v += lh * lw * x[off + (h0 + 1) * W + w0 + 1]!;
  return v;
}

const deformConv: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const Wt = tensorArg(inputs, 1, ctx);
  const Off = tensorArg(inputs, 2, ctx);
  const B = optTensorArg(inputs, 3, ctx);
  const Mask = optTensorArg(inputs, 4, ctx);
  const xd = X.dims, wd = Wt.dims;
  if (xd.length !== 4) throw new KernelInputError(ctx, `only 2-D DeformConv is supported (input rank 4), got [${xd.join(',')}]`);
  const group = ctx.attrs.int('group', 1);
  checkConvShapes(ctx, xd, wd, group);
  const og = ctx.attrs.int('offset_group', 1);
  const a = windowAttrsOf(ctx, 2, wd.slice(2));
  checkKernel(ctx, a, wd);
  const [N, C, H, W] = xd as [number, number, number, number];
  const M = wd[0]!;
  const geo = windowGeometry([H, W], a);
  const [OH, OW] = geo.out as [number, number];
  const [KH, KW] = a.kernel as [number, number];
  const kSize = KH * KW, outSize = OH * OW;
  if (C % og !== 0) throw new KernelInputError(ctx, `offset_group ${og} does not divide the ${C} input channels`);
  const wantOff = [N, og * 2 * kSize, OH, OW];
  if (Off.dims.join() !== wantOff.join()) throw new KernelInputError(ctx, `offset shape [${Off.dims.join(',')}] should be [${wantOff.join(',')}]`);
  if (Mask && Mask.dims.join() !== [N, og * kSize, OH, OW].join()) throw new KernelInputError(ctx, `mask shape [${Mask.dims.join(',')}] should be [${[N, og * kSize, OH, OW].join(',')}]`);
  const x = floatData(X, ctx, 'input'), w = floatData(Wt, ctx, 'weight'), off = floatData(Off, ctx, 'offset');
  const mask = Mask ? floatData(Mask, ctx, 'mask') : undefined;
  const bias = B ? floatData(B, ctx, 'bias') : undefined;
  const dims = [N, M, OH, OW];
  const Y = allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', dims);
  const Cg = C / group, Mg = M / group, cPerOg = C / og;
  const col = Y.data instanceof Float32Array ? new Float32Array(C * kSize * outSize) : new Float64Array(C * kSize * outSize);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / cPerOg);
      const xo = (n * C + c) * H * W;
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const k = kh * KW + kw;
          const offH = ((n * og + g) * 2 * kSize + 2 * k) * outSize;
          const offW = offH + outSize;
          const mo = ((n * og + g) * kSize + k) * outSize;
          const row = (c * kSize + k) * outSize;
          for (let oh = 0; oh < OH; oh++) {
            for (let ow = 0; ow < OW; ow++) {
              const p = oh * OW + ow;
              const h = oh * a.strides[0]! - geo.padHead[0]! + kh * a.dilations[0]! + off[offH + p]!;
              const wv = ow * a.strides[1]! - geo.padHead[1]! + kw * a.dilations[1]! + off[offW + p]!;
              const v = bilinear(x, xo, H, W, h, wv);
              col[row + p] = mask ? v * mask[mo + p]! : v;
            }
          }
        }
      }
    }
    for (let gi = 0; gi < group; gi++) {
      gemm(Mg, outSize, Cg * kSize, w, gi * Mg * Cg * kSize, Cg * kSize, 1, col, gi * Cg * kSize * outSize, outSize, Y.data, (n * M + gi * Mg) * outSize, outSize, false);
    }
  }
  if (bias) addChannelBias(Y.data, bias, N, M, outSize);
  return [{ ...Y, dtype: X.dtype } as HostTensor];
};

const col2imKernel: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const img = toIntList(tensorArg(inputs, 1, ctx));
  const blk = toIntList(tensorArg(inputs, 2, ctx));
  if (X.dims.length !== 3) throw new KernelInputError(ctx, `input should have rank 3 (N, C*prod(block), L), got [${X.dims.join(',')}]`);
  const nd = img.length;
  if (blk.length !== nd) throw new KernelInputError(ctx, `image_shape has ${nd} dims but block_shape has ${blk.length}`);
  const a: WindowAttrs = { ...windowAttrsOf(ctx, nd, blk), autoPad: 'NOTSET', ceilMode: false };
  const geo = windowGeometry(img, a);
  const kSize = prod(blk);
  const [N, CK, L] = X.dims as [number, number, number];
  if (CK % kSize !== 0) throw new KernelInputError(ctx, `input dim 1 (${CK}) is not a multiple of the block size ${kSize}`);
  if (prod(geo.out) !== L) throw new KernelInputError(ctx, `input dim 2 (${L}) should be the block count ${prod(geo.out)} ([${geo.out.join(',')}])`);
  const C = CK / kSize;
  const x = floatData(X, ctx, 'input');
  const Y = allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', [N, C, ...img]);
  const g: Grid = { img, out: geo.out, kernel: blk, strides: a.strides, dilations: a.dilations, padHead: geo.padHead };
  const imgSize = prod(img);
  for (let n = 0; n < N; n++) col2im(x, n * CK * L, C, g, Y.data, n * C * imgSize);
  return [{ ...Y, dtype: X.dtype } as HostTensor];
};

export const convKernels = {
  Conv: viaF32(conv),
  ConvTranspose: viaF32(convTranspose),
  ConvInteger: convInteger,
  QLinearConv: qlinearConv,
  DeformConv: viaF32(deformConv),
  Col2Im: viaF32(col2imKernel),
} satisfies Record<string, CpuKernel>;
