// The shape of bench/results/<date>.json.
import type { Summary } from './stats.js';

export interface PeerInfo {
  /** Short id used in the results (e.g. 'tgraph-cpu', 'onnxruntime-node'). */
  id: string;
  /** npm package that runs it, and its installed version. */
  package: string;
  version: string;
  /** Where it computes: 'cpu' (native), 'wasm', 'webgpu'. */
  backend: 'cpu' | 'wasm' | 'webgpu';
  /** Host: Node or headless Chromium. */
  host: 'node' | 'chromium';
  /** Compute threads it was given (null: not applicable, e.g. the GPU). */
  threads: number | null;
  /** Graph optimization level it ran at. */
  optLevel: string;
  /** Free-form details (execution provider options, adapter). */
  detail: string;
}

export interface ColdMeasure {
  /** Fresh process: creating the session from bytes, ms. */
  loadMs: number;
  /** Fresh process: the first run (includes shader compilation on WebGPU), ms. */
  firstRunMs: number;
  /** Process resident set before loading the model (runtime imported), MiB. */
  baseRssMiB: number;
  /** Peak resident set of the process over load + runs (getrusage maxrss), MiB. */
  peakRssMiB: number;
  /** GPU buffers the runtime allocated (tgraph WebGPU only), MiB. */
  gpuMiB?: number;
}

export interface PeerMeasure {
  peer: string;
  /** Set when the peer could not load or run the workload; no numbers then. */
  error?: string;
  /** Median of in-process session creations from bytes, ms. */
  loadMs?: number;
  /** First run on the first session this process made for the workload, ms. */
  firstRunMs?: number;
  /** Warm-up runs before the timed repetitions (stats.ts WARMUP). */
  warmupRuns?: number;
  /** Steady-state latency of one run, ms, over the interleaved repetitions. */
  steady?: Summary;
  /** Runs per second with `concurrency` runs in flight. */
  throughput?: { concurrency: number; runs: number; runsPerSec: number };
  /** Why the throughput figure is missing, where it failed (the latency figures still stand). */
  throughputError?: string;
  cold?: ColdMeasure;
  /** Achieved rates from the steady median (micro-benchmarks). */
  gflops?: number;
  gbps?: number;
  /** Largest |a - b| / (|b| + 1e-3) of the first output against onnxruntime-node's (sanity check). */
  maxRelDiff?: number;
  /**
   * Browser part: memory while this peer alone loads the workload and runs it (after the timed part).
   * Chromium's renderer and GPU processes' peak resident set over their resident set before (Linux
   * VmHWM, reset through /proc/PID/clear_refs), the JS heap's growth, and the GPU bytes the runtime
   * reports (tgraph's buffer pool; TensorFlow.js's tf.memory()).
   */
  browserMemory?: { peakRssOverBaseMiB?: number; jsHeapMiB?: number; gpuMiB?: number };
}

export interface WorkloadResult {
  id: string;
  group: 'model' | 'micro' | 'tracer';
  name: string;
  kind: string;
  batch: number;
  inputs: { name: string; dims: number[] }[];
  /** Floating-point operations of one run (micro-benchmarks where defined). */
  flops?: number;
  /** Bytes one run must read and write at least (micro-benchmarks). */
  bytes?: number;
  /** Interleaved timed repetitions, and the most warm-up runs any peer made (per peer: warmupRuns). */
  reps: number;
  warmup: number;
  peers: PeerMeasure[];
}

export interface MachineInfo {
  os: string;
  kernel: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  totalMemGiB: number;
  loadAvg: number[];
  node: string;
  v8: string;
  /** WebGPU adapter tgraph used (vendor/architecture/device/description, fallback flag), or why none. */
  adapter: string;
  /** The adapter headless Chromium exposed to the browser part, or why it did not run. */
  browserAdapter?: string;
}

export interface Ceilings {
  /**
   * GFLOP/s of a measured best-case MatMul on each device ('cpu', 'webgpu' through Dawn in Node,
   * 'webgpu-chromium'), raised to the best rate any runtime reached in the suite where that is higher.
   */
  gflops: Record<string, number>;
  /** Measured copy bandwidth, GB/s (read + write), by device. */
  gbps: Record<string, number>;
  /** How each ceiling was measured, by `gflops.<device>` / `gbps.<device>`. */
  sources?: Record<string, string>;
}

export interface BenchResults {
  schema: 1;
  date: string;
  mode: 'full' | 'quick';
  command: string;
  durationS: number;
  machine: MachineInfo;
  peers: PeerInfo[];
  ceilings: Ceilings;
  workloads: WorkloadResult[];
  notes: string[];
}

/** A ratio the report shows: tgraph peer `a` over peer `b` (below 1: `a` is faster). */
export interface Comparison {
  a: string;
  b: string;
  label: string;
}
