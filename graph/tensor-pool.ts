// Recycling of large tensor buffers between the nodes of a run.
//
// A fresh large ArrayBuffer costs far more than its loop: the allocator maps new zero pages and the
// first write faults each one in (an Add over 74k floats: 150 us with a fresh output, 50 us into a
// reused one). A run tracker (`RunBuffers`) owns the buffers that `allocTensor` created while one of
// its nodes ran, counts how many live values of the run hold each one, and hands a buffer to the free
// list when the last of them is dropped. Only such buffers are recycled: feeds, initializers, fetched
// outputs and anything held by a sequence, optional or map never are, so a buffer is reused only when
// nothing outside the run's value table can still see it.
import type { RtValue } from './tensor.js';

/** Buffers smaller than this come from the allocator's arenas quickly; pooling them gains nothing. */
const MIN_BYTES = 32 * 1024;
/** Free-list ceiling, so an idle process does not keep a model's intermediates forever. */
const MAX_POOLED_BYTES = 256 * 1024 * 1024;

const free = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
let enabled = true;
/** The run whose node is executing now (nodes run synchronously, so at most one at a time). */
let active: RunBuffers | undefined;

/** Turn recycling off or on (tests compare both); returns the previous setting. */
export function setTensorPool(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  if (!on) clearTensorPool();
  return prev;
}

/** Drop every pooled buffer. */
export function clearTensorPool(): void {
  free.clear();
  pooledBytes = 0;
}

/** Bytes held by the free list (tests and profiling). */
export function pooledTensorBytes(): number {
  return pooledBytes;
}

/** A zeroed buffer of exactly `bytes` from the free list, or undefined; called by `allocTensor`. */
export function takeBuffer(bytes: number): ArrayBuffer | undefined {
  if (bytes < MIN_BYTES) return undefined;
  const list = free.get(bytes);
  const buf = list?.pop();
  if (!buf) return undefined;
  pooledBytes -= bytes;
  new Uint8Array(buf).fill(0);
  return buf;
}

/** Tell the active run that `allocTensor` created `buf` (it may be recycled when the run drops it). */
export function noteAllocation(buf: ArrayBuffer): void {
  if (active && buf.byteLength >= MIN_BYTES) active.refs.set(buf, 0);
}

function give(buf: ArrayBuffer): void {
  if (!enabled || pooledBytes + buf.byteLength > MAX_POOLED_BYTES) return;
  const list = free.get(buf.byteLength);
  if (list) list.push(buf);
  else free.set(buf.byteLength, [buf]);
  pooledBytes += buf.byteLength;
}

function bufferOf(v: RtValue): ArrayBuffer | undefined {
  if (v.kind !== 'tensor') return undefined;
  const b = (v.data as { buffer?: unknown }).buffer;
  return b instanceof ArrayBuffer ? b : undefined;
}

/** Every tensor buffer a non-tensor value holds (sequences, optionals, maps). */
function* nested(v: RtValue): Generator<ArrayBuffer> {
  if (v.kind === 'tensor') {
    const b = bufferOf(v);
    if (b) yield b;
  } else if (v.kind === 'sequence') {
    for (const x of v.items) yield* nested(x);
  } else if (v.kind === 'optional') {
    if (v.value) yield* nested(v.value);
  }
}

/** Run `f` with its allocations owned by no run (values kept across runs, never recycled). */
export function unowned<T>(f: () => T): T {
  const prev = active;
  active = undefined;
  try {
    return f();
  } finally {
    active = prev;
  }
}

/** One run's ownership of the buffers its nodes allocate. */
export class RunBuffers {
  /** Owned buffers and the number of the run's live values that hold each. */
  readonly refs = new Map<ArrayBuffer, number>();

  /** Run one node's kernel with its allocations owned by this run. */
  node<T>(f: () => T): T {
    if (!enabled) return f();
    const prev = active;
    active = this;
    try {
      return f();
    } finally {
      active = prev;
    }
  }

  /** A node's output became a live value of the run. */
  stored(v: RtValue): void {
    if (v.kind !== 'tensor') {
      // A container may be read back piecewise later; its buffers leave the run's ownership.
      for (const b of nested(v)) this.refs.delete(b);
      return;
    }
    const b = bufferOf(v);
    const n = b && this.refs.get(b);
    if (n !== undefined) this.refs.set(b!, n + 1);
  }

  /** A live value of the run was dropped (its last reader ran); recycle its buffer when nothing else holds it. */
  dropped(v: RtValue): void {
    const b = bufferOf(v);
    const n = b && this.refs.get(b);
    if (n === undefined) return;
    if (n > 1) {
      this.refs.set(b!, n - 1);
      return;
    }
    this.refs.delete(b!);
    give(b!);
  }
}
