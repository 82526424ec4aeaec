// CPU kernels: quant family. Keys match graph/ops/quant.ts; TypeScript checks none is missing.
import type { quantOps } from '../../graph/ops/quant.js';
import type { CpuKernel } from './types.js';

export const quantKernels = {
} satisfies Record<keyof typeof quantOps, CpuKernel>;
