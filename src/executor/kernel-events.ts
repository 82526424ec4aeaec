// Profile events from the interpreter's kernel calls on this thread, the nodes of If/Loop/Scan bodies
// included (with their enclosing nodes), as the executor's NodeRunEvents. Installed only when a run is
// profiled, so an unprofiled run's kernel calls stay a single branch (interpreter.ts callKernel).
import { describeValue, type RtValue } from '../../graph/tensor.js';
import type { InterpretOptions } from '../../kernels/cpu/interpreter.js';
import type { ExecRunContext } from './types.js';

export function shapesOf(inputs: readonly (RtValue | undefined)[]): (readonly number[] | string)[] {
  return inputs.map((v) => (v && v.kind === 'tensor' ? v.dims : describeValue(v)));
}

/** The interpreter's `onNode` for a run context that wants node events; undefined when it wants none. */
export function kernelEvents(ctx: ExecRunContext): InterpretOptions['onNode'] {
  const { onNodeRun, onNode } = ctx;
  if (!onNodeRun && !onNode) return undefined;
  const origin = performance.timeOrigin;
  return (node, ms, run) => {
    if (onNodeRun) {
      // start + dur is exactly the wall time of the kernel's end, so rounding the trace's start and end
      // (profiler.ts) keeps a body's events inside the control-flow node's.
      const start = origin + run.start;
      const dur = origin + (run.start + ms) - start;
      onNodeRun({ node, start, dur, thread: 0, inputShapes: shapesOf(run.inputs), ...(run.within.length ? { within: run.within } : {}) });
    }
    // RunContext.onNode knows nothing of nesting: it keeps getting the main graph's nodes only.
    if (onNode && !run.within.length) onNode(node, ms);
  };
}
