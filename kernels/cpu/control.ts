// CPU kernels: control family. Keys match graph/ops/control.ts; TypeScript checks none is missing.
import type { controlOps } from '../../graph/ops/control.js';
import type { CpuKernel } from './types.js';

export const controlKernels = {
} satisfies Record<keyof typeof controlOps, CpuKernel>;
