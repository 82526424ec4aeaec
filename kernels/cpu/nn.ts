// CPU kernels: nn family. Keys match graph/ops/nn.ts; TypeScript checks none is missing.
import type { nnOps } from '../../graph/ops/nn.js';
import type { CpuKernel } from './types.js';
import { convKernels } from './nn-conv.js';
import { poolKernels } from './nn-pool.js';
import { normKernels } from './nn-norm.js';
import { roiKernels } from './nn-roi.js';

export const nnKernels = {
  ...convKernels,
  ...poolKernels,
  ...normKernels,
  ...roiKernels,
} satisfies Record<keyof typeof nnOps, CpuKernel>;
