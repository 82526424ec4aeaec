// The CPU backend: runs the graph through the CPU kernels.
import type { Model } from '../../graph/ir.js';
import type { RtValue } from '../../graph/tensor.js';
import { findCpuKernel } from '../../kernels/cpu/index.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import type { Backend, CompiledModel, RunContext } from './types.js';

export const cpuBackend: Backend = {
  name: 'cpu',
  hasKernel: (key) => findCpuKernel(key) !== undefined,
  async compile(model: Model): Promise<CompiledModel> {
    return {
      backend: 'cpu',
      async run(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext) {
        const graph = ctx.fetches.length === model.graph.outputs.length ? model.graph : { ...model.graph, outputs: model.graph.outputs.filter((o) => ctx.fetches.includes(o.name)) };
        return interpret(graph, feeds, { opsets: model.opsets, signal: ctx.signal, onNode: ctx.onNode });
      },
      release() {},
    };
  },
};
