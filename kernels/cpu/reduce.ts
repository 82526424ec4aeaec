// CPU kernels: reduce family. Keys match graph/ops/reduce.ts; TypeScript checks none is missing.
import type { reduceOps } from '../../graph/ops/reduce.js';
import type { CpuKernel } from './types.js';

export const reduceKernels = {
} satisfies Record<keyof typeof reduceOps, CpuKernel>;
