// CPU kernels: rnn family. Keys match graph/ops/rnn.ts; TypeScript checks none is missing.
import type { rnnOps } from '../../graph/ops/rnn.js';
import type { CpuKernel } from './types.js';

export const rnnKernels = {
} satisfies Record<keyof typeof rnnOps, CpuKernel>;
