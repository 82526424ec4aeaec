// CPU kernels: elementwise family. Keys match graph/ops/elementwise.ts; TypeScript checks none is missing.
// The loops are in elementwise-loops.ts, the kernel builders in elementwise-kernel.ts, scalar semantics in
// elementwise-scalar.ts; the ops are in elementwise-math.ts, elementwise-activation.ts and elementwise-cast.ts.
import type { elementwiseOps } from '../../graph/ops/elementwise.js';
import type { CpuKernel } from './types.js';
import { mathKernels } from './elementwise-math.js';
import { activationKernels } from './elementwise-activation.js';
import { castKernels } from './elementwise-cast.js';

export const elementwiseKernels = {
  ...mathKernels,
  ...activationKernels,
  ...castKernels,
} satisfies Record<keyof typeof elementwiseOps, CpuKernel>;
