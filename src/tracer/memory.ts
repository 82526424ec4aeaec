// Memory of eager tensors: tidy scopes, explicit dispose, statistics, and a finalizer safety net.
import { TraceError } from '../../graph/errors.js';
import type { BufferStats } from '../backends/webgpu/buffers.js';
import { eagerGpu } from './device.js';

export interface MemoryInfo {
  /** Eager tensors alive (not disposed, not collected). */
  numTensors: number;
  /** Bytes their data holds (strings count 0), wherever it lives. */
  numBytes: number;
  /** Of those, tensors whose data was computed on the GPU (results of eager GPU ops and tg.fn plans on WebGPU). */
  numGpuTensors: number;
  /**
   * GPU buffers held by eager tensors (GPU results, and uploads of CPU tensors kept for reuse; a
   * buffer shared by a reshape and its source counts once) and their data bytes; 0 without a GPU.
   */
  gpuBuffers: number;
  gpuBytes: number;
  /** The eager GPU buffer pool (live, pooled and allocated bytes); undefined without a GPU. */
  gpuPool: BufferStats | undefined;
  /** Open `tidy` scopes. */
  numTidyScopes: number;
  /** Tensors the garbage collector reclaimed without `dispose()` (the safety net caught a leak). */
  finalizedWithoutDispose: number;
}

/** What the finalizer needs, without a reference to the tensor itself. */
export interface Allocation {
  bytes: number;
  gpu: boolean;
  live: boolean;
  /** Gives back what the tensor holds on the GPU (the finalizer calls it for a leaked tensor). */
  free?: () => void;
}

interface Disposable {
  dispose(): void;
  readonly disposed: boolean;
}

const stats = { numTensors: 0, numBytes: 0, numGpu: 0, finalized: 0 };
const scopes: Set<Disposable>[] = [];

const registry = new FinalizationRegistry<Allocation>((a) => {
  if (!a.live) return;
  a.live = false;
  stats.numTensors--;
  stats.numBytes -= a.bytes;
  if (a.gpu) stats.numGpu--;
  stats.finalized++;
  a.free?.();
});

/** Count a new eager tensor and put it in the innermost tidy scope. */
export function track(t: Disposable, bytes: number, gpu: boolean): Allocation {
  const a: Allocation = { bytes, gpu, live: true };
  stats.numTensors++;
  stats.numBytes += a.bytes;
  if (gpu) stats.numGpu++;
  registry.register(t, a, t);
  scopes[scopes.length - 1]?.add(t);
  return a;
}

export function release(t: Disposable, a: Allocation): void {
  if (!a.live) return;
  a.live = false;
  stats.numTensors--;
  stats.numBytes -= a.bytes;
  if (a.gpu) stats.numGpu--;
  registry.unregister(t);
}

export function memory(): MemoryInfo {
  const gpu = eagerGpu();
  return {
    numTensors: stats.numTensors,
    numBytes: stats.numBytes,
    numGpuTensors: stats.numGpu,
    gpuBuffers: gpu?.live.buffers ?? 0,
    gpuBytes: gpu?.live.bytes ?? 0,
    gpuPool: gpu?.poolStats(),
    numTidyScopes: scopes.length,
    finalizedWithoutDispose: stats.finalized,
  };
}

/** Keep `t` alive past the innermost tidy scope (it moves to the enclosing one). */
export function keep<T>(t: T): T {
  const s = scopes[scopes.length - 1];
  if (s && s.delete(t as unknown as Disposable)) scopes[scopes.length - 2]?.add(t as unknown as Disposable);
  return t;
}

/**
 * Run `fn`; every eager tensor it creates is disposed when it returns, except the tensors in its
 * result (a tensor, or arrays/objects of them), which move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TraceError('tg.tidy(fn): fn returned a Promise; tidy scopes are synchronous (await outside tidy, or dispose explicitly)');
  }
  const kept = new Set<unknown>();
  collect(result, kept, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collect(x: unknown, out: Set<unknown>, depth: number): void {
  if (x === null || typeof x !== 'object' || depth > 8) return;
  if ('dispose' in x && 'disposed' in x) {
    out.add(x);
    return;
  }
  for (const v of Array.isArray(x) ? x : Object.values(x)) collect(v, out, depth + 1);
}
