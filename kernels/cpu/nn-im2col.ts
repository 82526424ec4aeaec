// im2col / col2im over any number of spatial dims. The innermost spatial dim is a contiguous run whose
// in-bounds range is computed once per (channel, kernel tap), so the copy loop has no bounds checks.

export type FloatArray = Float32Array | Float64Array;

export interface Grid {
  /** Image (input for im2col, output for col2im) spatial dims. */
  img: readonly number[];
  /** Block grid (conv output positions) spatial dims. */
  out: readonly number[];
  kernel: readonly number[];
  strides: readonly number[];
  dilations: readonly number[];
  padHead: readonly number[];
}

export function prod(a: readonly number[]): number {
  let p = 1;
  for (const v of a) p *= v;
  return p;
}

/** Range [lo, hi) of block positions o along one dim with 0 <= o*s + off < size. */
function validRange(size: number, outLen: number, s: number, off: number): [number, number] {
  const lo = off >= 0 ? 0 : Math.ceil(-off / s);
  const hi = size - 1 - off < 0 ? 0 : Math.min(outLen, Math.floor((size - 1 - off) / s) + 1);
  return [Math.min(lo, outLen), Math.max(hi, Math.min(lo, outLen))];
}

/**
 * For each channel c < C and kernel tap kk, walk the block grid; `visit(rowOff, srcBase, lo, hi)` is called
 * per row of the innermost dim with the col offset of the row and the image offset of position 0
 * (srcBase = NaN when the row lies in padding;
 * a valid srcBase may be negative, as the row's first positions can lie left of the image).
 */
function walk(C: number, g: Grid, visit: (row: number, srcBase: number, lo: number, hi: number, s: number) => void): void {
  const nd = g.img.length;
  const outSize = prod(g.out);
  const kSize = prod(g.kernel);
  const imgSize = prod(g.img);
  const last = nd - 1;
  const lastO = g.out[last]!;
  const lastI = g.img[last]!;
  const sL = g.strides[last]!;
  const outer = lastO === 0 ? 0 : outSize / lastO;
  const kidx = new Array<number>(nd).fill(0);
  const oidx = new Array<number>(nd).fill(0);
  const imgStrides = new Array<number>(nd);
  for (let d = nd - 1, acc = 1; d >= 0; d--) { imgStrides[d] = acc; acc *= g.img[d]!; }
  for (let c = 0; c < C; c++) {
    kidx.fill(0);
    for (let kk = 0; kk < kSize; kk++) {
      const rowBase = (c * kSize + kk) * outSize;
      const offL = kidx[last]! * g.dilations[last]! - g.padHead[last]!;
      const [lo, hi] = validRange(lastI, lastO, sL, offL);
      oidx.fill(0);
      for (let r = 0; r < outer; r++) {
        let base = c * imgSize + offL;
        for (let d = 0; d < last; d++) {
          const i = oidx[d]! * g.strides[d]! - g.padHead[d]! + kidx[d]! * g.dilations[d]!;
          if (i < 0 || i >= g.img[d]!) { base = NaN; break; }
          base += i * imgStrides[d]!;
        }
        visit(rowBase + r * lastO, base, lo, hi, sL);
        for (let d = last - 1; d >= 0; d--) {
          if (++oidx[d]! < g.out[d]!) break;
          oidx[d] = 0;
        }
      }
      for (let d = last; d >= 0; d--) {
        if (++kidx[d]! < g.kernel[d]!) break;
        kidx[d] = 0;
      }
    }
  }
}

/** col[(c*kSize + kk), o] = image value under kernel tap kk at block position o (0 in padding). */
export function im2col(src: FloatArray, srcOff: number, C: number, g: Grid, col: FloatArray, colOff: number): void {
  if (g.img.length === 2) {
    im2colRows2d(src, srcOff, C, g, col, 0, g.out[0]!, colOff);
    return;
  }
  if (g.img.length === 1) {
    im2col1d(src, srcOff, C, g, col, colOff);
    return;
  }
  const lastO = g.out[g.out.length - 1]!;
  walk(C, g, (row, base, lo, hi, s) => {
    const dst = colOff + row;
    if (base !== base) { col.fill(0, dst, dst + lastO); return; }
    if (lo > 0) col.fill(0, dst, dst + lo);
    let p = srcOff + base + lo * s;
    if (s === 1) col.set(src.subarray(p, p + (hi - lo)), dst + lo);
    else for (let o = lo; o < hi; o++, p += s) col[dst + o] = src[p]!;
    if (hi < lastO) col.fill(0, dst + hi, dst + lastO);
  });
}

/**
 * 1-D im2col as one bounds-checked loop: audio Convs have few output positions per tap (an STFT as
 * Conv: 256 taps, 3 positions), where the generic walk's per-row setup costs more than the copy.
 */
function im2col1d(src: FloatArray, srcOff: number, C: number, g: Grid, col: FloatArray, colOff: number): void {
  const L = g.img[0]!;
  const O = g.out[0]!;
  const Kk = g.kernel[0]!;
  const s = g.strides[0]!;
  const dl = g.dilations[0]!;
  const pad = g.padHead[0]!;
  let dst = colOff;
  for (let c = 0; c < C; c++) {
    const cb = srcOff + c * L;
    for (let k = 0; k < Kk; k++) {
      let i = k * dl - pad;
      for (let o = 0; o < O; o++, i += s, dst++) col[dst] = i >= 0 && i < L ? src[cb + i]! : 0;
    }
  }
}

/** The adjoint of im2col: image[c, pos] += col[(c*kSize + kk), o] for every tap landing inside the image. */
export function col2im(col: FloatArray, colOff: number, C: number, g: Grid, dst: FloatArray, dstOff: number): void {
  if (g.img.length === 2) {
    if (col instanceof Float32Array && dst instanceof Float32Array) col2im2dF32(col, colOff, C, g, dst, dstOff);
    else col2im2d(col, colOff, C, g, dst, dstOff);
    return;
  }
  walk(C, g, (row, base, lo, hi, s) => {
    if (base !== base) return;
    let p = dstOff + base + lo * s;
    const src = colOff + row;
    for (let o = lo; o < hi; o++, p += s) dst[p] = dst[p]! + col[src + o]!;
  });
}

/**
 * 2-D col2im with plain loops (ConvTranspose's upsampling layers), adding in walk's order (channel, tap,
 * row, column), so every image element receives the same sums in the same order.
 */
function col2im2d(col: FloatArray, colOff: number, C: number, g: Grid, dst: FloatArray, dstOff: number): void {
  const [IH, IW] = g.img as [number, number], [OH, OW] = g.out as [number, number];
  const [KH, KW] = g.kernel as [number, number], [SH, SW] = g.strides as [number, number];
  const [DH, DW] = g.dilations as [number, number], [PH, PW] = g.padHead as [number, number];
  let src = colOff;
  for (let c = 0; c < C; c++) {
    const plane = dstOff + c * IH * IW;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, src += OH * OW) {
        const offW = kw * DW - PW;
        const [lo, hi] = validRange(IW, OW, SW, offW);
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= IH) continue;
          const s = src + oh * OW;
          let p = plane + ih * IW + offW + lo * SW;
          for (let o = lo; o < hi; o++, p += SW) dst[p] = dst[p]! + col[s + o]!;
        }
      }
    }
  }
}

/**
 * col2im of a 2-D ConvTranspose whose kernel equals its stride (no padding, dilation or overlap: 2x2/2
 * upsampling) for C channels of OH x OW blocks: every image element takes exactly one tap, so this is a
 * permutation of the columns, written with the channel's bias added (dst need not be initialized; the
 * sums equal col2im's onto zeros followed by the bias).
 */
export function col2imTilesF32(col: Float32Array, C: number, OH: number, OW: number, KH: number, KW: number,
  dst: Float32Array, dstOff: number, bias: ArrayLike<number> | undefined, biasOff: number): void {
  const plane = OH * OW, IW = OW * KW;
  for (let c = 0; c < C; c++) {
    const b = bias ? bias[biasOff + c]! : 0;
    const img = dstOff + c * plane * KH * KW;
    for (let kh = 0; kh < KH; kh++) {
      const s0 = (c * KH + kh) * KW * plane;
      if (KW === 2) {
        // Both column taps of a block row in one pass.
        for (let oh = 0, r = s0; oh < OH; oh++, r += OW) {
          for (let o = 0, p = img + (oh * KH + kh) * IW; o < OW; o++, p += 2) {
            dst[p] = col[r + o]! + b;
            dst[p + 1] = col[r + plane + o]! + b;
          }
        }
        continue;
      }
      for (let kw = 0; kw < KW; kw++) {
        for (let oh = 0, r = s0 + kw * plane; oh < OH; oh++, r += OW) {
          for (let o = 0, p = img + (oh * KH + kh) * IW + kw; o < OW; o++, p += KW) dst[p] = col[r + o]! + b;
        }
      }
    }
  }
}

/** col2im2d for float32 (a monomorphic copy: V8 keeps one array kind per loop). */
function col2im2dF32(col: Float32Array, colOff: number, C: number, g: Grid, dst: Float32Array, dstOff: number): void {
  const [IH, IW] = g.img as [number, number], [OH, OW] = g.out as [number, number];
  const [KH, KW] = g.kernel as [number, number], [SH, SW] = g.strides as [number, number];
  const [DH, DW] = g.dilations as [number, number], [PH, PW] = g.padHead as [number, number];
  if (KW === 2 && SW === 2 && DW === 1 && PW === 0 && IW === 2 * OW) {
    // Stride-2 2-wide upsampling (ConvTranspose 2x2/2): both column taps of a block row in one pass,
    // each image element still receiving its sums in the same (tap row, block row) order.
    const plane = OH * OW;
    for (let c = 0; c < C; c++) {
      const img = dstOff + c * IH * IW;
      for (let kh = 0; kh < KH; kh++) {
        const s0 = colOff + ((c * KH + kh) * 2) * plane, s1 = s0 + plane;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= IH) continue;
          const r = oh * OW;
          for (let o = 0, p = img + ih * IW; o < OW; o++, p += 2) {
            dst[p] = dst[p]! + col[s0 + r + o]!;
            dst[p + 1] = dst[p + 1]! + col[s1 + r + o]!;
          }
        }
      }
    }
    return;
  }
  let src = colOff;
  for (let c = 0; c < C; c++) {
    const plane = dstOff + c * IH * IW;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++, src += OH * OW) {
        const offW = kw * DW - PW;
        const [lo, hi] = validRange(IW, OW, SW, offW);
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= IH) continue;
          const s = src + oh * OW;
          let p = plane + ih * IW + offW + lo * SW;
          for (let o = lo; o < hi; o++, p += SW) dst[p] = dst[p]! + col[s + o]!;
        }
      }
    }
  }
}

/**
 * The 2-D case with plain loops (the hot one in conv nets), for output rows [oh0, oh1) only:
 * col has (oh1 - oh0) * OW columns.
 */
export function im2colRows2d(src: FloatArray, srcOff: number, C: number, g: Grid, col: FloatArray, oh0: number, oh1: number, colOff = 0): void {
  const [IH, IW] = g.img as [number, number];
  const OW = g.out[1]!;
  const [KH, KW] = g.kernel as [number, number];
  const [SH, SW] = g.strides as [number, number];
  const [DH, DW] = g.dilations as [number, number];
  const [PH, PW] = g.padHead as [number, number];
  const sameKind = (col instanceof Float32Array) === (src instanceof Float32Array);
  let d = colOff;
  for (let c = 0; c < C; c++) {
    const xc = srcOff + c * IH * IW;
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const offW = kw * DW - PW;
        const [lo, hi] = validRange(IW, OW, SW, offW);
        for (let oh = oh0; oh < oh1; oh++, d += OW) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= IH) {
            col.fill(0, d, d + OW);
            continue;
          }
          if (lo > 0) col.fill(0, d, d + lo);
          let p = xc + ih * IW + lo * SW + offW;
          // Unit stride: a contiguous run, copied as a block (same array type on both sides).
          if (SW === 1 && hi - lo >= 16 && sameKind) (col as Float32Array).set((src as Float32Array).subarray(p, p + hi - lo), d + lo);
          else if (SW === 1) for (let o = lo; o < hi; o++, p++) col[d + o] = src[p]!;
          else for (let o = lo; o < hi; o++, p += SW) col[d + o] = src[p]!;
          if (hi < OW) col.fill(0, d + Math.max(hi, 0), d + OW);
        }
      }
    }
  }
}
