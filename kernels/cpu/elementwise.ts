// CPU kernels: elementwise family. Keys match graph/ops/elementwise.ts; TypeScript checks none is missing.
import type { elementwiseOps } from '../../graph/ops/elementwise.js';
import type { CpuKernel } from './types.js';

export const elementwiseKernels = {
} satisfies Record<keyof typeof elementwiseOps, CpuKernel>;
