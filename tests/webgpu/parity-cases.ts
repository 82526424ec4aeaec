// The WebGPU parity runner shared by parity.test.ts and parity-ops.test.ts: each case is a small model
// run on the WebGPU backend and on the CPU kernels, compared with a per-case tolerance, and (unless
// the case says otherwise) required to place every node on the GPU.
import { describe, expect } from 'vitest';
import type { HostTensor } from '../../graph/tensor.js';
import { compare, cpuHas, gpuIt, model, type NodeSpec, runCpu, runGpu } from './helpers.js';

export const TOL = { float32: { atol: 1e-5, rtol: 1e-4 }, exact: { atol: 0, rtol: 0 } };

export interface Case {
  name: string;
  nodes: NodeSpec[];
  feeds: Record<string, HostTensor>;
  consts?: Record<string, HostTensor>;
  opset?: number;
  tol?: { atol: number; rtol: number };
  /** Every node should run on the GPU (default true). */
  allGpu?: boolean;
}

export function defineParity(title: string, cases: readonly Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      gpuIt(c.name, async () => {
        const m = model(c.nodes, c.feeds, c.consts, undefined, c.opset ?? 18);
        const missing = cpuHas(m);
        if (missing) throw new Error(`no CPU kernel for ${missing}`);
        const want = runCpu(m, c.feeds);
        const { out, compiled } = await runGpu(m, c.feeds);
        for (const [name, w] of want) {
          const r = compare(out.get(name)!, w, c.tol ?? TOL.float32);
          expect(r.worst, `${c.name}: ${name}`).toBe('');
        }
        if (c.allGpu !== false) {
          const cpu = [...compiled.placements.values()].filter((p) => p.device === 'cpu');
          expect(cpu.map((p) => `${p.op}: ${p.reason}`)).toEqual([]);
        }
      }, 60_000);
    }
  });
}
