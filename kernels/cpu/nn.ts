// CPU kernels: nn family. Keys match graph/ops/nn.ts; TypeScript checks none is missing.
import type { nnOps } from '../../graph/ops/nn.js';
import type { CpuKernel } from './types.js';

export const nnKernels = {
} satisfies Record<keyof typeof nnOps, CpuKernel>;
