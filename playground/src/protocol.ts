// Messages between the page and the runner worker.
/** 'cpu': nodes one at a time in the runner worker; 'cpu-parallel': on the CPU worker pool (Web Workers in it). */
export type BackendChoice = 'webgpu' | 'cpu' | 'cpu-parallel';
export type Level = 'disabled' | 'basic' | 'extended' | 'all';

export interface FeedSpec {
  name: string;
  type: string;
  dims: number[];
  data: ArrayLike<number>;
}

export interface RunRequest {
  type: 'run';
  id: number;
  /** Model bytes (a copy; the page keeps its own). */
  bytes: ArrayBuffer;
  /** Key for reusing the session between runs of the same model/backend/level. */
  key: string;
  backend: BackendChoice;
  level: Level;
  /** Inputs given by the page (an image); the rest are generated from `seed + index`. */
  feeds: FeedSpec[];
  /** Dims for generated inputs with symbolic dims, by input name. */
  dims: Record<string, number[]>;
  seed: number;
  /** Steady-state runs after the first. */
  runs: number;
}

export interface OutputSummary {
  name: string;
  type: string;
  shape: number[];
  /** Up to `MAX_VALUES` values, as numbers (strings for string tensors). */
  values: (number | string)[];
  total: number;
  min: number;
  max: number;
  mean: number;
}

export interface ProfileEntry {
  name: string;
  opType: string;
  start: number;
  ms: number;
}

export interface RunResult {
  type: 'result';
  id: number;
  backend: string;
  /** CPU pool workers (cpu-parallel), else undefined. */
  workers?: number;
  /** The adapter's description, or null on CPU. */
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean; source: string } | null;
  /** Why backends tried before the one that ran were passed over. */
  backendNotes: string[];
  inputs: { name: string; type: string; shape: number[]; generated: boolean }[];
  outputs: OutputSummary[];
  latency: { createMs: number; firstMs: number; steadyMs: number; steadyMinMs: number; runs: number };
  profile: ProfileEntry[];
  memory: { weightsBytes: number; inputBytes: number; outputBytes: number; gpu?: { live: number; pooled: number; allocated: number; created: number; reused: number }; jsHeapBytes?: number };
}

export interface RunFailure {
  type: 'error';
  id: number;
  error: { name: string; code?: string; message: string };
}

export type WorkerMessage = RunResult | RunFailure;

export const MAX_VALUES = 4096;
