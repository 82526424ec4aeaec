// Shape rules of the signal ops (DFT, STFT, windows, MelWeightMatrix).
import { dtypeFromOnnx } from '../dtype.js';
import type { Dim } from '../ir.js';
import { constInts, dtypeOf, fail, shapeOf, tensorOut } from './shape-util.js';
import { op, type InferContext, type OpSchema, type ShapeRule } from './types.js';

function constScalar(ctx: InferContext, i: number): number | undefined {
  if (!(i < ctx.inputCount && ctx.inputs[i])) return undefined;
  const v = constInts(ctx, i);
  return v && v.length === 1 ? v[0] : undefined;
}

const dftRule: ShapeRule = (ctx) => {
  const s = shapeOf(ctx, 0);
  const dt = dtypeOf(ctx, 0);
  if (!s) return [tensorOut(dt)];
  const rank = s.length;
  let axis: number | undefined = ctx.opset >= 20 ? (ctx.inputCount > 2 && ctx.inputs[2] ? constScalar(ctx, 2) : -2) : ctx.attrs.int('axis', 1);
  if (axis === undefined) return [tensorOut(dt)];
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank - 1) fail(ctx, `axis ${axis} must name a signal axis of rank ${rank}`);
  const hasLen = ctx.inputCount > 1 && ctx.inputs[1] !== undefined;
  const onesided = ctx.attrs.int('onesided', 0) !== 0;
  const out = [...s];
  if (onesided && ctx.attrs.int('inverse', 0) !== 0) {
    // irfft: a real signal of dft_length (default 2 * (bins - 1)).
    const len = s[axis]!;
    const n = hasLen ? constScalar(ctx, 1) : typeof len === 'number' ? 2 * (len - 1) : undefined;
    if (n === undefined) return [tensorOut(dt)];
    out[axis] = n;
    out[rank - 1] = 1;
    return [tensorOut(dt, out)];
  }
  const n: Dim | undefined = hasLen ? constScalar(ctx, 1) : s[axis];
  if (n === undefined) return [tensorOut(dt)];
  out[axis] = onesided ? (typeof n === 'number' ? Math.floor(n / 2) + 1 : `${n}/2+1`) : n;
  out[rank - 1] = 2;
  return [tensorOut(dt, typeof out[axis] === 'string' && onesided ? undefined : out)];
};

const stftRule: ShapeRule = (ctx) => {
  const s = shapeOf(ctx, 0);
  const dt = dtypeOf(ctx, 0);
  const step = constScalar(ctx, 1);
  const win = ctx.inputCount > 2 && ctx.inputs[2] ? shapeOf(ctx, 2) : undefined;
  let len: Dim | undefined = constScalar(ctx, 3) ?? win?.[0];
  if (!s || s.length !== 3) return [tensorOut(dt)];
  if (len === undefined && !(ctx.inputCount > 2 && ctx.inputs[2]) && !(ctx.inputCount > 3 && ctx.inputs[3])) len = s[1];
  const L = s[1];
  if (step === undefined || typeof len !== 'number' || typeof L !== 'number') return [tensorOut(dt)];
  const onesided = ctx.attrs.int('onesided', 1) !== 0;
  return [tensorOut(dt, [s[0]!, Math.floor((L - len) / step) + 1, onesided ? Math.floor(len / 2) + 1 : len, 2])];
};

const windowRule: ShapeRule = (ctx) => {
  const size = constScalar(ctx, 0);
  const dt = dtypeFromOnnx(ctx.attrs.int('output_datatype', 1));
  return [tensorOut(dt, size === undefined ? undefined : [size])];
};

const melRule: ShapeRule = (ctx) => {
  const mel = constScalar(ctx, 0);
  const n = constScalar(ctx, 1);
  const dt = dtypeFromOnnx(ctx.attrs.int('output_datatype', 1));
  return [tensorOut(dt, mel === undefined || n === undefined ? undefined : [Math.floor(n / 2) + 1, mel])];
};

export const signalOps = {
  DFT: op(dftRule, { since: 17, doc: 'Discrete Fourier transform along one axis' }),
  STFT: op(stftRule, { since: 17, doc: 'Short-time Fourier transform' }),
  HannWindow: op(windowRule, { since: 17, doc: 'Hann window' }),
  HammingWindow: op(windowRule, { since: 17, doc: 'Hamming window' }),
  BlackmanWindow: op(windowRule, { since: 17, doc: 'Blackman window' }),
  MelWeightMatrix: op(melRule, { since: 17, doc: 'Mel filter bank weights' }),
} satisfies Record<string, OpSchema>;
