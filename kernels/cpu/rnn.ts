// CPU kernels: rnn family (RNN, GRU, LSTM). Keys match graph/ops/rnn.ts; TypeScript checks none is missing.
// Per direction: the input projection X.W^T + biases for all steps at once, then the recurrence
// one batch row at a time (rows are independent, so each row's state is updated in place).
// Steps past a row's sequence_lens leave Y zero and its state frozen; reverse runs within the row's length.
import type { rnnOps } from '../../graph/ops/rnn.js';
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { keptArray, optTensorArg, viaF32 } from './util.js';
import { type LstmState, gemvWeights, lstmState } from './linalg-gemv-simd.js';
import { type Arr, type RnnSetup, activations, clamp, combinedBias, outDims, projectInputs, rnnSetup, stateOffset, stepProduct, yOffset } from './rnn-util.js';

// State arrays kept between calls (h, and c for the LSTM): a direction reads and writes its state, then
// copies it out before the next direction starts; the kernels run one at a time per thread.
const keptH = keptArray((n) => new Float64Array(n));
const keptC = keptArray((n) => new Float64Array(n));

/** Initial state of direction d as [batch * hidden] (zeros when not given), in a kept array. */
function initState(s: RnnSetup, init: Arr | undefined, d: number, kept = keptH): Float64Array {
  const h = kept(s.batch * s.hidden);
  if (!init) h.fill(0);
  else for (let b = 0; b < s.batch; b++) for (let j = 0; j < s.hidden; j++) h[b * s.hidden + j] = init[stateOffset(s, d, b) + j]!;
  return h;
}

/** The time index of `step` for row b, or -1 once the row's sequence is done. */
function timeOf(s: RnnSetup, kind: number, step: number, b: number): number {
  const len = s.lens ? s.lens[b]! : s.seqLen;
  if (step >= len) return -1;
  return kind === 0 ? step : len - 1 - step;
}

const RNN: CpuKernel = viaF32((inputs, ctx) => {
  const s = rnnSetup(inputs, ctx, 1);
  const H = s.hidden;
  const acts = activations(ctx, ['Tanh'], s.dirs);
  const dims = outDims(s);
  const Y = allocTensor(s.dtype, dims.y);
  const Yh = allocTensor(s.dtype, dims.state);
  const y = Y.data as Arr;
  const yh = Yh.data as Arr;
  const hr = new Float64Array(H);
  for (let d = 0; d < s.dirs; d++) {
    const f = acts[d]![0]!;
    const xw = projectInputs(s, d, H, combinedBias(s, d, H));
    const h = initState(s, s.initH, d);
    const recur = stepProduct(s, d * H * H, H);
    for (let step = 0; step < s.seqLen; step++) {
      for (let b = 0; b < s.batch; b++) {
        const t = timeOf(s, s.dirKinds[d]!, step, b);
        if (t < 0) continue;
        recur(h, b * H, hr);
        const xo = (t * s.batch + b) * H;
        const yo = yOffset(s, t, d, b);
        for (let j = 0; j < H; j++) {
          const v = f(clamp(xw[xo + j]! + hr[j]!, s.clip));
          h[b * H + j] = v;
          y[yo + j] = v;
        }
      }
    }
    for (let b = 0; b < s.batch; b++) for (let j = 0; j < H; j++) yh[stateOffset(s, d, b) + j] = h[b * H + j]!;
  }
  return [Y, Yh];
});

// GRU gate order in W/R/B: z (update), r (reset), h (hidden).
const GRU: CpuKernel = viaF32((inputs, ctx) => {
  const s = rnnSetup(inputs, ctx, 3);
  const H = s.hidden;
  const acts = activations(ctx, ['Sigmoid', 'Tanh'], s.dirs);
  const lbr = ctx.attrs.int('linear_before_reset', 0) !== 0;
  const dims = outDims(s);
  const Y = allocTensor(s.dtype, dims.y);
  const Yh = allocTensor(s.dtype, dims.state);
  const y = Y.data as Arr;
  const yh = Yh.data as Arr;
  const hr = new Float64Array(3 * H);
  const rh = new Float64Array(H);
  const hh = new Float64Array(H);
  const zg = new Float64Array(H);
  for (let d = 0; d < s.dirs; d++) {
    const [f, g] = acts[d] as [(x: number) => number, (x: number) => number];
    // With linear_before_reset, Rbh is applied inside the reset product, so it stays out of the projection.
    const xw = projectInputs(s, d, 3 * H, combinedBias(s, d, 3 * H, lbr ? 2 * H : 3 * H));
    const rbh = new Float64Array(H);
    if (lbr && s.B) for (let j = 0; j < H; j++) rbh[j] = s.B[d * 6 * H + 5 * H + j]!;
    const h = initState(s, s.initH, d);
    const rOff = d * 3 * H * H;
    // Two products over different rows of R: per-call layouts would replace each other, so only a constant R goes to the GEMV kernel.
    const recurZR = stepProduct(s, rOff, lbr ? 3 * H : 2 * H, false);
    const recurH = stepProduct(s, rOff + 2 * H * H, H, false);
    for (let step = 0; step < s.seqLen; step++) {
      for (let b = 0; b < s.batch; b++) {
        const t = timeOf(s, s.dirKinds[d]!, step, b);
        if (t < 0) continue;
        const ho = b * H;
        // z and r recurrences (and h's when linear_before_reset) from the previous state.
        recurZR(h, ho, hr);
        const xo = (t * s.batch + b) * 3 * H;
        for (let j = 0; j < H; j++) {
          zg[j] = f(clamp(xw[xo + j]! + hr[j]!, s.clip));
          const r = f(clamp(xw[xo + H + j]! + hr[H + j]!, s.clip));
          if (lbr) hh[j] = r * (hr[2 * H + j]! + rbh[j]!);
          else rh[j] = r * h[ho + j]!;
        }
        if (!lbr) recurH(rh, 0, hh);
        const yo = yOffset(s, t, d, b);
        for (let j = 0; j < H; j++) {
          const ht = g(clamp(xw[xo + 2 * H + j]! + hh[j]!, s.clip));
          const z = zg[j]!;
          const v = (1 - z) * ht + z * h[ho + j]!;
          h[ho + j] = v;
          y[yo + j] = v;
        }
      }
    }
    for (let b = 0; b < s.batch; b++) for (let j = 0; j < H; j++) yh[stateOffset(s, d, b) + j] = h[b * H + j]!;
  }
  return [Y, Yh];
});

/** One direction of the common LSTM with its state in the GEMV module's memory; h and c end as the final state. */
function lstmSteps(s: RnnSetup, d: number, st: LstmState, xw: Float64Array, h: Float64Array, c: Float64Array, y: Arr): void {
  const H = s.hidden;
  const mem = st.f32();
  for (let b = 0; b < s.batch; b++) {
    for (let j = 0; j < H; j++) {
      mem[st.h + b * st.stride + j] = h[b * H + j]!;
      mem[st.c + b * st.stride + j] = c[b * H + j]!;
    }
  }
  for (let step = 0; step < s.seqLen; step++) {
    for (let b = 0; b < s.batch; b++) {
      const t = timeOf(s, s.dirKinds[d]!, step, b);
      if (t < 0) continue;
      const xo = (t * s.batch + b) * 4 * H;
      for (let k = 0; k < 4 * H; k++) mem[st.gates + k] = xw[xo + k]!;
      st.step(b);
      const yo = yOffset(s, t, d, b);
      const ho = st.h + b * st.stride;
      for (let j = 0; j < H; j++) y[yo + j] = mem[ho + j]!;
    }
  }
  for (let b = 0; b < s.batch; b++) {
    for (let j = 0; j < H; j++) {
      h[b * H + j] = mem[st.h + b * st.stride + j]!;
      c[b * H + j] = mem[st.c + b * st.stride + j]!;
    }
  }
}

// LSTM gate order in W/R/B: i (input), o (output), f (forget), c (cell); peepholes P: i, o, f.
const LSTM: CpuKernel = viaF32((inputs, ctx) => {
  const s = rnnSetup(inputs, ctx, 4);
  const H = s.hidden;
  const cT = optTensorArg(inputs, 6, ctx);
  const pT = optTensorArg(inputs, 7, ctx);
  const cWant = s.layout === 0 ? [s.dirs, s.batch, H] : [s.batch, s.dirs, H];
  if (cT && (cT.dims.length !== 3 || cT.dims.some((v, i) => v !== cWant[i]))) throw new KernelInputError(ctx, `initial_c has shape [${cT.dims.join(',')}], expected [${cWant.join(',')}]`);
  if (pT && (pT.dims.length !== 2 || pT.dims[0] !== s.dirs || pT.dims[1] !== 3 * H)) throw new KernelInputError(ctx, `P has shape [${pT.dims.join(',')}], expected [${s.dirs},${3 * H}]`);
  for (const [t, what] of [[cT, 'initial_c'], [pT, 'P']] as const) {
    if (t && t.dtype !== s.dtype) throw new KernelInputError(ctx, `${what} has dtype ${t.dtype}, X has ${s.dtype}`);
  }
  const initC = cT?.data as Arr | undefined;
  const P = pT?.data as Arr | undefined;
  const inputForget = ctx.attrs.int('input_forget', 0) !== 0;
  const dims = outDims(s);
  const Y = allocTensor(s.dtype, dims.y);
  const Yh = allocTensor(s.dtype, dims.state);
  const Yc = allocTensor(s.dtype, dims.state);
  const y = Y.data as Arr;
  const yh = Yh.data as Arr;
  const yc = Yc.data as Arr;
  // Made only for the JS recurrence: the wasm path never reads it, and a fresh 4H-double array per call
  // was the LSTM kernel's largest own cost in silero VAD.
  let hr: Float64Array | undefined;
  const names = ctx.attrs.strings('activations');
  const plain = !P && !inputForget && s.clip === Infinity && (!names || names.every((n, i) => n.toLowerCase() === ['sigmoid', 'tanh', 'tanh'][i % 3]));
  const acts = activations(ctx, ['Sigmoid', 'Tanh', 'Tanh'], s.dirs);
  for (let d = 0; d < s.dirs; d++) {
    const [f, g, hf] = acts[d] as [(x: number) => number, (x: number) => number, (x: number) => number];
    const xw = projectInputs(s, d, 4 * H, combinedBias(s, d, 4 * H));
    const pOff = d * 3 * H;
    const h = initState(s, s.initH, d);
    const c = initState(s, initC, d, keptC);
    // The common LSTM (default activations, no peepholes, clip or input_forget) keeps its state in wasm
    // memory and runs each step's product and cell update there (linalg-gemv-simd.ts).
    const R = plain && s.r32 ? gemvWeights(s.r32, d * 4 * H * H, H, 4 * H, H, true) : undefined;
    const st = R && lstmState(R, s.batch);
    if (st) lstmSteps(s, d, st, xw, h, c, y);
    const recur = st ? undefined : stepProduct(s, d * 4 * H * H, 4 * H);
    if (recur) hr ??= new Float64Array(4 * H);
    for (let step = 0; recur && hr && step < s.seqLen; step++) {
      for (let b = 0; b < s.batch; b++) {
        const t = timeOf(s, s.dirKinds[d]!, step, b);
        if (t < 0) continue;
        const ho = b * H;
        recur(h, ho, hr);
        const xo = (t * s.batch + b) * 4 * H;
        const yo = yOffset(s, t, d, b);
        for (let j = 0; j < H; j++) {
          const cPrev = c[ho + j]!;
          const pi = P ? P[pOff + j]! : 0;
          const po = P ? P[pOff + H + j]! : 0;
          const pf = P ? P[pOff + 2 * H + j]! : 0;
          const ig = f(clamp(xw[xo + j]! + hr[j]! + pi * cPrev, s.clip));
          const fg = inputForget ? 1 - ig : f(clamp(xw[xo + 2 * H + j]! + hr[2 * H + j]! + pf * cPrev, s.clip));
          const cg = g(clamp(xw[xo + 3 * H + j]! + hr[3 * H + j]!, s.clip));
          const cNew = fg * cPrev + ig * cg;
          const og = f(clamp(xw[xo + H + j]! + hr[H + j]! + po * cNew, s.clip));
          const v = og * hf(cNew);
          c[ho + j] = cNew;
          h[ho + j] = v;
          y[yo + j] = v;
        }
      }
    }
    for (let b = 0; b < s.batch; b++) {
      const so = stateOffset(s, d, b);
      for (let j = 0; j < H; j++) {
        yh[so + j] = h[b * H + j]!;
        yc[so + j] = c[b * H + j]!;
      }
    }
  }
  return [Y, Yh, Yc];
});

export const rnnKernels = {
  RNN,
  GRU,
  LSTM,
} satisfies Record<keyof typeof rnnOps, CpuKernel>;
