// CPU kernels: linalg family. Keys match graph/ops/linalg.ts; TypeScript checks none is missing.
// The core GEMM (sgemm, used also by Conv via im2col) is in linalg-gemm.ts.
import type { linalgOps } from '../../graph/ops/linalg.js';
import type { CpuKernel } from './types.js';
import { matmulKernels } from './linalg-matmul.js';
import { quantMatmulKernels } from './linalg-quant.js';
import { einsumKernel } from './linalg-einsum.js';
import { detKernel } from './linalg-det.js';

export const linalgKernels = {
  ...matmulKernels,
  ...quantMatmulKernels,
  Einsum: einsumKernel,
  Det: detKernel,
} satisfies Record<keyof typeof linalgOps, CpuKernel>;
