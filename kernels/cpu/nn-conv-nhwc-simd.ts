// A WebAssembly SIMD depthwise 2-D convolution over channels-last (NHWC) data, for tgraph.ConvNhwc
// (graph/passes/lower-layout.ts). The NCHW depthwise kernel (nn-depthwise-simd.ts) vectorizes along a
// row, so a map 3 or 6 wide computes partly padding; here each f32x4 holds four channels of one pixel,
// so the map's width does not matter. The image is staged zero-padded in wasm
// memory ([rows][cols][Cp], Cp = C rounded up to 8), weights as [KH][KW][Cp] and the bias as [Cp]; each
// output pixel accumulates two vectors (eight channels) at a time over the kernel taps, in float32.
import { ADD, I32, MUL, V128, forLoop, get, i32c, lazyKernels, section, set, simd, str, uleb } from './wasm-asm.js';

const memarg = (off: number) => [4, ...uleb(off)];
const load = (off: number) => [...simd(0x00), ...memarg(off)];
const store = (off: number) => [...simd(0x0b), ...memarg(off)];
const FADD = 0xe4, FMUL = 0xe6;

function assemble(): Uint8Array<ArrayBuffer> {
  // dw params: 0 xB, 1 wB, 2 bB, 3 oB, 4 KH, 5 KW, 6 OH, 7 OW, 8 npair (Cp/8), 9 shRow (SH * padded row
  //   bytes), 10 swCol (SW * Cp * 4), 11 dhRow (DH * padded row bytes), 12 dwCol (DW * Cp * 4), 13 colB (Cp * 4)
  // locals: 14 oh, 15 ow, 16 v, 17 kh, 18 kw, 19 xr, 20 xp, 21 xk, 22 xq, 23 wp, 24 op (i32); 25 acc, 26 acc2 (v128)
  const [XB, WB, BB, OB, KH, KW, OH, OW, NP, SHR, SWC, DHR, DWC, COLB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const [OHI, OWI, V, KHI, KWI, XR, XP, XK, XQ, WP, OP] = [14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24];
  const ACC = 25, ACC2 = 26;
  const mac = (acc: number, off: number) => [...get(acc), ...get(XQ), ...load(off), ...get(WP), ...load(off), ...simd(FMUL), ...simd(FADD), ...set(acc)];
  const tap = [
    ...mac(ACC, 0), ...mac(ACC2, 16),
    ...get(XQ), ...get(DWC), ADD, ...set(XQ),
    ...get(WP), ...get(COLB), ADD, ...set(WP),
  ];
  const pair = [
    // acc = bias[v*8 .. v*8+8]; xk = xp + v*32; wp = wB + v*32
    ...get(BB), ...get(V), ...i32c(32), MUL, ADD, ...set(WP),
    ...get(WP), ...load(0), ...set(ACC), ...get(WP), ...load(16), ...set(ACC2),
    ...get(XP), ...get(V), ...i32c(32), MUL, ADD, ...set(XK),
    ...get(WB), ...get(V), ...i32c(32), MUL, ADD, ...set(WP),
    ...forLoop(KHI, KH, [
      ...get(XK), ...set(XQ),
      ...forLoop(KWI, KW, tap),
      ...get(XK), ...get(DHR), ADD, ...set(XK),
    ]),
    ...get(OP), ...get(ACC), ...store(0), ...get(OP), ...get(ACC2), ...store(16),
    ...get(OP), ...i32c(32), ADD, ...set(OP),
  ];
  const pixel = [...get(XR), ...get(OWI), ...get(SWC), MUL, ADD, ...set(XP), ...forLoop(V, NP, pair)];
  const row = [...get(XB), ...get(OHI), ...get(SHR), MUL, ADD, ...set(XR), ...forLoop(OWI, OW, pixel)];
  const body = [2, 11, I32, 2, V128, ...get(OB), ...set(OP), ...forLoop(OHI, OH, row), 0x0b];
  const code = [...uleb(1), ...uleb(body.length), ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 14, ...new Array<number>(14).fill(I32), 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('dw'), 0x00, 0]),
    ...section(10, code),
  ]);
}

type DwFn = (xb: number, wb: number, bb: number, ob: number, kh: number, kw: number, oh: number, ow: number, np: number,
  shr: number, swc: number, dhr: number, dwc: number, colb: number) => void;
const lazy = lazyKernels<{ dw: DwFn }>(assemble, 4);

/** Turn the SIMD channels-last depthwise path off or on (tests cover both paths); returns the previous setting. */
export const setDepthwiseNhwcSimd = lazy.setEnabled;

/** The module with at least `bytes` of memory, or undefined where the SIMD path is off or unavailable. */
function instance(bytes: number): { dw: DwFn; f32: Float32Array } | undefined {
  const k = lazy.get();
  if (!k) return undefined;
  k.reserve(bytes);
  return { dw: k.fns.dw, f32: k.f32 };
}

export interface DepthwiseNhwc {
  readonly IH: number; readonly IW: number; readonly OH: number; readonly OW: number; readonly C: number;
  readonly KH: number; readonly KW: number; readonly SH: number; readonly SW: number;
  readonly DH: number; readonly DW: number; readonly PH: number; readonly PW: number;
}

/**
 * y[OH, OW, C] = depthwise conv of x[IH, IW, C] (offsets xOff, yOff) with w[KH, KW, C] plus bias[C];
 * false (nothing written) where the SIMD path is off.
 */
export function depthwiseNhwcSimd(x: Float32Array, xOff: number, w: Float32Array, bias: Float32Array | undefined, y: Float32Array, yOff: number, g: DepthwiseNhwc): boolean {
  const { IH, IW, OH, OW, C, KH, KW, SH, SW, DH, DW, PH, PW } = g;
  const Cp = (C + 7) & ~7;
  // Padded image: rows and columns cover every tap of every output.
  const PWD = Math.max((OW - 1) * SW + (KW - 1) * DW + 1, PW + IW);
  const PHT = Math.max((OH - 1) * SH + (KH - 1) * DH + 1, PH + IH);
  const wFloats = KH * KW * Cp, xFloats = PHT * PWD * Cp, oFloats = OH * OW * Cp;
  const s = instance((wFloats + Cp + xFloats + oFloats) * 4);
  if (!s) return false;
  const f = s.f32;
  const wBase = 0, bBase = wFloats, xBase = bBase + Cp, oBase = xBase + xFloats;
  if (Cp === C) f.set(w.subarray(0, wFloats), wBase);
  else {
    f.fill(0, wBase, wBase + wFloats);
    for (let t = 0; t < KH * KW; t++) f.set(w.subarray(t * C, t * C + C), wBase + t * Cp);
  }
  f.fill(0, bBase, bBase + Cp);
  if (bias) f.set(bias.subarray(0, C), bBase);
  f.fill(0, xBase, xBase + xFloats);
  const rows = Math.min(IH, PHT - PH), cols = Math.min(IW, PWD - PW);
  if (Cp === C && cols === IW) {
    for (let r = 0; r < rows; r++) f.set(x.subarray(xOff + r * IW * C, xOff + (r * IW + cols) * C), xBase + ((PH + r) * PWD + PW) * Cp);
  } else {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) f.set(x.subarray(xOff + (r * IW + c) * C, xOff + (r * IW + c + 1) * C), xBase + ((PH + r) * PWD + PW + c) * Cp);
    }
  }
  const rowB = PWD * Cp * 4, colB = Cp * 4;
  s.dw(xBase * 4, wBase * 4, bBase * 4, oBase * 4, KH, KW, OH, OW, Cp >> 3, SH * rowB, SW * colB, DH * rowB, DW * colB, colB);
  if (Cp === C) y.set(f.subarray(oBase, oBase + oFloats), yOff);
  else for (let p = 0; p < OH * OW; p++) y.set(f.subarray(oBase + p * Cp, oBase + p * Cp + C), yOff + p * C);
  return true;
}
