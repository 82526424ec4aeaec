// The CPU backend: runs the graph through the CPU kernels with the executor (src/executor).
// Sequential mode runs every node on the calling thread in graph order (the interpreter's reference
// path); parallel mode schedules nodes by data readiness over a worker pool shared by the sessions.
import { type Graph, type Model, subgraphsOf } from '../../graph/ir.js';
import type { RtValue } from '../../graph/tensor.js';
import { findCpuKernel } from '../../kernels/cpu/index.js';
import { cpuCapabilities, cpuLayoutCapabilities } from '../../kernels/cpu/fused.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { executeGraph } from '../executor/scheduler.js';
import { shareValue } from '../executor/shared.js';
import type { ExecRunContext } from '../executor/types.js';
import { acquirePool, defaultThreads, releasePool, type WorkerPool } from '../executor/worker-pool.js';
import type { Backend, CompiledModel, RunContext } from './types.js';

export interface CpuBackendOptions {
  /** 'sequential' (default): one node at a time on the calling thread; 'parallel': the worker pool. */
  readonly executionMode?: 'sequential' | 'parallel';
  /** Pool workers in parallel mode; default the machine's cores. */
  readonly numThreads?: number;
  /** Declare the fused kernels to the lowering passes (SessionOptions.fuseCpuKernels, on by default; channels-last convs are declared either way). */
  readonly fuse?: boolean;
}

export interface CpuCompiledModel extends CompiledModel {
  readonly executionMode: 'sequential' | 'parallel';
  /** The worker pool (parallel mode). */
  readonly pool: WorkerPool | undefined;
}

export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  return {
    name: 'cpu',
    hasKernel: (key) => findCpuKernel(key) !== undefined,
    capabilities: options.fuse ? cpuCapabilities(options.executionMode ?? 'sequential') : cpuLayoutCapabilities(options.executionMode ?? 'sequential'),
    async compile(model: Model): Promise<CpuCompiledModel> {
      const mode = options.executionMode ?? 'sequential';
      let pool = mode === 'parallel' ? acquirePool(options.numThreads ?? defaultThreads()) : undefined;
      // Initializers stay in ordinary memory for the kernels on this thread (copies out of shared
      // memory are slower); one a worker reads gets a shared copy once, when first sent (shared.ts).
      const m: Model = model;
      // Kernels may keep packed forms of initializer data (GEMM weight panels), keyed by the array.
      for (const v of m.graph.initializers.values()) if (v.kind === 'tensor' && !Array.isArray(v.data)) markConstant(v.data);
      // If/Loop bodies' initializers too (the interpreter hands them to kernels as they are).
      const markSub = (g: Graph): void => {
        for (const n of g.nodes) {
          for (const sg of subgraphsOf(n)) {
            for (const v of sg.initializers.values()) if (v.kind === 'tensor' && !Array.isArray(v.data)) markConstant(v.data);
            markSub(sg);
          }
        }
      };
      markSub(m.graph);
      return {
        backend: 'cpu',
        executionMode: mode,
        get pool() {
          return pool;
        },
        run(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext) {
          return executeGraph(m, feeds, ctx as ExecRunContext, { mode, pool, share: shareValue });
        },
        release() {
          if (pool) releasePool(pool);
          pool = undefined;
        },
      };
    },
  };
}

/** The default CPU backend (sequential). */
export const cpuBackend: Backend = createCpuBackend();
