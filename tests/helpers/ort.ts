// onnxruntime-node as the oracle: conversions between its tensors and ours.
import * as ort from 'onnxruntime-node';
import type { HostTensor } from '../../graph/tensor.js';

export { ort };

export function toOrt(t: HostTensor): ort.Tensor {
  return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, [...t.dims]);
}

export function fromOrt(t: ort.Tensor): HostTensor {
  return { kind: 'tensor', dtype: t.type as HostTensor['dtype'], dims: [...t.dims], data: t.data as HostTensor['data'] };
}

/** Relative closeness used for real models: |a - b| <= rtol * |b| + atol * max|b|. */
export function maxRelError(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, rtol: number, atolScale: number): { ok: boolean; worst: number; at: number } {
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) maxAbs = Math.max(maxAbs, Math.abs(Number(want[i])));
  let worst = 0;
  let at = -1;
  let ok = got.length === want.length;
  for (let i = 0; i < want.length; i++) {
    const a = Number(got[i]);
    const b = Number(want[i]);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const err = Math.abs(a - b);
    // An absolute floor of 1e-6: float32 noise around zero (e.g. sigmoid of very negative inputs).
    const allowed = rtol * Math.abs(b) + atolScale * maxAbs + 1e-6;
    const ratio = allowed > 0 ? err / allowed : err > 0 ? Infinity : 0;
    if (!(ratio <= 1)) ok = false;
    if (ratio > worst || Number.isNaN(ratio)) {
      worst = Number.isNaN(ratio) ? Infinity : ratio;
      at = i;
    }
  }
  return { ok, worst, at };
}
