// A WebAssembly SIMD micro-kernel for the blocked GEMM, assembled here from opcodes (no toolchain, no
// binary blob). It multiplies one packed A block (4-row panels) by one B block staged row-major (row
// stride ldc, the same as the C block's, so staging is a row copy) into a C block held in wasm memory;
// each 4x8 tile keeps two f32x4 accumulators per row.
// Falls back (returns undefined) where WebAssembly SIMD is not available.

import { ADD, GE_S, I32, MUL, SHL, V128, forLoop, get, i32c, section, set, str, uleb } from './wasm-asm.js';

export interface SimdGemm {
  /** Float32 views over wasm memory: packed A, the staged B block and the C block. */
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
  /** C[mpan*4, npan*8] (row stride ldc floats) += A panels (4 rows) * B[kc, npan*8] (row stride ldc floats). */
  run(mpan: number, npan: number, kc: number, ldc: number): void;
}

// Opcodes this kernel adds to the shared ones.
const v128load = (off: number) => [0xfd, ...uleb(0x00), 4, ...uleb(off)];
const v128store = (off: number) => [0xfd, ...uleb(0x0b), 4, ...uleb(off)];
const f32load = (off: number) => [0x2a, 2, ...uleb(off)];
const splat = [0xfd, ...uleb(0x13)];
const fadd = [0xfd, ...uleb(0xe4)];
const fmul = [0xfd, ...uleb(0xe6)];

function assemble(aBase: number, bBase: number, cBase: number): Uint8Array<ArrayBuffer> {
  // A 4x8 tile: two f32x4 accumulators per row (columns 0-3 and 4-7), B panels 8 columns wide.
  // params: 0 mpan, 1 npan, 2 kc, 3 ldc(bytes); locals: 4 jp, 5 ip, 6 k, 7 pa, 8 pb, 9 pc,
  // 10..17 acc (v128, row-major: row r half h at 10 + 2r + h), 18 b0, 19 b1, 20 splat (v128)
  const [MP, NP, KC, LDC, JP, IP, K, PA, PB, PC] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const acc = (r: number, h: number) => 10 + 2 * r + h;
  const B0 = 18, B1 = 19, AV = 20;
  const rows = [0, 1, 2, 3];
  const rowAddr = (r: number) => [...get(PC), ...get(LDC), ...i32c(r), MUL, ADD];
  const inner = [
    ...get(PB), ...v128load(0), ...set(B0),
    ...get(PB), ...v128load(16), ...set(B1),
    ...rows.flatMap((r) => [
      ...get(PA), ...f32load(4 * r), ...splat, ...set(AV),
      ...get(acc(r, 0)), ...get(AV), ...get(B0), ...fmul, ...fadd, ...set(acc(r, 0)),
      ...get(acc(r, 1)), ...get(AV), ...get(B1), ...fmul, ...fadd, ...set(acc(r, 1)),
    ]),
    ...get(PA), ...i32c(16), ADD, ...set(PA),
    ...get(PB), ...get(LDC), ADD, ...set(PB),
  ];
  const tile = [
    // pc = cBase + ip*4*ldc + jp*32
    ...i32c(cBase), ...get(IP), ...i32c(2), SHL, ...get(LDC), MUL, ADD, ...get(JP), ...i32c(5), SHL, ADD, ...set(PC),
    ...rows.flatMap((r) => [...rowAddr(r), ...v128load(0), ...set(acc(r, 0)), ...rowAddr(r), ...v128load(16), ...set(acc(r, 1))]),
    // pa = aBase + ip*kc*16; pb = bBase + jp*32 (B is staged row-major with the C block's row stride)
    ...i32c(aBase), ...get(IP), ...get(KC), MUL, ...i32c(4), SHL, ADD, ...set(PA),
    ...i32c(bBase), ...get(JP), ...i32c(5), SHL, ADD, ...set(PB),
    ...forLoop(K, KC, inner),
    ...rows.flatMap((r) => [...rowAddr(r), ...get(acc(r, 0)), ...v128store(0), ...rowAddr(r), ...get(acc(r, 1)), ...v128store(16)]),
  ];
  const body = [
    2, 6, I32, 11, V128, // local decls: 6 x i32 (4..9), then 11 x v128 (10..20)
    ...forLoop(JP, NP, forLoop(IP, MP, tile)),
    0x0b,
  ];
  const code = [...uleb(1), ...uleb(body.length), ...body];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('mm'), 0x00, 0]),
    ...section(10, code),
  ]);
}

let cached: SimdGemm | null | undefined;

/** The SIMD kernel sized for blocks of at most maxA, maxB and maxC floats; undefined when unavailable. */
export function simdGemm(maxA: number, maxB: number, maxC: number): SimdGemm | undefined {
  // Built once, and again only for larger blocks than the cached instance holds.
  if (cached === null) return undefined;
  if (cached && cached.a.length >= maxA && cached.b.length >= maxB && cached.c.length >= maxC) return cached;
  cached = null;
  try {
    if (typeof WebAssembly === 'undefined' || (typeof process !== 'undefined' && process.env?.TGRAPH_NO_SIMD === '1')) return undefined;
    const bytesA = maxA * 4, bytesB = maxB * 4, bytesC = maxC * 4;
    const aBase = 0, bBase = bytesA, cBase = bytesA + bytesB;
    const pages = Math.ceil((cBase + bytesC) / 65536) + 1;
    // Under a kilobyte, so synchronous compilation is allowed on a browser main thread too (limit 4 KB).
    const bin = assemble(aBase, bBase, cBase);
    if (!WebAssembly.validate(bin)) return undefined;
    const mem = new WebAssembly.Memory({ initial: pages });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
    const mm = inst.exports.mm as (mp: number, np: number, kc: number, ldc: number) => void;
    cached = {
      a: new Float32Array(mem.buffer, aBase, maxA),
      b: new Float32Array(mem.buffer, bBase, maxB),
      c: new Float32Array(mem.buffer, cBase, maxC),
      run: (mp, np, kc, ldc) => mm(mp, np, kc, ldc * 4),
    };
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}
