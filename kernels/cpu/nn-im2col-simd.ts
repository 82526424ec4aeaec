// The 2-D im2col as a WebAssembly function, part of the SIMD GEMM's module (nn-gemm-simd.ts) so it writes
// the GEMM's B stage in the same memory: the image is copied in once and each column row is built with
// bulk memory.fill / memory.copy (unit column stride) or a strided scalar loop, instead of a JS loop or a
// subarray per row. Same contract as im2colRows2d (nn-im2col.ts), which stays the reference.
import { ADD, GE_S, MUL, copyRun, get, i32c, set, uleb } from './wasm-asm.js';

const SUB = 0x6b, LT_S = 0x48, GT_S = 0x4a, EQ = 0x46, OR = 0x72, DIV_S = 0x6d, SELECT = 0x1b;
const memFill = [0xfc, ...uleb(11), 0];
const memCopy = [0xfc, ...uleb(10), 0, 0];
const f32load = [0x2a, 2, 0];
const f32store = [0x38, 2, 0];
const v128load = (off: number) => [0xfd, ...uleb(0x00), 0, ...uleb(off)];
const v128store = [0xfd, ...uleb(0x0b), 0, 0];
/** i8x16.shuffle taking floats 0 and 2 of each operand. */
const shuffleEven = [0xfd, ...uleb(0x0d), 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];

/** Param count of the function (all i32). */
export const IM2COL_PARAMS = 16;

function whileLt(v: number, limit: number[], body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...limit, LT_S, 0x45, 0x0d, 1,
    ...body,
    ...get(v), ...i32c(1), ADD, ...set(v),
    0x0c, 0, 0x0b, 0x0b,
  ];
}

/** The function body (locals and code, without the size prefix). */
export function im2colBody(): number[] {
  // params: 0 src, 1 dst (bytes), 2 C, 3 IH, 4 IW, 5 oh0, 6 oh1, 7 OW, 8 KH, 9 KW, 10 SH, 11 SW, 12 DH, 13 DW, 14 PH, 15 PW
  // locals: 16 c, 17 kh, 18 kw, 19 offW, 20 lo, 21 hi, 22 oh, 23 ih, 24 p, 25 o, 26 plane
  const [SRC, DST, C, IH, IW, OH0, OH1, OW, KH, KW, SH, SW, DH, DW, PH, PW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
  const [CI, KHI, KWI, OFFW, LO, HI, OHI, IHV, P, O, PLANE] = [16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const row = [
    // ih = oh*SH - PH + kh*DH
    ...get(OHI), ...get(SH), MUL, ...get(PH), SUB, ...get(KHI), ...get(DH), MUL, ADD, ...set(IHV),
    ...get(IHV), ...i32c(0), LT_S, ...get(IHV), ...get(IH), GE_S, OR,
    0x04, 0x40,
    ...get(DST), ...i32c(0), ...get(OW), ...i32c(4), MUL, ...memFill,
    0x05,
    ...get(DST), ...i32c(0), ...get(LO), ...i32c(4), MUL, ...memFill,
    // p = plane + (ih*IW + lo*SW + offW)*4
    ...get(PLANE), ...get(IHV), ...get(IW), MUL, ...get(LO), ...get(SW), MUL, ADD, ...get(OFFW), ADD, ...i32c(4), MUL, ADD, ...set(P),
    ...get(SW), ...i32c(1), EQ,
    0x04, 0x40,
    ...get(DST), ...get(LO), ...i32c(4), MUL, ADD, ...get(P), ...get(HI), ...get(LO), SUB, ...i32c(4), MUL, ...memCopy,
    0x05,
    ...get(LO), ...set(O),
    // Column stride 2: four columns per step from two vectors' even lanes (the scalar loop does the rest;
    // the loads may read one float past the run, so callers leave slack after the image).
    ...get(SW), ...i32c(2), EQ,
    0x04, 0x40,
    0x02, 0x40, 0x03, 0x40,
    ...get(HI), ...get(O), SUB, ...i32c(4), LT_S, 0x0d, 1,
    ...get(DST), ...get(O), ...i32c(4), MUL, ADD,
    ...get(P), ...v128load(0), ...get(P), ...v128load(16), ...shuffleEven, ...v128store,
    ...get(P), ...i32c(32), ADD, ...set(P),
    ...get(O), ...i32c(4), ADD, ...set(O),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
    0x02, 0x40, 0x03, 0x40,
    ...get(O), ...get(HI), LT_S, 0x45, 0x0d, 1,
    ...get(DST), ...get(O), ...i32c(4), MUL, ADD, ...get(P), ...f32load, ...f32store,
    ...get(P), ...get(SW), ...i32c(4), MUL, ADD, ...set(P),
    ...get(O), ...i32c(1), ADD, ...set(O),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
    ...get(DST), ...get(HI), ...i32c(4), MUL, ADD, ...i32c(0), ...get(OW), ...get(HI), SUB, ...i32c(4), MUL, ...memFill,
    0x0b,
    ...get(DST), ...get(OW), ...i32c(4), MUL, ADD, ...set(DST),
  ];
  const tap = [
    // offW = kw*DW - PW; lo = offW >= 0 ? 0 : (SW - 1 - offW) / SW; hi = IW-1-offW < 0 ? 0 : (IW-1-offW)/SW + 1
    ...get(KWI), ...get(DW), MUL, ...get(PW), SUB, ...set(OFFW),
    ...i32c(0), ...get(SW), ...i32c(1), SUB, ...get(OFFW), SUB, ...get(SW), DIV_S, ...get(OFFW), ...i32c(0), GE_S, SELECT, ...set(LO),
    ...get(IW), ...i32c(1), SUB, ...get(OFFW), SUB, ...get(SW), DIV_S, ...i32c(1), ADD, ...set(HI),
    ...i32c(0), ...get(HI), ...get(IW), ...i32c(1), SUB, ...get(OFFW), SUB, ...i32c(0), LT_S, SELECT, ...set(HI),
    // lo = min(lo, OW); hi = min(hi, OW); hi = max(hi, lo)
    ...get(OW), ...get(LO), ...get(LO), ...get(OW), GT_S, SELECT, ...set(LO),
    ...get(OW), ...get(HI), ...get(HI), ...get(OW), GT_S, SELECT, ...set(HI),
    ...get(LO), ...get(HI), ...get(LO), ...get(HI), GT_S, SELECT, ...set(HI),
    ...get(OH0), ...set(OHI),
    ...whileLt(OHI, get(OH1), row),
  ];
  return [
    1, 11, 0x7f,
    ...i32c(0), ...set(CI),
    ...whileLt(CI, get(C), [
      ...get(SRC), ...get(CI), ...get(IH), MUL, ...get(IW), MUL, ...i32c(4), MUL, ADD, ...set(PLANE),
      ...i32c(0), ...set(KHI),
      ...whileLt(KHI, get(KH), [...i32c(0), ...set(KWI), ...whileLt(KWI, get(KW), tap)]),
    ]),
    0x0b,
  ];
}

/** Param count of copy2d (all i32). */
export const COPY2D_PARAMS = 9;

/**
 * copy2d(src, dst, outer, inner, len, srcOuter, srcInner, dstOuter, dstInner): memory.copy of `len` bytes
 * for each (o, i) from src + o*srcOuter + i*srcInner to dst + o*dstOuter + i*dstInner, in order (so an
 * in-place compaction toward lower addresses is safe). Pads a convolution's input planes into a wider
 * grid, and compacts its output rows back, with one call from JS instead of one per row.
 */
export function copy2dBody(): number[] {
  const [SRC, DST, OUTER, INNER, LEN, SO, SI, DO, DI, O, I, S, D, END] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  // Runs under 256 bytes (a conv row of a small map) are copied 16 bytes at a time, then by floats:
  // memory.copy is a call into the engine (~20 ns), several times the copy itself at that size.
  const small = [...get(S), ...get(LEN), ADD, ...set(END), ...copyRun(D, S, END)];
  return [
    1, 5, 0x7f,
    ...i32c(0), ...set(O),
    ...whileLt(O, get(OUTER), [
      ...i32c(0), ...set(I),
      ...whileLt(I, get(INNER), [
        ...get(DST), ...get(O), ...get(DO), MUL, ADD, ...get(I), ...get(DI), MUL, ADD, ...set(D),
        ...get(SRC), ...get(O), ...get(SO), MUL, ADD, ...get(I), ...get(SI), MUL, ADD, ...set(S),
        ...get(LEN), ...i32c(256), LT_S, 0x04, 0x40,
        ...small,
        0x05,
        ...get(D), ...get(S), ...get(LEN), ...memCopy,
        0x0b,
      ]),
    ]),
    0x0b,
  ];
}
