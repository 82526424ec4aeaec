// CPU kernels: linalg family. Keys match graph/ops/linalg.ts; TypeScript checks none is missing.
import type { linalgOps } from '../../graph/ops/linalg.js';
import type { CpuKernel } from './types.js';

export const linalgKernels = {
} satisfies Record<keyof typeof linalgOps, CpuKernel>;
