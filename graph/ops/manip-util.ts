// Index arithmetic shared by the manip family's shape rules and CPU kernels, so both agree exactly.

/** Output length of one sliced axis of size `dim` (ONNX Slice clamping; ends may be INT64 max). */
export function sliceRange(dim: number, start: number, end: number, step: number): { start: number; len: number } {
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
    return { start: s, len: Math.max(0, Math.ceil((e - s) / step)) };
  }
  s = Math.min(Math.max(s, 0), dim - 1);
  e = Math.min(Math.max(e, -1), dim - 1);
  return { start: s, len: Math.max(0, Math.ceil((s - e) / -step)) };
}

/** Start/end of Shape's slice of a rank-r shape (clamped, never negative length). */
export function shapeRange(rank: number, start: number, end: number | undefined): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const s = clamp(start);
  const e = end === undefined ? rank : clamp(end);
  return [s, Math.max(s, e)];
}

/** Number of elements Range produces. */
export function rangeCount(start: number, limit: number, delta: number): number {
  return Math.max(Math.ceil((limit - start) / delta), 0);
}

/**
 * Sizes of Split's outputs along an axis of size `dim`: explicit sizes, or `count` parts
 * (equal parts before opset 18; from 18 with num_outputs the last part may be smaller).
 * Returns a message instead when they do not fit.
 */
export function splitSizes(dim: number, count: number, split: number[] | undefined, unevenLast: boolean): number[] | string {
  if (split) {
    if (split.length !== count) return `split has ${split.length} sizes for ${count} outputs`;
    if (split.some((s) => s < 0)) return `split sizes [${split.join(',')}] include a negative size`;
    const sum = split.reduce((a, b) => a + b, 0);
    if (sum !== dim) return `split sizes [${split.join(',')}] add up to ${sum}, not the axis size ${dim}`;
    return split;
  }
  if (count < 1) return 'Split needs at least one output';
  if (unevenLast) {
    const chunk = Math.ceil(dim / count);
    const out: number[] = [];
    let left = dim;
    for (let i = 0; i < count; i++) {
      out.push(Math.max(0, Math.min(chunk, left)));
      left -= chunk;
    }
    return out;
  }
  if (dim % count !== 0) return `axis size ${dim} does not split into ${count} equal parts`;
  return new Array<number>(count).fill(dim / count);
}
