// CPU kernels: reduce family. Keys match graph/ops/reduce.ts; TypeScript checks none is missing.
// The kernels live in reduce-*.ts by kind: axis reductions, arg/TopK, softmax-likes, scans, losses.
import type { reduceOps } from '../../graph/ops/reduce.js';
import type { CpuKernel } from './types.js';
import { reduceKernel } from './reduce-axes.js';
import { argKernels } from './reduce-arg.js';
import { softmaxKernel } from './reduce-softmax.js';
import { scanKernels } from './reduce-scan.js';
import { lossKernels } from './reduce-loss.js';

export const reduceKernels = {
  ReduceSum: reduceKernel('sum'),
  ReduceMean: reduceKernel('mean'),
  ReduceMax: reduceKernel('max'),
  ReduceMin: reduceKernel('min'),
  ReduceProd: reduceKernel('prod'),
  ReduceL1: reduceKernel('l1'),
  ReduceL2: reduceKernel('l2'),
  ReduceLogSum: reduceKernel('logsum'),
  ReduceLogSumExp: reduceKernel('logsumexp'),
  ReduceSumSquare: reduceKernel('sumsq'),
  ...argKernels,
  Softmax: softmaxKernel('softmax'),
  LogSoftmax: softmaxKernel('log'),
  Hardmax: softmaxKernel('hard'),
  ...scanKernels,
  ...lossKernels,
} satisfies Record<keyof typeof reduceOps, CpuKernel>;
