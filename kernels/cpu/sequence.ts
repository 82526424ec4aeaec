// CPU kernels: sequence family. Keys match graph/ops/sequence.ts; TypeScript checks none is missing.
import type { sequenceOps } from '../../graph/ops/sequence.js';
import type { CpuKernel } from './types.js';

export const sequenceKernels = {
} satisfies Record<keyof typeof sequenceOps, CpuKernel>;
