// CPU kernels: manip family. Keys match graph/ops/manip.ts; TypeScript checks none is missing.
// The kernels live in manip-shape (shape-only and generated tensors), manip-layout (element movement),
// manip-index (data-indexed gather/scatter) and manip-unique.
import type { manipOps } from '../../graph/ops/manip.js';
import type { CpuKernel } from './types.js';
import { shapeKernels } from './manip-shape.js';
import { layoutKernels } from './manip-layout.js';
import { indexKernels } from './manip-index.js';
import { uniqueKernels } from './manip-unique.js';

export const manipKernels = {
  ...shapeKernels,
  ...layoutKernels,
  ...indexKernels,
  ...uniqueKernels,
} satisfies Record<keyof typeof manipOps, CpuKernel>;
