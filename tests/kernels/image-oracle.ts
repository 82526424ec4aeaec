// Shared by the image, quant and misc kernel tests: run one node on tgraph's CPU interpreter and on
// onnxruntime-node, and compare every output.
import type { DType } from '../../graph/dtype.js';
import { numberToF16Bits } from '../../graph/dtype.js';
import type { Attr } from '../../graph/ir.js';
import { type HostTensor, makeTensor } from '../../graph/tensor.js';
import { type OneNodeOptions, oneNodeVsOrt, runOneNode } from '../helpers/ort.js';

let seed = 4242;
export function rnd(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}
export const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

export function T(dtype: DType, dims: number[], values: readonly (number | bigint | string)[]): HostTensor {
  const v = values as number[];
  const data = dtype === 'int64' ? BigInt64Array.from(values as number[], (x) => BigInt(x))
    : dtype === 'float32' ? Float32Array.from(v)
      : dtype === 'float64' ? Float64Array.from(v)
        : dtype === 'int32' ? Int32Array.from(v)
          : dtype === 'int16' ? Int16Array.from(v)
            : dtype === 'int8' ? Int8Array.from(v)
              : dtype === 'uint8' || dtype === 'bool' ? Uint8Array.from(v)
                : dtype === 'float16' ? Uint16Array.from(v, (x) => numberToF16Bits(x))
                  : dtype === 'string' ? [...(values as string[])]
                    : Uint16Array.from(v);
  return makeTensor(dtype, dims, data as never);
}
export const R = (dims: number[], lo = -1, hi = 1, dtype: DType = 'float32') => T(dtype, dims, Array.from({ length: prod(dims) }, () => lo + (hi - lo) * rnd()));
export const I = (dims: number[], lo: number, hi: number, dtype: DType) => T(dtype, dims, Array.from({ length: prod(dims) }, () => Math.floor(lo + (hi - lo + 1) * rnd())));

export const ints = (v: number[]): Attr => ({ kind: 'ints', value: v });
export const int = (v: number): Attr => ({ kind: 'int', value: v });
export const flt = (v: number): Attr => ({ kind: 'float', value: v });
export const str = (v: string): Attr => ({ kind: 'string', value: v });

export interface OracleOptions extends OneNodeOptions { rtol?: number; atol?: number }

/** Run one node on tgraph; the outputs. */
export function runNode(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: OracleOptions = {}): HostTensor[] {
  return runOneNode(op, inputs, attributes, opts).got;
}

/** Run one node on tgraph and on onnxruntime-node; every output must agree (floats to rtol * |want| + atol; float16 bits exactly). */
export function vsOrt(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opts: OracleOptions = {}): Promise<HostTensor[]> {
  return oneNodeVsOrt(op, inputs, attributes, { ...opts, tol: { rtol: opts.rtol ?? 1e-4, atol: opts.atol ?? 1e-5, float16: 'bits' } });
}
