// All WebGPU kernels, keyed like the op registry. Partial: ops without a WGSL emitter run on the CPU
// (the backend records why); `satisfies` makes a key outside the registry a type error.
import type { OpType } from '../../graph/ops/index.js';
import type { GpuKernel } from './types.js';
import { argGpuKernels } from './arg.js';
import { attentionGpuKernels } from './attention.js';
import { axisGpuKernels, oneHotGpuKernels } from './axis.js';
import { convTransposeGpuKernels } from './conv-transpose.js';
import { elementwiseGpuKernels } from './elementwise.js';
import { gridSampleGpuKernels } from './grid-sample.js';
import { imageGpuKernels } from './image.js';
import { gatherNdGpuKernels, indexingGpuKernels } from './indexing.js';
import { layoutGpuKernels } from './layout.js';
import { linalgGpuKernels } from './linalg.js';
import { lossGpuKernels } from './loss.js';
import { lpPoolGpuKernels } from './lp-pool.js';
import { manipGpuKernels } from './manip.js';
import { nnGpuKernels } from './nn.js';
import { reduceGpuKernels } from './reduce.js';
import { scatterGpuKernels } from './scatter.js';
import { fusedGpuKernels } from './fused.js';

const ALL = {
  ...elementwiseGpuKernels,
  ...linalgGpuKernels,
  ...manipGpuKernels,
  ...nnGpuKernels,
  ...reduceGpuKernels,
  ...imageGpuKernels,
  ...indexingGpuKernels,
  ...gatherNdGpuKernels,
  ...attentionGpuKernels,
  ...lossGpuKernels,
  ...convTransposeGpuKernels,
  ...gridSampleGpuKernels,
  ...axisGpuKernels,
  ...oneHotGpuKernels,
  ...lpPoolGpuKernels,
  ...layoutGpuKernels,
  ...scatterGpuKernels,
  ...fusedGpuKernels,
  ...argGpuKernels,
} satisfies Partial<Record<OpType, GpuKernel>>;

export const GPU_KERNELS: Partial<Record<OpType, GpuKernel>> = ALL;

/** Keys with a WGSL emitter (registry keys or not yet). */
export const GPU_KERNEL_KEYS: readonly string[] = Object.keys(ALL);

export function findGpuKernel(key: string): GpuKernel | undefined {
  return Object.prototype.hasOwnProperty.call(ALL, key) ? (ALL as Record<string, GpuKernel>)[key] : undefined;
}

export type { GpuKernel, GpuPlan, GpuKernelContext, Program } from './types.js';
