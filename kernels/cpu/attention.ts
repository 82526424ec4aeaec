// CPU kernels: attention family. Keys match graph/ops/attention.ts; TypeScript checks none is missing.
import type { attentionOps } from '../../graph/ops/attention.js';
import type { CpuKernel } from './types.js';

export const attentionKernels = {
} satisfies Record<keyof typeof attentionOps, CpuKernel>;
