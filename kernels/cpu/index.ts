// All CPU kernels, keyed like the op registry. `satisfies` makes a registry entry without a kernel a type error.
import type { OpType } from '../../graph/ops/index.js';
import type { CpuKernel } from './types.js';
import { elementwiseKernels } from './elementwise.js';
import { reduceKernels } from './reduce.js';
import { linalgKernels } from './linalg.js';
import { nnKernels } from './nn.js';
import { manipKernels } from './manip.js';
import { controlKernels } from './control.js';
import { sequenceKernels } from './sequence.js';
import { rnnKernels } from './rnn.js';
import { imageKernels } from './image.js';
import { quantKernels } from './quant.js';
import { attentionKernels } from './attention.js';
import { miscKernels } from './misc.js';
import { fusedKernels } from './fused.js';
import { layoutKernels } from './nn-conv-nhwc.js';

export const CPU_KERNELS = {
  ...elementwiseKernels,
  ...reduceKernels,
  ...linalgKernels,
  ...nnKernels,
  ...manipKernels,
  ...controlKernels,
  ...sequenceKernels,
  ...rnnKernels,
  ...imageKernels,
  ...quantKernels,
  ...attentionKernels,
  ...miscKernels,
  ...fusedKernels,
  ...layoutKernels,
} satisfies Record<OpType, CpuKernel>;

export function findCpuKernel(key: string): CpuKernel | undefined {
  return Object.prototype.hasOwnProperty.call(CPU_KERNELS, key) ? (CPU_KERNELS as Record<string, CpuKernel>)[key] : undefined;
}

export type { CpuKernel, CpuContext } from './types.js';
