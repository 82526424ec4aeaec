// NonMaxSuppression on CPU: per batch and class, greedy selection by descending score (ties: lower index),
// dropping boxes whose IoU with a selected box exceeds iou_threshold (as onnxruntime).
import { allocTensor, getNumber } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';

export const nonMaxSuppression: CpuKernel = (inputs, ctx) => {
  const boxes = tensorArg(inputs, 0, ctx);
  const scores = tensorArg(inputs, 1, ctx);
  const maxT = optTensorArg(inputs, 2, ctx);
  const iouT = optTensorArg(inputs, 3, ctx);
  const scoreT = optTensorArg(inputs, 4, ctx);
  if (boxes.dims.length !== 3 || boxes.dims[2] !== 4) throw new KernelInputError(ctx, `boxes must be [batch, boxes, 4], got [${boxes.dims.join(',')}]`);
  const [B, nBoxes] = [boxes.dims[0]!, boxes.dims[1]!];
  if (scores.dims.length !== 3 || scores.dims[0] !== B || scores.dims[2] !== nBoxes) {
    throw new KernelInputError(ctx, `scores must be [${B}, classes, ${nBoxes}], got [${scores.dims.join(',')}]`);
  }
  const C = scores.dims[1]!;
  const maxPerClass = maxT && maxT.data.length ? getNumber(maxT, 0) : 0;
  const iouTh = iouT && iouT.data.length ? getNumber(iouT, 0) : 0;
  const hasScoreTh = !!(scoreT && scoreT.data.length);
  const scoreTh = hasScoreTh ? getNumber(scoreT!, 0) : 0;
  if (iouTh < 0 || iouTh > 1) throw new KernelInputError(ctx, `iou_threshold must be in [0, 1], got ${iouTh}`);
  const centerBox = ctx.attrs.int('center_point_box', 0);
  if (centerBox !== 0 && centerBox !== 1) throw new KernelInputError(ctx, `center_point_box must be 0 or 1, got ${centerBox}`);

  // Corners as [ymin, xmin, ymax, xmax] whatever the input's order or format.
  const corners = new Float64Array(B * nBoxes * 4);
  for (let i = 0; i < B * nBoxes; i++) {
    const a = getNumber(boxes, i * 4), b = getNumber(boxes, i * 4 + 1), c = getNumber(boxes, i * 4 + 2), d = getNumber(boxes, i * 4 + 3);
    if (centerBox) {
      // [x_center, y_center, width, height]
      corners.set([b - d / 2, a - c / 2, b + d / 2, a + c / 2], i * 4);
    } else corners.set([Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)], i * 4);
  }
  const area = (i: number) => (corners[i * 4 + 2]! - corners[i * 4]!) * (corners[i * 4 + 3]! - corners[i * 4 + 1]!);
  const suppresses = (i: number, j: number): boolean => {
    const ymin = Math.max(corners[i * 4]!, corners[j * 4]!);
    const xmin = Math.max(corners[i * 4 + 1]!, corners[j * 4 + 1]!);
    const ymax = Math.min(corners[i * 4 + 2]!, corners[j * 4 + 2]!);
    const xmax = Math.min(corners[i * 4 + 3]!, corners[j * 4 + 3]!);
    const inter = Math.max(0, ymax - ymin) * Math.max(0, xmax - xmin);
    if (inter <= 0) return false;
    const a1 = area(i), a2 = area(j);
    const union = a1 + a2 - inter;
    if (a1 <= 0 || a2 <= 0 || union <= 0) return false;
    return inter / union > iouTh;
  };

  const selected: number[] = [];
  if (maxPerClass > 0) {
    const order: number[] = [];
    const chosen: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        const sOff = (b * C + c) * nBoxes;
        order.length = 0;
        for (let i = 0; i < nBoxes; i++) {
          const s = getNumber(scores, sOff + i);
          if (!hasScoreTh || s > scoreTh) order.push(i);
        }
        order.sort((i, j) => getNumber(scores, sOff + j) - getNumber(scores, sOff + i) || i - j);
        chosen.length = 0;
        for (const i of order) {
          if (chosen.length >= maxPerClass) break;
          const gi = b * nBoxes + i;
          if (chosen.every((j) => !suppresses(gi, b * nBoxes + j))) {
            chosen.push(i);
            selected.push(b, c, i);
          }
        }
      }
    }
  }
  const out = allocTensor('int64', [selected.length / 3, 3]);
  const d = out.data as BigInt64Array;
  for (let i = 0; i < selected.length; i++) d[i] = BigInt(selected[i]!);
  return [out];
};
