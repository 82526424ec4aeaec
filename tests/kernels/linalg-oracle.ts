// Test helpers for the linalg and reduce kernels: tensors from values, and a one-node run on tgraph
// compared with onnxruntime-node.
import type { Attr } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { oneNodeVsOrt } from '../helpers/ort.js';
export { T } from '../helpers/tensor.js';

/** Deterministic pseudo-random values in [-1, 1) (or small integers when `int`). */
export function rand(n: number, seed = 1, int = 0): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return int ? Math.floor(u * int) - Math.floor(int / 2) : u * 2 - 1;
  });
}

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  ints: (value: number[]): Attr => ({ kind: 'ints', value }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

/**
 * Run one node on tgraph (interpreter) and on onnxruntime-node; outputs must agree: floats (float16
 * by value) to |d| <= rtol * (|want| + max|want|) + 1e-7, others exactly.
 */
export function vsOrt(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opset = 21, rtol = 1e-5, nOut = 1): Promise<HostTensor[]> {
  return oneNodeVsOrt(op, inputs, attributes, { opset, outputs: nOut, tol: { rtol, ofMax: rtol, atol: 1e-7, float16: 'close' } });
}
