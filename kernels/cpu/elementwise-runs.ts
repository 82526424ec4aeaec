// Whole-array loops for the hottest unary ops. The shared map1 loop calls its scalar function through a
// call site that sees every op, so V8 cannot inline it (measured ~5-8x slower for cheap ops); these loops
// call known functions, which it inlines. Each computes exactly what the op's scalar function does, except
// the SIMD transcendentals (exp, tanh, erf, sigmoid), which are within a few float32 ulps of it.
import type { Vec } from './elementwise-loops.js';
import { erf, sigmoid } from './elementwise-scalar.js';
import { simdClip, simdLeakyRelu, simdUnary } from './elementwise-simd.js';

export type UnaryRun = (a: Vec<number>, out: Vec<number>) => void;

export const negRun: UnaryRun = (a, out) => {
  if (simdUnary('neg', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = -a[i]!;
};
export const sqrtRun: UnaryRun = (a, out) => {
  if (simdUnary('sqrt', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = Math.sqrt(a[i]!);
};
// Log (log-mel front ends: silero VAD, openWakeWord) and Reciprocal measured ~40 ns an element through
// map1; Math.log alone costs ~20 ns, so long runs take the SIMD logf (a few ulps, as Exp).
export const logRun: UnaryRun = (a, out) => {
  if (simdUnary('log', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = Math.log(a[i]!);
};
export const reciprocalRun: UnaryRun = (a, out) => {
  for (let i = 0, n = out.length; i < n; i++) out[i] = 1 / a[i]!;
};
export const absRun: UnaryRun = (a, out) => {
  if (simdUnary('abs', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = Math.abs(a[i]!);
};
export const expRun: UnaryRun = (a, out) => {
  if (simdUnary('exp', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = Math.exp(a[i]!);
};
export const tanhRun: UnaryRun = (a, out) => {
  if (simdUnary('tanh', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = Math.tanh(a[i]!);
};
export const erfRun: UnaryRun = (a, out) => {
  if (simdUnary('erf', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = erf(a[i]!);
};
export const sigmoidRun: UnaryRun = (a, out) => {
  if (simdUnary('sigmoid', a, out)) return;
  for (let i = 0, n = out.length; i < n; i++) out[i] = sigmoid(a[i]!);
};
export const reluRun: UnaryRun = (a, out) => {
  if (simdClip(a, out, 0, Infinity)) return;
  for (let i = 0, n = out.length; i < n; i++) {
    const x = a[i]!;
    out[i] = x < 0 ? 0 : x;
  }
};

export function swishRun(alpha: number): UnaryRun {
  return (a, out) => {
    if (out instanceof Float32Array && out.length >= 32) {
      for (let i = 0, n = out.length; i < n; i++) out[i] = alpha * a[i]!;
      if (simdUnary('sigmoid', out, out)) {
        for (let i = 0, n = out.length; i < n; i++) out[i] = a[i]! * out[i]!;
        return;
      }
    }
    for (let i = 0, n = out.length; i < n; i++) {
      const x = a[i]!;
      out[i] = x * sigmoid(alpha * x);
    }
  };
}

export function leakyReluRun(alpha: number): UnaryRun {
  return (a, out) => {
    if (simdLeakyRelu(a, out, alpha)) return;
    for (let i = 0, n = out.length; i < n; i++) {
      const x = a[i]!;
      out[i] = x < 0 ? alpha * x : x;
    }
  };
}

export function hardSigmoidRun(alpha: number, beta: number): UnaryRun {
  return (a, out) => {
    for (let i = 0, n = out.length; i < n; i++) out[i] = Math.max(0, Math.min(1, alpha * a[i]! + beta));
  };
}

export const hardSwishRun: UnaryRun = (a, out) => {
  for (let i = 0, n = out.length; i < n; i++) {
    const x = a[i]!;
    out[i] = x * Math.max(0, Math.min(1, x / 6 + 0.5));
  }
};

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

export function geluRun(tanhApprox: boolean): UnaryRun {
  if (tanhApprox) {
    return (a, out) => {
      // tanh of the inner polynomial by SIMD into out, then the outer product.
      if (out instanceof Float32Array && out.length >= 32) {
        for (let i = 0, n = out.length; i < n; i++) {
          const x = a[i]!;
          out[i] = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
        }
        if (simdUnary('tanh', out, out)) {
          for (let i = 0, n = out.length; i < n; i++) out[i] = 0.5 * a[i]! * (1 + out[i]!);
          return;
        }
      }
      for (let i = 0, n = out.length; i < n; i++) {
        const x = a[i]!;
        out[i] = 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
      }
    };
  }
  return (a, out) => {
    if (out instanceof Float32Array && out.length >= 32) {
      for (let i = 0, n = out.length; i < n; i++) out[i] = a[i]! * Math.SQRT1_2;
      if (simdUnary('erf', out, out)) {
        for (let i = 0, n = out.length; i < n; i++) out[i] = 0.5 * a[i]! * (1 + out[i]!);
        return;
      }
    }
    for (let i = 0, n = out.length; i < n; i++) {
      const x = a[i]!;
      out[i] = 0.5 * x * (1 + erf(x * Math.SQRT1_2));
    }
  };
}

/** Clip to [lo, hi]: NaN passes through; with lo > hi every element becomes hi. */
export function clipRun(lo: number, hi: number): UnaryRun {
  return (a, out) => {
    for (let i = 0, n = out.length; i < n; i++) {
      let v = a[i]!;
      if (v < lo) v = lo;
      out[i] = v > hi ? hi : v;
    }
  };
}
