// CPU kernels: manip family. Keys match graph/ops/manip.ts; TypeScript checks none is missing.
import type { manipOps } from '../../graph/ops/manip.js';
import type { CpuKernel } from './types.js';

export const manipKernels = {
} satisfies Record<keyof typeof manipOps, CpuKernel>;
