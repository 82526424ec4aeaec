// A WebAssembly SIMD depthwise 2-D convolution for float32 planes with unit column stride (the MobileNet /
// PP-LCNet case), assembled from opcodes like the GEMM micro-kernel. Each plane is staged zero-padded in
// wasm memory, and eight adjacent outputs accumulate together in float32 over the kernel taps (the same
// float32 accumulation the SIMD GEMM does). Falls back (returns false) where it does not apply.
import { ADD, GE_S, I32, MUL, V128, forLoop, get, i32c, section, set, simd, str, tee, uleb } from './wasm-asm.js';

const load = [0xfd, ...uleb(0x00), 0, 0];
const load16 = [0xfd, ...uleb(0x00), 0, 16];
const store = [0xfd, ...uleb(0x0b), 0, 0];
const store16 = [0xfd, ...uleb(0x0b), 0, 16];
const f32load = [0x2a, 2, 0];
const SPLAT = 0x13, FADD = 0xe4, FMUL = 0xe6;

function assemble(): Uint8Array<ArrayBuffer> {
  // params: 0 xBase, 1 wBase, 2 oBase, 3 KH, 4 KW, 5 OH, 6 nvec, 7 shRow (bytes), 8 dhRow, 9 dwB, 10 oRow
  // locals: 11 oh, 12 v, 13 kh, 14 kw, 15 xr, 16 xk, 17 xq, 18 wp, 19 orow (i32); 20 acc, 21 acc2, 22 wv (v128)
  // Eight adjacent outputs per step (two accumulators sharing each weight splat); nvec is even.
  const [XB, WB, OB, KH, KW, OH, NV, SHR, DHR, DWB, OROW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [OHI, V, KHI, KWI, XR, XK, XQ, WP, OR] = [11, 12, 13, 14, 15, 16, 17, 18, 19];
  const ACC = 20, ACC2 = 21, WV = 22;
  const tap = [
    ...get(WP), ...f32load, ...simd(SPLAT), ...set(WV),
    ...get(ACC), ...get(WV), ...get(XQ), ...load, ...simd(FMUL), ...simd(FADD), ...set(ACC),
    ...get(ACC2), ...get(WV), ...get(XQ), ...load16, ...simd(FMUL), ...simd(FADD), ...set(ACC2),
    ...get(WP), ...i32c(4), ADD, ...set(WP),
    ...get(XQ), ...get(DWB), ADD, ...set(XQ),
  ];
  const vec = [
    0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0), ...set(ACC),
    0xfd, ...uleb(0x0c), ...new Array<number>(16).fill(0), ...set(ACC2),
    ...get(XR), ...get(V), ...i32c(16), MUL, ADD, ...set(XK),
    ...get(WB), ...set(WP),
    ...forLoop(KHI, KH, [
      ...get(XK), ...set(XQ),
      ...forLoop(KWI, KW, tap),
      ...get(XK), ...get(DHR), ADD, ...set(XK),
    ]),
    ...get(OR), ...get(V), ...i32c(16), MUL, ADD, ...get(ACC), ...store,
    ...get(OR), ...get(V), ...i32c(16), MUL, ADD, ...get(ACC2), ...store16,
    ...get(V), ...i32c(1), ADD, ...set(V), // two vectors per step (the loop adds the other 1)
  ];
  const row = [
    ...get(XB), ...get(OHI), ...get(SHR), MUL, ADD, ...set(XR),
    ...get(OB), ...get(OHI), ...get(OROW), MUL, ADD, ...set(OR),
    ...forLoop(V, NV, vec),
  ];
  void tee;
  const body = [2, 9, I32, 3, V128, ...forLoop(OHI, OH, row), 0x0b];
  // copy2d params: 0 src, 1 dst, 2 rows, 3 rowBytes, 4 srcStride, 5 dstStride; local 6 r: memory.copy per row
  // (staging image rows into the padded plane, compacting output rows) without a JS subarray per row.
  const copyBody = [
    1, 1, I32,
    ...forLoop(6, 2, [
      ...get(1), ...get(0), ...get(3), 0xfc, ...uleb(10), 0, 0,
      ...get(0), ...get(4), ADD, ...set(0),
      ...get(1), ...get(5), ADD, ...set(1),
    ]),
    0x0b,
  ];
  const code = [...uleb(2), ...uleb(body.length), ...body, ...uleb(copyBody.length), ...copyBody];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 11, ...new Array<number>(11).fill(I32), 0, 0x60, 6, ...new Array<number>(6).fill(I32), 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [2, 0, 1]),
    ...section(7, [2, ...str('dw'), 0x00, 0, ...str('copy2d'), 0x00, 1]),
    ...section(10, code),
  ]);
}

type DwFn = (xb: number, wb: number, ob: number, kh: number, kw: number, oh: number, nv: number, shr: number, dhr: number, dwb: number, orow: number) => void;
type Copy2dFn = (src: number, dst: number, rows: number, rowBytes: number, srcStride: number, dstStride: number) => void;
interface Inst { mem: WebAssembly.Memory; dw: DwFn; copy2d: Copy2dFn; f32: Float32Array }
let cached: Inst | null | undefined;
let enabled = true;

/** Turn the SIMD depthwise path off or on (tests cover both paths); returns the previous setting. */
export function setDepthwiseSimd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function instance(bytes: number): Inst | undefined {
  if (!enabled) return undefined;
  if (cached === undefined) {
    cached = null;
    try {
      if (typeof WebAssembly === 'undefined' || (typeof process !== 'undefined' && process.env?.TGRAPH_NO_SIMD === '1')) return undefined;
      const bin = assemble();
      if (!WebAssembly.validate(bin)) return undefined;
      const mem = new WebAssembly.Memory({ initial: 4 });
      const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
      cached = { mem, dw: inst.exports.dw as DwFn, copy2d: inst.exports.copy2d as Copy2dFn, f32: new Float32Array(mem.buffer) };
    } catch {
      cached = null;
    }
  }
  if (!cached) return undefined;
  if (cached.mem.buffer.byteLength < bytes) {
    cached.mem.grow(Math.ceil((bytes - cached.mem.buffer.byteLength) / 65536));
    cached.f32 = new Float32Array(cached.mem.buffer);
  }
  return cached;
}

/**
 * y[p] = depthwise conv of x[p] with w[p % C] (no bias) for every plane p, column stride 1; false (nothing
 * written) where the SIMD path does not apply.
 */
export function depthwise2dSimd(x: unknown, w: unknown, y: unknown, planes: number, IH: number, IW: number, OH: number, OW: number,
  KH: number, KW: number, SH: number, SW: number, DH: number, DW: number, PH: number, PW: number): boolean {
  if (SW !== 1 || !(x instanceof Float32Array) || !(w instanceof Float32Array) || !(y instanceof Float32Array)) return false;
  const C = w.length / (KH * KW);
  const OWV = (OW + 7) & ~7;
  // Padded plane: rows cover every tap of every output row; columns cover the last vector's taps.
  const PWD = Math.max(OWV + (KW - 1) * DW, PW + IW);
  const PHT = Math.max((OH - 1) * SH + (KH - 1) * DH + 1, PH + IH);
  const kSize = KH * KW;
  // Memory: all weights, all planes of x, one zero-padded plane, the outputs (rows of OWV), the outputs compacted.
  const wFloats = (C * kSize + 3) & ~3;
  const xAll = planes * IH * IW;
  const xFloats = PHT * PWD + 8;
  const oFloats = planes * OH * OWV;
  const compact = OWV !== OW;
  const s = instance((wFloats + xAll + xFloats + oFloats + (compact ? planes * OH * OW : 0) + 8) * 4);
  if (!s) return false;
  const f = s.f32;
  const wBase = 0, xsBase = wFloats, xBase = xsBase + ((xAll + 3) & ~3), oBase = xBase + xFloats, cBase = oBase + oFloats;
  // Rows of the image that land inside the padded plane (padding at the end may be cut off by the geometry).
  const rows = Math.min(IH, PHT - PH);
  const cols = Math.min(IW, PWD - PW);
  f.set(w.subarray(0, C * kSize), wBase);
  f.set(x.subarray(0, xAll), xsBase);
  f.fill(0, xBase, xBase + xFloats);
  for (let p = 0; p < planes; p++) {
    const c = p % C;
    s.copy2d((xsBase + p * IH * IW) * 4, (xBase + PH * PWD + PW) * 4, rows, cols * 4, IW * 4, PWD * 4);
    s.dw(xBase * 4, (wBase + c * kSize) * 4, (oBase + p * OH * OWV) * 4, KH, KW, OH, OWV >> 2, SH * PWD * 4, DH * PWD * 4, DW * 4, OWV * 4);
  }
  if (compact) {
    s.copy2d(oBase * 4, cBase * 4, planes * OH, OW * 4, OWV * 4, OW * 4);
    y.set(f.subarray(cBase, cBase + planes * OH * OW), 0);
  } else {
    y.set(f.subarray(oBase, oBase + planes * OH * OW), 0);
  }
  return true;
}
