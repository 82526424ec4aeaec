// WGSL building blocks shared by every emitter: the dtype table, the uniform block, binding
// declarations, the offset <-> indices helpers (broadcasting through strides held in uniforms),
// shader definition and the stable key of a shader spec.
import type { DType } from '../../graph/dtype.js';
import type { Shader, ShaderSpec, UniformField, UniformValue, WgslType } from './types.js';
import { sizeOf, stridesOf } from '../../graph/tensor.js';

/** How a dtype is stored on the GPU by every kernel; undefined: it stays on the CPU. bool is one u32 per element. */
export function wgslType(dtype: DType, f16: boolean): WgslType | undefined {
  switch (dtype) {
    case 'float32': return 'f32';
    case 'int32': return 'i32';
    case 'uint32': return 'u32';
    case 'bool': return 'u32';
    case 'float16': return f16 ? 'f16' : undefined;
    default: return undefined;
  }
}

/**
 * `wgslType` plus the narrow types the compiled-model backend widens to a 32-bit word and normalizes
 * after every kernel that writes them (`widenedKind`): int8/int16 as sign-extended i32, uint8/uint16
 * as masked u32, and float16 without shader-f16 as an f32 holding a value rounded to half precision.
 */
export function storeType(dtype: DType, f16: boolean): WgslType | undefined {
  switch (dtype) {
    case 'int8': case 'int16': return 'i32';
    case 'uint8': case 'uint16': return 'u32';
    case 'float16': return f16 ? 'f16' : 'f32';
    default: return wgslType(dtype, f16);
  }
}

/**
 * 8-byte dtypes (int64, uint64, float64) are stored as their raw bits, two u32 words (lo, hi) per
 * element; only kernels that declare `wide` see them (they compute on int64/uint64 with the helpers
 * of int64.ts, or only move float64 bits).
 */
export function wideType(dtype: DType): WgslType | undefined {
  return dtype === 'int64' || dtype === 'uint64' || dtype === 'float64' ? 'vec2<u32>' : undefined;
}

/** Storage of a dtype for a kernel that does (wide) or does not handle 8-byte dtypes. */
export function storageType(dtype: DType, f16: boolean, wide = false): WgslType | undefined {
  return storeType(dtype, f16) ?? (wide ? wideType(dtype) : undefined);
}

export type WidenedKind = 'f16' | 'i8' | 'i16' | 'u8' | 'u16';

/** Dtypes stored wider than they are: kernels writing them are followed by a normalizing pass. */
export function widenedKind(dtype: DType, f16: boolean): WidenedKind | undefined {
  switch (dtype) {
    case 'float16': return f16 ? undefined : 'f16';
    case 'int8': return 'i8';
    case 'int16': return 'i16';
    case 'uint8': return 'u8';
    case 'uint16': return 'u16';
    default: return undefined;
  }
}

/** Bytes per element on the GPU for a stored dtype (undefined: not storable). */
export function elemBytes(dtype: DType, f16: boolean): number | undefined {
  const t = storageType(dtype, f16, true);
  return t === undefined ? undefined : gpuElemBytes(t);
}

/** Bytes per element of a storage type. */
export function gpuElemBytes(t: WgslType): number {
  return t === 'f16' ? 2 : t === 'vec2<u32>' ? 8 : 4;
}

const shaders = new Map<string, Shader<never>>();

/** Define a shader by a unique name and its emitter (a pure function of the spec). */
export function defineShader<P>(name: string, emit: (spec: ShaderSpec<P>) => string): Shader<P> {
  if (shaders.has(name)) throw new Error(`shader '${name}' is defined twice`);
  const s: Shader<P> = { name, emit };
  shaders.set(name, s as Shader<never>);
  return s;
}

/** JSON with object keys sorted: the same value always gives the same string. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'number' && !Number.isFinite(v)) return JSON.stringify(String(v));
    return JSON.stringify(v) ?? 'null';
  }
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

export function uniformLayout(values: readonly UniformValue[]): UniformField[] {
  return values.map((u) => (typeof u.value === 'number' ? { name: u.name, type: u.type } : { name: u.name, type: u.type, len: u.value.length }));
}

export function specOf<P>(shader: Shader<P>, params: P, uniforms: readonly UniformValue[]): ShaderSpec<P> {
  return { shader: shader.name, params, uniforms: uniformLayout(uniforms) };
}

/** The pipeline cache key of a spec (never written by hand). */
export function specKey(spec: ShaderSpec<unknown>): string {
  return stableJson(spec);
}

/** Words (u32) the uniform block takes, padded to 16 bytes. */
export function uniformWords(fields: readonly UniformField[]): number {
  let n = 0;
  for (const f of fields) n += f.len ?? 1;
  return Math.max(4, Math.ceil(n / 4) * 4);
}

/** Write uniform values into a word array in layout order. */
export function packUniforms(values: readonly UniformValue[], out: DataView, byteOffset: number): void {
  let w = 0;
  const put = (type: UniformValue['type'], x: number) => {
    const at = byteOffset + w * 4;
    if (type === 'f32') out.setFloat32(at, x, true);
    else if (type === 'i32') out.setInt32(at, x, true);
    else out.setUint32(at, x >>> 0, true);
    w++;
  };
  for (const u of values) {
    if (typeof u.value === 'number') put(u.type, u.value);
    else for (const x of u.value) put(u.type, x);
  }
}

/** The uniform block (binding 0) and one accessor per field: u_name() or u_name(i). */
export function uniformDecl(fields: readonly UniformField[]): string {
  const words = uniformWords(fields);
  const lines = [
    `struct Uniforms { d: array<vec4<u32>, ${words / 4}> };`,
    `@group(0) @binding(0) var<uniform> uni: Uniforms;`,
    `fn u_word(i: u32) -> u32 { return uni.d[i / 4u][i % 4u]; }`,
    `fn tg_bits(b: u32) -> f32 { return bitcast<f32>(b); }`,
  ];
  let w = 0;
  for (const f of fields) {
    const conv = (x: string) => (f.type === 'u32' ? x : `bitcast<${f.type}>(${x})`);
    if (f.len === undefined) {
      lines.push(`fn u_${f.name}() -> ${f.type} { return ${conv(`u_word(${w}u)`)}; }`);
      w++;
    } else {
      if (f.len === 0) lines.push(`fn u_${f.name}(i: u32) -> ${f.type} { return ${f.type}(0); }`);
      else lines.push(`fn u_${f.name}(i: u32) -> ${f.type} { return ${conv(`u_word(${w}u + i)`)}; }`);
      w += f.len;
    }
  }
  return lines.join('\n');
}

export interface BindingDecl {
  readonly name: string;
  readonly type: string;
  readonly write?: boolean;
}

/** Storage bindings 1, 2, ... */
export function bindingDecls(list: readonly BindingDecl[]): string {
  return list
    .map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<${b.type}>;`)
    .join('\n');
}

/** `enable f16;` when any type is f16. */
export function enables(types: readonly string[]): string {
  return types.some((t) => t === 'f16' || t.includes('<f16>')) ? 'enable f16;\n' : '';
}

export const WG = 64;

/** Entry point of a 1-D dispatch of WG threads per workgroup; `gi` is the global index. */
export function main1d(body: string, wg = WG): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi = (wid.y * nwg.x + wid.x) * ${wg}u + lidx;
${body}
}`;
}

/** main1d over `u_total()` threads: the threads past the end return first. */
export function mainTotal(body: string, wg = WG): string {
  return main1d(`  if (gi >= u_total()) { return; }\n${body}`, wg);
}

/**
 * WGSL lines splitting the flat index in `var t` into spatial coordinates `o0..o{n-1}` (i32, the
 * last innermost) by the sizes `u_od(d)`; `t` is left as the index over the leading (batch, channel) dims.
 */
export function spatialIndex(n: number): string {
  return [...Array(n).keys()].reverse().map((i) => `  let o${i} = i32(t % u_od(${i}u)); t = t / u_od(${i}u);`).join('\n');
}

/**
 * Uniforms of a sliding window over `n` spatial dims (names read by `spatialIndex` and the tap
 * loops): output dims `od`, input dims `id` and strides `is`, kernel `kd`, `st`, `dil`, pad heads `ph`.
 */
export function windowUniforms(out: readonly number[], input: readonly number[], w: { readonly kernel: readonly number[]; readonly strides: readonly number[]; readonly dilations: readonly number[] }, padHead: readonly number[]): UniformValue[] {
  return [
    { name: 'od', type: 'u32', value: out },
    { name: 'id', type: 'u32', value: input },
    { name: 'is', type: 'u32', value: stridesOf(input) },
    { name: 'kd', type: 'u32', value: w.kernel },
    { name: 'st', type: 'u32', value: w.strides },
    { name: 'dil', type: 'u32', value: w.dilations },
    { name: 'ph', type: 'i32', value: padHead },
  ];
}

/**
 * WGSL lines of one kernel tap `kr` (flat, split per dim by `u_kd`) of a transposed window (ConvTranspose,
 * Col2Im): output coordinate o_d maps to source index (o_d + ph - k*dil) / st when that divides and is
 * inside `dims`; adds source index * `strides` to `off`, else clears `ok`.
 */
export function transposedTap(n: number, off: string, dims: string, strides: string): string {
  return [...Array(n).keys()].reverse().map((i) => `    { let k = kr % u_kd(${i}u); kr = kr / u_kd(${i}u);
      let tt = o${i} + u_ph(${i}u) - i32(k * u_dil(${i}u));
      let s = i32(u_st(${i}u));
      if (tt < 0 || tt % s != 0 || tt / s >= i32(${dims}(${i}u))) { ok = false; }
      ${off} = ${off} + u32(max(tt, 0) / s) * ${strides}(${i}u); }`).join('\n');
}

/** Workgroup counts for n threads (or n workgroups when wg is 1), split over x and y past 65535. */
export function grid(n: number, wg = WG): [number, number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * A WGSL function mapping a flat index over an iteration space to an offset in a strided tensor:
 * `fn name(o: u32) -> T { index d = o / iterStrides[d] ...; return base + sum index_d * strides[d]; }`.
 * Broadcasting is a stride of 0; Transpose, Slice (negative steps: i32 strides) and Expand are strides.
 */
export function stridedOffsetFn(name: string, rank: number, iterStrides: string, strides: string, opts: { signed?: boolean; base?: string } = {}): string {
  const T = opts.signed ? 'i32' : 'u32';
  const lines = [`fn ${name}(o: u32) -> ${T} {`, `  var rem = o;`, `  var r: ${T} = ${opts.base ? `u_${opts.base}()` : `${T}(0)`};`];
  for (let d = 0; d < rank; d++) {
    lines.push(`  { let c = rem / u_${iterStrides}(${d}u); rem = rem - c * u_${iterStrides}(${d}u); r = r + ${T}(c) * u_${strides}(${d}u); }`);
  }
  lines.push('  return r;', '}');
  return lines.join('\n');
}

// Shape arithmetic is the IR's; re-exported for the emitters.
export { sizeOf, stridesOf };

/** Strides of `dims` aligned right to an output of rank `rank`, 0 where the input broadcasts. */
export function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const s = stridesOf(dims);
  const out = new Array<number>(outDims.length).fill(0);
  const off = outDims.length - dims.length;
  for (let i = 0; i < dims.length; i++) out[off + i] = dims[i] === 1 && outDims[off + i] !== 1 ? 0 : s[i]!;
  return out;
}

/** Numpy-style broadcast of several shapes; undefined when they do not broadcast. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i]!;
      const o = out[off + i]!;
      if (o === 1) out[off + i] = d;
      else if (d !== 1 && d !== o) return undefined;
    }
  }
  return out;
}

/**
 * An exact f32 value: a 9-digit literal when finite, else a call of tg_bits (a user function, so not
 * constant-evaluated: WGSL rejects constant infinities and NaN). Every shader's prelude defines tg_bits.
 */
export function flit(v: number): string {
  if (Number.isFinite(v)) {
    const f = Math.fround(v);
    return Number.isInteger(f) && Math.abs(f) < 1e15 ? `${f}.0` : f.toPrecision(9);
  }
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, v, true);
  return `tg_bits(${b.getUint32(0, true)}u)`;
}

/** Zero of a WGSL type. */
export function zero(t: string): string {
  return `${t}(0)`;
}
