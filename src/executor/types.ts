// What the executor adds to a backend's RunContext. Backends that do not know these fields ignore
// them (the WebGPU backend reports nodes through `onNode` only).
import type { Node } from '../../graph/ir.js';
import type { RunContext } from '../backends/types.js';

/** One node run, as the profiler records it. */
export interface NodeRunEvent {
  readonly node: Pick<Node, 'name' | 'opType' | 'domain'>;
  /** Wall-clock start, ms since the epoch (performance.timeOrigin + performance.now(): comparable across workers). */
  readonly start: number;
  readonly dur: number;
  /** 0: the calling thread; 1..n: pool worker ids; 'gpu': the GPU queue. */
  readonly thread: number | 'gpu';
  readonly inputShapes: readonly (readonly number[] | string)[];
  /** Rows of a split node: which part of how many. */
  readonly part?: readonly [number, number];
  /** A node of an If/Loop/Scan body: the enclosing control-flow nodes, outermost first. */
  readonly within?: readonly Pick<Node, 'name' | 'opType'>[];
}

/** A signal that can also say why it stopped and wake waiters (RunControl implements it). */
export interface StopSignal {
  readonly aborted: boolean;
  check(): Error | undefined;
  race<T>(p: Promise<T>): Promise<T>;
}

export interface ExecRunContext extends RunContext {
  readonly signal?: StopSignal;
  /** Element-count limit of the session, applied around each kernel. */
  readonly maxTensorElements?: number;
  /** Profiling: every node run, with its thread and input shapes. */
  readonly onNodeRun?: (ev: NodeRunEvent) => void;
}

export function isStopSignal(s: unknown): s is StopSignal {
  return typeof s === 'object' && s !== null && typeof (s as StopSignal).check === 'function';
}

/** Wall-clock ms since the epoch with sub-ms precision, comparable between threads. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
