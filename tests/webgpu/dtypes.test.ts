// Dtypes stored unlike their host form, against the CPU kernels: int64/uint64 (exact vec2<u32>
// emulation, values across the whole 64-bit range), int8/int16/uint8/uint16 (widened, wrapped after
// each kernel), float16 without shader-f16 (f32 rounded to half after each kernel), float64 moved
// as bits; and ArgMax/ArgMin/TopK, whose indices are int64 made on the GPU.
import { describe, expect } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import { numberToF16Bits } from '../../graph/dtype.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { gpuIt, int, intsAttr, model, type NodeSpec, rand, runCpu, runGpu, str } from './helpers.js';

const MIN = -(2n ** 63n);
const MAX = 2n ** 63n - 1n;
const EDGE64 = [0n, 1n, -1n, 2n, -2n, MIN, MAX, MIN + 1n, 2n ** 31n, -(2n ** 31n), 2n ** 31n - 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n + 1n, -(2n ** 53n) - 3n, 123456789012345n, -987654321n, 7n, -7n];

function rand64(): bigint {
  const words = BigInt(Math.floor(rand() * 2 ** 32)) << 32n | BigInt(Math.floor(rand() * 2 ** 32));
  const magnitude = Math.floor(rand() * 4);
  // A mix of full-range, 40-bit, 20-bit and small values, so carries, borrows and both words are exercised.
  const v = magnitude === 0 ? words : magnitude === 1 ? words >> 24n : magnitude === 2 ? words >> 44n : words >> 60n;
  return BigInt.asIntN(64, rand() < 0.5 ? -v : v);
}

function i64(n: number, opts: { nonzero?: boolean; edges?: boolean } = {}): HostTensor {
  const data = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    let v = opts.edges && i < EDGE64.length ? EDGE64[i]! : rand64();
    if (opts.nonzero && v === 0n) v = 3n;
    data[i] = v;
  }
  return { kind: 'tensor', dtype: 'int64', dims: [n], data };
}

function u64(n: number, opts: { nonzero?: boolean; small?: boolean } = {}): HostTensor {
  const data = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    let v = BigInt.asUintN(64, rand64());
    if (opts.small) v %= 80n;
    if (opts.nonzero && v === 0n) v = 5n;
    data[i] = v;
  }
  return { kind: 'tensor', dtype: 'uint64', dims: [n], data };
}

function typed(dtype: DType, dims: number[], gen: (i: number) => number): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => gen(i));
  const C = { int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array } as Record<string, { from(a: number[]): HostTensor['data'] }>;
  if (dtype === 'float16') return { kind: 'tensor', dtype, dims, data: Uint16Array.from(vals.map(numberToF16Bits)) };
  if (dtype === 'bool') return { kind: 'tensor', dtype, dims, data: Uint8Array.from(vals.map((v) => (v ? 1 : 0))) };
  return { kind: 'tensor', dtype, dims, data: C[dtype]!.from(vals) } as HostTensor;
}

/** Floats that exercise conversions: fractions, halves, NaN, infinities, huge and tiny values. */
const SPECIAL = [0, -0, 0.5, -0.5, 1.5, -2.5, 2.7, -2.7, 127.9, 128, 255.5, 256, -129, 32767.5, 65536.5, 2 ** 31, -(2 ** 31), 2 ** 31 + 2 ** 8, 2 ** 32, 2 ** 40 + 2 ** 20, -(2 ** 50), 2 ** 62, 2 ** 63, -(2 ** 63), 2 ** 64, 1e30, -1e30, NaN, Infinity, -Infinity, 6e-5, 1e-7, 65504, 65520, 3e38];
const f32s = (n: number) => typed('float32', [n], (i) => (i < SPECIAL.length ? SPECIAL[i]! : (rand() - 0.5) * 2 ** (rand() * 70)));

interface Case {
  name: string;
  nodes: NodeSpec[];
  feeds: Record<string, HostTensor>;
  consts?: Record<string, HostTensor>;
  opset?: number;
  /** Relative tolerance for float outputs (default exact). */
  rtol?: number;
  /** Nodes that must not run on the GPU, with the reason's text. */
  cpu?: Record<string, RegExp>;
}

const cases: Case[] = [];
const N = 64;

// int64 and uint64 arithmetic across the 64-bit range.
for (const op of ['Add', 'Sub', 'Mul']) {
  cases.push({ name: `${op} int64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: i64(N, { edges: true }), b: i64(N) } });
  cases.push({ name: `${op} uint64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: u64(N), b: u64(N) } });
}
cases.push({ name: 'Add int64 broadcast scalar', nodes: [{ op: 'Add', inputs: ['a', 'b'] }], feeds: { a: i64(N, { edges: true }) }, consts: { b: { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(-(2n ** 40n)) } } });
cases.push({ name: 'Div int64', nodes: [{ op: 'Div', inputs: ['a', 'b'] }], feeds: { a: i64(N, { edges: true }), b: i64(N, { nonzero: true }) } });
cases.push({ name: 'Div int64 small divisors', nodes: [{ op: 'Div', inputs: ['a', 'b'] }], feeds: { a: i64(N, { edges: true }), b: { kind: 'tensor', dtype: 'int64', dims: [N], data: BigInt64Array.from({ length: N }, (_, i) => BigInt((i % 13) - 6 || 1)) } } });
cases.push({ name: 'Div uint64', nodes: [{ op: 'Div', inputs: ['a', 'b'] }], feeds: { a: u64(N), b: u64(N, { nonzero: true }) } });
for (const fmod of [0, 1]) {
  cases.push({ name: `Mod int64 fmod=${fmod}`, nodes: [{ op: 'Mod', inputs: ['a', 'b'], attrs: { fmod: int(fmod) } }], feeds: { a: i64(N, { edges: true }), b: i64(N, { nonzero: true }) } });
}
cases.push({ name: 'Mod uint64', nodes: [{ op: 'Mod', inputs: ['a', 'b'] }], feeds: { a: u64(N), b: u64(N, { nonzero: true }) } });
for (const op of ['Neg', 'Abs', 'Sign', 'Relu', 'BitwiseNot']) cases.push({ name: `${op} int64`, nodes: [{ op, inputs: ['a'] }], feeds: { a: i64(N, { edges: true }) }, opset: 18 });
for (const op of ['Abs', 'Sign', 'BitwiseNot']) cases.push({ name: `${op} uint64`, nodes: [{ op, inputs: ['a'] }], feeds: { a: u64(N) }, opset: 18 });
for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
  const a = i64(N, { edges: true });
  const b = i64(N);
  for (let i = 0; i < N; i += 3) (b.data as BigInt64Array)[i] = (a.data as BigInt64Array)[i]!;
  cases.push({ name: `${op} int64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a, b } });
  const ua = u64(N);
  const ub = u64(N);
  for (let i = 0; i < N; i += 4) (ub.data as BigUint64Array)[i] = (ua.data as BigUint64Array)[i]!;
  cases.push({ name: `${op} uint64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: ua, b: ub } });
}
for (const op of ['Max', 'Min']) {
  cases.push({ name: `${op} int64 of three`, nodes: [{ op, inputs: ['a', 'b', 'c'] }], feeds: { a: i64(N, { edges: true }), b: i64(N), c: i64(N) } });
  cases.push({ name: `${op} uint64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: u64(N), b: u64(N) } });
}
for (const op of ['BitwiseAnd', 'BitwiseOr', 'BitwiseXor']) cases.push({ name: `${op} int64`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: i64(N, { edges: true }), b: i64(N) } });
for (const dir of ['LEFT', 'RIGHT']) cases.push({ name: `BitShift uint64 ${dir}`, nodes: [{ op: 'BitShift', inputs: ['a', 'b'], attrs: { direction: str(dir) } }], feeds: { a: u64(N), b: u64(N, { small: true }) } });
cases.push({ name: 'Where int64', nodes: [{ op: 'Where', inputs: ['c', 'a', 'b'] }], feeds: { c: typed('bool', [N], () => (rand() < 0.5 ? 1 : 0)), a: i64(N, { edges: true }), b: i64(N) } });

// Casts to and from the stored-unlike dtypes.
const castTo = (to: number): NodeSpec => ({ op: 'Cast', inputs: ['x'], attrs: { to: int(to) } });
const ONNX: Record<string, number> = { float64: 11, float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float16: 10, uint32: 12, uint64: 13 };
for (const to of ['int64', 'uint64', 'int32', 'uint32', 'int8', 'uint8', 'int16', 'uint16', 'bool', 'float16']) {
  cases.push({ name: `Cast float32 -> ${to}`, nodes: [castTo(ONNX[to]!)], feeds: { x: f32s(N) } });
}
for (const to of ['float32', 'int32', 'uint32', 'int8', 'uint16', 'bool', 'uint64']) {
  cases.push({ name: `Cast int64 -> ${to}`, nodes: [castTo(ONNX[to]!)], feeds: { x: i64(N, { edges: true }) } });
}
cases.push({ name: 'Cast float32 -> float64 (subnormals, NaN, infinities)', nodes: [castTo(11)], feeds: { x: typed('float32', [N], (i) => (i < 40 ? [...SPECIAL, 1e-40, -3e-45, 1.2e-38][i] ?? 0 : (rand() - 0.5) * 2 ** (rand() * 200 - 100))) } });
cases.push({ name: 'Cast float64 -> float32 (rounding, overflow, subnormal results)', nodes: [castTo(1)], feeds: { x: typed('float64', [N], (i) => (i < 16 ? [0, -0, NaN, Infinity, -Infinity, 1e300, -1e39, 3.4028235677973366e38, 3.4028235e38, 1e-39, 1.4e-45, 7e-46, 2 ** -150, 2 ** -150 * 1.5, 1 + 2 ** -24, 1 + 3 * 2 ** -24][i]! : (rand() - 0.5) * 2 ** (rand() * 300 - 150))) } });
cases.push({ name: 'Cast float64 -> float16 stays on the CPU', nodes: [castTo(10)], feeds: { x: typed('float64', [8], () => rand()) }, cpu: { n0_Cast: /float64/ } });
cases.push({ name: 'Cast uint64 -> float32 (two roundings, as Number then fround)', nodes: [castTo(1)], feeds: { x: u64(N) } });
cases.push({ name: 'Cast int64 -> float16 stays on the CPU', nodes: [castTo(10)], feeds: { x: i64(8) }, cpu: { n0_Cast: /float16/ } });
for (const from of ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'bool']) {
  const lim: Record<string, [number, number]> = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535], int32: [-(2 ** 31), 2 ** 31 - 1], uint32: [0, 2 ** 32 - 1], bool: [0, 1] };
  const [lo, hi] = lim[from]!;
  const x = typed(from as DType, [N], (i) => (i === 0 ? lo : i === 1 ? hi : Math.floor(lo + rand() * (hi - lo + 1))));
  for (const to of ['int64', 'float32', 'int8', 'uint16']) cases.push({ name: `Cast ${from} -> ${to}`, nodes: [castTo(ONNX[to]!)], feeds: { x } });
}
const halves = typed('float16', [N], (i) => (i < 8 ? [0, -0, 6e-8, 65504, -65504, NaN, Infinity, 3.0e-5][i]! : (rand() - 0.5) * 2 ** (rand() * 30 - 10)));
for (const to of ['float32', 'int32', 'int64', 'uint8', 'float64']) cases.push({ name: `Cast float16 -> ${to}`, nodes: [castTo(ONNX[to]!)], feeds: { x: halves } });

// Narrow ints: wrap exactly as the typed-array stores.
for (const dt of ['int8', 'uint8', 'int16', 'uint16'] as const) {
  const lim = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535] }[dt];
  const gen = () => Math.floor(lim[0]! + rand() * (lim[1]! - lim[0]! + 1));
  const a = typed(dt, [N], gen);
  const b = typed(dt, [N], () => gen() || 3);
  for (const op of ['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Max', 'Min', 'Equal', 'Less', 'GreaterOrEqual', 'BitwiseAnd', 'BitwiseXor']) {
    cases.push({ name: `${op} ${dt}`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a, b } });
  }
  for (const op of ['Neg', 'Abs', 'BitwiseNot']) if (op !== 'Neg' || dt.startsWith('int')) cases.push({ name: `${op} ${dt}`, nodes: [{ op, inputs: ['a'] }], feeds: { a } });
  cases.push({ name: `Transpose then Add ${dt}`, nodes: [{ op: 'Transpose', inputs: ['a'], outputs: ['t'], attrs: { perm: intsAttr([1, 0]) } }, { op: 'Add', inputs: ['t', 't'] }], feeds: { a: { ...a, dims: [8, 8] } } });
}
cases.push({ name: 'Clip int8', nodes: [{ op: 'Clip', inputs: ['a', 'lo', 'hi'] }], feeds: { a: typed('int8', [N], () => Math.floor(rand() * 256 - 128)) }, consts: { lo: typed('int8', [], () => -20), hi: typed('int8', [], () => 90) } });
for (const dir of ['LEFT', 'RIGHT']) cases.push({ name: `BitShift uint8 ${dir}`, nodes: [{ op: 'BitShift', inputs: ['a', 'b'], attrs: { direction: str(dir) } }], feeds: { a: typed('uint8', [N], () => Math.floor(rand() * 256)), b: typed('uint8', [N], () => Math.floor(rand() * 10)) } });

// float16 without shader-f16: every kernel's result rounded to half, as the CPU's viaF32.
const h = (n: number) => typed('float16', [n], () => (rand() - 0.5) * 8);
for (const op of ['Add', 'Sub', 'Mul', 'Div']) cases.push({ name: `${op} float16`, nodes: [{ op, inputs: ['a', 'b'] }], feeds: { a: h(N), b: h(N) } });
for (const op of ['Relu', 'Neg', 'Abs', 'Floor']) cases.push({ name: `${op} float16`, nodes: [{ op, inputs: ['a'] }], feeds: { a: h(N) } });
for (const op of ['Exp', 'Sigmoid', 'Tanh', 'Sqrt']) cases.push({ name: `${op} float16`, nodes: [{ op, inputs: ['a'] }], feeds: { a: op === 'Sqrt' ? typed('float16', [N], () => rand() * 100) : h(N) }, rtol: 1e-3 });
cases.push({ name: 'Cast float32 -> float16 -> float32 keeps half precision (subnormals, overflow)', nodes: [castTo(10), { op: 'Cast', inputs: ['y0'], attrs: { to: int(1) } }], feeds: { x: typed('float32', [N], (i) => (i < 6 ? [1e-7, 6.1e-5, 65519, 65520, -1e6, 2.0009765625][i]! : (rand() - 0.5) * 1000)) } });
cases.push({ name: 'Where, Concat, Slice float16', nodes: [{ op: 'Where', inputs: ['c', 'a', 'b'], outputs: ['w'] }, { op: 'Concat', inputs: ['w', 'a'], outputs: ['k'], attrs: { axis: int(0) } }, { op: 'Slice', inputs: ['k', 's', 'e'] }], feeds: { c: typed('bool', [N], () => (rand() < 0.5 ? 1 : 0)), a: h(N), b: h(N) }, consts: { s: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(3n) }, e: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(100n) } } });

// 8-byte data movement: int64 and float64 values are moved as bits.
const f64 = (dims: number[]) => typed('float64', dims, () => (rand() - 0.5) * 1e300 * rand() ** 40);
const i64m = (dims: number[]) => ({ ...i64(dims.reduce((a, b) => a * b, 1), { edges: true }), dims });
for (const [dt, mk] of [['int64', i64m], ['float64', f64]] as const) {
  cases.push({ name: `Transpose ${dt}`, nodes: [{ op: 'Transpose', inputs: ['x'], attrs: { perm: intsAttr([2, 0, 1]) } }], feeds: { x: mk([2, 3, 4]) } });
  cases.push({ name: `Concat and Split ${dt}`, nodes: [{ op: 'Concat', inputs: ['x', 'y'], outputs: ['c'], attrs: { axis: int(1) } }, { op: 'Split', inputs: ['c'], outputs: ['p', 'q'], attrs: { axis: int(1) } }], feeds: { x: mk([3, 2]), y: mk([3, 4]) } });
  cases.push({ name: `Gather ${dt} with int64 indices`, nodes: [{ op: 'Gather', inputs: ['x', 'i'], attrs: { axis: int(1) } }], feeds: { x: mk([3, 5]), i: { kind: 'tensor', dtype: 'int64', dims: [4], data: BigInt64Array.of(4n, -1n, 0n, 2n) } } });
  cases.push({ name: `Expand and Tile ${dt}`, nodes: [{ op: 'Expand', inputs: ['x', 's'], outputs: ['e'] }, { op: 'Tile', inputs: ['e', 'r'] }], feeds: { x: mk([3, 1]) }, consts: { s: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(3n, 2n) }, r: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(2n, 2n) } } });
}
cases.push({ name: 'ConstantOfShape int64 and Trilu int64', nodes: [{ op: 'ConstantOfShape', inputs: ['s'], outputs: ['c'], attrs: { value: { kind: 'tensor', value: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(-(2n ** 40n) - 5n) } } } }, { op: 'Trilu', inputs: ['c'] }], feeds: { s: { kind: 'tensor', dtype: 'int64', dims: [2], data: BigInt64Array.of(4n, 5n) } } });

// ArgMax, ArgMin, TopK: int64 indices produced on the GPU, then used by Gather on the GPU.
const withTies = (dims: number[]) => typed('float32', dims, () => Math.floor(rand() * 6) - 3);
const withNaN = (dims: number[]) => typed('float32', dims, (i) => (i % 7 === 3 ? NaN : rand() - 0.5));
for (const op of ['ArgMax', 'ArgMin']) {
  for (const [axis, keepdims, last] of [[0, 1, 0], [1, 0, 0], [-1, 1, 1], [2, 0, 1]]) {
    cases.push({ name: `${op} axis=${axis} keepdims=${keepdims} last=${last} with ties`, nodes: [{ op, inputs: ['x'], attrs: { axis: int(axis!), keepdims: int(keepdims!), select_last_index: int(last!) } }], feeds: { x: withTies([3, 4, 5]) } });
  }
  cases.push({ name: `${op} with NaN (the first NaN wins)`, nodes: [{ op, inputs: ['x'], attrs: { axis: int(1) } }], feeds: { x: withNaN([4, 9]) } });
  cases.push({ name: `${op} int32 and uint8`, nodes: [{ op, inputs: ['x'], outputs: ['a'], attrs: { axis: int(1) } }, { op, inputs: ['u'], attrs: { axis: int(0) } }], feeds: { x: typed('int32', [3, 6], () => Math.floor(rand() * 10)), u: typed('uint8', [5, 2], () => Math.floor(rand() * 256)) } });
}
cases.push({ name: 'ArgMax then Gather (int64 indices stay on the GPU)', nodes: [{ op: 'ArgMax', inputs: ['x'], outputs: ['i'], attrs: { axis: int(1), keepdims: int(0) } }, { op: 'Gather', inputs: ['t', 'i'] }], feeds: { x: withTies([6, 7]), t: typed('float32', [7, 3], () => rand()) } });
for (const [largest, axis, k] of [[1, -1, 3], [0, -1, 2], [1, 0, 4], [0, 1, 5], [1, 1, 0]]) {
  const kT: HostTensor = { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(k!)) };
  cases.push({ name: `TopK largest=${largest} axis=${axis} k=${k} with ties`, nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: { largest: int(largest!), axis: int(axis!) } }], feeds: { x: withTies([4, 5, 6]) }, consts: { k: kT } });
}
cases.push({ name: 'TopK with NaN (largest ranks NaN first)', nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'] }], feeds: { x: typed('float32', [3, 8], (i) => (i % 5 === 2 ? NaN : rand())) }, consts: { k: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(4n) } } });
cases.push({ name: 'TopK int32 smallest', nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: { largest: int(0) } }], feeds: { x: typed('int32', [2, 9], () => Math.floor(rand() * 5)) }, consts: { k: { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(9n) } } });

// BitCast on the stored words, and TopK of int64/uint64.
const bitcast = (to: number): NodeSpec => ({ op: 'BitCast', inputs: ['x'], attrs: { to: int(to) } });
const BITS: Record<string, number> = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9, float64: 11, uint32: 12, uint64: 13 };
for (const [from, to, x] of [
  ['float32', 'int32', f32s(N)], ['float32', 'uint32', f32s(N)], ['int32', 'float32', typed('int32', [N], () => Math.floor(rand() * 2 ** 32) - 2 ** 31)],
  ['int64', 'float64', i64(N, { edges: true })], ['float64', 'int64', typed('float64', [N], (i) => (i === 0 ? NaN : (rand() - 0.5) * 1e300))], ['int64', 'uint64', i64(N, { edges: true })],
  ['uint8', 'int8', typed('uint8', [N], () => Math.floor(rand() * 256))], ['int16', 'uint16', typed('int16', [N], () => Math.floor(rand() * 65536) - 32768)],
  ['bool', 'uint8', typed('bool', [N], () => (rand() < 0.5 ? 1 : 0))], ['uint8', 'bool', typed('uint8', [N], () => (rand() < 0.3 ? 0 : Math.floor(rand() * 256)))],
] as const) {
  cases.push({ name: `BitCast ${from} -> ${to}`, nodes: [bitcast(BITS[to]!)], feeds: { x }, opset: 26 });
}
cases.push({ name: 'BitCast int16 -> float16 stays on the CPU without shader-f16', nodes: [bitcast(10)], feeds: { x: typed('int16', [8], () => Math.floor(rand() * 30000)) }, opset: 26, cpu: { n0_BitCast: /float16/ } });
for (const [largest, k] of [[1, 3], [0, 5]]) {
  const kT: HostTensor = { kind: 'tensor', dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(k!)) };
  const x = { ...i64(24, { edges: true }), dims: [3, 8] };
  for (let i = 0; i < 24; i += 5) (x.data as BigInt64Array)[i] = (x.data as BigInt64Array)[i + 1] ?? 0n;
  cases.push({ name: `TopK int64 largest=${largest} k=${k} with ties`, nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: { largest: int(largest!) } }], feeds: { x }, consts: { k: kT } });
  cases.push({ name: `TopK uint64 largest=${largest} k=${k}`, nodes: [{ op: 'TopK', inputs: ['x', 'k'], outputs: ['v', 'i'], attrs: { largest: int(largest!) } }], feeds: { x: { ...u64(24), dims: [3, 8] } }, consts: { k: kT } });
}

function same(got: RtValue | undefined, want: RtValue, rtol: number): string | undefined {
  if (!got || got.kind !== 'tensor' || want.kind !== 'tensor') return 'not a tensor';
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, want ${want.dtype}`;
  if (got.dims.join(',') !== want.dims.join(',')) return `dims [${got.dims}], want [${want.dims}]`;
  const a = got.data as ArrayLike<number | bigint>;
  const b = want.data as ArrayLike<number | bigint>;
  const half = want.dtype === 'float16';
  for (let i = 0; i < b.length; i++) {
    let x = a[i]!;
    let y = b[i]!;
    if (half) {
      const v = new Float32Array(2);
      const dec = (bits: number) => {
        const s = bits & 0x8000 ? -1 : 1;
        const e = (bits >> 10) & 0x1f;
        const m = bits & 0x3ff;
        return e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
      };
      v[0] = dec(Number(x));
      v[1] = dec(Number(y));
      x = v[0]!;
      y = v[1]!;
    }
    if (x === y || (typeof x === 'number' && typeof y === 'number' && Number.isNaN(x) && Number.isNaN(y))) {
      if (typeof x === 'number' && x === 0 && Object.is(x, -0) !== Object.is(y, -0) && rtol === 0) return `element ${i}: got ${Object.is(x, -0) ? '-0' : '0'}, want ${Object.is(y, -0) ? '-0' : '0'}`;
      continue;
    }
    if (typeof x === 'number' && typeof y === 'number' && rtol > 0 && Math.abs(x - y) <= rtol * Math.abs(y) + 1e-6) continue;
    return `element ${i}: got ${String(x)}, want ${String(y)}`;
  }
  return undefined;
}

describe('webgpu dtypes stored unlike their host form, against the CPU kernels', () => {
  for (const c of cases) {
    gpuIt(c.name, async () => {
      const m = model(c.nodes, c.feeds, c.consts, undefined, c.opset ?? 18);
      const want = runCpu(m, c.feeds);
      const { out, compiled } = await runGpu(m, c.feeds);
      for (const [name, w] of want) {
        if (!m.graph.outputs.some((o) => o.name === name)) continue;
        const d = same(out.get(name), w, c.rtol ?? 0);
        expect(d, `${c.name}: output ${name}`).toBeUndefined();
      }
      for (const p of compiled.placements.values()) {
        const cpu = c.cpu?.[p.node];
        if (cpu) {
          expect(p.device, `${p.node} should stay on the CPU`).toBe('cpu');
          expect(p.reason).toMatch(cpu);
        } else expect(p.device, `${p.node} (${p.op}) ran on the CPU: ${p.reason}`).toBe('gpu');
      }
      compiled.release();
    });
  }
});
