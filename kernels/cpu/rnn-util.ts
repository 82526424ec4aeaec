// Shared pieces of the RNN/GRU/LSTM kernels: activations, attribute and input handling, matmul.
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext } from './types.js';
import { keptArray, optTensorArg, tensorArg } from './util.js';
import { isConstant } from './constants.js';
import { sgemm } from './linalg-gemm.js';
import { gemvF32, gemvWeights } from './linalg-gemv-simd.js';

export type Arr = Float32Array | Float64Array;
export type Act = (x: number) => number;

/** Activation names (case-insensitive) with their alpha/beta use and the ONNX op defaults. */
const ACTS: Record<string, { alpha?: number; beta?: number; make: (a: number, b: number) => Act }> = {
  relu: { make: () => (x) => (x > 0 ? x : 0) },
  tanh: { make: () => Math.tanh },
  sigmoid: { make: () => (x) => 1 / (1 + Math.exp(-x)) },
  affine: { alpha: 1, beta: 0, make: (a, b) => (x) => a * x + b },
  leakyrelu: { alpha: 0.01, make: (a) => (x) => (x >= 0 ? x : a * x) },
  thresholdedrelu: { alpha: 1, make: (a) => (x) => (x > a ? x : 0) },
  scaledtanh: { alpha: 1, beta: 1, make: (a, b) => (x) => a * Math.tanh(b * x) },
  hardsigmoid: { alpha: 0.2, beta: 0.5, make: (a, b) => (x) => Math.max(0, Math.min(1, a * x + b)) },
  elu: { alpha: 1, make: (a) => (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)) },
  softsign: { make: () => (x) => x / (1 + Math.abs(x)) },
  softplus: { make: () => (x) => (x > 30 ? x : Math.log1p(Math.exp(x))) },
};

/**
 * The activations of each direction: `perDir` functions per direction, from the `activations`
 * attribute or the defaults. alpha/beta values are consumed in order by the functions that use them
 * (as onnxruntime does); a function finding none left gets its op's default.
 */
export function activations(ctx: CpuContext, defaults: string[], numDirections: number): Act[][] {
  // Fixed by the node's attributes: made once per node (a one-step LSTM per run spent ~7 us here).
  const hit = actCache.get(ctx.node);
  if (hit && hit.dirs === numDirections) return hit.acts;
  const acts = makeActivations(ctx, defaults, numDirections);
  actCache.set(ctx.node, { dirs: numDirections, acts });
  return acts;
}
const actCache = new WeakMap<object, { dirs: number; acts: Act[][] }>();

function makeActivations(ctx: CpuContext, defaults: string[], numDirections: number): Act[][] {
  const names = ctx.attrs.strings('activations') ?? Array.from({ length: numDirections }, () => defaults).flat();
  const perDir = defaults.length;
  // A unidirectional list given to a bidirectional op applies to both directions.
  const all = names.length === perDir && numDirections === 2 ? [...names, ...names] : names;
  if (all.length !== perDir * numDirections) {
    throw new KernelInputError(ctx, `activations lists ${names.length} functions, expected ${perDir * numDirections}`);
  }
  const alphas = ctx.attrs.floats('activation_alpha', []);
  const betas = ctx.attrs.floats('activation_beta', []);
  let ai = 0;
  let bi = 0;
  const fns = all.map((name) => {
    const spec = ACTS[name.toLowerCase()];
    if (!spec) throw new KernelInputError(ctx, `activation '${name}' is not supported`);
    const a = spec.alpha !== undefined ? (ai < alphas.length ? alphas[ai++]! : spec.alpha) : 0;
    const b = spec.beta !== undefined ? (bi < betas.length ? betas[bi++]! : spec.beta) : 0;
    return spec.make(a, b);
  });
  return Array.from({ length: numDirections }, (_, d) => fns.slice(d * perDir, (d + 1) * perDir));
}

export interface RnnSetup {
  /** X (empty for float32 X in layout 0, which is projected as it is), W, R as float64 copies: the matmul then sees one array type only (monomorphic, much faster). */
  X: Float64Array;
  W: Float64Array;
  R: Float64Array;
  /** X and W as given when float32: the input projection then runs on the SIMD GEMM. */
  x32?: Float32Array;
  w32?: Float32Array;
  /** R as given when float32: the recurrence then runs on the GEMV kernel. */
  r32?: Float32Array;
  B?: Arr;
  lens?: number[];
  initH?: Arr;
  seqLen: number;
  batch: number;
  inputSize: number;
  hidden: number;
  dirs: number;
  /** Directions to run: 0 forward, 1 reverse. */
  dirKinds: number[];
  layout: number;
  clip: number;
  dtype: 'float32' | 'float64';
}

// Float64 copies of constant weights (W, R of a model's initializers), made once: a model with a
// one-step LSTM per run otherwise spends more time copying its weights than multiplying by them.
const f64Copies = new WeakMap<object, Float64Array>();
function f64Of(a: Arr): Float64Array {
  if (!isConstant(a)) return Float64Array.from(a);
  let c = f64Copies.get(a);
  if (!c) f64Copies.set(a, (c = Float64Array.from(a)));
  return c;
}

function floatArg(t: HostTensor, what: string, ctx: CpuContext): Arr {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new KernelInputError(ctx, `${what} should be float32, float16 or float64, got ${t.dtype}`);
  return t.data as Arr;
}

function checkDims(t: HostTensor | undefined, want: number[], what: string, ctx: CpuContext): void {
  if (t && (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i]))) {
    throw new KernelInputError(ctx, `${what} has shape [${t.dims.join(',')}], expected [${want.join(',')}]`);
  }
}

/** Inputs 0..5 (X, W, R, B, sequence_lens, initial_h) and the common attributes, checked. */
export function rnnSetup(inputs: readonly (RtValue | undefined)[], ctx: CpuContext, gates: number): RnnSetup {
  const xT = tensorArg(inputs, 0, ctx);
  const wT = tensorArg(inputs, 1, ctx);
  const rT = tensorArg(inputs, 2, ctx);
  const bT = optTensorArg(inputs, 3, ctx);
  const lT = optTensorArg(inputs, 4, ctx);
  const hT = optTensorArg(inputs, 5, ctx);
  const layout = ctx.opset >= 14 ? ctx.attrs.int('layout', 0) : 0;
  if (layout !== 0 && layout !== 1) throw new KernelInputError(ctx, `layout ${layout} should be 0 or 1`);
  const direction = ctx.attrs.string('direction', 'forward');
  const dirKinds = direction === 'forward' ? [0] : direction === 'reverse' ? [1] : direction === 'bidirectional' ? [0, 1] : undefined;
  if (!dirKinds) throw new KernelInputError(ctx, `direction '${direction}' should be forward, reverse or bidirectional`);
  const dirs = dirKinds.length;
  if (xT.dims.length !== 3) throw new KernelInputError(ctx, `X should be 3-D, got shape [${xT.dims.join(',')}]`);
  const [seqLen, batch] = layout === 0 ? [xT.dims[0]!, xT.dims[1]!] : [xT.dims[1]!, xT.dims[0]!];
  const inputSize = xT.dims[2]!;
  if (wT.dims.length !== 3) throw new KernelInputError(ctx, `W should be 3-D, got shape [${wT.dims.join(',')}]`);
  const hidden = ctx.attrs.int('hidden_size', wT.dims[1]! / gates);
  if (!Number.isInteger(hidden) || hidden <= 0) throw new KernelInputError(ctx, `hidden_size ${hidden} is not valid for W of shape [${wT.dims.join(',')}]`);
  checkDims(wT, [dirs, gates * hidden, inputSize], 'W', ctx);
  checkDims(rT, [dirs, gates * hidden, hidden], 'R', ctx);
  checkDims(bT, [dirs, 2 * gates * hidden], 'B', ctx);
  checkDims(lT, [batch], 'sequence_lens', ctx);
  checkDims(hT, layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden], 'initial_h', ctx);
  for (const [t, what] of [[wT, 'W'], [rT, 'R'], [bT, 'B'], [hT, 'initial_h']] as const) {
    if (t && t.dtype !== xT.dtype) throw new KernelInputError(ctx, `${what} has dtype ${t.dtype}, X has ${xT.dtype}`);
  }
  let lens: number[] | undefined;
  if (lT) {
    if (lT.dtype !== 'int32' && lT.dtype !== 'int64') throw new KernelInputError(ctx, `sequence_lens should be int32, got ${lT.dtype}`);
    lens = Array.from(lT.data as ArrayLike<number | bigint>, Number);
    for (const [b, l] of lens.entries()) if (l < 0 || l > seqLen) throw new KernelInputError(ctx, `sequence_lens[${b}] = ${l} is outside [0, ${seqLen}]`);
  }
  const clip = ctx.attrs.float('clip', Infinity);
  if (!(clip > 0)) throw new KernelInputError(ctx, `clip ${clip} should be positive`);
  return {
    // float32 X in layout 0 is projected on the SIMD GEMM as it is (projectInputs): no float64 copy.
    X: xT.dtype === 'float32' && layout === 0 ? NO_X : Float64Array.from(floatArg(xT, 'X', ctx)), W: f64Of(floatArg(wT, 'W', ctx)), R: f64Of(floatArg(rT, 'R', ctx)),
    ...(xT.dtype === 'float32' ? { x32: xT.data as Float32Array, w32: wT.data as Float32Array, r32: rT.data as Float32Array } : {}),
    B: bT && floatArg(bT, 'B', ctx), lens, initH: hT && floatArg(hT, 'initial_h', ctx),
    seqLen, batch, inputSize, hidden, dirs, dirKinds, layout, clip,
    dtype: xT.dtype as 'float32' | 'float64',
  };
}

/** out[m, n] = bias[n] + sum_k A[m, k] * B[n, k] over rows of A (row stride K) and B (offset bOff). */
export function matmulBt(A: Float64Array, aOff: number, M: number, K: number, B: Float64Array, bOff: number, N: number, out: Float64Array, bias?: Float64Array): void {
  for (let m = 0; m < M; m++) {
    const a0 = aOff + m * K;
    const o0 = m * N;
    let n = 0;
    // Four rows of B at a time share each load of A's row.
    for (; n + 4 <= N; n += 4) {
      const b0 = bOff + n * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let s0 = bias ? bias[n]! : 0;
      let s1 = bias ? bias[n + 1]! : 0;
      let s2 = bias ? bias[n + 2]! : 0;
      let s3 = bias ? bias[n + 3]! : 0;
      for (let k = 0; k < K; k++) {
        const a = A[a0 + k]!;
        s0 += a * B[b0 + k]!;
        s1 += a * B[b1 + k]!;
        s2 += a * B[b2 + k]!;
        s3 += a * B[b3 + k]!;
      }
      out[o0 + n] = s0;
      out[o0 + n + 1] = s1;
      out[o0 + n + 2] = s2;
      out[o0 + n + 3] = s3;
    }
    for (; n < N; n++) {
      const b0 = bOff + n * K;
      let s = bias ? bias[n]! : 0;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      out[o0 + n] = s;
    }
  }
}

/** One step's recurrent product out[0, n) = h[hOff, hOff + H) . R[rOff + n*H, +H) for n < N. */
export type StepProduct = (h: Float64Array, hOff: number, out: Float64Array) => void;

/**
 * The recurrent product over rows [rOff/H, rOff/H + N) of R. float32 R goes to the GEMV kernel (float32
 * sums, as onnxruntime), laid out once per call, or kept resident when R is a constant; `temporary`
 * false refuses a per-call layout (a kernel with two products over different parts of R would make the
 * second replace the first). Otherwise float64 JS.
 */
export function stepProduct(s: RnnSetup, rOff: number, N: number, temporary = true): StepProduct {
  const H = s.hidden;
  const w = s.r32 && (temporary || isConstant(s.r32)) ? gemvWeights(s.r32, rOff, H, N, H, true) : undefined;
  if (w) return (h, hOff, out) => gemvF32(w, 1, h, hOff, H, 1, out, 0, N, false);
  return (h, hOff, out) => matmulBt(h, hOff, 1, H, s.R, rOff, N, out);
}

/** Row-major offset of X[t, b, :] (layout 0: [seq, batch, in]; layout 1: [batch, seq, in]). */
export function xOffset(s: RnnSetup, t: number, b: number): number {
  return (s.layout === 0 ? t * s.batch + b : b * s.seqLen + t) * s.inputSize;
}

/** Offset of Y[t, d, b, :] (layout 0: [seq, dirs, batch, h]; layout 1: [batch, seq, dirs, h]). */
export function yOffset(s: RnnSetup, t: number, d: number, b: number): number {
  return (s.layout === 0 ? (t * s.dirs + d) * s.batch + b : (b * s.seqLen + t) * s.dirs + d) * s.hidden;
}

/** Offset of a state (initial_h/c, Y_h/c) [d, b, :] (layout 0: [dirs, batch, h]; layout 1: [batch, dirs, h]). */
export function stateOffset(s: RnnSetup, d: number, b: number): number {
  return (s.layout === 0 ? d * s.batch + b : b * s.dirs + d) * s.hidden;
}

/** Output dims: Y and the final state(s). */
export function outDims(s: RnnSetup): { y: number[]; state: number[] } {
  return s.layout === 0
    ? { y: [s.seqLen, s.dirs, s.batch, s.hidden], state: [s.dirs, s.batch, s.hidden] }
    : { y: [s.batch, s.seqLen, s.dirs, s.hidden], state: [s.batch, s.dirs, s.hidden] };
}

/**
 * The input projection of one direction for all steps: XW[(t * batch + b) * G*H + g] = X[t, b] . W[g] + bias[g].
 * Done as one pass over the whole sequence since it does not depend on the recurrence.
 */
export function projectInputs(s: RnnSetup, d: number, gh: number, bias: Float64Array): Float64Array {
  const xw = scratchXw(s.seqLen * s.batch * gh);
  if (s.x32 && s.w32 && s.layout === 0) {
    // float32 in layout 0: X's rows are already in (t, b) order, so all steps are one X.W^T product on
    // the SIMD GEMM (float32 sums, as onnxruntime; W's staged form is cached when it is constant).
    const M = s.seqLen * s.batch;
    const p = scratchP(M * gh);
    sgemm(false, true, M, gh, s.inputSize, 1, s.x32, 0, s.inputSize, s.w32, d * gh * s.inputSize, s.inputSize, 0, p, 0, gh);
    for (let r = 0, o = 0; r < M; r++) for (let g = 0; g < gh; g++, o++) xw[o] = p[o]! + bias[g]!;
    return xw;
  }
  const row = new Float64Array(gh);
  const wOff = d * gh * s.inputSize;
  for (let t = 0; t < s.seqLen; t++) {
    for (let b = 0; b < s.batch; b++) {
      matmulBt(s.X, xOffset(s, t, b), 1, s.inputSize, s.W, wOff, gh, row, bias);
      xw.set(row, (t * s.batch + b) * gh);
    }
  }
  return xw;
}

// The projection and its float32 product live in arrays kept between calls: every element is written
// before it is read, the kernels run one at a time per thread and read a direction's projection before
// projecting the next; fresh ones (2 KiB each for silero VAD's LSTM) cost more than its whole step.
const scratchXw = keptArray((n) => new Float64Array(n));
const scratchP = keptArray((n) => new Float32Array(n));

const NO_X = new Float64Array(0);

// Combined biases of constant B arrays (a model's weights), made once per direction and layout.
const biasCache = new WeakMap<object, Map<string, Float64Array>>();

/** Wb + Rb per gate row of one direction (or zeros); `skipR` gates keep only Wb (GRU linear_before_reset). Read-only. */
export function combinedBias(s: RnnSetup, d: number, gh: number, skipRFrom = gh): Float64Array {
  if (!s.B || !isConstant(s.B)) return makeBias(s, d, gh, skipRFrom);
  let m = biasCache.get(s.B);
  if (!m) biasCache.set(s.B, (m = new Map()));
  const key = `${d},${gh},${skipRFrom}`;
  let b = m.get(key);
  if (!b) m.set(key, (b = makeBias(s, d, gh, skipRFrom)));
  return b;
}

function makeBias(s: RnnSetup, d: number, gh: number, skipRFrom: number): Float64Array {
  const out = new Float64Array(gh);
  if (!s.B) return out;
  const o = d * 2 * gh;
  for (let g = 0; g < gh; g++) out[g] = s.B[o + g]! + (g < skipRFrom ? s.B[o + gh + g]! : 0);
  return out;
}

export const clamp = (x: number, c: number): number => (x > c ? c : x < -c ? -c : x);
