// The CPU executor: runs a graph's nodes when their inputs are ready.
//
// Sequential mode runs nodes in graph order on the calling thread through the interpreter's `runNode`
// (the reference path) and yields to the event loop every few milliseconds, so an AbortSignal fired
// by another task is seen between nodes. Parallel mode is dataflow: every node whose inputs are ready
// is dispatched, heavy ones to the worker pool (split into row blocks when large, split.ts), light ones
// (shape arithmetic, small tensors, control flow) inline, so independent branches run at the same
// time; a heavy node that is not split runs inline too when nothing else could run meanwhile (no other
// ready node, nothing in flight, the pool idle): a worker would only add a round trip.
// Values are freed when their last reader has run, and their buffers recycled (graph/tensor-pool.ts)
// in both modes: inline nodes' outputs as ordinary ArrayBuffers, workers' outputs and split nodes'
// outputs (shared memory) once the run adopts them.
import { GraphError } from '../../graph/errors.js';
import type { Graph, Model, Node } from '../../graph/ir.js';
import { allocSharedTensor, type RtValue, setMaxElements } from '../../graph/tensor.js';
import { RunBuffers } from '../../graph/tensor-pool.js';
import { graphPlan, runNode, runStep, type Scope } from '../../kernels/cpu/interpreter.js';
import { kernelEvents, shapesOf } from './kernel-events.js';
import { runTask } from './run-task.js';
import { runSequential } from './sequential.js';
import { type OutputTarget, planSplit, type SharedAlloc, splitTuning, worthAWorker } from './split.js';
import type { ExecRunContext, NodeRunEvent, StopSignal } from './types.js';
import { wallNow } from './types.js';

/** What the scheduler needs from a worker pool. */
export interface NodeRunner {
  readonly size: number;
  /** Run one node (or one part of a split node) on a worker. */
  runTask(task: WorkerTask, signal?: StopSignal): Promise<WorkerResult>;
  /** No task running or queued (for any run). */
  readonly idle: boolean;
  /** What a task's round trip costs now, in ms (split.ts weighs it against the work). */
  readonly roundTripMs?: number;
}

export interface WorkerTask {
  readonly node: Node;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly (RtValue | undefined)[];
  readonly maxElements?: number;
  /** One part of a split node: where its first output goes. */
  readonly target?: OutputTarget;
}

export interface WorkerResult {
  readonly outputs: RtValue[];
  readonly start: number;
  readonly dur: number;
  readonly thread: number;
  /** Per output: allocated by the task (the run owns it and may recycle it). */
  readonly fresh?: readonly boolean[];
  /** The first output is in the task's target. */
  readonly wrote?: boolean;
}
/** Yield to the event loop after this many ms of inline work. */
const YIELD_MS = 4;

function yieldToLoop(): Promise<void> {
  return new Promise((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));
}

function subgraphs(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attributes)) {
    if (a.kind === 'graph') out.push(a.value);
    else if (a.kind === 'graphs') out.push(...a.value);
  }
  return out;
}

function readsOf(g: Graph, out = new Set<string>()): Set<string> {
  for (const n of g.nodes) {
    for (const x of n.inputs) if (x) out.add(x);
    for (const sg of subgraphs(n)) readsOf(sg, out);
  }
  for (const o of g.outputs) out.add(o.name);
  return out;
}

interface GraphPlan {
  /** Per node: the distinct values it reads (inputs and what its subgraphs read from this scope). */
  readonly reads: string[][];
  /** Per value produced by a node: the nodes that read it. */
  readonly readers: Map<string, number[]>;
  readonly producer: Map<string, number>;
}

const plans = new WeakMap<readonly Node[], GraphPlan>();

function planOf(graph: Graph): GraphPlan {
  let p = plans.get(graph.nodes);
  if (p) return p;
  const producer = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const reads = graph.nodes.map((n) => {
    const s = new Set(n.inputs.filter(Boolean));
    for (const sg of subgraphs(n)) for (const r of readsOf(sg)) s.add(r);
    return [...s];
  });
  const readers = new Map<string, number[]>();
  reads.forEach((rs, i) => {
    for (const r of rs) {
      const list = readers.get(r) ?? [];
      list.push(i);
      readers.set(r, list);
    }
  });
  p = { reads, readers, producer };
  plans.set(graph.nodes, p);
  return p;
}

export interface ExecuteOptions {
  /** The worker pool; absent: every node runs inline (sequential mode). */
  readonly pool?: NodeRunner;
  /** Parallel mode also runs independent inline nodes in dataflow order; sequential keeps graph order. */
  readonly mode: 'sequential' | 'parallel';
  /** Make a value shareable with workers without copying (SharedArrayBuffer); identity when unsupported. */
  readonly share?: (v: RtValue) => RtValue;
}

/** Run `model`'s graph; returns the fetched outputs. */
export async function executeGraph(model: Model, feeds: ReadonlyMap<string, RtValue>, ctx: ExecRunContext, opts: ExecuteOptions): Promise<Map<string, RtValue>> {
  const graph = model.graph;
  // Sequential runs fetching graph outputs take the prepared-step path (sequential.ts); the loop below stays for other fetches.
  if ((!opts.pool || opts.mode === 'sequential') && ctx.fetches.every((f) => graph.outputs.some((o) => o.name === f))) return runSequential(model, feeds, ctx);
  const plan = planOf(graph);
  const values = new Map<string, RtValue>();
  for (const [k, v] of graph.initializers) values.set(k, v);
  for (const [k, v] of feeds) values.set(k, v);
  const keep = new Set(ctx.fetches);
  const remaining = new Map<string, number>();
  for (const [name, rs] of plan.readers) remaining.set(name, rs.length);
  const signal = ctx.signal;
  const limit = ctx.maxTensorElements;
  const scope: Scope = { values };
  // Inline nodes (and the nodes of their If/Loop/Scan bodies) report through the interpreter's hook.
  const onNode = kernelEvents(ctx);
  const interpretOpts = onNode ? { opsets: model.opsets, signal, onNode } : { opsets: model.opsets, signal };
  // Runs recycle the buffers of dead intermediates (graph/tensor-pool.ts): a parallel run also its
  // workers' outputs (shared memory, adopted when back) and its split nodes' outputs.
  const buffers = new RunBuffers();

  const release = (i: number) => {
    for (const name of plan.reads[i]!) {
      const left = (remaining.get(name) ?? 1) - 1;
      remaining.set(name, left);
      if (left <= 0 && !keep.has(name) && !graph.initializers.has(name)) {
        const v = values.get(name);
        if (values.delete(name) && plan.producer.has(name)) buffers.dropped(v!);
      }
    }
  };
  const inputsOf = (node: Node) =>
    node.inputs.map((name) => {
      if (!name) return undefined;
      const v = values.get(name);
      if (v === undefined) throw new GraphError(`node '${node.name}' (${node.opType}) reads '${name}', which no node, input or initializer defines`);
      return v;
    });
  const store = (node: Node, outs: readonly (RtValue | undefined)[]) => {
    node.outputs.forEach((name, k) => {
      const v = outs[k];
      if (name && v !== undefined) {
        values.set(name, v);
        buffers.stored(v);
      }
    });
  };
  const report = (ev: NodeRunEvent) => {
    ctx.onNodeRun?.(ev);
    ctx.onNode?.(ev.node, ev.dur);
  };
  // Inline nodes run through the interpreter's prepared steps (kernel found once per node), as sequential runs do.
  const steps = graphPlan(graph).steps;
  const runInline = (i: number) => {
    const node = graph.nodes[i]!;
    const inputs = inputsOf(node);
    const prev = limit !== undefined ? setMaxElements(limit) : undefined;
    try {
      const st = steps[i];
      store(node, buffers.node(() => (st?.node === node ? runStep(st, inputs, scope, interpretOpts) : runNode(node, inputs, scope, interpretOpts))));
    } finally {
      if (prev !== undefined) setMaxElements(prev);
    }
  };
  const stopped = () => {
    const e = signal?.check();
    if (e) throw e;
  };

  let lastYield = performance.now();
  const maybeYield = async () => {
    if (performance.now() - lastYield < YIELD_MS) return;
    await yieldToLoop();
    lastYield = performance.now();
  };

  if (!opts.pool || opts.mode === 'sequential') {
    for (let i = 0; i < graph.nodes.length; i++) {
      stopped();
      await maybeYield();
      stopped();
      runInline(i);
      release(i);
    }
  } else {
    const alloc: SharedAlloc = (dtype, dims) => {
      const made = allocSharedTensor(dtype, dims);
      buffers.adopt(made.tensor);
      return made;
    };
    const adopt = (v: RtValue) => buffers.adopt(v);
    await runDataflow(graph, plan, opts.pool, { values, stopped, maybeYield, runInline, release, inputsOf, store, report, signal, limit, opsets: model.opsets, share: opts.share ?? ((v) => v), alloc, adopt });
  }

  const result = new Map<string, RtValue>();
  for (const f of ctx.fetches) {
    const v = values.get(f);
    if (v === undefined) throw new GraphError(`graph '${graph.name}' output '${f}' was not produced`);
    result.set(f, v);
  }
  return result;
}

interface DataflowEnv {
  values: Map<string, RtValue>;
  stopped(): void;
  maybeYield(): Promise<void>;
  runInline(i: number): void;
  release(i: number): void;
  inputsOf(node: Node): (RtValue | undefined)[];
  store(node: Node, outs: readonly (RtValue | undefined)[]): void;
  report(ev: NodeRunEvent): void;
  signal?: StopSignal;
  limit?: number;
  opsets: Readonly<Record<string, number>>;
  share(v: RtValue): RtValue;
  alloc: SharedAlloc;
  /** A worker's fresh output or a split node's output becomes the run's to recycle. */
  adopt(v: RtValue): void;
}

/** Whether a node is worth a trip to a worker (split.ts weighs work and round trip; control flow stays here). */
const controlFlow = new WeakMap<Node, boolean>();
function goesToWorker(node: Node, inputs: readonly (RtValue | undefined)[], roundTripMs: number): boolean {
  let cf = controlFlow.get(node);
  if (cf === undefined) controlFlow.set(node, (cf = subgraphs(node).length > 0));
  return !cf && worthAWorker(node, inputs, roundTripMs);
}

/** One part of a split node on the calling thread, as a worker would run it. */
function runHere(t: WorkerTask): Promise<WorkerResult> {
  const prev = t.maxElements !== undefined ? setMaxElements(t.maxElements) : undefined;
  const start = wallNow();
  try {
    const r = runTask(t.node, [...t.inputs], t.opsets, t.target);
    return Promise.resolve({ ...r, start, dur: wallNow() - start, thread: 0 });
  } catch (e) {
    return Promise.reject(e);
  } finally {
    if (prev !== undefined) setMaxElements(prev);
  }
}

async function runDataflow(graph: Graph, plan: GraphPlan, pool: NodeRunner, env: DataflowEnv): Promise<void> {
  const nodes = graph.nodes;
  const pending = plan.reads.map((rs) => rs.filter((r) => plan.producer.has(r) && !env.values.has(r)).length);
  const ready: number[] = [];
  pending.forEach((p, i) => p === 0 && ready.push(i));
  let done = 0;
  let inFlight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const finished: number[] = [];

  const complete = (i: number) => {
    done++;
    env.release(i);
    for (const o of nodes[i]!.outputs) {
      for (const r of (o && plan.readers.get(o)) || []) {
        if (--pending[r]! === 0) ready.push(r);
      }
    }
  };

  /** Send node i to the pool, split when big; false: not worth it (run it inline). */
  const dispatch = (i: number, alone: boolean): boolean => {
    const node = nodes[i]!;
    const inputs = env.inputsOf(node);
    const shared = inputs.map((v) => (v ? env.share(v) : v));
    const split = planSplit(node, shared, pool.size, env.opsets, env.alloc, pool.roundTripMs ?? 0);
    // A node that is not split gains nothing from a worker when nothing else can run meanwhile (this
    // run has nothing else ready or in flight, and no other run has work on the pool).
    if (!split && alone && pool.idle) return false;
    const tasks: WorkerTask[] = split
      ? split.parts.map((p) => ({ node: p.node, opsets: env.opsets, inputs: p.inputs, maxElements: env.limit, ...(p.target ? { target: p.target } : {}) }))
      : [{ node, opsets: env.opsets, inputs: shared, maxElements: env.limit }];
    inFlight++;
    const shapes = shapesOf(inputs);
    // The calling thread runs the last part itself (split.ts `callerRuns`): one wake-up less, and it
    // would otherwise wait idle.
    const here = split && splitTuning.callerRuns ? tasks.pop() : undefined;
    const sent = tasks.map((t) => pool.runTask(t, env.signal));
    if (here) sent.push(runHere(here));
    Promise.all(sent).then(
      (results) => {
        results.forEach((r, k) => env.report({ node, start: r.start, dur: r.dur, thread: r.thread, inputShapes: shapes, ...(split ? { part: [k, results.length] as const } : {}) }));
        let outs: RtValue[];
        if (split) {
          outs = split.combine(results.map((r) => r.outputs), results.map((r) => !!r.wrote));
          outs.forEach((v) => v && env.adopt(v));
        } else {
          const r = results[0]!;
          outs = r.outputs;
          outs.forEach((v, k) => v && r.fresh?.[k] && env.adopt(v));
        }
        env.store(node, outs);
        finished.push(i);
        inFlight--;
        wake?.();
      },
      (e) => {
        failure ??= e;
        inFlight--;
        wake?.();
      },
    );
    return true;
  };

  while (done < nodes.length) {
    if (failure !== undefined) throw failure;
    env.stopped();
    for (const i of finished.splice(0)) complete(i);
    // Heavy nodes first so the workers are busy while light ones run here.
    ready.sort((a, b) => a - b);
    const inline: number[] = [];
    const batch = ready.splice(0);
    for (const i of batch) {
      const node = nodes[i]!;
      if (goesToWorker(node, env.inputsOf(node), pool.roundTripMs ?? 0) && dispatch(i, batch.length === 1 && inFlight === 0)) continue;
      inline.push(i);
    }
    for (const i of inline) {
      env.stopped();
      env.runInline(i);
      complete(i);
      await env.maybeYield();
    }
    if (ready.length || finished.length) continue;
    if (done >= nodes.length) break;
    if (inFlight === 0) {
      if (failure !== undefined) throw failure;
      throw new GraphError(`graph '${graph.name}': ${nodes.length - done} nodes can never run (a cycle or an undefined input)`);
    }
    const woke = new Promise<void>((r) => (wake = r));
    await (env.signal ? env.signal.race(woke) : woke);
    wake = undefined;
  }
}
