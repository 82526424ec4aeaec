// The elementwise loops: one unary map and NumPy-broadcasting maps over 2 and 3 operands.
// Every elementwise kernel is a scalar function handed to one of these, so the index math lives here once.
// Fast paths: operands laid out like the output (same element count) or scalars; otherwise the dims are
// collapsed (adjacent dims merged where every operand is contiguous or broadcast across both) and the
// innermost run is walked with constant strides.
import { broadcastStrides } from './util.js';

/** Indexable storage of a tensor: a typed array (number or bigint elements) or a string array. */
export interface Vec<T> {
  [i: number]: T;
  readonly length: number;
}

export function map1<A, O>(a: Vec<A>, out: Vec<O>, f: (x: A) => O): void {
  const n = out.length;
  for (let i = 0; i < n; i++) out[i] = f(a[i]!);
}

interface Plan {
  /** Collapsed output dims (no 1s), at least one. */
  dims: number[];
  /** Per operand, its stride along each collapsed dim (0 where broadcast). */
  strides: number[][];
}

/** Collapse a broadcast of `inputs` into `outDims` to the fewest dims with constant strides. */
export function broadcastPlan(outDims: readonly number[], inputs: readonly (readonly number[])[]): Plan {
  const all = inputs.map((d) => broadcastStrides(d, outDims));
  const dims: number[] = [];
  const strides: number[][] = inputs.map(() => []);
  for (let d = 0; d < outDims.length; d++) {
    const size = outDims[d]!;
    if (size === 1) continue;
    const last = dims.length - 1;
    // Merge into the previous kept dim when each operand's stride there equals its stride here times this size.
    if (last >= 0 && all.every((s, k) => strides[k]![last] === s[d]! * size)) {
      dims[last] = dims[last]! * size;
      all.forEach((s, k) => (strides[k]![last] = s[d]!));
      continue;
    }
    dims.push(size);
    all.forEach((s, k) => strides[k]!.push(s[d]!));
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  return { dims, strides };
}

/**
 * A run of a binary op: out[o], out[o+1], … (n elements) from a[xa], a[xa+sa], … and b[xb], b[xb+sb], ….
 * Hot ops (Add, Mul, …) give their own run so their loop has no per-element call.
 */
export type Run2<A, B, O> = (out: Vec<O>, a: Vec<A>, b: Vec<B>, o: number, xa: number, sa: number, xb: number, sb: number, n: number) => void;

/** Cover the broadcast of a and b to outDims (out row-major) with runs: one run when shapes match or one side is a scalar. */
export function broadcast2<A, B, O>(
  a: Vec<A>, aDims: readonly number[], b: Vec<B>, bDims: readonly number[],
  out: Vec<O>, outDims: readonly number[], run: Run2<A, B, O>,
): void {
  const n = out.length;
  if (n === 0) return;
  const na = a.length;
  const nb = b.length;
  // An operand with as many elements as the output is laid out like it (only 1-sized dims can differ).
  if ((na === n || na === 1) && (nb === n || nb === 1)) {
    run(out, a, b, 0, 0, na === n ? 1 : 0, 0, nb === n ? 1 : 0, n);
    return;
  }
  const { dims, strides } = broadcastPlan(outDims, [aDims, bDims]);
  const sa = strides[0]!;
  const sb = strides[1]!;
  const r = dims.length;
  const inner = dims[r - 1]!;
  const ia = sa[r - 1]!;
  const ib = sb[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let pa = 0;
  let pb = 0;
  for (let o = 0; o < n; o += inner) {
    run(out, a, b, o, pa, ia, pb, ib, inner);
    for (let d = r - 2; d >= 0; d--) {
      pa += sa[d]!;
      pb += sb[d]!;
      if (++idx[d]! < dims[d]!) break;
      pa -= sa[d]! * dims[d]!;
      pb -= sb[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}

/** out[i] = f(a[ia], b[ib]) over the broadcast of a and b to outDims (out is row-major outDims). */
export function map2<A, B, O>(
  a: Vec<A>, aDims: readonly number[], b: Vec<B>, bDims: readonly number[],
  out: Vec<O>, outDims: readonly number[], f: (x: A, y: B) => O,
): void {
  broadcast2(a, aDims, b, bDims, out, outDims, (dst, x, y, o, xa, sa, xb, sb, n) => {
    for (const e = o + n; o < e; o++, xa += sa, xb += sb) dst[o] = f(x[xa]!, y[xb]!);
  });
}

/** out[i] = f(a[ia], b[ib], c[ic]) over the broadcast of three operands (Where). */
export function map3<A, B, C, O>(
  a: Vec<A>, aDims: readonly number[], b: Vec<B>, bDims: readonly number[], c: Vec<C>, cDims: readonly number[],
  out: Vec<O>, outDims: readonly number[], f: (x: A, y: B, z: C) => O,
): void {
  const n = out.length;
  if (n === 0) return;
  if (a.length === n && b.length === n && c.length === n) {
    for (let i = 0; i < n; i++) out[i] = f(a[i]!, b[i]!, c[i]!);
    return;
  }
  const { dims, strides } = broadcastPlan(outDims, [aDims, bDims, cDims]);
  const [sa, sb, sc] = strides as [number[], number[], number[]];
  const r = dims.length;
  const inner = dims[r - 1]!;
  const ia = sa[r - 1]!;
  const ib = sb[r - 1]!;
  const ic = sc[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let pa = 0;
  let pb = 0;
  let pc = 0;
  for (let o = 0; o < n;) {
    let xa = pa;
    let xb = pb;
    let xc = pc;
    for (let j = 0; j < inner; j++) {
      out[o++] = f(a[xa]!, b[xb]!, c[xc]!);
      xa += ia;
      xb += ib;
      xc += ic;
    }
    for (let d = r - 2; d >= 0; d--) {
      pa += sa[d]!;
      pb += sb[d]!;
      pc += sc[d]!;
      if (++idx[d]! < dims[d]!) break;
      pa -= sa[d]! * dims[d]!;
      pb -= sb[d]! * dims[d]!;
      pc -= sc[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}
