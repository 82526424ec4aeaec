// Dtype-generic element movement for the manip kernels: elements are copied through the typed arrays
// (or string arrays) as they are, so every dtype (int64 bigints, float16 bits, bool, string) works unchanged.
import type { HostData } from '../../graph/dtype.js';
import { type HostTensor, sizeOf, stridesOf } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext } from './types.js';

/** Element view for generic single-element access (typed arrays and string[] both index this way). */
export type Elems = { [i: number]: unknown; readonly length: number };

/**
 * Storage seen as unsigned words of the element's width, so copy loops see at most four array kinds
 * (Uint8/16/32Array, string[]) and stay fast in V8 instead of going megamorphic over every dtype.
 * 8-byte elements (int64, uint64, float64) are two 32-bit words each (w = 2), copied bit-exactly.
 */
export interface Words {
  readonly a: Uint8Array | Uint16Array | Uint32Array | string[];
  readonly w: 1 | 2;
}

export function words(data: HostData): Words {
  if (Array.isArray(data)) return { a: data, w: 1 };
  const t = data as Exclude<HostData, string[]>;
  switch (t.BYTES_PER_ELEMENT) {
    case 1: return { a: t instanceof Uint8Array ? t : new Uint8Array(t.buffer, t.byteOffset, t.length), w: 1 };
    case 2: return { a: t instanceof Uint16Array ? t : new Uint16Array(t.buffer, t.byteOffset, t.length), w: 1 };
    case 4: return { a: t instanceof Uint32Array ? t : new Uint32Array(t.buffer, t.byteOffset, t.length), w: 1 };
    default: return { a: new Uint32Array(t.buffer, t.byteOffset, t.length * 2), w: 2 };
  }
}

export type WordArray = Words['a'];

/** Copy `n` words; short runs loop, long runs use the native set. */
export function copyWords(D: WordArray, d: number, S: WordArray, s: number, n: number): void {
  // Strings take their own loop: a JS array reaching the typed loop would make it megamorphic (~20x slower).
  if (Array.isArray(D)) return copyStrings(D, d, S as string[], s, n);
  const Dt = D as Uint32Array;
  const St = S as Uint32Array;
  if (n < 32) for (let i = 0; i < n; i++) Dt[d + i] = St[s + i]!;
  else Dt.set(St.subarray(s, s + n), d);
}

function copyStrings(D: string[], d: number, S: string[], s: number, n: number): void {
  for (let i = 0; i < n; i++) D[d + i] = S[s + i]!;
}

/**
 * Run a word-level copy on string tensors through index words: the copy moves Uint32 indices of the
 * source strings, then strings are looked up once. Positions the copy skips keep dst's strings.
 */
export function viaIndexWords(dst: string[], src: string[], copy: (D: Words, S: Words) => void): void {
  const S: Words = { a: Uint32Array.from({ length: src.length }, (_, i) => i), w: 1 };
  const D = new Uint32Array(dst.length).fill(0xffffffff);
  copy({ a: D, w: 1 }, S);
  for (let i = 0; i < D.length; i++) if (D[i] !== 0xffffffff) dst[i] = src[D[i]!]!;
}

/** Copy `len` elements from src[s..] to dst[d..] of prepared word views (same element width). */
export function copyElems(dst: Words, d: number, src: Words, s: number, len: number): void {
  const w = dst.w;
  copyWords(dst.a, d * w, src.a, s * w, len * w);
}

/** Copy one element. */
export function copyElem(dst: Words, d: number, src: Words, s: number): void {
  if (Array.isArray(dst.a)) return copyStrings(dst.a, d, src.a as string[], s, 1);
  const D = dst.a as Uint32Array;
  const S = src.a as Uint32Array;
  if (dst.w === 1) D[d] = S[s]!;
  else {
    D[2 * d] = S[2 * s]!;
    D[2 * d + 1] = S[2 * s + 1]!;
  }
}

/** Copy `len` elements from src[s..] to dst[d..] (same storage type); for one-off copies. */
export function copyBlock(dst: HostData, d: number, src: HostData, s: number, len: number): void {
  copyElems(words(dst), d, words(src), s, len);
}

/**
 * dst[i] (row-major over `dims`) = src[base + sum(idx_k * strides_k)]. Strides may be 0 (broadcast)
 * or negative (reversed). Adjacent dims that are contiguous in src are merged so inner loops are long,
 * and the two innermost dims are looped directly so small inner dims cost little.
 */
export function stridedCopy(dst: HostData, src: HostData, dims: readonly number[], strides: readonly number[], base: number): void {
  if (sizeOf(dims) === 0) return;
  if (Array.isArray(dst)) return viaIndexWords(dst, src as string[], (D, S) => stridedWords(D, S, dims, strides, base));
  stridedWords(words(dst), words(src), dims, strides, base);
}

function stridedWords(D: Words, S: Words, dims: readonly number[], strides: readonly number[], base: number): void {
  let ds = dims;
  let ss = strides;
  if (D.w === 2) {
    // Two words per element: one more dim of 2 contiguous words.
    ds = [...dims, 2];
    ss = [...strides.map((x) => x * 2), 1];
    base *= 2;
  }
  // Drop size-1 dims and merge dims where stride[i] == stride[i+1] * dim[i+1].
  const dm: number[] = [];
  const st: number[] = [];
  for (let i = 0; i < ds.length; i++) {
    if (ds[i] === 1) continue;
    const k = dm.length - 1;
    if (k >= 0 && st[k] === ss[i]! * ds[i]!) {
      dm[k] = dm[k]! * ds[i]!;
      st[k] = ss[i]!;
    } else {
      dm.push(ds[i]!);
      st.push(ss[i]!);
    }
  }
  const da = D.a as Uint32Array;
  const sa = S.a as Uint32Array;
  if (!dm.length) {
    da[0] = sa[base]!;
    return;
  }
  if (dm.length === 1) dm.unshift(1), st.unshift(0);
  const r = dm.length;
  const n0 = dm[r - 1]!;
  const s0 = st[r - 1]!;
  const n1 = dm[r - 2]!;
  const s1 = st[r - 2]!;
  const outer = sizeOf(dm) / (n0 * n1);
  const idx = new Int32Array(r);
  let off = base;
  let o = 0;
  // A 2-D transpose in the inner dims (attention's K^T, the layout Transposes NCHW <-> NHWC): 4x4 register
  // blocks over column tiles (transposeTiles; measured 1.3-2x faster than 16x16 tiles of single-element steps).
  const tiled = s1 === 1 && s0 >= TILE && n0 >= TILE && n1 >= TILE;
  for (let n = 0; n < outer; n++) {
    if (tiled) {
      transposeTiles(da, o, sa, off, n1, n0, s0);
      o += n0 * n1;
    } else for (let a = 0, p1 = off; a < n1; a++, p1 += s1) {
      if (s0 === 1) copyWords(da, o, sa, p1, n0);
      else for (let j = 0, p = p1; j < n0; j++, p += s0) da[o + j] = sa[p]!;
      o += n0;
    }
    for (let d = r - 3; d >= 0; d--) {
      off += st[d]!;
      if (++idx[d]! < dm[d]!) break;
      off -= st[d]! * dm[d]!;
      idx[d] = 0;
    }
  }
}

/** Smallest inner dims (and source stride) for the blocked 2-D transpose. */
const TILE = 8;

/**
 * dst[o + a*cols + j] = src[off + a + j*s] for a < rows, j < cols: 4x4 register blocks (four contiguous
 * reads per source column, four output rows per step) over column tiles of 64. Measured per plane against
 * single-element steps and 16x16 tiles of them: 64x128 21 vs 27/28 us, 2304x96 576 vs 998/702,
 * 96x2304 354 vs 731/752, 1024x1024 2.65 vs 5.7/5.7 ms.
 */
function transposeTiles(dst: Uint32Array, o: number, src: Uint32Array, off: number, rows: number, cols: number, s: number): void {
  const r4 = rows & ~3;
  for (let j0 = 0; j0 < cols; j0 += 64) {
    const j1 = Math.min(cols, j0 + 64);
    for (let a = 0; a < r4; a += 4) {
      const d0 = o + a * cols;
      for (let j = j0; j < j1; j++) {
        const p = off + a + j * s, d = d0 + j;
        dst[d] = src[p]!;
        dst[d + cols] = src[p + 1]!;
        dst[d + 2 * cols] = src[p + 2]!;
        dst[d + 3 * cols] = src[p + 3]!;
      }
    }
  }
  for (let a = r4; a < rows; a++) for (let j = 0, p = off + a; j < cols; j++, p += s) dst[o + a * cols + j] = src[p]!;
}

/** A transposed copy: output dim i is input dim perm[i]. */
export function transposeData(src: HostTensor, perm: readonly number[], into: HostData): void {
  const s = stridesOf(src.dims);
  stridedCopy(into, src.data, perm.map((p) => src.dims[p]!), perm.map((p) => s[p]!), 0);
}

/** Index values of an int32/int64 tensor as numbers, with a typed error for other dtypes. */
export function indexValues(t: HostTensor, ctx: CpuContext, what = 'indices'): Float64Array {
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new KernelInputError(ctx, `${what} must be int32 or int64, got ${t.dtype}`);
  const out = new Float64Array(t.data.length);
  const d = t.data as ArrayLike<number | bigint>;
  for (let i = 0; i < out.length; i++) out[i] = Number(d[i]);
  return out;
}

/** Integer list of a shape-like tensor (any integer dtype). */
export function intList(t: HostTensor, ctx: CpuContext, what: string): number[] {
  if (t.dtype !== 'int32' && t.dtype !== 'int64') throw new KernelInputError(ctx, `${what} must be int32 or int64, got ${t.dtype}`);
  // A plain loop: Array.from with a map function is several times slower on these short lists, which
  // Slice/Reshape/Unsqueeze read on every run.
  const d = t.data as ArrayLike<number | bigint>;
  const out = new Array<number>(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/** A possibly negative index into a dim of size n, with a typed error when out of range. */
export function normIndex(i: number, n: number, ctx: CpuContext, what = 'index'): number {
  const j = i < 0 ? i + n : i;
  if (!(j >= 0 && j < n)) throw new KernelInputError(ctx, `${what} ${i} is out of range for a dim of size ${n}`);
  return j;
}

export function normAxisK(axis: number, rank: number, ctx: CpuContext): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new KernelInputError(ctx, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Normalized, distinct axes. */
export function normAxesK(axes: readonly number[], rank: number, ctx: CpuContext): number[] {
  const out = axes.map((a) => normAxisK(a, rank, ctx));
  if (new Set(out).size !== out.length) throw new KernelInputError(ctx, `axes [${axes.join(',')}] repeat an axis`);
  return out;
}

/** A tensor sharing `t`'s data with new dims (data is never mutated in place, so sharing is safe). */
export function withDims(t: HostTensor, dims: readonly number[]): HostTensor {
  return { kind: 'tensor', dtype: t.dtype, dims: [...dims], data: t.data };
}

/** Product of dims[from..to). */
export function prod(dims: readonly number[], from = 0, to = dims.length): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= dims[i]!;
  return n;
}
