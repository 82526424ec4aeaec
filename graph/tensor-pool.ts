// Recycling of tensor buffers between the nodes of a run.
//
// A fresh large ArrayBuffer costs far more than its loop: the allocator maps new zero pages and the
// first write faults each one in (an Add over 74k floats: 150 us with a fresh output, 50 us into a
// reused one). A run tracker (`RunBuffers`) owns the buffers that `allocTensor` created while one of
// its nodes ran, counts how many live values of the run hold each one, and hands a buffer to the free
// list when the last of them is dropped. Only such buffers are recycled: feeds, initializers, fetched
// outputs and anything held by a sequence, optional or map never are, so a buffer is reused only when
// nothing outside the run's value table can still see it.
//
// Parallel runs (src/executor): a pool worker allocates every array of 1 KiB or more in shared memory
// (`setSharedAllocation`), so its outputs reach the main thread without a copy, and keeps no free
// list; the run adopts those outputs (`adopt`) and recycles them on a separate free list of shared
// buffers, from which split nodes' outputs come (`takeSharedBuffer`); each part of a split node
// writes straight into its block of that output (`withOutputTarget`). Inline nodes on the main thread
// keep ordinary ArrayBuffers: typed-array fills and copies on shared memory are several times slower
// (a 256 KiB fill: 10 us unshared, 510 us shared byte-wise), so sharing only what workers touch pays.
import type { RtValue } from './tensor.js';

/**
 * Smaller buffers are not pooled. V8 keeps typed arrays of up to 64 bytes on its heap (cheap); a larger
 * one gets its own backing store: measured 0.84 us for a new 512-byte Float32Array against 0.085 us for
 * a view of a pooled buffer (0.12 vs 1.2 us at 4 KiB), which is most of a small model's node cost.
 */
export const POOL_MIN_BYTES = 128;
/** Free-list ceiling, so an idle process does not keep a model's intermediates forever. */
const MAX_POOLED_BYTES = 256 * 1024 * 1024;

type Buf = ArrayBuffer | SharedArrayBuffer;
const free = new Map<number, ArrayBuffer[]>();
const freeShared = new Map<number, SharedArrayBuffer[]>();
let pooledBytes = 0;
const hasShared = typeof SharedArrayBuffer !== 'undefined';
/** Pool workers: allocate arrays from this many bytes in shared memory (0: never). */
let sharedFrom = 0;
/** A split part's block of its node's output (see withOutputTarget). */
let target: (OutputBlock & { used: boolean }) | undefined;

/** A block of a shared buffer; `dirty`: not zeroed yet. */
export interface OutputBlock {
  readonly buffer: SharedArrayBuffer;
  readonly byteOffset: number;
  readonly bytes: number;
  readonly dtype: string;
  readonly dirty?: boolean;
}
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
  freeShared.clear();
  pooledBytes = 0;
}

let reused = 0;
/** Buffers handed out again from the free lists so far (tests). */
export function reusedTensorBuffers(): number {
  return reused;
}

/** Bytes held by the free list (tests and profiling). */
export function pooledTensorBytes(): number {
  return pooledBytes;
}

/** Tests: poison recycled buffers taken without zeroing; pool workers inherit it through the environment. */
let poison = typeof process !== 'undefined' && process.env?.TGRAPH_POISON_UNINIT === '1';
let uninitTaken = 0;
/**
 * Tests: fill recycled buffers taken without zeroing (`init: 'none'`) with 0xFF bytes (NaN floats, -1
 * integers), so a kernel that wrongly skips the fill shows up as wrong results; returns the previous setting.
 */
export function setPoisonUninit(on: boolean): boolean {
  const prev = poison;
  poison = on;
  return prev;
}

/** Recycled buffers handed out without zeroing so far (tests). */
export function uninitTensorBuffers(): number {
  return uninitTaken;
}

/** A recycled block whose caller writes every byte: left as it is (poisoned under setPoisonUninit). */
function uninit(buf: Buf, at: number, n: number): void {
  uninitTaken++;
  if (poison) new Uint8Array(buf, at, n).fill(0xff);
}

/**
 * A buffer of exactly `bytes` for `allocTensor`, zeroed when `zeroed` (else the caller writes every
 * byte, and a recycled one keeps its old contents): the active split part's output block, a fresh
 * shared one (pool workers), a recycled one from the free list, or undefined (the caller allocates).
 * Returns the buffer and the byte offset of the array in it.
 */
export function takeBuffer(bytes: number, dtype: string, zeroed = true): { buffer: Buf; byteOffset: number } | undefined {
  if (target && !target.used && target.bytes === bytes && target.dtype === dtype) {
    target.used = true;
    if (target.dirty) (zeroed ? zero : uninit)(target.buffer, target.byteOffset, bytes);
    return { buffer: target.buffer, byteOffset: target.byteOffset };
  }
  if (sharedFrom > 0 && bytes >= sharedFrom) return { buffer: new SharedArrayBuffer(bytes), byteOffset: 0 };
  if (bytes < POOL_MIN_BYTES) return undefined;
  const buf = free.get(bytes)?.pop();
  if (!buf) return undefined;
  pooledBytes -= bytes;
  reused++;
  if (zeroed) new Uint8Array(buf).fill(0);
  else uninit(buf, 0, bytes);
  return { buffer: buf, byteOffset: 0 };
}

/**
 * A shared buffer of `bytes` for a split node's output (parallel runs): recycled when the free list
 * has one (then `dirty`: each part zeroes its own block, in parallel) or fresh (zeroed).
 */
export function takeSharedBuffer(bytes: number): { buffer: SharedArrayBuffer; dirty: boolean } {
  const buf = bytes >= POOL_MIN_BYTES ? freeShared.get(bytes)?.pop() : undefined;
  if (!buf) return { buffer: new SharedArrayBuffer(bytes), dirty: false };
  pooledBytes -= bytes;
  reused++;
  return { buffer: buf, dirty: true };
}

const ZERO = new Float64Array(8192);
/** Zero bytes [at, at + n) of `buf`. Filling shared memory byte by byte is ~50x slower than a memset; 8-byte stores of zeros are not. */
function zero(buf: Buf, at: number, n: number): void {
  if (buf instanceof ArrayBuffer) {
    new Uint8Array(buf, at, n).fill(0);
    return;
  }
  const head = Math.min(n, (8 - (at % 8)) % 8);
  new Uint8Array(buf, at, head).fill(0);
  const words = Math.floor((n - head) / 8);
  const v = new Float64Array(buf, at + head, words);
  for (let o = 0; o < words; o += ZERO.length) v.set(words - o >= ZERO.length ? ZERO : ZERO.subarray(0, words - o), o);
  new Uint8Array(buf, at + head + words * 8, n - head - words * 8).fill(0);
}

/** Tell the active run that `allocTensor` created `buf` (it may be recycled when the run drops it). */
export function noteAllocation(buf: Buf): void {
  if (active && buf.byteLength >= POOL_MIN_BYTES && (!target || buf !== target.buffer)) active.refs.set(buf, 0);
}

/** Worker threads: allocate every array of `minBytes` or more in shared memory (0: off). */
export function setSharedAllocation(minBytes: number): void {
  sharedFrom = hasShared ? minBytes : 0;
}

/**
 * Run `f` (one part of a split node, on a worker) with the first allocation of exactly `dtype` x
 * `bytes` placed at `byteOffset` in `buffer` (the node's output, allocated by the main thread);
 * returns f's result and whether that allocation happened.
 */
export function withOutputTarget<T>(t: OutputBlock, f: () => T): { result: T; used: boolean } {
  const prev = target;
  const cur = { ...t, used: false };
  target = cur;
  try {
    return { result: f(), used: cur.used };
  } finally {
    target = prev;
  }
}

function give(buf: Buf): void {
  if (!enabled || pooledBytes + buf.byteLength > MAX_POOLED_BYTES) return;
  const map = (buf instanceof ArrayBuffer ? free : freeShared) as Map<number, Buf[]>;
  const list = map.get(buf.byteLength);
  if (list) list.push(buf);
  else map.set(buf.byteLength, [buf]);
  pooledBytes += buf.byteLength;
}

function bufferOf(v: RtValue): Buf | undefined {
  if (v.kind !== 'tensor') return undefined;
  const b = (v.data as { buffer?: unknown }).buffer;
  return b instanceof ArrayBuffer || (hasShared && b instanceof SharedArrayBuffer) ? (b as Buf) : undefined;
}

/** Every tensor buffer a non-tensor value holds (sequences, optionals, maps). */
function* nested(v: RtValue): Generator<Buf> {
  if (v.kind === 'tensor') {
    const b = bufferOf(v);
    if (b) yield b;
  } else if (v.kind === 'sequence') {
    for (const x of v.items) yield* nested(x);
  } else if (v.kind === 'optional') {
    if (v.value) yield* nested(v.value);
  }
}

/**
 * A subgraph run inside one of the active run's nodes (If/Loop/Scan bodies, through the interpreter) stored
 * a value: counted as the run's own values are, so its buffer can be recycled when the subgraph drops it.
 */
export function storedInRun(v: RtValue): void {
  active?.stored(v);
}

/** A subgraph run dropped a value that one of its own nodes produced (never a feed: a Loop may still hold those). */
export function droppedInRun(v: RtValue): void {
  active?.dropped(v);
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
  readonly refs = new Map<Buf, number>();

  /** A value made outside `node` (a worker's fresh output, a split node's output) becomes the run's to recycle. */
  adopt(v: RtValue): void {
    const b = bufferOf(v);
    if (b && b.byteLength >= POOL_MIN_BYTES && !this.refs.has(b)) this.refs.set(b, 0);
  }

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

  /** `node()` without the closure: allocations are this run's until `exit(previous)`. */
  enter(): RunBuffers | undefined {
    const prev = active;
    if (enabled) active = this;
    return prev;
  }
  exit(prev: RunBuffers | undefined): void {
    active = prev;
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
