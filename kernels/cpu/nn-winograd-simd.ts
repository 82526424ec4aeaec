// The transforms of Winograd F(2x2, 3x3) convolution, and of F(2, 3) along one axis for 3x1 and 1x3 kernels
// (nn-winograd.ts), as WebAssembly SIMD, instantiated on the SIMD GEMM's own memory (nn-gemm-simd.ts) so
// they read and write its operands in place:
//  - `input`: V = B^T d B of the 4x4 input tiles (stride 2) of zero-padded planes, four adjacent tiles per
//    f32x4 (their columns 2 apart: an even/odd deinterleave of two loads), into 16 matrices [C, T]
//    (3x1: B^T d of 4x1 tiles, four adjacent columns per f32x4; 1x3: d B of 1x4 tiles; 4 matrices);
//  - `output`: Y = A^T m A (+ bias) of the product matrices [Co, T], 2x2 (2x1, 1x2) outputs per tile,
//    written as whole output rows (two tiles' columns interleaved back along a 3-tap row) of a padded output.
// A group of four tiles past the end of a tile row reads into the next plane row (or the slack after the
// planes) and writes lanes that are rewritten (input) or dropped (output): callers size regions for that.
import { ADD, F32, I32, INTERLEAVE_HI, INTERLEAVE_LO, MUL, V128, assembleModule, f32lanes, get, i32c, set, shuffle, simd, stepLoop as loop, uleb, vload, vstore } from './wasm-asm.js';
import { onGemmMemory, type SimdGemm } from './nn-gemm-simd.js';

const FADD = simd(0xe4), FSUB = simd(0xe5);
const EVEN = shuffle(f32lanes(0, 2, 4, 6)), ODD = shuffle(f32lanes(1, 3, 5, 7));
const LO = INTERLEAVE_LO, HI = INTERLEAVE_HI; // [a0 b0 a1 b1], [a2 b2 a3 b3]

const op = (a: number, b: number, o: number[]) => [...get(a), ...get(b), ...o];
/** addr + xi * stride (bytes). */
const at = (addr: number, stride: number, xi: number) => (xi === 0 ? get(addr) : [...get(addr), ...get(stride), ...i32c(xi), MUL, ADD]);

/**
 * Which axes the 3-tap kernel spans: 3x3 (both), 3x1 (rows: tiles of 4 rows, one column), 1x3 (columns);
 * `m4`: F(4, 3) along the one 3-tap axis (tiles of 6 inputs at stride 4, 4 outputs, 6 matrices).
 */
export type WinogradKernel = '3x3' | '3x1' | '1x3' | '3x1m4' | '1x3m4';
const axes = (k: WinogradKernel) => ({ kh3: k !== '1x3', kw3: k !== '3x1' });

// input(src, dst, C, rows, TW, rowB, planeB, ldV, ms): for c < C, r < rows, tiles tw < TW (4 at a time), the
// tile at plane row r*sh, column tw*sw of plane c (sh, sw: 2 along a 3-tap axis, else 1) goes to column
// r*TW + tw of row c of the nx matrices (dst + xi*ms + c*ldV + 4(r*TW + tw)). Addresses and strides in bytes.
/**
 * The frame both input transforms share (their locals: 0 src, 2 C, 3 rows, 4 TW, 5 rowB, 6 planeB, 7 ldV,
 * 9 c, 10 r, 11 tw, 12 p, 13 q): per channel c and tile row r, p = src + c*planeB + r*sh*rowB (sh input rows
 * per tile row) and q = dst + c*ldV + 4*r*TW, then `group` over the row's tiles, four at a time.
 */
function inputLoops(sh: number, group: number[]): number[] {
  const [SRC, DST, C, ROWS, TW, ROWB, PLANEB, LDV] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [CI, R, TWI, P, Q] = [9, 10, 11, 12, 13];
  return [
    2, 6, I32, 24, V128,
    ...loop(CI, C, 1, loop(R, ROWS, 1, [
      ...get(SRC), ...get(CI), ...get(PLANEB), MUL, ADD, ...get(R), ...(sh > 1 ? [...i32c(sh), MUL] : []), ...get(ROWB), MUL, ADD, ...set(P),
      ...get(DST), ...get(CI), ...get(LDV), MUL, ADD, ...get(R), ...get(TW), MUL, ...i32c(4), MUL, ADD, ...set(Q),
      ...loop(TWI, TW, 4, group),
    ])),
    0x0b,
  ];
}

function inputFn(k: WinogradKernel): number[] {
  if (k === '3x1m4' || k === '1x3m4') return inputFn4(k === '3x1m4');
  const { kh3, kw3 } = axes(k);
  // locals: 5 rowB, 8 ms (bytes between V matrices), 12 p, 13 q, 14 a (the frame's: inputLoops)
  const [ROWB, MS, P, Q, A] = [5, 8, 12, 13, 14];
  const V0 = 15;
  const [L0, L1, L2, L3, D0, D1, D2, D3] = [V0, V0 + 1, V0 + 2, V0 + 3, V0 + 4, V0 + 5, V0 + 6, V0 + 7];
  const W = (i: number, j: number) => V0 + 8 + 4 * i + j;
  const nr = kh3 ? 4 : 1, nc = kw3 ? 4 : 1;
  // Row i of the tile: along a 3-tap row, d_k = columns k, k+2, k+4, k+6 of the plane row at A and t_i = d B;
  // else the tiles' one column each, four adjacent.
  const row = (i: number) => [
    ...(i === 0 ? [...get(P), ...set(A)] : [...get(A), ...get(ROWB), ADD, ...set(A)]),
    ...(kw3 ? [
      ...get(A), ...vload(0), ...set(L0), ...get(A), ...vload(16), ...set(L1),
      ...get(A), ...vload(8), ...set(L2), ...get(A), ...vload(24), ...set(L3),
      ...op(L0, L1, EVEN), ...set(D0), ...op(L0, L1, ODD), ...set(D1),
      ...op(L2, L3, EVEN), ...set(D2), ...op(L2, L3, ODD), ...set(D3),
      ...op(D0, D2, FSUB), ...set(W(i, 0)), ...op(D1, D2, FADD), ...set(W(i, 1)),
      ...op(D2, D1, FSUB), ...set(W(i, 2)), ...op(D1, D3, FSUB), ...set(W(i, 3)),
    ] : [...get(A), ...vload(0), ...set(W(i, 0))]),
  ];
  // V = B^T t along a 3-tap column: rows t0 - t2, t1 + t2, t2 - t1, t1 - t3; stored in matrix order
  // through a running address (A, free once the rows are loaded).
  const vOf = (a: number, j: number) => (!kh3 ? get(W(0, j))
    : a === 0 ? op(W(0, j), W(2, j), FSUB) : a === 1 ? op(W(1, j), W(2, j), FADD)
    : a === 2 ? op(W(2, j), W(1, j), FSUB) : op(W(1, j), W(3, j), FSUB));
  const cols = [...get(Q), ...set(A), ...[...Array(kh3 ? 4 : 1).keys()].flatMap((a) => [...Array(nc).keys()].flatMap((j) => [
    ...get(A), ...vOf(a, j), ...vstore(0), ...get(A), ...get(MS), ADD, ...set(A),
  ]))];
  const group = [...[...Array(nr).keys()].flatMap(row), ...cols,
    ...get(P), ...i32c(kw3 ? 32 : 16), ADD, ...set(P), ...get(Q), ...i32c(16), ADD, ...set(Q)];
  return inputLoops(kh3 ? 2 : 1, group);
}

// output(src, dst, Co, rows, TW, ldM, ms, pbias, ldY, planeY): for co < Co, r < rows, tiles tw < TW (4 at a
// time), Y = A^T m A + bias[co] (A^T only along 3-tap axes) of the tile at column r*TW + tw of row co of the
// nx matrices (src + xi*ms + co*ldM) goes to rows r*sh.. and columns tw*sw.. of output plane co
// (dst + co*planeY + r*sh*ldY + 4*tw*sw): whole rows of four tiles.
/**
 * The frame both output transforms share (their locals: 0 src, 1 dst, 2 Co, 3 rows, 4 TW, 5 ldM, 7 pbias,
 * 8 ldY, 9 planeY, 10 co, 11 r, 12 tw, 13 p, 14 q; `v128s` vector locals, `bv` the bias splat): per output
 * channel co (bias[co] splat) and tile row r, p = src + co*ldM + 4*r*TW and q = dst + co*planeY + r*sh*ldY
 * (sh output rows per tile row), then `group` over the row's tiles, four at a time.
 */
function outputLoops(sh: number, v128s: number, bv: number, group: number[]): number[] {
  const [SRC, DST, CO, ROWS, TW, LDM, PBIAS, LDY, PLANEY] = [0, 1, 2, 3, 4, 5, 7, 8, 9];
  const [CI, R, TWI, P, Q] = [10, 11, 12, 13, 14];
  return [
    2, 5, I32, v128s, V128,
    ...loop(CI, CO, 1, [
      ...get(PBIAS), ...get(CI), ...i32c(4), MUL, ADD, ...simd(0x09), 2, 0, ...set(bv),
      ...loop(R, ROWS, 1, [
        ...get(SRC), ...get(CI), ...get(LDM), MUL, ADD, ...get(R), ...get(TW), MUL, ...i32c(4), MUL, ADD, ...set(P),
        ...get(DST), ...get(CI), ...get(PLANEY), MUL, ADD, ...get(R), ...(sh > 1 ? [...i32c(sh), MUL] : []), ...get(LDY), MUL, ADD, ...set(Q),
        ...loop(TWI, TW, 4, group),
      ]),
    ]),
    0x0b,
  ];
}

function outputFn(k: WinogradKernel): number[] {
  if (k === '3x1m4' || k === '1x3m4') return outputFn4(k === '3x1m4');
  const { kh3, kw3 } = axes(k);
  // locals: 6 ms (bytes between M matrices), 8 ldY, 13 p, 14 q (the frame's: outputLoops)
  const [MS, LDY, P, Q] = [6, 8, 13, 14];
  const V0 = 15;
  const [BV, M0, M1, M2, M3] = [V0, V0 + 1, V0 + 2, V0 + 3, V0 + 4];
  const S = (a: number, j: number) => V0 + 5 + 4 * a + j;
  const [Y0, Y1] = [V0 + 13, V0 + 14];
  const nc = kw3 ? 4 : 1;
  const load = (a: number, j: number) => [...at(P, MS, nc * a + j), ...vload(0)];
  // S = A^T m along a 3-tap column: column j of rows m0 + m1 + m2 and m1 - m2 - m3.
  const col = (j: number) => (kh3 ? [
    ...load(0, j), ...set(M0), ...load(1, j), ...set(M1), ...load(2, j), ...set(M2), ...load(3, j), ...set(M3),
    ...op(M0, M1, FADD), ...get(M2), ...FADD, ...set(S(0, j)),
    ...op(M1, M2, FSUB), ...get(M3), ...FSUB, ...set(S(1, j)),
  ] : [...load(0, j), ...set(S(0, j))]);
  const rowAt = (a: number) => (a === 0 ? get(Q) : [...get(Q), ...get(LDY), ADD]);
  // Y = S A + bias along a 3-tap row: (Sa0 + Sa1 + Sa2, Sa1 - Sa2 - Sa3), interleaved into 8 output columns.
  const outRow = (a: number) => (kw3 ? [
    ...op(S(a, 0), S(a, 1), FADD), ...get(S(a, 2)), ...FADD, ...get(BV), ...FADD, ...set(Y0),
    ...op(S(a, 1), S(a, 2), FSUB), ...get(S(a, 3)), ...FSUB, ...get(BV), ...FADD, ...set(Y1),
    ...rowAt(a), ...op(Y0, Y1, LO), ...vstore(0),
    ...rowAt(a), ...op(Y0, Y1, HI), ...vstore(16),
  ] : [...rowAt(a), ...op(S(a, 0), BV, FADD), ...vstore(0)]);
  const group = [...[...Array(nc).keys()].flatMap(col), ...outRow(0), ...(kh3 ? outRow(1) : []),
    ...get(P), ...i32c(16), ADD, ...set(P), ...get(Q), ...i32c(kw3 ? 32 : 16), ADD, ...set(Q)];
  return outputLoops(kh3 ? 2 : 1, 15, BV, group);
}

const FMUL = simd(0xe6);
/** An f32x4 of four copies of v. */
const splat4 = (v: number) => [...simd(0x0c), ...[...new Uint8Array(Float32Array.of(v, v, v, v).buffer)]];
const PAIR_LO = shuffle(f32lanes(0, 1, 4, 5)), PAIR_HI = shuffle(f32lanes(2, 3, 6, 7));
/** Scale the vector on the stack by c. */
const times = (c: number) => [...splat4(c), ...FMUL];

// F(4, 3) along one axis, same signatures: 3x1 tiles are 6 rows at stride 4 (four adjacent columns per
// f32x4: plain loads), 1x3 tiles 6 columns at stride 4 (four tiles per f32x4 from a 4x4 transpose of four
// loads and one more), B^T d with B^T = [[4,0,-5,0,1,0],[0,-4,-4,1,1,0],[0,4,-4,-1,1,0],[0,-2,-1,2,1,0],
// [0,2,-1,-2,1,0],[0,4,0,-5,0,1]] into 6 matrices.
function inputFn4(rows: boolean): number[] {
  // locals: 5 rowB, 8 ms (bytes between V matrices), 12 p, 13 q, 14 a (the frame's: inputLoops)
  const [ROWB, MS, P, Q, A] = [5, 8, 12, 13, 14];
  const V0 = 15;
  const L = (i: number) => V0 + i; // 0..4
  const T = (i: number) => V0 + 5 + i; // 0..3
  const D = (i: number) => V0 + 9 + i; // 0..5
  const [TA, TB, TC, TE] = [V0 + 15, V0 + 16, V0 + 17, V0 + 18];
  const load = rows
    ? [0, 1, 2, 3, 4, 5].flatMap((i) => [...(i === 0 ? get(P) : [...get(A), ...get(ROWB), ADD]), ...(i < 5 ? [0x22, ...uleb(A)] : []), ...vload(0), ...set(D(i))])
    : [
      ...[0, 1, 2, 3, 4].flatMap((i) => [...get(P), ...vload(16 * i), ...set(L(i))]),
      ...op(L(0), L(1), LO), ...set(T(0)), ...op(L(2), L(3), LO), ...set(T(1)),
      ...op(T(0), T(1), PAIR_LO), ...set(D(0)), ...op(T(0), T(1), PAIR_HI), ...set(D(1)),
      ...op(L(0), L(1), HI), ...set(T(0)), ...op(L(2), L(3), HI), ...set(T(1)),
      ...op(T(0), T(1), PAIR_LO), ...set(D(2)), ...op(T(0), T(1), PAIR_HI), ...set(D(3)),
      ...op(L(1), L(2), LO), ...set(T(0)), ...op(L(3), L(4), LO), ...set(T(1)),
      ...op(T(0), T(1), PAIR_LO), ...set(D(4)), ...op(T(0), T(1), PAIR_HI), ...set(D(5)),
    ];
  const store = (i: number, v: number[]) => [...at(Q, MS, i), ...v, ...vstore(0)];
  const transform = [
    ...op(D(1), D(2), FADD), ...set(TA), ...op(D(1), D(2), FSUB), ...set(TB),
    ...op(D(4), D(2), FSUB), ...set(TC), ...op(D(3), D(1), FSUB), ...times(2), ...set(TE),
    // 4d0 - 5d2 + d4; d4 + d3 - 4(d1 + d2); d4 - d3 + 4(d1 - d2); (d4 - d2) +- 2(d3 - d1); 4d1 - 5d3 + d5
    ...store(0, [...get(D(0)), ...times(4), ...get(D(2)), ...times(5), ...FSUB, ...get(D(4)), ...FADD]),
    ...store(1, [...op(D(4), D(3), FADD), ...get(TA), ...times(4), ...FSUB]),
    ...store(2, [...op(D(4), D(3), FSUB), ...get(TB), ...times(4), ...FADD]),
    ...store(3, op(TC, TE, FADD)),
    ...store(4, op(TC, TE, FSUB)),
    ...store(5, [...get(D(1)), ...times(4), ...get(D(3)), ...times(5), ...FSUB, ...get(D(5)), ...FADD]),
  ];
  const group = [...load, ...transform,
    ...get(P), ...i32c(rows ? 16 : 64), ADD, ...set(P), ...get(Q), ...i32c(16), ADD, ...set(Q)];
  return inputLoops(rows ? 4 : 1, group);
}

// F(4, 3) output: Y = A^T m + bias, A^T = [[1,1,1,1,1,0],[0,1,-1,2,-2,0],[0,1,1,4,4,0],[0,1,-1,8,-8,1]]; 3x1:
// four output rows of four columns, 1x3: four tiles' outputs transposed back into 16 columns of one row.
function outputFn4(rows: boolean): number[] {
  // locals: 6 ms (bytes between M matrices), 8 ldY, 13 p, 14 q (the frame's: outputLoops)
  const [MS, LDY, P, Q] = [6, 8, 13, 14];
  const V0 = 15;
  const BV = V0;
  const Mv = (i: number) => V0 + 1 + i; // 0..5
  const [TP, TQ, TR, TS] = [V0 + 7, V0 + 8, V0 + 9, V0 + 10];
  const Y = (i: number) => V0 + 11 + i; // 0..3
  const [U0, U1] = [V0 + 15, V0 + 16];
  const loads = [0, 1, 2, 3, 4, 5].flatMap((i) => [...at(P, MS, i), ...vload(0), ...set(Mv(i))]);
  const transform = [
    ...op(Mv(1), Mv(2), FADD), ...set(TP), ...op(Mv(1), Mv(2), FSUB), ...set(TQ),
    ...op(Mv(3), Mv(4), FADD), ...set(TR), ...op(Mv(3), Mv(4), FSUB), ...set(TS),
    ...op(Mv(0), TP, FADD), ...get(TR), ...FADD, ...get(BV), ...FADD, ...set(Y(0)),
    ...get(TQ), ...get(TS), ...times(2), ...FADD, ...get(BV), ...FADD, ...set(Y(1)),
    ...get(TP), ...get(TR), ...times(4), ...FADD, ...get(BV), ...FADD, ...set(Y(2)),
    ...get(TQ), ...get(TS), ...times(8), ...FADD, ...get(Mv(5)), ...FADD, ...get(BV), ...FADD, ...set(Y(3)),
  ];
  const stores = rows
    ? [0, 1, 2, 3].flatMap((b) => [...get(Q), ...(b ? [...get(LDY), ...i32c(b), MUL, ADD] : []), ...get(Y(b)), ...vstore(0)])
    : [
      ...op(Y(0), Y(1), LO), ...set(U0), ...op(Y(2), Y(3), LO), ...set(U1),
      ...get(Q), ...op(U0, U1, PAIR_LO), ...vstore(0), ...get(Q), ...op(U0, U1, PAIR_HI), ...vstore(16),
      ...op(Y(0), Y(1), HI), ...set(U0), ...op(Y(2), Y(3), HI), ...set(U1),
      ...get(Q), ...op(U0, U1, PAIR_LO), ...vstore(32), ...get(Q), ...op(U0, U1, PAIR_HI), ...vstore(48),
    ];
  const group = [...loads, ...transform, ...stores,
    ...get(P), ...i32c(16), ADD, ...set(P), ...get(Q), ...i32c(rows ? 16 : 64), ADD, ...set(Q)];
  return outputLoops(rows ? 4 : 1, 17, BV, group);
}

// finite(src, n16): 0 where the 16*n16 floats at src are all finite, else NaN (x - x is NaN for Inf and
// NaN, and NaN survives the sums; four accumulators keep the adds independent). The driver falls back to
// the GEMM on non-finite inputs, whose Inf the transforms would turn into NaN (Inf - Inf) where the
// direct sums give Inf.
function finiteFn(): number[] {
  const [SRC, N16, I] = [0, 1, 2];
  const ACC = (j: number) => 3 + j;
  const lane = (l: number) => [...get(ACC(0)), ...simd(0x1f), l];
  return [
    2, 1, I32, 4, V128,
    ...loop(I, N16, 1, [
      ...[0, 1, 2, 3].flatMap((j) => [...get(ACC(j)), ...get(SRC), ...vload(16 * j), ...get(SRC), ...vload(16 * j), ...FSUB, ...FADD, ...set(ACC(j))]),
      ...get(SRC), ...i32c(64), ADD, ...set(SRC),
    ]),
    ...op(ACC(0), ACC(1), FADD), ...get(ACC(2)), ...FADD, ...get(ACC(3)), ...FADD, ...set(ACC(0)),
    ...lane(0), ...lane(1), 0x92, ...lane(2), 0x92, ...lane(3), 0x92,
    0x0b,
  ];
}

export interface WinogradTransforms {
  input(src: number, dst: number, C: number, rows: number, TW: number, rowB: number, planeB: number, ldV: number, ms: number): void;
  output(src: number, dst: number, Co: number, rows: number, TW: number, ldM: number, ms: number, pbias: number, ldY: number, planeY: number): void;
}

/** One form's transforms and the input check, on one GEMM's memory. */
export type WinogradFns = WinogradTransforms & { finite(src: number, n16: number): number };

// A module per form, assembled on first use (assembling all five took ~27 ms of first-run JS; a model
// needs one or two), instantiated once per GEMM.
/** The transforms of `kind` on the GEMM's memory, or undefined where the engine rejects them. */
export function winogradKernels(g: SimdGemm, kind: WinogradKernel): WinogradFns | undefined {
  return onGemmMemory<WinogradFns>(g, `winograd:${kind}`, () => assembleModule([
    { name: 'input', params: new Array<number>(9).fill(I32), results: [], body: inputFn(kind) },
    { name: 'output', params: new Array<number>(10).fill(I32), results: [], body: outputFn(kind) },
    { name: 'finite', params: [I32, I32], results: [F32], body: finiteFn() },
  ], 1));
}
