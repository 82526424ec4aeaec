// CPU kernels: misc family. Keys match graph/ops/misc.ts; TypeScript checks none is missing.
import type { miscOps } from '../../graph/ops/misc.js';
import type { CpuKernel } from './types.js';

export const miscKernels = {
} satisfies Record<keyof typeof miscOps, CpuKernel>;
