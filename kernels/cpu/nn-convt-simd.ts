// ConvTranspose with a kernel of KH x 2 at stride (KH, 2) (2x2/2 upsampling) as a permutation in the SIMD
// GEMM's memory (nn-gemm.ts `gemmF32Out`): col2im there interleaves the two column taps of each block row,
// which a JS loop did at ~2 ns an element (most of PP-OCRv4's detector upsampling); here it is two loads,
// two shuffles, a bias add and two stores per 8 outputs, then one copy out. col2imTilesF32
// (nn-im2col.ts) is the reference and the fallback.
import { ADD, I32, INTERLEAVE_HI, INTERLEAVE_LO, MUL, V128, assembleModule, get, i32c, set, simd, stepLoop as loop, vload, vstore } from './wasm-asm.js';
import { onGemmMemory, type SimdGemm } from './nn-gemm-simd.js';

const FADD = simd(0xe4), SPLAT = simd(0x13), F32_LOAD = [0x2a, 2, 0];

// tiles2(src, dst, C, KH, OH, OW, ldc, pbias): col row (c, kh, kw) (byte stride ldc) holds the OH x OW
// block taps; output plane c (OH*KH rows of 2*OW) row oh*KH + kh = interleave(row (c,kh,0), row (c,kh,1))
// at oh*OW, plus bias[c]. Rows are written in memory order four blocks at a time, so a row's last group
// (OW not a multiple of 4) spills into the next row before that is written: dst needs 32 bytes of slack,
// src reads up to 12 bytes past a row.
function tiles2Fn(): number[] {
  const [SRC, DST, C, KH, OH, OW, LDC, PBIAS] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [CI, OHI, KHI, O, S, D, ROWD, ROWB] = [8, 9, 10, 11, 12, 13, 14, 15];
  const [BV, A, B] = [16, 17, 18];
  const group = [
    ...get(S), ...vload(0), ...set(A),
    ...get(S), ...get(LDC), ADD, ...vload(0), ...set(B),
    ...get(D), ...get(A), ...get(B), ...INTERLEAVE_LO, ...get(BV), ...FADD, ...vstore(0),
    ...get(D), ...get(A), ...get(B), ...INTERLEAVE_HI, ...get(BV), ...FADD, ...vstore(16),
    ...get(S), ...i32c(16), ADD, ...set(S),
    ...get(D), ...i32c(32), ADD, ...set(D),
  ];
  const row = [
    // s = src + (c*KH + kh)*2*ldc + oh*OW*4; d = the row's start
    ...get(SRC), ...get(CI), ...get(KH), MUL, ...get(KHI), ADD, ...i32c(2), MUL, ...get(LDC), MUL, ADD,
    ...get(OHI), ...get(OW), MUL, ...i32c(4), MUL, ADD, ...set(S),
    ...get(ROWD), ...set(D),
    ...loop(O, OW, 4, group),
    ...get(ROWD), ...get(ROWB), ADD, ...set(ROWD),
  ];
  return [
    2, 8, I32, 3, V128,
    ...get(DST), ...set(ROWD),
    ...get(OW), ...i32c(8), MUL, ...set(ROWB),
    ...loop(CI, C, 1, [
      ...get(PBIAS), ...get(CI), ...i32c(4), MUL, ADD, ...F32_LOAD, ...SPLAT, ...set(BV),
      ...loop(OHI, OH, 1, loop(KHI, KH, 1, row)),
    ]),
    0x0b,
  ];
}

type Tiles2 = (src: number, dst: number, C: number, KH: number, OH: number, OW: number, ldc: number, pbias: number) => void;

let enabled = true;

/** Turn the wasm permutation off or on (tests compare it with col2imTilesF32); returns the previous setting. */
export function setConvTransposeTilesSimd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** ConvTransposes (per image and group) the wasm permutation wrote: tests check the path they mean to cover ran. */
export const convTransposeTilesStats = { calls: 0 };

/** The permutation on the GEMM's memory, or undefined where it is off or the engine rejects it. */
export function tiles2Kernel(g: SimdGemm): Tiles2 | undefined {
  if (!enabled) return undefined;
  return onGemmMemory<{ tiles2: Tiles2 }>(g, 'convt:tiles2',
    () => assembleModule([{ name: 'tiles2', params: new Array<number>(8).fill(I32), results: [], body: tiles2Fn() }], 1))?.tiles2;
}

const align = (bytes: number) => (bytes + 63) & ~63;

/**
 * The copy-out of a ConvTranspose GEMM (C = col [C*KH*2, OH*OW] at byte `pc`, row stride `ldc` bytes, memory
 * from byte `free` unused): the permuted planes with the bias (of channels biasOff..) go to y from yOff.
 */
export function tiles2CopyOut(s: SimdGemm, fn: Tiles2, pc: number, ldc: number, free: number,
  C: number, KH: number, OH: number, OW: number, y: Float32Array, yOff: number, bias: ArrayLike<number> | undefined, biasOff: number): void {
  const n = C * KH * OH * 2 * OW;
  const pbias = align(free);
  const dst = align(pbias + C * 4);
  s.reserve(dst + n * 4 + 64);
  const f = s.f32;
  const b0 = pbias >> 2;
  if (bias) for (let c = 0; c < C; c++) f[b0 + c] = bias[biasOff + c]!;
  else f.fill(0, b0, b0 + C); // col + 0, as col2imTilesF32 (turns -0 into +0)
  fn(pc, dst, C, KH, OH, OW, ldc, pbias);
  y.set(f.subarray(dst >> 2, (dst >> 2) + n), yOff);
  convTransposeTilesStats.calls++;
}
