// A CPU pool worker: runs one node (or one part of a split node) at a time through the interpreter's
// `runNode`, allocates large outputs in shared memory and posts them back. The same module runs as a
// Node worker_thread and as a browser module Web Worker.
//
// A worker keeps what it was sent once: nodes (with their opsets) by id, and constant arrays (a
// model's initializers and views of them, kernels/cpu/constants.ts) by id, registered as constant
// here too, so kernels keep their packed forms of weights across tasks as they do on the main thread.
// The pool tells it to forget both when the main thread's objects are collected.
import type { DType } from '../../graph/dtype.js';
import type { Node } from '../../graph/ir.js';
import { setSharedAllocation } from '../../graph/tensor-pool.js';
import { DEFAULT_MAX_ELEMENTS, type HostTensor, type RtValue, setMaxElements } from '../../graph/tensor.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { runTask } from './run-task.js';
import { shareValue, sharedMemoryAvailable } from './shared.js';
import type { OutputTarget } from './split.js';
import { wallNow } from './types.js';

/** An input the worker already holds (sent once with `consts`). */
export interface ConstRef {
  kind: 'const';
  id: number;
  dims: readonly number[];
}
export type WireValue = RtValue | ConstRef | undefined;

export interface RunMessage {
  type: 'run';
  id: number;
  /** The node's id, with the node itself the first time this worker gets it. */
  node: number | { id: number; node: Node; opsets: Record<string, number> };
  inputs: WireValue[];
  /** Constant arrays this worker has not been sent yet. */
  consts?: [id: number, dtype: DType, data: HostTensor['data']][];
  /** Where the first output goes (one part of a split node). */
  target?: OutputTarget;
  maxElements?: number;
}
/** 'crash' (tests): throw from the message handler, an uncaught error that ends a Node worker and fires a Web Worker's `error`. */
export type ToWorker = RunMessage | { type: 'init'; worker: number } | { type: 'crash'; message: string } | { type: 'forget'; nodes: number[]; consts: number[] };
export interface SerializedError {
  name: string;
  message: string;
  node?: string;
  op?: string;
  inputShapes?: (readonly number[] | string)[];
  reason?: string;
}
export type FromWorker =
  | { type: 'ready'; worker: number }
  | { type: 'done'; id: number; outputs: RtValue[]; start: number; dur: number; fresh: boolean[]; wrote: boolean }
  | { type: 'error'; id: number; error: SerializedError };

interface Port {
  post(msg: FromWorker): void;
  listen(fn: (msg: ToWorker) => void): void;
}

// No top-level await here: bundlers that emit workers as classic scripts (Vite's default 'iife'
// worker format) reject it. Node queues messages on parentPort until a listener is attached, and a
// browser worker's listener is attached synchronously, so nothing is lost either way.
function withPort(use: (p: Port) => void): void {
  if (typeof process !== 'undefined' && process.versions?.node) {
    void import('node:worker_threads').then(({ parentPort }) => {
      if (!parentPort) throw new Error('worker-entry must run in a worker thread');
      use({ post: (m) => parentPort.postMessage(m), listen: (fn) => parentPort.on('message', fn) });
    });
    return;
  }
  const self = globalThis as unknown as { postMessage(m: unknown): void; addEventListener(t: 'message', fn: (e: { data: ToWorker }) => void): void };
  use({ post: (m) => self.postMessage(m), listen: (fn) => self.addEventListener('message', (e) => fn(e.data)) });
}

function serialize(e: unknown): SerializedError {
  const err = e as Error & Partial<Pick<SerializedError, 'node' | 'op' | 'inputShapes' | 'reason'>>;
  return {
    name: err?.name ?? 'Error',
    message: err?.message ?? String(e),
    ...(typeof err?.node === 'string' ? { node: err.node, op: err.op, inputShapes: err.inputShapes ? [...err.inputShapes] : undefined, reason: err.reason } : {}),
  };
}

let worker = 0;
const nodes = new Map<number, { node: Node; opsets: Record<string, number> }>();
const consts = new Map<number, { dtype: DType; data: HostTensor['data'] }>();

function run(msg: RunMessage): Extract<FromWorker, { type: 'done' }> {
  const start = wallNow();
  if (typeof msg.node !== 'number') nodes.set(msg.node.id, { node: msg.node.node, opsets: msg.node.opsets });
  const n = nodes.get(typeof msg.node === 'number' ? msg.node : msg.node.id);
  if (!n) throw new Error(`worker ${worker} was not sent node ${String(msg.node)}`);
  for (const [id, dtype, data] of msg.consts ?? []) {
    markConstant(data);
    consts.set(id, { dtype, data });
  }
  const inputs = msg.inputs.map((v): RtValue | undefined => {
    if (v?.kind !== 'const') return v;
    const c = consts.get(v.id);
    if (!c) throw new Error(`worker ${worker} was not sent constant ${v.id}`);
    return { kind: 'tensor', dtype: c.dtype, dims: v.dims, data: c.data } as HostTensor;
  });
  const r = runTask(n.node, inputs, n.opsets, msg.target);
  const outs = r.outputs;
  const { fresh, wrote } = r;
  return { type: 'done', id: msg.id, outputs: outs.map((v) => (v === undefined ? v : shareValue(v))), start, dur: wallNow() - start, fresh, wrote };
}

withPort((p) => p.listen((msg) => {
  if (msg.type === 'init') {
    worker = msg.worker;
    // Outputs go back to the main thread in shared memory, not copied.
    if (sharedMemoryAvailable) setSharedAllocation(1024);
    p.post({ type: 'ready', worker });
    return;
  }
  if (msg.type === 'crash') throw new Error(msg.message);
  if (msg.type === 'forget') {
    for (const id of msg.nodes) nodes.delete(id);
    for (const id of msg.consts) consts.delete(id);
    return;
  }
  const prev = setMaxElements(msg.maxElements ?? DEFAULT_MAX_ELEMENTS);
  try {
    p.post(run(msg));
  } catch (e) {
    p.post({ type: 'error', id: msg.id, error: serialize(e) });
  } finally {
    setMaxElements(prev);
  }
}));
