// The inputs of a fused program as its evaluators read them: a leaf broadcast to the output's shape,
// one block of consecutive output indices at a time (a view where it is the output's size, a splat
// for one element, gathered by an odometer otherwise).

/** The longest block one reader call returns. */
export const READER_BLOCK = 1024;
const BLOCK = READER_BLOCK;

/** A program input: its data (float32, or bool 0/1 for conditions) and dims, broadcast to the output. */
export interface Leaf {
  readonly data: Float32Array | Uint8Array;
  readonly dims: readonly number[];
}

export type Src = (start: number, n: number) => Float32Array;

/** A reader of `leaf` as broadcast to `outDims`, one block at a time. */
export function leafReader(leaf: Leaf, outDims: readonly number[], total: number): Src {
  const { data } = leaf;
  if (data.length === total && data instanceof Float32Array) return (s, n) => data.subarray(s, s + n);
  if (data.length === 1) {
    const v = new Float32Array(BLOCK).fill(data[0]!);
    return (_s, n) => v.subarray(0, n);
  }
  // General broadcast: strides of the leaf aligned right, 0 on broadcast dims; an odometer per block.
  const rank = outDims.length;
  const off = rank - leaf.dims.length;
  const strides = new Array<number>(rank).fill(0);
  for (let i = leaf.dims.length - 1, s = 1; i >= 0; i--) {
    strides[off + i] = leaf.dims[i] === 1 ? 0 : s;
    s *= leaf.dims[i]!;
  }
  const buf = new Float32Array(BLOCK);
  const idx = new Array<number>(rank).fill(0);
  return (start, n) => {
    let rem = start;
    let pos = 0;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rem % outDims[d]!;
      rem = Math.floor(rem / outDims[d]!);
      pos += idx[d]! * strides[d]!;
    }
    const last = rank - 1;
    const sl = strides[last] ?? 0;
    const dl = outDims[last] ?? 1;
    for (let k = 0; k < n; ) {
      // A run along the last dim, then carry.
      const run = Math.min(n - k, dl - (idx[last] ?? 0));
      for (let r = 0; r < run; r++) buf[k + r] = data[pos + r * sl]!;
      k += run;
      pos += run * sl;
      if (rank === 0) break;
      idx[last] = (idx[last] ?? 0) + run;
      for (let d = last; d > 0 && idx[d]! >= outDims[d]!; d--) {
        pos -= idx[d]! * strides[d]!;
        idx[d] = 0;
        idx[d - 1]! += 1;
        pos += strides[d - 1]!;
      }
    }
    return buf.subarray(0, n);
  };
}
