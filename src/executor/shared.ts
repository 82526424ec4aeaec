// Tensors in shared memory: a value a worker reads or writes lives in a SharedArrayBuffer, so posting
// it to a worker shares it instead of copying it. Where SharedArrayBuffer is not available (a browser
// page that is not cross-origin isolated) values are copied by the structured clone instead.
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { isConstant, markConstant } from '../../kernels/cpu/constants.js';

export const sharedMemoryAvailable: boolean =
  typeof SharedArrayBuffer !== 'undefined' && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;

/** Below this many bytes the structured clone is as cheap as sharing. */
const MIN_SHARED_BYTES = 1024;

type NumArray = Exclude<HostTensor['data'], string[]>;
type ArrayCtor = { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumArray; BYTES_PER_ELEMENT: number };

const sharedCopies = new WeakMap<object, NumArray>();

export function isShared(data: HostTensor['data']): boolean {
  return !Array.isArray(data) && typeof SharedArrayBuffer !== 'undefined' && (data as NumArray).buffer instanceof SharedArrayBuffer;
}

/** A zero-filled typed array of `like`'s type and `length` elements, in shared memory when possible. */
export function allocLike(like: NumArray, length: number): NumArray {
  const C = like.constructor as ArrayCtor;
  if (!sharedMemoryAvailable) return new C(new ArrayBuffer(length * C.BYTES_PER_ELEMENT));
  return new C(new SharedArrayBuffer(length * C.BYTES_PER_ELEMENT));
}

/** The tensor with its data in shared memory (copied once; the copy is remembered per array). */
export function shareTensor(t: HostTensor): HostTensor {
  if (!sharedMemoryAvailable || Array.isArray(t.data)) return t;
  const data = t.data as NumArray;
  if (data.byteLength < MIN_SHARED_BYTES || isShared(data)) return t;
  let copy = sharedCopies.get(data);
  if (!copy) {
    copy = allocLike(data, data.length);
    (copy as unknown as { set(a: ArrayLike<unknown>): void }).set(data as ArrayLike<unknown>);
    sharedCopies.set(data, copy);
    // A constant's copy is constant too: workers keep it (and their packed forms of it) by id.
    if (isConstant(data)) markConstant(copy);
  }
  return { ...t, data: copy } as HostTensor;
}

export function shareValue(v: RtValue): RtValue {
  switch (v.kind) {
    case 'tensor': return shareTensor(v);
    case 'sequence': return { ...v, items: v.items.map(shareTensor) };
    case 'optional': return v.value ? { ...v, value: shareValue(v.value) as typeof v.value } : v;
  }
}
