// Programs the backend adds around kernels for dtypes stored unlike their host form (wgsl.ts):
// normalizing a widened output in place (float16 without shader-f16 rounded to half, int8/int16
// sign-extended, uint8/uint16 masked, exactly as the CPU kernels' typed-array stores do) and
// narrowing an int64 (vec2<u32>) input to i32 for kernels that bind it so.
import type { Program } from './types.js';
import { bindingDecls, defineShader, grid, main1d, uniformDecl, type WidenedKind } from './wgsl.js';

/** WGSL round-to-nearest-even float -> half bits and back (subnormals kept, as numberToF16Bits). */
export const F16_FUNCS: Record<string, string> = {
  tg_f16_bits: `fn tg_f16_bits(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  let ex = (x >> 23u) & 0xffu;
  var mant = x & 0x7fffffu;
  if (ex == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  let e = i32(ex) - 112;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    var h = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u) == 1u)) { h = h + 1u; }
    return sign | h;
  }
  var h = (u32(e) << 10u) | (mant >> 13u);
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h = h + 1u; }
  return sign | h;
}`,
  tg_f16_value: `fn tg_f16_value(h: u32) -> f32 {
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return select(1.0, -1.0, (h & 0x8000u) != 0u) * f32(m) * 5.9604644775390625e-8; }
  if (e == 31u) { return bitcast<f32>(((h & 0x8000u) << 16u) | 0x7f800000u | (m << 13u)); }
  return bitcast<f32>(((h & 0x8000u) << 16u) | ((e + 112u) << 23u) | (m << 13u));
}`,
};
export const F16_HELPERS = `${F16_FUNCS.tg_f16_bits}
${F16_FUNCS.tg_f16_value}`;

interface NormalizeParams {
  readonly kind: WidenedKind;
}

const NORM: Record<WidenedKind, { t: string; expr: string }> = {
  f16: { t: 'f32', expr: 'tg_f16_value(tg_f16_bits(v))' },
  i8: { t: 'i32', expr: '(v << 24u) >> 24u' },
  i16: { t: 'i32', expr: '(v << 16u) >> 16u' },
  u8: { t: 'u32', expr: 'v & 0xffu' },
  u16: { t: 'u32', expr: 'v & 0xffffu' },
};

const normalizeShader = defineShader<NormalizeParams>('normalize', (spec) => {
  const k = NORM[spec.params.kind];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: k.t, write: true }])}
${spec.params.kind === 'f16' ? F16_HELPERS : ''}
${main1d(`  if (gi >= u_n()) { return; }
  let v = x[gi];
  x[gi] = ${k.expr};`)}`;
});

/** Normalize output `output` (n elements of a widened dtype) in place. */
export function normalizeProgram(kind: WidenedKind, n: number, output: number): Program {
  return { shader: normalizeShader, params: { kind } satisfies NormalizeParams, uniforms: [{ name: 'n', type: 'u32', value: n }], bindings: [{ output }], workgroups: grid(n) };
}

const narrowShader = defineShader<Record<string, never>>('narrow-i64', (spec) => `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'vec2<u32>' }, { name: 'out', type: 'i32', write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let v = x[gi];
  let lo = bitcast<i32>(v.x);
  let hi = bitcast<i32>(v.y);
  // In i32 range when hi is lo's sign extension; else saturate (out of range as an index either way).
  if (hi == (lo >> 31u)) { out[gi] = lo; } else if (hi < 0) { out[gi] = -2147483647 - 1; } else { out[gi] = 2147483647; }`)}`);

/** int64 input `input` (n elements) as i32 into temporary `temp`. */
export function narrowProgram(n: number, input: number, temp: number): Program {
  return { shader: narrowShader, params: {}, uniforms: [{ name: 'n', type: 'u32', value: n }], bindings: [{ input }, { temp }], workgroups: grid(n) };
}

/** A host layout narrower than the GPU storage: 1- or 2-byte elements packed into words. */
export type UnpackKind = 'i8' | 'u8' | 'b8' | 'i16' | 'u16' | 'f16';

interface UnpackParams {
  readonly kind: UnpackKind;
}

const unpackShader = defineShader<UnpackParams>('unpack', (spec) => {
  const k = spec.params.kind;
  const byte = k === 'i8' || k === 'u8' || k === 'b8';
  const t = k === 'f16' ? 'f32' : k === 'i8' || k === 'i16' ? 'i32' : 'u32';
  const v = byte ? '(x[gi >> 2u] >> ((gi & 3u) * 8u)) & 0xffu' : '(x[gi >> 1u] >> ((gi & 1u) * 16u)) & 0xffffu';
  const expr = { i8: '(bitcast<i32>(v) << 24u) >> 24u', u8: 'v', b8: 'select(0u, 1u, v != 0u)', i16: '(bitcast<i32>(v) << 16u) >> 16u', u16: 'v', f16: 'tg_f16_value(v)' }[k];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'u32' }, { name: 'out', type: t, write: true }])}
${k === 'f16' ? F16_HELPERS : ''}
${main1d(`  if (gi >= u_n()) { return; }
  let v = ${v};
  out[gi] = ${expr};`)}`;
});

/** Elements of a host-layout buffer (input 0) into the GPU storage (output 0). */
export function unpackProgram(kind: UnpackKind, n: number): Program {
  return { shader: unpackShader, params: { kind } satisfies UnpackParams, uniforms: [{ name: 'n', type: 'u32', value: n }], bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) };
}

const copyWordsShader = defineShader<Record<string, never>>('copy-words', (spec) => `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'u32' }, { name: 'out', type: 'u32', write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  out[gi] = x[gi];`)}`);

/** Copy n words by a shader: for a buffer bound as storage that lacks COPY_SRC (a user's feed) before a read back. */
export function copyWordsProgram(n: number): Program {
  return { shader: copyWordsShader, params: {}, uniforms: [{ name: 'n', type: 'u32', value: n }], bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) };
}
