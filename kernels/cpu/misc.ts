// CPU kernels: misc family. Keys match graph/ops/misc.ts; TypeScript checks none is missing.
import type { miscOps } from '../../graph/ops/misc.js';
import type { CpuKernel } from './types.js';
import { signalKernels } from './misc-signal.js';
import { stringKernels } from './misc-string.js';
import { mlKernels } from './misc-ml.js';
import { mlExtraKernels } from './misc-ml-extra.js';
import { trainKernels } from './misc-train.js';
import { randomKernels } from './misc-random.js';

export const miscKernels = {
  ...signalKernels,
  ...stringKernels,
  ...mlKernels,
  ...mlExtraKernels,
  ...trainKernels,
  ...randomKernels,
} satisfies Record<keyof typeof miscOps, CpuKernel>;
