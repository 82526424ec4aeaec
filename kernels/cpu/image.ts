// CPU kernels: image family. Keys match graph/ops/image.ts; TypeScript checks none is missing.
import type { imageOps } from '../../graph/ops/image.js';
import type { CpuKernel } from './types.js';
import { resizeKernel, upsampleKernel } from './image-resize.js';
import { gridKernels } from './image-grid.js';
import { nonMaxSuppression } from './image-nms.js';
import { imageDecoder } from './image-decode.js';

export const imageKernels = {
  Resize: resizeKernel,
  Upsample: upsampleKernel,
  GridSample: gridKernels.GridSample,
  AffineGrid: gridKernels.AffineGrid,
  NonMaxSuppression: nonMaxSuppression,
  ImageDecoder: imageDecoder,
} satisfies Record<keyof typeof imageOps, CpuKernel>;
