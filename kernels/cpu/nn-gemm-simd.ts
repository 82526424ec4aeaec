// The WebAssembly SIMD GEMM, assembled here from opcodes (no toolchain, no binary blob). Two functions:
//  - `pack` lays A out as MR-row panels ([panel][k][MR], rows past M zero), read through any strides;
//  - `mm` runs C[M,N] (=|+=) A[M,K] * B[K,N] over the packed A and a row-major B (row stride ldb), with an
//    MR x (4*NV) register tile of f32x4 accumulators, K blocked by KC so one B panel (KC x 4*NV floats)
//    stays in L1 while every A panel passes over it.
// B is read in place (no packing: its rows are contiguous runs of 4*NV floats) and C is written with a row
// stride padded to whole tiles, so N and M tails need no edge code: the columns/rows past N/M are scratch.
// The tile shape and KC were picked by measurement (docs/ARCHITECTURE.md, "CPU kernels").
// `f32x4.relaxed_madd` (a fused multiply-add) is used where the engine validates it, plain mul+add otherwise.

import { ADD, I32, MUL, V128, get, i32c, section, set, relaxedSimdAllowed, simd, simdAllowed, str, uleb } from './wasm-asm.js';
import { COPY2D_PARAMS, copy2dBody, IM2COL_PARAMS, im2colBody } from './nn-im2col-simd.js';

/** Rows of the register tile. */
export const MR = 4;
/** f32x4 vectors per tile row (tile width 4*NV columns). */
export const NV = 2;
/** K block: one B panel of KC x 4*NV floats stays in L1. */
export const KC = 256;

const SUB = 0x6b, LT_S = 0x48, EQZ = 0x45, NE = 0x47, OR = 0x72, SELECT = 0x1b, GT_S = 0x4a;
const memarg = (align: number, off: number) => [align, ...uleb(off)];
const v128load = (off: number) => [...simd(0x00), ...memarg(4, off)];
const v128store = (off: number) => [...simd(0x0b), ...memarg(4, off)];
const f32load = (off: number) => [0x2a, ...memarg(2, off)];
const f32store = (off: number) => [0x38, ...memarg(2, off)];
const i32load = (off: number) => [0x28, ...memarg(2, off)];
const f32zero = [0x43, 0, 0, 0, 0];
const v128zero = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const SPLAT = 0x13, LOAD32_SPLAT = 0x09, FADD = 0xe4, FMUL = 0xe6, RELAXED_MADD = 0x105;
/** `while (v < limit) { body; v += step }` with v starting at its current value. */
function whileLt(v: number, limit: number[], step: number[], body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...limit, LT_S, EQZ, 0x0d, 1,
    ...body,
    ...get(v), ...step, ADD, ...set(v),
    0x0c, 0, 0x0b, 0x0b,
  ];
}

function fnType(params: number): number[] {
  return [0x60, params, ...new Array<number>(params).fill(I32), 0];
}

/**
 * The body of `mm`, or with `indexed` of `mmi`: the same product with B's row k at pb + table[k] (bytes; the
 * table of K i32 at the `ldb` argument) + jp*bps. That reads a stride-1 convolution's columns straight out of
 * its (padded) input, a row per (channel, kernel offset): an implicit im2col.
 */
function mmBodyOf(relaxed: boolean, indexed: boolean): number[] {
  const rows = [...Array(MR).keys()];
  const vecs = [...Array(NV).keys()];
  // mm params: 0 pa, 1 pb, 2 pc, 3 mpan, 4 npan, 5 K, 6 ldb (bytes), 7 ldc (bytes), 8 acc (C is read when 1),
  //   9 bps (bytes from one B column panel to the next: 16*NV for row-major B, K*16*NV for packed panels),
  //   10 pbias (a per-row bias that C starts from instead of 0, mpan*MR floats; 0 for none)
  // locals: 11 jp, 12 k0, 13 kc, 14 ip, 15 k, 16 paT, 17 pbT, 18 pcT, 19 load, 20 rowC, 21 bBase (i32)
  //         22.. acc (MR*NV), then NV b vectors, then one splat (v128)
  const [PA, PB, PC, MP, NP, K, LDB, LDC, ACC, BPS, PBIAS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [JP, K0, KCL, IP, KI, PAT, PBT, PCT, LOAD, ROWC, BBASE] = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21];
  const V0 = 22;
  const accL = (r: number, h: number) => V0 + r * NV + h;
  const bL = (h: number) => V0 + MR * NV + h;
  const AV = V0 + MR * NV + NV;
  const rowAddr = (r: number) => (r === 0 ? get(PCT) : [...get(PCT), ...get(LDC), ...i32c(r), MUL, ADD]);
  const fma = (r: number, h: number) => relaxed
    ? [...get(AV), ...get(bL(h)), ...get(accL(r, h)), ...simd(RELAXED_MADD), ...set(accL(r, h))]
    : [...get(accL(r, h)), ...get(AV), ...get(bL(h)), ...simd(FMUL), ...simd(FADD), ...set(accL(r, h))];
  // Indexed: PBT walks the table and ROWC (free during the k loop) holds the row's address.
  const bRow = indexed ? [...get(BBASE), ...get(PBT), ...i32load(0), ADD, ...set(ROWC)] : [];
  const bAt = indexed ? get(ROWC) : get(PBT);
  const inner = [
    0x03, 0x40,
    ...bRow,
    ...vecs.flatMap((h) => [...bAt, ...v128load(16 * h), ...set(bL(h))]),
    // v128.load32_splat: one broadcast load (f32.load + splat costs a shuffle on the FP pipes as well)
    ...rows.flatMap((r) => [...get(PAT), ...simd(LOAD32_SPLAT), ...memarg(2, 4 * r), ...set(AV), ...vecs.flatMap((h) => fma(r, h))]),
    ...get(PAT), ...i32c(4 * MR), ADD, ...set(PAT),
    ...(indexed ? [...get(PBT), ...i32c(4), ADD, ...set(PBT)] : [...get(PBT), ...get(LDB), ADD, ...set(PBT)]),
    ...get(KI), ...i32c(1), SUB, ...set(KI), ...get(KI), 0x0d, 0,
    0x0b,
  ];
  const tile = [
    // pcT = pc + ip*MR*ldc + jp*NV*16
    ...get(PC), ...get(IP), ...i32c(MR), MUL, ...get(LDC), MUL, ADD, ...get(JP), ...i32c(NV * 16), MUL, ADD, ...set(PCT),
    ...get(LOAD), 0x04, 0x40,
    ...rows.flatMap((r) => [...rowAddr(r), ...set(ROWC), ...vecs.flatMap((h) => [...get(ROWC), ...v128load(16 * h), ...set(accL(r, h))])]),
    0x05,
    ...get(PBIAS), 0x04, 0x40,
    // rowC = pbias + ip*MR*4: the tile's first bias value
    ...get(PBIAS), ...get(IP), ...i32c(MR * 4), MUL, ADD, ...set(ROWC),
    ...rows.flatMap((r) => [...get(ROWC), ...f32load(4 * r), ...simd(SPLAT), ...set(AV), ...vecs.flatMap((h) => [...get(AV), ...set(accL(r, h))])]),
    0x05,
    ...rows.flatMap((r) => vecs.flatMap((h) => [...v128zero, ...set(accL(r, h))])),
    0x0b,
    0x0b,
    // paT = pa + (ip*K + k0)*MR*4; pbT = pb + k0*ldb + jp*bps (indexed: the table's entry k0)
    ...get(PA), ...get(IP), ...get(K), MUL, ...get(K0), ADD, ...i32c(MR * 4), MUL, ADD, ...set(PAT),
    ...(indexed ? [...get(LDB), ...get(K0), ...i32c(4), MUL, ADD, ...set(PBT), ...get(PB), ...get(JP), ...get(BPS), MUL, ADD, ...set(BBASE)] : [...get(PB), ...get(K0), ...get(LDB), MUL, ADD, ...get(JP), ...get(BPS), MUL, ADD, ...set(PBT)]),
    ...get(KCL), ...set(KI),
    ...inner,
    ...rows.flatMap((r) => [...rowAddr(r), ...set(ROWC), ...vecs.flatMap((h) => [...get(ROWC), ...get(accL(r, h)), ...v128store(16 * h)])]),
  ];
  const kblock = [
    // kc = min(KC, K - k0); C is read unless this is the first K block of a product that overwrites C
    ...i32c(KC), ...get(K), ...get(K0), SUB, ...get(K), ...get(K0), SUB, ...i32c(KC), GT_S, SELECT, ...set(KCL),
    ...get(ACC), ...get(K0), ...i32c(0), NE, OR, ...set(LOAD),
    ...i32c(0), ...set(IP),
    ...whileLt(IP, get(MP), i32c(1), tile),
  ];
  return [
    2, 11, I32, MR * NV + NV + 1, V128,
    ...i32c(0), ...set(JP),
    ...whileLt(JP, get(NP), i32c(1), [...i32c(0), ...set(K0), ...whileLt(K0, get(K), i32c(KC), kblock)]),
    0x0b,
  ];
}

function assemble(relaxed: boolean): Uint8Array<ArrayBuffer> {
  const rows = [...Array(MR).keys()];
  const vecs = [...Array(NV).keys()];
  const mmBody = mmBodyOf(relaxed, false);
  const mmiBody = mmBodyOf(relaxed, true);

  // pack params: 0 src, 1 dst, 2 M, 3 K, 4 rs (row stride, bytes), 5 cs (column stride, bytes), 6 mpan
  // locals: 7 ip, 8 k, 9 p (source of row r at k), 10 rowBase (i32)
  // dst[(ip*K + k)*MR + r] = i < M ? src[i*rs + k*cs] : 0 with i = ip*MR + r (row index clamped before the load).
  const [SRC, DST, PM, PK, RS, CS, PMP, PIP, PKI, PP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const packRow = (r: number) => [
    ...get(DST),
    // i = min(ip*MR + r, M - 1)
    ...get(PIP), ...i32c(MR), MUL, ...i32c(r), ADD, ...set(PP),
    ...get(PP), ...get(PM), ...i32c(1), SUB, ...get(PP), ...get(PM), LT_S, SELECT,
    ...get(RS), MUL, ...get(SRC), ADD, ...get(PKI), ...get(CS), MUL, ADD, ...f32load(0),
    ...f32zero, ...get(PIP), ...i32c(MR), MUL, ...i32c(r), ADD, ...get(PM), LT_S, SELECT,
    ...f32store(4 * r),
  ];
  const packBody = [
    1, 3, I32,
    ...i32c(0), ...set(PIP),
    ...whileLt(PIP, get(PMP), i32c(1), [
      ...i32c(0), ...set(PKI),
      ...whileLt(PKI, get(PK), i32c(1), [...rows.flatMap(packRow), ...get(DST), ...i32c(4 * MR), ADD, ...set(DST)]),
    ]),
    0x0b,
  ];
  // packB params: 0 src, 1 dst, 2 K, 3 ldb (bytes), 4 npan; locals: 5 jp, 6 k, 7 s (i32)
  // dst[jp][k][0..4*NV) = src row k, columns jp*4*NV.. (the last panel reads past N: scratch columns).
  const [BS, BD, BK, BLD, BNP, BJP, BKI, BSP] = [0, 1, 2, 3, 4, 5, 6, 7];
  const packBBody = [
    1, 3, I32,
    ...i32c(0), ...set(BJP),
    ...whileLt(BJP, get(BNP), i32c(1), [
      ...get(BS), ...get(BJP), ...i32c(NV * 16), MUL, ADD, ...set(BSP),
      ...i32c(0), ...set(BKI),
      ...whileLt(BKI, get(BK), i32c(1), [
        ...vecs.flatMap((h) => [...get(BD), ...get(BSP), ...v128load(16 * h), ...v128store(16 * h)]),
        ...get(BD), ...i32c(NV * 16), ADD, ...set(BD),
        ...get(BSP), ...get(BLD), ADD, ...set(BSP),
      ]),
    ]),
    0x0b,
  ];
  const icBody = im2colBody();
  const copyBody = copy2dBody();
  const code = [6, ...[mmBody, packBody, packBBody, icBody, mmiBody, copyBody].flatMap((b) => [...uleb(b.length), ...b])];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [5, ...fnType(11), ...fnType(7), ...fnType(5), ...fnType(IM2COL_PARAMS), ...fnType(COPY2D_PARAMS)]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [6, 0, 1, 2, 3, 0, 4]),
    ...section(7, [6, ...str('mm'), 0x00, 0, ...str('pack'), 0x00, 1, ...str('packB'), 0x00, 2, ...str('im2col'), 0x00, 3, ...str('mmi'), 0x00, 4, ...str('copy2d'), 0x00, 5]),
    ...section(10, code),
  ]);
}

export interface SimdGemm {
  /** Whether the fused multiply-add (relaxed SIMD) build is in use. */
  readonly relaxed: boolean;
  /** The module's memory (other kernel modules instantiated on it work on the GEMM's operands in place). */
  readonly memory: WebAssembly.Memory;
  /** A float32 view of all of wasm memory (re-read after `reserve`, which may grow it). */
  f32: Float32Array;
  /**
   * Make the scratch region [0, bytes) available; views taken before may be stale, and resident blocks
   * may move (read `Resident.addr` after the last reserve of an operation).
   */
  reserve(bytes: number): void;
  /**
   * Copy `bytes` at scratch address src into the resident region, where they stay for the life of this
   * instance (packed constant operands, so they are not copied in on every call); undefined when the
   * region is full (RESIDENT_LIMIT).
   */
  keep(src: number, bytes: number): Resident | undefined;
  /**
   * C (+)= packed A * B with byte addresses and byte row strides; mpan/npan count MR-row and 4*NV-column tiles;
   * bps is the byte step from one B column panel to the next (16*NV for row-major B, 16*NV*K for packed);
   * pbias (when not 0) holds mpan*MR row biases that C starts from when acc is false.
   */
  mm(pa: number, pb: number, pc: number, mpan: number, npan: number, K: number, ldb: number, ldc: number, acc: boolean, bps: number, pbias: number): void;
  /**
   * mm with B's row k at pb + table[k] + jp*bps (bytes), the table being K i32 at `ptab`: the columns of
   * a stride-1 convolution read in place from its padded input (no im2col).
   */
  mmi(pa: number, pb: number, pc: number, mpan: number, npan: number, K: number, ptab: number, ldc: number, acc: boolean, bps: number, pbias: number): void;
  /** For o < outer, i < inner: copy len bytes from src + o*srcOuter + i*srcInner to dst + o*dstOuter + i*dstInner (in order). */
  copy2d(src: number, dst: number, outer: number, inner: number, len: number, srcOuter: number, srcInner: number, dstOuter: number, dstInner: number): void;
  /** Copy npan column panels of a row-major B (row stride ldb bytes) to dst as [panel][k][4*NV]. */
  packB(src: number, dst: number, K: number, ldb: number, npan: number): void;
  /**
   * 2-D im2col of C planes at src (bytes) for output rows [oh0, oh1) into dst, row-major
   * [C*KH*KW, (oh1-oh0)*OW] (zeros in padding).
   */
  im2col(src: number, dst: number, C: number, IH: number, IW: number, oh0: number, oh1: number, OW: number,
    KH: number, KW: number, SH: number, SW: number, DH: number, DW: number, PH: number, PW: number): void;
  /** Pack M x K of A (element (i,k) at src + i*rs + k*cs bytes) into MR-row panels at dst. */
  pack(src: number, dst: number, M: number, K: number, rs: number, cs: number): void;
}

/** A block in the resident region; `addr` (bytes) follows it when the region moves. */
export interface Resident { addr: number }

/**
 * Most bytes the resident region holds (packed constant weights). Blocks are never freed (they are keyed
 * by weight arrays that live as long as their model), so this bounds what released models leave behind.
 */
let RESIDENT_LIMIT = 1 << 27;
/** Change the resident region's limit (tests use a small one to exercise the fallback); returns the previous one. */
export function setResidentLimit(bytes: number): number {
  const prev = RESIDENT_LIMIT;
  RESIDENT_LIMIT = bytes;
  return prev;
}

let cached: SimdGemm | null | undefined;

function build(relaxed: boolean): SimdGemm | undefined {
  const bin = assemble(relaxed);
  if (!WebAssembly.validate(bin)) return undefined;
  const mem = new WebAssembly.Memory({ initial: 16 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
  const mm = inst.exports.mm as (...a: number[]) => void;
  const mmi = inst.exports.mmi as (...a: number[]) => void;
  const pack = inst.exports.pack as (...a: number[]) => void;
  // Memory layout: scratch [0, limit), then the resident blocks [limit, end). Scratch growing past the
  // limit moves the resident blocks up (one copy) and updates their handles.
  let limit = mem.buffer.byteLength, end = limit;
  const blocks: Resident[] = [];
  const growTo = (bytes: number) => {
    const have = mem.buffer.byteLength;
    if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
    if (g.f32.buffer !== mem.buffer) g.f32 = new Float32Array(mem.buffer);
  };
  const g: SimdGemm = {
    relaxed,
    memory: mem,
    f32: new Float32Array(mem.buffer),
    reserve(bytes) {
      if (bytes <= limit) return;
      const next = Math.ceil(Math.max(bytes, limit * 1.25) / 65536) * 65536;
      growTo(next + (end - limit));
      if (end > limit) {
        g.f32.copyWithin(next >> 2, limit >> 2, end >> 2);
        for (const b of blocks) b.addr += next - limit;
      }
      end += next - limit;
      limit = next;
    },
    keep(src, bytes) {
      const size = (bytes + 63) & ~63;
      if (end - limit + size > RESIDENT_LIMIT) return undefined;
      growTo(end + size);
      g.f32.copyWithin(end >> 2, src >> 2, (src + bytes) >> 2);
      const b = { addr: end };
      blocks.push(b);
      end += size;
      return b;
    },
    mm: (pa, pb, pc, mp, np, K, ldb, ldc, acc, bps, pbias) => mm(pa, pb, pc, mp, np, K, ldb, ldc, acc ? 1 : 0, bps, pbias),
    mmi: (pa, pb, pc, mp, np, K, ptab, ldc, acc, bps, pbias) => mmi(pa, pb, pc, mp, np, K, ptab, ldc, acc ? 1 : 0, bps, pbias),
    copy2d: inst.exports.copy2d as SimdGemm['copy2d'],
    packB: inst.exports.packB as (src: number, dst: number, K: number, ldb: number, npan: number) => void,
    im2col: inst.exports.im2col as SimdGemm['im2col'],
    pack: (src, dst, M, K, rs, cs) => pack(src, dst, M, K, rs, cs, Math.ceil(M / MR)),
  };
  return g;
}

const gemmModuleBins = new Map<string, Uint8Array<ArrayBuffer> | null>();
const gemmModuleExports = new WeakMap<SimdGemm, Map<string, WebAssembly.Exports | null>>();

/**
 * The exports of a module that works on the GEMM's operands in place (Winograd transforms, epilogues, the
 * ConvTranspose permutation): assembled once per `key` and validated, instantiated once per GEMM on its
 * memory; undefined where the engine rejects it.
 */
export function onGemmMemory<E>(g: SimdGemm, key: string, assemble: () => Uint8Array<ArrayBuffer>): E | undefined {
  let byKey = gemmModuleExports.get(g);
  if (!byKey) gemmModuleExports.set(g, (byKey = new Map()));
  let e = byKey.get(key);
  if (e === undefined) {
    e = null;
    try {
      let bin = gemmModuleBins.get(key);
      if (bin === undefined) {
        const b = assemble();
        gemmModuleBins.set(key, (bin = WebAssembly.validate(b) ? b : null));
      }
      if (bin) e = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem: g.memory } }).exports;
    } catch {
      e = null;
    }
    byKey.set(key, e);
  }
  return (e ?? undefined) as E | undefined;
}

/** The SIMD GEMM (one per thread), or undefined where WebAssembly SIMD is unavailable or turned off. */
export function simdGemm(): SimdGemm | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = null;
  try {
    if (!simdAllowed()) return undefined;
    // Small modules (about 2 KB), so synchronous compilation is allowed on a browser main thread too.
    cached = (relaxedSimdAllowed() ? build(true) : undefined) ?? build(false) ?? null;
  } catch {
    cached = null;
  }
  return cached ?? undefined;
}

/** The plain-SIMD build (no relaxed fused multiply-add), for tests that compare both. */
export function plainSimdGemm(): SimdGemm | undefined {
  try {
    return build(false);
  } catch {
    return undefined;
  }
}
