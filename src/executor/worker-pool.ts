// The CPU worker pool: a fixed number of workers (worker_threads in Node, module Web Workers in
// browsers) fed from one central FIFO. A worker holds at most one task; when it finishes it takes the
// next one, so an idle worker never waits behind a busy one (the effect work stealing is after,
// without per-worker deques: tasks are whole nodes or node parts, milliseconds long, and one queue
// on the scheduling thread is simpler and as fair).
//
// A worker that dies (crash, out of memory, terminate()) rejects the task it was running with a
// WorkerError, which rejects that run; the pool starts a replacement and later runs succeed.
//
// Loading in Node: from dist/ the worker runs `worker-entry.js` next to this module; from the
// TypeScript sources (vitest, dev) it runs `worker-entry.ts` with `ts-hooks.mjs`, which transpiles on
// the fly. In browsers: a module Worker on `worker-entry.js`, which bundlers rewrite (see spawn).
// Tensors travel in SharedArrayBuffers, which browsers offer only to cross-origin isolated pages
// (COOP/COEP headers); elsewhere the pool still works, copying tensors (shared.ts).
import { KernelError, ResourceLimitError, WorkerError } from '../../graph/errors.js';
import type { NodeRunner, WorkerResult, WorkerTask } from './scheduler.js';
import { type StopSignal, wallNow } from './types.js';
import { isConstant } from '../../kernels/cpu/constants.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import type { FromWorker, RunMessage, SerializedError, ToWorker, WireValue } from './worker-entry.js';

interface WorkerHandle {
  post(msg: ToWorker): void;
  terminate(): void;
  ref(): void;
  unref(): void;
}

interface Events {
  message(msg: FromWorker): void;
  died(reason: string): void;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

export function defaultThreads(): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  return nodeCores ?? 4;
}

let nodeCores: number | undefined;
let NodeWorker: typeof import('node:worker_threads').Worker | undefined;
if (isNode()) {
  const os = await import('node:os');
  nodeCores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  NodeWorker = (await import('node:worker_threads')).Worker;
}

function spawn(ev: Events): WorkerHandle {
  const here = import.meta.url;
  const fromSource = here.endsWith('.ts');
  if (NodeWorker) {
    const entry = new URL(fromSource ? './worker-entry.ts' : './worker-entry.js', here);
    const w = new NodeWorker(entry, { execArgv: fromSource ? ['--import', new URL('./ts-hooks.mjs', here).href] : [] });
    let last = '';
    w.on('message', (m: FromWorker) => ev.message(m));
    w.on('error', (e) => (last = e.message));
    w.on('messageerror', (e) => (last = String(e)));
    w.on('exit', (code) => ev.died(last || `exited with code ${code}`));
    return { post: (m) => w.postMessage(m), terminate: () => void w.terminate(), ref: () => w.ref(), unref: () => w.unref() };
  }
  // Browsers: a module Web Worker. Written as the literal `new Worker(new URL('./worker-entry.js',
  // import.meta.url), { type: 'module' })` because that is the pattern bundlers (Vite, webpack 5,
  // Parcel, esbuild plugins) recognise and rewrite to the bundled worker; unbundled, the URL is the
  // file next to this module in dist/. (Vite resolves the .js name to worker-entry.ts in the sources.)
  const w = new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module' });
  // A Web Worker does not die of an uncaught error (Node's do) and fires no event when terminated:
  // the pool ends it on `error`/`messageerror` and reports both as a death, as Node's `exit` would.
  let dead = false;
  let loaded = false; // its first message ('ready') came: an error before it is a failed load
  const die = (reason: string) => {
    if (dead) return;
    dead = true;
    w.terminate();
    ev.died(reason);
  };
  w.onmessage = (e) => {
    loaded = true;
    ev.message(e.data as FromWorker);
  };
  w.onerror = (e) => {
    e.preventDefault();
    if (loaded) die(e.message || 'an uncaught error');
    else die(`its module could not be loaded${e.message ? ` (${e.message})` : ''}; a bundle must keep the worker-entry module that worker-pool names with new Worker(new URL('./worker-entry.js', import.meta.url))`);
  };
  w.onmessageerror = () => die('a message could not be deserialized');
  return { post: (m) => w.postMessage(m), terminate: () => die('terminated'), ref() {}, unref() {} };
}

interface Task {
  readonly id: number;
  readonly task: WorkerTask;
  resolve(r: WorkerResult): void;
  reject(e: Error): void;
  cancelled: boolean;
}

/** How long a round-trip estimate holds without a new sample (ms; tests shorten it). */
export const poolTuning = { latencyTtlMs: 2000 };

interface Slot {
  readonly id: number;
  handle: WorkerHandle;
  busy: Task | undefined;
  /** When the busy task was posted (wall clock, comparable with the worker's timestamps). */
  sent: number;
  /** When the worker said it was ready (0 before): a task posted earlier waited for its start-up. */
  readyAt: number;
  closing: boolean;
  /** Node and constant ids this worker holds (sent once; see worker-entry.ts). */
  readonly nodes: Set<number>;
  readonly consts: Set<number>;
}

// Ids of nodes and constant arrays, per object; when one is collected, the workers forget it.
const nodeIds = new WeakMap<Node, number>();
const constIds = new WeakMap<object, number>();
let nextId = 1;
const idOf = <K extends object>(m: WeakMap<K, number>, k: K, onNew: (id: number) => void) => {
  let id = m.get(k);
  if (id === undefined) {
    m.set(k, (id = nextId++));
    onNew(id);
  }
  return id;
};

function revive(e: SerializedError, task: WorkerTask): Error {
  if (e.name === 'ResourceLimitError') return new ResourceLimitError(e.message);
  if (e.name === 'KernelError' && e.node !== undefined) return new KernelError(e.node, e.op ?? task.node.opType, e.inputShapes ?? [], e.reason ?? e.message);
  const shapes = task.inputs.map((v) => (v?.kind === 'tensor' ? v.dims : v ? v.kind : 'none'));
  return new KernelError(task.node.name, task.node.opType, shapes, `${e.name}: ${e.message}`);
}

export interface PoolStats {
  size: number;
  /** Workers started, replacements included. */
  started: number;
  /** Workers that died and were replaced. */
  replaced: number;
  busy: number;
  queued: number;
  /** Why the last worker that died did (absent while none has). */
  lastDeath?: string;
}

export class WorkerPool implements NodeRunner {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextTask = 1;
  private nextWorker = 1;
  private replaced = 0;
  private lastDeath: string | undefined;
  private closed = false;
  private forgetting: { nodes: number[]; consts: number[] } | undefined;
  private readonly collected =
    typeof FinalizationRegistry !== 'undefined' ? new FinalizationRegistry<[kind: 'nodes' | 'consts', id: number]>(([kind, id]) => this.forget(kind, id)) : undefined;

  constructor(readonly size: number = defaultThreads()) {
    if (!(size >= 1)) throw new WorkerError(`a worker pool needs at least one worker, got ${size}`);
  }

  /** A node or constant was collected on this thread: the workers that hold it drop it (batched). */
  private forget(kind: 'nodes' | 'consts', id: number): void {
    if (this.closed) return;
    if (!this.forgetting) {
      this.forgetting = { nodes: [], consts: [] };
      setTimeout(() => {
        const f = this.forgetting!;
        this.forgetting = undefined;
        for (const s of this.slots) {
          const nodes = f.nodes.filter((i) => s.nodes.delete(i));
          const consts = f.consts.filter((i) => s.consts.delete(i));
          if (nodes.length || consts.length) s.handle.post({ type: 'forget', nodes, consts });
        }
      }, 0).unref?.();
    }
    this.forgetting[kind].push(id);
  }

  /** The message that runs `task` on `slot`: nodes and constants it lacks go along, once. */
  private message(slot: Slot, id: number, task: WorkerTask): RunMessage {
    const { node, opsets, inputs, maxElements, target } = task;
    const nid = idOf(nodeIds, node, (i) => this.collected?.register(node, ['nodes', i]));
    const consts: NonNullable<RunMessage['consts']> = [];
    const wire = inputs.map((v): WireValue => {
      if (v?.kind !== 'tensor' || Array.isArray(v.data) || !isConstant(v.data)) return v;
      const data = v.data as object;
      const cid = idOf(constIds, data, (i) => this.collected?.register(data, ['consts', i]));
      if (!slot.consts.has(cid)) {
        slot.consts.add(cid);
        consts.push([cid, v.dtype, v.data as HostTensor['data']]);
      }
      return { kind: 'const', id: cid, dims: v.dims };
    });
    const sendNode = !slot.nodes.has(nid);
    if (sendNode) slot.nodes.add(nid);
    return {
      type: 'run',
      id,
      node: sendNode ? { id: nid, node, opsets: { ...opsets } } : nid,
      inputs: wire,
      ...(consts.length ? { consts } : {}),
      ...(target ? { target } : {}),
      ...(maxElements !== undefined ? { maxElements } : {}),
    };
  }

  stats(): PoolStats {
    const s: PoolStats = { size: this.size, started: this.nextWorker - 1, replaced: this.replaced, busy: this.slots.filter((x) => x.busy).length, queued: this.queue.length };
    return this.lastDeath === undefined ? s : { ...s, lastDeath: this.lastDeath };
  }

  private latency: number | undefined;
  private latencyAt = 0;
  /**
   * A task's round trip in ms, less its run (moving average): what sending a node to a worker costs
   * now. A fraction of a ms on an idle machine; milliseconds when other processes hold the cores.
   * Tasks posted before their worker was ready do not count (they waited for its start-up, ~0.4 s),
   * and an estimate not renewed for `poolTuning.latencyTtlMs` lapses: a high one keeps nodes off the pool, so no
   * task would ever measure that the load has passed.
   */
  get roundTripMs(): number {
    if (this.latency !== undefined && wallNow() - this.latencyAt > poolTuning.latencyTtlMs) this.latency = undefined;
    return this.latency ?? 0.2;
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.slots.every((s) => !s.busy);
  }

  /** Worker ids, in slot order (ids change when a worker is replaced). */
  get workerIds(): number[] {
    return this.slots.map((s) => s.id);
  }

  runTask(task: WorkerTask, signal?: StopSignal): Promise<WorkerResult> {
    if (this.closed) return Promise.reject(new WorkerError('the worker pool has been closed'));
    const stop = signal?.check();
    if (stop) return Promise.reject(stop);
    const p = new Promise<WorkerResult>((resolve, reject) => {
      this.queue.push({ id: this.nextTask++, task, resolve, reject, cancelled: false });
    });
    const t = this.queue[this.queue.length - 1]!;
    this.pump();
    if (!signal) return p;
    return signal.race(p).catch((e) => {
      t.cancelled = true; // running: its result is dropped
      const i = this.queue.indexOf(t);
      if (i >= 0) this.queue.splice(i, 1); // still queued: never sent
      throw e;
    });
  }

  private start(): Slot {
    const id = this.nextWorker++;
    const slot: Slot = { id, handle: undefined!, busy: undefined, sent: 0, readyAt: 0, closing: false, nodes: new Set(), consts: new Set() };
    slot.handle = spawn({ message: (m) => this.onMessage(slot, m), died: (r) => this.onDied(slot, r) });
    slot.handle.post({ type: 'init', worker: id });
    slot.handle.unref();
    return slot;
  }

  private pump(): void {
    while (this.queue.length && this.queue[0]!.cancelled) this.queue.shift();
    while (this.slots.length < this.size && this.slots.length < this.queue.length + this.slots.filter((s) => s.busy).length) this.slots.push(this.start());
    for (const slot of this.slots) {
      if (slot.busy || slot.closing) continue;
      let t: Task | undefined;
      while ((t = this.queue.shift()) && t.cancelled);
      if (!t) break;
      slot.busy = t;
      slot.handle.ref();
      const { node } = t.task;
      try {
        slot.sent = wallNow();
        slot.handle.post(this.message(slot, t.id, t.task));
      } catch (e) {
        slot.busy = undefined;
        // What the failed message would have sent is not there: send it again next time.
        slot.nodes.clear();
        slot.consts.clear();
        t.reject(new WorkerError(`could not send node '${node.name}' (${node.opType}) to worker ${slot.id}: ${(e as Error).message}`));
      }
    }
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === 'ready') {
      slot.readyAt = wallNow();
      return;
    }
    const t = slot.busy;
    if (!t || t.id !== m.id) return;
    slot.busy = undefined;
    slot.handle.unref();
    if (m.type === 'done') {
      // Round trip = twice the time the worker took to pick the message up (waking a thread both ways).
      if (slot.readyAt && slot.sent >= slot.readyAt) {
        const rt = 2 * Math.max(0, m.start - slot.sent);
        this.latency = this.latency === undefined ? rt : this.latency + 0.2 * (rt - this.latency);
        this.latencyAt = wallNow();
      }
    }
    if (m.type === 'done') t.resolve({ outputs: m.outputs, start: m.start, dur: m.dur, thread: slot.id, fresh: m.fresh, wrote: m.wrote });
    else t.reject(revive(m.error, t.task));
    this.pump();
  }

  private onDied(slot: Slot, reason: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    if (slot.closing) return;
    this.replaced++;
    this.lastDeath = `worker ${slot.id}: ${reason}`;
    const t = slot.busy;
    if (t) t.reject(new WorkerError(`CPU worker ${slot.id} died while running node '${t.task.node.name}' (${t.task.node.opType}): ${reason}; the pool replaced it`));
    if (!this.closed) this.pump();
  }

  /**
   * Test hook: end a worker (by slot index, default the first busy one) with terminate(), or with
   * 'crash', an uncaught error thrown in it once it takes the message (after its current task).
   */
  killWorker(index?: number, how: 'terminate' | 'crash' = 'terminate'): number | undefined {
    const slot = index !== undefined ? this.slots[index] : (this.slots.find((s) => s.busy) ?? this.slots[0]);
    if (how === 'crash') slot?.handle.post({ type: 'crash', message: `worker ${slot.id} crashed on request` });
    else slot?.handle.terminate();
    return slot?.id;
  }

  /** Stop every worker; queued and running tasks are rejected. */
  close(): void {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new WorkerError('the worker pool has been closed'));
    for (const s of [...this.slots]) {
      s.closing = true; // (a Web Worker reports its death inside terminate(), which edits this.slots)
      s.busy?.reject(new WorkerError('the worker pool has been closed'));
      s.handle.terminate();
    }
  }
}

// Pools are shared by the sessions of a process, one per size, and closed when the last leaves.
const shared = new Map<number, { pool: WorkerPool; users: number }>();

export function acquirePool(size: number = defaultThreads()): WorkerPool {
  let e = shared.get(size);
  if (!e) {
    e = { pool: new WorkerPool(size), users: 0 };
    shared.set(size, e);
  }
  e.users++;
  return e.pool;
}

export function releasePool(pool: WorkerPool): void {
  const e = shared.get(pool.size);
  if (!e || e.pool !== pool) return;
  if (--e.users <= 0) {
    shared.delete(pool.size);
    pool.close();
  }
}
