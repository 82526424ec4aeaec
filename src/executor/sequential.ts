// The sequential CPU path: graph order on the calling thread, over the interpreter's prepared steps
// (kernels found once, a reused context per node, the values dying after each node listed once), so a
// run of a small model costs its kernels and little else. Initializers are read from the graph, not
// copied into the run's table; dead intermediates go back to the tensor pool (graph/tensor-pool.ts).
// The checks stay those of the general scheduler: the stop signal before every node, a yield to the
// event loop every few ms, the element limit around each kernel, a profile event per node when asked
// (from the interpreter's kernel calls, so the nodes of If/Loop/Scan bodies get theirs too).
import { GraphError } from '../../graph/errors.js';
import type { Model } from '../../graph/ir.js';
import { type RtValue, setMaxElements } from '../../graph/tensor.js';
import { RunBuffers } from '../../graph/tensor-pool.js';
import { gatherInputs, graphPlan, type InterpretOptions, runStep, type Scope } from '../../kernels/cpu/interpreter.js';
import { kernelEvents } from './kernel-events.js';
import type { ExecRunContext } from './types.js';

/** Yield to the event loop after this many ms of work. */
const YIELD_MS = 4;

function yieldToLoop(): Promise<void> {
  return new Promise((r) => (typeof setImmediate === 'function' ? setImmediate(r) : setTimeout(r, 0)));
}

export async function runSequential(model: Model, feeds: ReadonlyMap<string, RtValue>, ctx: ExecRunContext): Promise<Map<string, RtValue>> {
  const graph = model.graph;
  const steps = graphPlan(graph).steps;
  const values = new Map<string, RtValue>(feeds);
  const scope: Scope = { values, consts: graph.initializers };
  const signal = ctx.signal;
  const limit = ctx.maxTensorElements;
  const onNode = kernelEvents(ctx);
  const opts: InterpretOptions = onNode ? { opsets: model.opsets, signal, onNode } : { opsets: model.opsets, signal };
  const buffers = new RunBuffers();
  let lastYield = performance.now();
  for (let i = 0; i < steps.length; i++) {
    let stop = signal?.check();
    if (stop) throw stop;
    if (performance.now() - lastYield >= YIELD_MS) {
      await yieldToLoop();
      lastYield = performance.now();
      stop = signal?.check();
      if (stop) throw stop;
    }
    const st = steps[i]!;
    const inputs = gatherInputs(st, scope);
    const prevMax = limit !== undefined ? setMaxElements(limit) : undefined;
    const prevOwner = buffers.enter();
    let outs: RtValue[];
    try {
      outs = runStep(st, inputs, scope, opts);
    } finally {
      buffers.exit(prevOwner);
      if (prevMax !== undefined) setMaxElements(prevMax);
    }
    const names = st.outputs;
    for (let k = 0; k < names.length; k++) {
      const v = outs[k];
      if (names[k] && v !== undefined) {
        values.set(names[k]!, v);
        buffers.stored(v);
      }
    }
    for (const name of st.dead) {
      const v = values.get(name);
      if (v !== undefined && values.delete(name)) buffers.dropped(v);
    }
  }
  const result = new Map<string, RtValue>();
  for (const f of ctx.fetches) {
    const v = values.get(f) ?? graph.initializers.get(f);
    if (v === undefined) throw new GraphError(`graph '${graph.name}' output '${f}' was not produced`);
    result.set(f, v);
  }
  return result;
}
