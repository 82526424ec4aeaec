// Deterministic generated inputs for `tgraph run`.
import type { DType } from '../../graph/dtype.js';
import { InputError } from '../../graph/errors.js';
import { Tensor, type TensorType } from '../tensor.js';
import type { IoMetadata } from '../session.js';

/** mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Parse `NAME=1,3,224,224` into a name and dims. */
export function parseInputSpec(spec: string): [string, number[]] {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0) throw new InputError(`--input expects NAME=DIMS (e.g. x=1,3,224,224), got '${spec}'`);
  const dims = spec.slice(eq + 1).split(/[,x]/).filter(Boolean).map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new InputError(`--input ${spec}: dims must be non-negative integers`);
  return [spec.slice(0, eq), dims];
}

export function generateInput(meta: IoMetadata, dims: readonly number[] | undefined, seed: number): Tensor {
  if (!meta.isTensor || !meta.type) throw new InputError(`input '${meta.name}' is not a tensor; tgraph run can only generate tensors`);
  const shape = dims ?? (meta.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  const type = meta.type as TensorType;
  const gen = (): number => r();
  switch (type as DType) {
    case 'float32': return new Tensor('float32', Float32Array.from({ length: n }, gen), shape);
    case 'float64': return new Tensor('float64', Float64Array.from({ length: n }, gen), shape);
    case 'int32': return new Tensor('int32', Int32Array.from({ length: n }, () => Math.floor(r() * 10)), shape);
    case 'int64': return new Tensor('int64', BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 10))), shape);
    case 'bool': return new Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), shape);
    case 'uint8': return new Tensor('uint8', Uint8Array.from({ length: n }, () => Math.floor(r() * 256)), shape);
    case 'int8': return new Tensor('int8', Int8Array.from({ length: n }, () => Math.floor(r() * 256) - 128), shape);
    case 'string': return new Tensor('string', Array.from({ length: n }, (_, i) => `s${i}`), shape);
    default: throw new InputError(`input '${meta.name}': tgraph run cannot generate ${type} data; pass a supported model input type`);
  }
}

export interface Stats { min: number; max: number; mean: number; first: (number | string)[] }

export function statsOf(t: Tensor): Stats {
  const d = t.data as ArrayLike<number | bigint | string>;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  const first: (number | string)[] = [];
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (typeof v === 'string') {
      if (first.length < 5) first.push(v);
      continue;
    }
    const x = Number(v);
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    if (first.length < 5) first.push(t.type === 'float32' || t.type === 'float64' ? Number(x.toPrecision(6)) : x);
  }
  return { min, max, mean: d.length ? sum / d.length : NaN, first };
}
