// WebAssembly SIMD for float32 MaxPool/AveragePool over 1-2 spatial dims: four adjacent outputs of a row
// per f32x4, for windows fully inside the input along W and with W stride 1 or 2 (stride 2 loads eight
// floats and keeps the even lanes). The border columns, and geometries it does not take, stay with the
// JS loops in nn-pool.ts (the reference, `setPoolSimd(false)`).
// Bit for bit the JS loops: the max starts from the first tap and folds the others in the same order with
// f32x4.pmax (`m < v ? v : m`, i.e. `if (v > m) m = v`: NaN taps after the first are skipped, -0/+0 keep
// the earlier); the average sums the taps in float64 in the same order (f64x2 lanes) and divides in
// float64, rounding once, as `sum / n` stored to a Float32Array does.
import { ADD, DEMOTE, D_ADD, D_SPLAT, F64, I32, LT_U, MUL, PMAX, PROMOTE_LO, V128, assembleModule, f32lanes, get, i32c, lazyKernels, set, shuffle, simd, tee, vload, vstore } from './wasm-asm.js';

const D_DIV = simd(0xf3);
const v128zero = [...simd(0x0c), ...new Array<number>(16).fill(0)];

/** `do { body; v += step } while (v < end)`. */
const doWhile = (v: number, step: number[], end: number[], body: number[]) => [
  0x03, 0x40, ...body, ...get(v), ...step, ADD, ...tee(v), ...end, LT_U, 0x0d, 0, 0x0b,
];

// pool(src, dst, groups, rowStep, kh, kw, colStep, div, nrows, srcRows, dstRows): for each of nrows output
// rows (the i-th from src + i·srcRows to dst + i·dstRows, bytes), for g < groups, the 4 outputs at
// dst + 16g from the kh x kw taps at src + 16·sw·g + r·rowStep + c·colStep. Rows of one window height
// and divisor go in one call (a call per output row cost ~0.1 us each: most of a small MaxPool).
// Locals: 11 end, 12 r, 13 rowEnd, 14 tap, 15 colEnd, 16 src0, 17 dst0, 18 row index (i32);
// 19 ACC, 20 LO, 21 HI, 22 V, 23 DIV (v128).
function poolFn(kind: 'max' | 'avg', sw: 1 | 2): number[] {
  const [SRC, DST, GROUPS, ROWSTEP, KH, KW, COLSTEP, DIVP, NROWS, SROWS, DROWS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [END, ROW, ROWEND, TAP, COLEND, SRC0, DST0, RI] = [11, 12, 13, 14, 15, 16, 17, 18];
  const [ACC, LO, HI, V, DIV] = [19, 20, 21, 22, 23];
  const tapAt = (p: number) => sw === 1 ? [...get(p), ...vload()] : [...get(p), ...vload(), ...get(p), ...vload(16), ...shuffle(f32lanes(0, 2, 4, 6))];
  const fold = kind === 'max'
    ? [...get(ACC), ...tapAt(TAP), ...PMAX, ...set(ACC)]
    : [
      ...tapAt(TAP), ...set(V),
      ...get(LO), ...get(V), ...PROMOTE_LO, ...D_ADD, ...set(LO),
      ...get(HI), ...get(V), ...get(V), ...shuffle(f32lanes(2, 3, 2, 3)), ...PROMOTE_LO, ...D_ADD, ...set(HI),
    ];
  const init = kind === 'max' ? [...tapAt(SRC), ...set(ACC)] : [...v128zero, ...set(LO), ...v128zero, ...set(HI)];
  const result = kind === 'max'
    ? [...get(ACC)]
    : [...get(LO), ...get(DIV), ...D_DIV, ...DEMOTE, ...get(HI), ...get(DIV), ...D_DIV, ...DEMOTE, ...shuffle(f32lanes(0, 1, 4, 5))];
  const row = [
    ...get(DST), ...get(GROUPS), ...i32c(16), MUL, ADD, ...set(END),
    ...doWhile(DST, i32c(16), get(END), [
      ...init,
      // rows: ROW walks src + r·rowStep up to src + kh·rowStep
      ...get(SRC), ...set(ROW),
      ...get(SRC), ...get(KH), ...get(ROWSTEP), MUL, ADD, ...set(ROWEND),
      ...doWhile(ROW, get(ROWSTEP), get(ROWEND), [
        ...get(ROW), ...set(TAP),
        ...get(ROW), ...get(KW), ...get(COLSTEP), MUL, ADD, ...set(COLEND),
        ...doWhile(TAP, get(COLSTEP), get(COLEND), fold),
      ]),
      ...get(DST), ...result, ...vstore(),
      ...get(SRC), ...i32c(16 * sw), ADD, ...set(SRC),
    ]),
  ];
  return [
    2, 8, I32, 5, V128,
    ...get(DIVP), ...D_SPLAT, ...set(DIV),
    ...get(GROUPS), ...i32c(0), 0x4b /* i32.gt_u */, ...get(NROWS), ...i32c(0), 0x4b, 0x71 /* i32.and */, 0x04, 0x40,
    ...get(SRC), ...set(SRC0), ...get(DST), ...set(DST0), ...i32c(0), ...set(RI),
    ...doWhile(RI, i32c(1), get(NROWS), [
      ...get(SRC0), ...set(SRC), ...get(DST0), ...set(DST),
      ...row,
      ...get(SRC0), ...get(SROWS), ADD, ...set(SRC0),
      ...get(DST0), ...get(DROWS), ADD, ...set(DST0),
    ]),
    0x0b,
    0x0b,
  ];
}

type PoolFn = (src: number, dst: number, groups: number, rowStep: number, kh: number, kw: number, colStep: number, div: number, nrows: number, srcRows: number, dstRows: number) => void;
interface Fns { max1: PoolFn; max2: PoolFn; avg1: PoolFn; avg2: PoolFn }

function assemble(): Uint8Array<ArrayBuffer> {
  const params = [I32, I32, I32, I32, I32, I32, I32, F64, I32, I32, I32];
  return assembleModule((['max', 'avg'] as const).flatMap((kind) => ([1, 2] as const).map((sw) => ({ name: `${kind}${sw}`, params, results: [], body: poolFn(kind, sw) }))), 1);
}

const lazy = lazyKernels<Fns>(assemble, 1);
const kernels = lazy.get;

/** Turn the SIMD pooling path off or on (tests compare both); returns the previous setting. */
export const setPoolSimd = lazy.setEnabled;

/** One pooled dim as nn-pool.ts plans it: per output index, the input index of tap 0 and the in-input taps [kLo, kHi). */
export interface PoolDim {
  inLen: number;
  outLen: number;
  /** Input index of tap 0 for each output index. */
  base: Int32Array;
  kLo: Int32Array;
  kHi: Int32Array;
  /** Taps inside the explicitly padded input (count_include_pad divisor). */
  padCount: Int32Array;
  dil: number;
  /** Kernel size and stride. */
  k: number;
  s: number;
}

const MAX_STAGE_BYTES = 256 << 20;

/**
 * 2-D (or 1-D with H of size 1) float32 MaxPool/AveragePool of `planes` planes from x into y; false (y
 * untouched) where the SIMD path does not apply.
 */
export function simdPool2d(kind: 'max' | 'avg', x: Float32Array, y: Float32Array, planes: number, H: PoolDim, W: PoolDim, includePad: boolean): boolean {
  const sw = W.s;
  if (sw !== 1 && sw !== 2) return false;
  const ow1 = W.outLen, oh1 = H.outLen, wi = W.inLen, inPlane = H.inLen * wi, outPlane = oh1 * ow1;
  // Columns whose window lies inside the input: a contiguous range.
  let c0 = 0;
  while (c0 < ow1 && !(W.kLo[c0] === 0 && W.kHi[c0] === W.k)) c0++;
  let c1 = c0;
  while (c1 < ow1 && W.kLo[c1] === 0 && W.kHi[c1] === W.k) c1++;
  const groups = (c1 - c0) >> 2;
  if (groups === 0) return false;
  const k = kernels();
  if (!k) return false;
  // x at 0 (with slack for the stride-2 loads past a row's last tap), y after it.
  const yBase = ((x.length * 4 + 32 + 15) & ~15);
  const bytes = yBase + y.length * 4;
  if (bytes > MAX_STAGE_BYTES) return false;
  k.reserve(bytes);
  const m = k.f32;
  m.set(x);
  const fn = kind === 'max' ? (sw === 1 ? k.fns.max1 : k.fns.max2) : (sw === 1 ? k.fns.avg1 : k.fns.avg2);
  const cEnd = c0 + 4 * groups, dh = H.dil, dw = W.dil, kw = W.k, yo = yBase >> 2;
  const wBase = W.base, wLo = W.kLo, wHi = W.kHi;
  // Runs of output rows with the same taps in (h0, h1), divisor and a stride-apart first tap: one call each.
  const runEnd = new Int32Array(oh1);
  for (let oh = oh1 - 1; oh >= 0; oh--) {
    const next = oh + 1;
    const same = next < oh1 && H.kLo[next] === H.kLo[oh] && H.kHi[next] === H.kHi[oh] && H.base[next]! - H.base[oh]! === H.s &&
      (!includePad || H.padCount[next] === H.padCount[oh]);
    runEnd[oh] = same ? runEnd[next]! : next;
  }
  const div0 = includePad ? W.padCount[c0]! : kw;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * inPlane;
    for (let oh = 0; oh < oh1; oh = runEnd[oh]!) {
      const hb = H.base[oh]!, h0 = H.kLo[oh]!, h1 = H.kHi[oh]!;
      const rowDiv = includePad ? H.padCount[oh]! : h1 - h0;
      if (h1 > h0) {
        fn((xo + (hb + h0 * dh) * wi + wBase[c0]!) * 4, (yo + pl * outPlane + oh * ow1 + c0) * 4, groups, dh * wi * 4, h1 - h0, kw, dw * 4, rowDiv * div0,
          runEnd[oh]! - oh, H.s * wi * 4, ow1 * 4);
      }
    }
    for (let oh = 0; oh < oh1; oh++) {
      const hb = H.base[oh]!, h0 = H.kLo[oh]!, h1 = H.kHi[oh]!;
      const o = yo + pl * outPlane + oh * ow1;
      if (ow1 === cEnd - c0 && h1 > h0) continue; // every column went to the SIMD call
      // The other columns (and every column of a row with no tap inside): the JS loops' arithmetic.
      for (let ow = 0; ow < ow1; ow++) {
        if (ow === c0 && h1 > h0) ow = cEnd;
        if (ow >= ow1) break;
        const wb = wBase[ow]!, w0 = wLo[ow]!, w1 = wHi[ow]!;
        if (kind === 'max') {
          let best = -Infinity, first = true;
          for (let kh = h0; kh < h1; kh++) {
            const row = xo + (hb + kh * dh) * wi + wb;
            for (let q = w0; q < w1; q++) {
              const v = m[row + q * dw]!;
              if (v > best || first) { best = v; first = false; }
            }
          }
          m[o + ow] = best;
        } else {
          let sum = 0;
          for (let kh = h0; kh < h1; kh++) {
            const row = xo + (hb + kh * dh) * wi + wb;
            for (let q = w0; q < w1; q++) sum += m[row + q * dw]!;
          }
          const n = includePad ? H.padCount[oh]! * W.padCount[ow]! : (h1 - h0) * (w1 - w0);
          m[o + ow] = n > 0 ? sum / n : NaN;
        }
      }
    }
  }
  y.set(m.subarray(yo, yo + y.length));
  return true;
}
