// Signal ops on CPU: DFT (opsets 17 and 20), STFT, Hann/Hamming/Blackman windows, MelWeightMatrix.
// Transforms run in float64: radix-2 FFT for powers of two, Bluestein's algorithm for other lengths.
import { type DType, dtypeFromOnnx, isFloat, onnxTypeName } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, getNumber, setElement } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg, viaF32 } from './util.js';

/** A reusable transform of one length: in-place forward DFT of (re, im). */
interface FftPlan {
  n: number;
  run(re: Float64Array, im: Float64Array): void;
}

const planCache = new Map<number, FftPlan>();

function radix2(n: number): FftPlan {
  const levels = Math.log2(n);
  const cos = new Float64Array(n / 2);
  const sin = new Float64Array(n / 2);
  for (let i = 0; i < n / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / n);
    sin[i] = Math.sin((2 * Math.PI * i) / n);
  }
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < levels; b++) r |= ((i >>> b) & 1) << (levels - 1 - b);
    rev[i] = r;
  }
  return {
    n,
    run(re, im) {
      for (let i = 0; i < n; i++) {
        const j = rev[i]!;
        if (j > i) {
          let t = re[i]!; re[i] = re[j]!; re[j] = t;
          t = im[i]!; im[i] = im[j]!; im[j] = t;
        }
      }
      for (let size = 2; size <= n; size *= 2) {
        const half = size / 2;
        const step = n / size;
        for (let i = 0; i < n; i += size) {
          for (let j = i, k = 0; j < i + half; j++, k += step) {
            // e^{-2πik/n}: the forward transform's twiddle.
            const tre = re[j + half]! * cos[k]! + im[j + half]! * sin[k]!;
            const tim = -re[j + half]! * sin[k]! + im[j + half]! * cos[k]!;
            re[j + half] = re[j]! - tre;
            im[j + half] = im[j]! - tim;
            re[j]! += tre;
            im[j]! += tim;
          }
        }
      }
    },
  };
}

/** Bluestein: a length-n DFT as a convolution computed with power-of-two FFTs. */
function bluestein(n: number): FftPlan {
  let m = 1;
  while (m < 2 * n - 1) m *= 2;
  const inner = planFor(m);
  const wr = new Float64Array(n);
  const wi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // k^2 mod 2n keeps the angle accurate for large k.
    const a = (Math.PI * ((k * k) % (2 * n))) / n;
    wr[k] = Math.cos(a);
    wi[k] = -Math.sin(a);
  }
  const br = new Float64Array(m);
  const bi = new Float64Array(m);
  br[0] = wr[0]!;
  bi[0] = -wi[0]!;
  for (let k = 1; k < n; k++) {
    br[k] = br[m - k] = wr[k]!;
    bi[k] = bi[m - k] = -wi[k]!;
  }
  inner.run(br, bi);
  const ar = new Float64Array(m);
  const ai = new Float64Array(m);
  return {
    n,
    run(re, im) {
      ar.fill(0);
      ai.fill(0);
      for (let k = 0; k < n; k++) {
        ar[k] = re[k]! * wr[k]! - im[k]! * wi[k]!;
        ai[k] = re[k]! * wi[k]! + im[k]! * wr[k]!;
      }
      inner.run(ar, ai);
      for (let k = 0; k < m; k++) {
        const r = ar[k]! * br[k]! - ai[k]! * bi[k]!;
        ai[k] = ar[k]! * bi[k]! + ai[k]! * br[k]!;
        ar[k] = r;
      }
      // Inverse FFT via conjugation.
      for (let k = 0; k < m; k++) ai[k] = -ai[k]!;
      inner.run(ar, ai);
      for (let k = 0; k < n; k++) {
        const cr = ar[k]! / m;
        const ci = -ai[k]! / m;
        re[k] = cr * wr[k]! - ci * wi[k]!;
        im[k] = cr * wi[k]! + ci * wr[k]!;
      }
    },
  };
}

function planFor(n: number): FftPlan {
  let p = planCache.get(n);
  if (!p) {
    p = n <= 1 ? { n, run() {} } : (n & (n - 1)) === 0 ? radix2(n) : bluestein(n);
    if (planCache.size > 64) planCache.clear();
    planCache.set(n, p);
  }
  return p;
}

/**
 * DFT along `axis` of x viewed as [outer, len, inner, c] (c = 1 real, 2 complex), zero-padded or
 * truncated to n; writes `keep` bins of [outer, keep, inner, 2]. inverse divides by n.
 */
function dftLines(xs: ArrayLike<number>, outer: number, len: number, inner: number, c: number, n: number, keep: number, inverse: boolean, out: Float32Array | Float64Array): void {
  const plan = planFor(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  const use = Math.min(len, n);
  const sign = inverse ? -1 : 1;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      re.fill(0);
      im.fill(0);
      for (let k = 0; k < use; k++) {
        const src = ((o * len + k) * inner + j) * c;
        re[k] = xs[src]!;
        // The inverse transform is the forward one of the conjugate, conjugated back.
        if (c === 2) im[k] = sign * xs[src + 1]!;
      }
      plan.run(re, im);
      const scale = inverse ? 1 / n : 1;
      for (let k = 0; k < keep; k++) {
        const dst = ((o * keep + k) * inner + j) * 2;
        out[dst] = re[k]! * scale;
        out[dst + 1] = sign * im[k]! * scale;
      }
    }
  }
}

/** Real inverse of one-sided spectra: extend each line Hermitian-symmetrically to n bins, keep the real part. */
function irfftLines(xs: ArrayLike<number>, outer: number, len: number, inner: number, c: number, n: number, out: Float32Array | Float64Array): void {
  const plan = planFor(n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      for (let k = 0; k < n; k++) {
        const m = k <= n / 2 ? k : n - k;
        if (m >= len) { re[k] = 0; im[k] = 0; continue; }
        const src = ((o * len + m) * inner + j) * c;
        re[k] = xs[src]!;
        const v = c === 2 ? xs[src + 1]! : 0;
        // Forward transform of the conjugate: bins above n/2 are conjugated once by symmetry, once for the inverse.
        im[k] = k <= n / 2 ? -v : v;
      }
      plan.run(re, im);
      for (let k = 0; k < n; k++) out[(o * n + k) * inner + j] = re[k]! / n;
    }
  }
}

function scalarInt(t: HostTensor | undefined, ctx: CpuContext, what: string): number | undefined {
  if (!t) return undefined;
  if (t.data.length !== 1) throw new KernelInputError(ctx, `${what} must be a scalar, got shape [${t.dims.join(',')}]`);
  const v = getNumber(t, 0);
  if (!Number.isInteger(v)) throw new KernelInputError(ctx, `${what} must be an integer, got ${v}`);
  return v;
}

const dft: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const rank = x.dims.length;
  const c = x.dims[rank - 1];
  if (rank < 2 || (c !== 1 && c !== 2)) throw new KernelInputError(ctx, `input must end in a dim of 1 (real) or 2 (complex), got [${x.dims.join(',')}]`);
  let axis = ctx.opset >= 20 ? scalarInt(optTensorArg(inputs, 2, ctx), ctx, 'axis') ?? -2 : ctx.attrs.int('axis', 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1) throw new KernelInputError(ctx, `axis must name a signal axis (not the last), got ${axis} for rank ${rank}`);
  const inverse = ctx.attrs.int('inverse', 0) !== 0;
  const onesided = ctx.attrs.int('onesided', 0) !== 0;
  const len = x.dims[axis]!;
  // An inverse of a one-sided spectrum (irfft) of len bins defaults to a real signal of 2 * (len - 1).
  const irfft = inverse && onesided;
  const n = scalarInt(optTensorArg(inputs, 1, ctx), ctx, 'dft_length') ?? (irfft ? 2 * (len - 1) : len);
  if (n < 1) throw new KernelInputError(ctx, `dft_length must be positive, got ${n}`);
  if (onesided && !inverse && c === 2) throw new KernelInputError(ctx, 'onesided needs a real input');
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i]!;
  let inner = 1;
  for (let i = axis + 1; i < rank - 1; i++) inner *= x.dims[i]!;
  if (irfft) {
    const outDims = [...x.dims];
    outDims[axis] = n;
    outDims[rank - 1] = 1;
    const out = allocTensor(x.dtype, outDims);
    irfftLines(x.data as Float32Array, outer, len, inner, c, n, out.data as Float32Array);
    return [out];
  }
  const keep = onesided ? Math.floor(n / 2) + 1 : n;
  const outDims = [...x.dims];
  outDims[axis] = keep;
  outDims[rank - 1] = 2;
  const out = allocTensor(x.dtype, outDims);
  dftLines(x.data as Float32Array, outer, len, inner, c, n, keep, inverse, out.data as Float32Array);
  return [out];
};

const stft: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const window = optTensorArg(inputs, 2, ctx);
  const step = scalarInt(tensorArg(inputs, 1, ctx), ctx, 'frame_step')!;
  let frameLen = scalarInt(optTensorArg(inputs, 3, ctx), ctx, 'frame_length');
  const onesided = ctx.attrs.int('onesided', 1) !== 0;
  if (x.dims.length !== 3 || (x.dims[2] !== 1 && x.dims[2] !== 2)) throw new KernelInputError(ctx, `signal must be [batch, length, 1 or 2], got [${x.dims.join(',')}]`);
  const [B, L, c] = [x.dims[0]!, x.dims[1]!, x.dims[2]!];
  if (window && window.dims.length !== 1) throw new KernelInputError(ctx, `window must be 1-D, got [${window.dims.join(',')}]`);
  if (window && frameLen !== undefined && frameLen !== window.dims[0]) throw new KernelInputError(ctx, `frame_length ${frameLen} differs from the window length ${window.dims[0]}`);
  frameLen ??= window ? window.dims[0]! : L;
  if (step < 1) throw new KernelInputError(ctx, `frame_step must be positive, got ${step}`);
  if (frameLen < 1 || frameLen > L) throw new KernelInputError(ctx, `frame_length ${frameLen} must be in [1, ${L}]`);
  if (onesided && c === 2) throw new KernelInputError(ctx, 'onesided needs a real signal');
  const frames = Math.floor((L - frameLen) / step) + 1;
  const bins = onesided ? Math.floor(frameLen / 2) + 1 : frameLen;
  const out = allocTensor(x.dtype, [B, frames, bins, 2]);
  const xs = x.data as Float32Array;
  const w = window ? (window.data as Float32Array) : undefined;
  // One frame at a time as a [1, frameLen, 1, c] signal.
  const frame = new Float64Array(frameLen * c);
  const res = new Float64Array(bins * 2);
  const o = out.data as Float32Array;
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < frames; f++) {
      const start = (b * L + f * step) * c;
      for (let k = 0; k < frameLen; k++) {
        const wk = w ? w[k]! : 1;
        for (let q = 0; q < c; q++) frame[k * c + q] = xs[start + k * c + q]! * wk;
      }
      dftLines(frame, 1, frameLen, 1, c, frameLen, bins, false, res);
      o.set(res, (b * frames + f) * bins * 2);
    }
  }
  return [out];
};

function outputType(ctx: CpuContext): DType {
  const code = ctx.attrs.int('output_datatype', 1);
  const dt = dtypeFromOnnx(code);
  if (!dt || dt === 'string' || dt === 'bool') throw new KernelInputError(ctx, `output_datatype ${onnxTypeName(code)} is not supported`);
  return dt;
}

function fillTensor(dt: DType, dims: number[], values: Float64Array): HostTensor {
  const out = allocTensor(dt, dims);
  if (dt === 'float32' || dt === 'float64') (out.data as Float64Array).set(values);
  else for (let i = 0; i < values.length; i++) setElement(out, i, isFloat(dt) ? values[i]! : Math.trunc(values[i]!));
  return out;
}

/** A cosine-sum window a0 - a1 cos(2πn/N) + a2 cos(4πn/N), N = size (periodic) or size - 1 (symmetric). */
function cosineWindow(a0: number, a1: number, a2: number): CpuKernel {
  return (inputs, ctx) => {
    const size = scalarInt(tensorArg(inputs, 0, ctx), ctx, 'size')!;
    if (size < 0) throw new KernelInputError(ctx, `size must be non-negative, got ${size}`);
    const periodic = ctx.attrs.int('periodic', 1) !== 0;
    const N = periodic ? size : size - 1;
    const v = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      const t = N === 0 ? 0 : (2 * Math.PI * i) / N;
      v[i] = a0 - a1 * Math.cos(t) + a2 * Math.cos(2 * t);
    }
    return [fillTensor(outputType(ctx), [size], v)];
  };
}

const melWeightMatrix: CpuKernel = (inputs, ctx) => {
  const numMel = scalarInt(tensorArg(inputs, 0, ctx), ctx, 'num_mel_bins')!;
  const dftLen = scalarInt(tensorArg(inputs, 1, ctx), ctx, 'dft_length')!;
  const rate = scalarInt(tensorArg(inputs, 2, ctx), ctx, 'sample_rate')!;
  const lo = getNumber(tensorArg(inputs, 3, ctx), 0);
  const hi = getNumber(tensorArg(inputs, 4, ctx), 0);
  if (numMel < 1 || dftLen < 1 || rate < 1) throw new KernelInputError(ctx, 'num_mel_bins, dft_length and sample_rate must be positive');
  if (!(lo >= 0 && hi > lo)) throw new KernelInputError(ctx, `edges must satisfy 0 <= lower (${lo}) < upper (${hi})`);
  const bins = Math.floor(dftLen / 2) + 1;
  const mel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
  const lowMel = mel(lo);
  // As the ONNX reference: num_mel_bins + 2 points spaced by (high - low) / (num_mel_bins + 2).
  const step = (mel(hi) - lowMel) / (numMel + 2);
  const points = new Int32Array(numMel + 2);
  for (let i = 0; i < numMel + 2; i++) {
    const hz = 700 * (10 ** ((i * step + lowMel) / 2595) - 1);
    points[i] = Math.floor(((dftLen + 1) * hz) / rate);
  }
  const v = new Float64Array(bins * numMel);
  const put = (j: number, i: number, w: number) => {
    if (j < 0 || j >= bins) throw new KernelInputError(ctx, `mel point ${j} falls outside the ${bins} spectrogram bins (upper_edge_hertz above the Nyquist rate?)`);
    v[j * numMel + i] = w;
  };
  for (let i = 0; i < numMel; i++) {
    const [l, c, h] = [points[i]!, points[i + 1]!, points[i + 2]!];
    if (c === l) put(c, i, 1);
    else for (let j = l; j <= c; j++) put(j, i, (j - l) / (c - l));
    if (h > c) for (let j = c; j < h; j++) put(j, i, (h - j) / (h - c));
  }
  return [fillTensor(outputType(ctx), [bins, numMel], v)];
};

export const signalKernels = {
  DFT: viaF32(dft),
  STFT: viaF32(stft),
  HannWindow: cosineWindow(0.5, 0.5, 0),
  HammingWindow: cosineWindow(25 / 46, 21 / 46, 0),
  BlackmanWindow: cosineWindow(0.42, 0.5, 0.08),
  MelWeightMatrix: melWeightMatrix,
};
