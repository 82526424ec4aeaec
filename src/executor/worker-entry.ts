// A CPU pool worker: runs one node (or one part of a split node) at a time through the interpreter's
// `runNode`, writes large outputs into shared memory and posts them back. The same module runs as a
// Node worker_thread and as a browser module Web Worker.
import type { Node } from '../../graph/ir.js';
import { DEFAULT_MAX_ELEMENTS, type RtValue, setMaxElements } from '../../graph/tensor.js';
import { runNode } from '../../kernels/cpu/interpreter.js';
import { shareValue } from './shared.js';
import { wallNow } from './types.js';

export interface RunMessage {
  type: 'run';
  id: number;
  node: Node;
  opsets: Record<string, number>;
  inputs: (RtValue | undefined)[];
  maxElements?: number;
}
/** 'crash' (tests): throw from the message handler, an uncaught error that ends a Node worker and fires a Web Worker's `error`. */
export type ToWorker = RunMessage | { type: 'init'; worker: number } | { type: 'crash'; message: string };
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
  | { type: 'done'; id: number; outputs: RtValue[]; start: number; dur: number }
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
withPort((p) => p.listen((msg) => {
  if (msg.type === 'init') {
    worker = msg.worker;
    p.post({ type: 'ready', worker });
    return;
  }
  if (msg.type === 'crash') throw new Error(msg.message);
  const start = wallNow();
  const prev = setMaxElements(msg.maxElements ?? DEFAULT_MAX_ELEMENTS);
  try {
    const outs = runNode(msg.node, msg.inputs, { values: new Map() }, { opsets: msg.opsets });
    p.post({ type: 'done', id: msg.id, outputs: outs.map((v) => (v === undefined ? v : shareValue(v))), start, dur: wallNow() - start });
  } catch (e) {
    p.post({ type: 'error', id: msg.id, error: serialize(e) });
  } finally {
    setMaxElements(prev);
  }
}));
