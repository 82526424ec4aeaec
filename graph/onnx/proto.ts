// The ONNX protobuf classes (onnx-proto, a CommonJS package) as an ES import.
import onnxPkg from 'onnx-proto';
import type { onnx as OnnxNamespace } from 'onnx-proto';

export const onnx: typeof OnnxNamespace = (onnxPkg as unknown as { onnx: typeof OnnxNamespace }).onnx;
export type { OnnxNamespace };

interface LongLike { low: number; high: number; unsigned?: boolean; toString(): string }

/** An int64 field (number or Long) as a JS number. */
export function toNum(v: number | LongLike | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  return Number(toBig(v));
}

/** An int64 field (number or Long) as a bigint, exact. */
export function toBig(v: number | LongLike | string | null | undefined, unsigned = false): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v);
  const lo = BigInt(v.low >>> 0);
  const hi = BigInt(v.high >>> 0);
  const u = (hi << 32n) | lo;
  return unsigned || v.unsigned ? u : BigInt.asIntN(64, u);
}
