// CPU kernel of Unique: unique elements (or slices along an axis) with first indices, inverse and counts,
// sorted ascending (sorted=1, NumPy's order, slices compared lexicographically) or by first occurrence.
import { type HostTensor, allocTensor, getNumber } from '../../graph/tensor.js';
import type { CpuKernel } from './types.js';
import { tensorArg } from './util.js';
import { copyBlock, normAxisK, transposeData } from './manip-util.js';

/** Comparator of elements i and j of `t` (NaN sorts last and equals NaN, as NumPy's unique). */
function elementCompare(t: HostTensor): (i: number, j: number) => number {
  if (t.dtype === 'string') {
    const d = t.data as string[];
    return (i, j) => (d[i]! < d[j]! ? -1 : d[i]! > d[j]! ? 1 : 0);
  }
  if (t.dtype === 'int64' || t.dtype === 'uint64') {
    const d = t.data as BigInt64Array;
    return (i, j) => (d[i]! < d[j]! ? -1 : d[i]! > d[j]! ? 1 : 0);
  }
  const v = t.dtype === 'float16' || t.dtype === 'bfloat16' ? Float64Array.from({ length: t.data.length }, (_, i) => getNumber(t, i)) : (t.data as Float64Array);
  return (i, j) => {
    const a = v[i]!, b = v[j]!;
    if (a < b) return -1;
    if (a > b) return 1;
    if (a === b) return 0;
    return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
  };
}

const unique: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const sorted = ctx.attrs.int('sorted', 1) === 1;
  const axisAttr = ctx.attrs.int('axis');
  let src = x;
  let perm: number[] | undefined;
  if (axisAttr !== undefined) {
    const a = normAxisK(axisAttr, x.dims.length, ctx);
    // Move the axis first so each slice is one contiguous run.
    perm = [a, ...x.dims.keys()].filter((d, i) => i === 0 || d !== a);
    const moved = allocTensor(x.dtype, perm.map((p) => x.dims[p]!));
    transposeData(x, perm, moved.data);
    src = moved;
  }
  const n = axisAttr === undefined ? x.data.length : src.dims[0]!;
  const m = n ? src.data.length / n : 0;
  const cmpEl = elementCompare(src);
  const cmp = (i: number, j: number): number => {
    for (let e = 0; e < m; e++) {
      const c = cmpEl(i * m + e, j * m + e);
      if (c) return c;
    }
    return 0;
  };
  // Stable sort by value; each run of equal slices starts with its first occurrence.
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((i, j) => cmp(i, j) || i - j);
  const groups: { first: number; count: number }[] = [];
  const groupOf = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (k > 0 && cmp(order[k - 1]!, i) === 0) groups[groups.length - 1]!.count++;
    else groups.push({ first: i, count: 1 });
    groupOf[i] = groups.length - 1;
  }
  let rank = groups.map((_, g) => g);
  if (!sorted) {
    const byFirst = [...rank].sort((a, b) => groups[a]!.first - groups[b]!.first);
    rank = new Array<number>(groups.length);
    byFirst.forEach((g, pos) => (rank[g] = pos));
    groups.sort((a, b) => a.first - b.first);
  }
  const U = groups.length;
  const yMoved = allocTensor(x.dtype, axisAttr === undefined ? [U] : [U, ...src.dims.slice(1)]);
  groups.forEach((g, k) => copyBlock(yMoved.data, k * m, src.data, g.first * m, m));
  let y = yMoved;
  if (perm) {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    y = allocTensor(x.dtype, inv.map((i) => yMoved.dims[i]!));
    transposeData(yMoved, inv, y.data);
  }
  const indices = allocTensor('int64', [U]);
  const counts = allocTensor('int64', [U]);
  groups.forEach((g, k) => {
    indices.data[k] = BigInt(g.first);
    counts.data[k] = BigInt(g.count);
  });
  const inverse = allocTensor('int64', [n]);
  for (let i = 0; i < n; i++) inverse.data[i] = BigInt(rank[groupOf[i]!]!);
  return [y, indices, inverse, counts];
};

export const uniqueKernels = { Unique: unique } satisfies Record<string, CpuKernel>;
