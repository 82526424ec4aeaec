// CPU kernels: image family. Keys match graph/ops/image.ts; TypeScript checks none is missing.
import type { imageOps } from '../../graph/ops/image.js';
import type { CpuKernel } from './types.js';

export const imageKernels = {
} satisfies Record<keyof typeof imageOps, CpuKernel>;
