// Elementwise ops on WebGPU: one shader over N inputs broadcast through uniform strides (never
// materialized), with the op given as a WGSL expression of a0, a1, ... Unary and binary math,
// activations, comparisons and logic, Where, Clip, Cast/CastLike, variadic Max/Min/Sum/Mean,
// BatchNormalization (inference).
import { dtypeFromOnnx, type DType } from '../../graph/dtype.js';
import { toNumbers } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformType, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { I64_HELPERS, withHelpers } from './int64.js';
import { F16_FUNCS } from './storage.js';
import { bindingDecls, broadcastShapes, broadcastStrides, defineShader, enables, flit, grid, main1d, sizeOf, storageType, stridedOffsetFn, stridesOf, uniformDecl } from './wgsl.js';

interface EwParams {
  readonly rank: number;
  /** Storage type of each input. */
  readonly ins: readonly WgslType[];
  /** Input i has the output's shape (read at the output's index, no offset math). */
  readonly direct: readonly boolean[];
  readonly out: WgslType;
  /** WGSL expression of a0, a1, ... (compute types: f16 is computed as f32) and u_p0(), u_p1()... */
  readonly expr: string;
}

/** WGSL helper functions of the elementwise expressions (also used by the fused programs, fused-expr.ts). */
export const HELPERS: Record<string, string> = {
  tg_erf: `fn tg_erf(x: f32) -> f32 {
  // Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7)
  let s = sign(x); let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}`,
  tg_pow: `fn tg_pow(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let r = pow(abs(a), b);
  if (a >= 0.0) { return r; }
  if (floor(b) != b) { return tg_bits(0x7fc00000u); }
  let odd = (abs(b) % 2.0) == 1.0;
  return select(r, -r, odd);
}`,
  // WGSL (and Vulkan) allow sin/cos an absolute error of 2^-11; SwiftShader uses it. Cephes' sinf/cosf instead.
  tg_sincos: `fn tg_sincos(x: f32) -> vec2<f32> {
  let j = round(x * 0.636619772);
  let q = i32(j);
  var r = x - j * 1.5703125;
  r = r - j * 4.837512969970703125e-4;
  r = r - j * 7.54978995489188216e-8;
  let r2 = r * r;
  let s = r + r * r2 * (-1.6666654611e-1 + r2 * (8.3321608736e-3 + r2 * -1.9515295891e-4));
  let c = 1.0 - 0.5 * r2 + r2 * r2 * (4.166664568298827e-2 + r2 * (-1.388731625493765e-3 + r2 * 2.443315711809948e-5));
  switch (q & 3) {
    case 0: { return vec2<f32>(s, c); }
    case 1: { return vec2<f32>(c, -s); }
    case 2: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}`,
  tg_isnan: `fn tg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }`,
  // Cast to int32 as the CPU's typed-array store does (ToInt32: truncate, wrap modulo 2^32, NaN to 0).
  tg_f32_to_i32: `fn tg_f32_to_i32(x: f32) -> i32 { return bitcast<i32>(tg_f32_to_i64(x).x); }`,
  tg_tanh: `fn tg_tanh(x: f32) -> f32 { let c = clamp(x, -15.0, 15.0); let e = exp(2.0 * c); return (e - 1.0) / (e + 1.0); }`,
  tg_imod: `fn tg_imod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; return select(r, r + b, r != 0 && ((r < 0) != (b < 0))); }`,
};

const computeType = (t: WgslType): string => (t === 'f16' ? 'f32' : t);

const ewShader = defineShader<EwParams>('elementwise', (spec) => {
  const p = spec.params;
  const decls = p.ins.map((t, i) => ({ name: `in${i}`, type: t }));
  const helpers = withHelpers(p.expr, { ...HELPERS, ...I64_HELPERS, ...F16_FUNCS });
  const offsets = p.ins.map((_, i) => (p.direct[i] ? '' : stridedOffsetFn(`off${i}`, p.rank, 'os', `s${i}`))).filter(Boolean);
  const loads = p.ins.map((t, i) => `  let a${i} = ${computeType(t)}(in${i}[${p.direct[i] ? 'gi' : `off${i}(gi)`}]);`).join('\n');
  return `${enables([...p.ins, p.out])}${uniformDecl(spec.uniforms)}
${bindingDecls([...decls, { name: 'out', type: p.out, write: true }])}
${helpers.join('\n')}
${offsets.join('\n')}
${main1d(`  if (gi >= u_n()) { return; }
${loads}
  out[gi] = ${p.out}(${p.expr});`)}`;
});

export interface EwDef {
  readonly expr: string;
  readonly out: DType;
  readonly scalars?: readonly (readonly [UniformType, number])[];
}

/**
 * Plan one elementwise dispatch over node inputs `use` (default: all given), broadcasting them
 * to one output. `dims` overrides an input's dims (BatchNormalization's [C] as [C,1,1]).
 */
export function ewPlan(ctx: GpuKernelContext, def: EwDef | string, use?: readonly number[], dims?: Record<number, readonly number[]>): GpuPlan {
  if (typeof def === 'string') return unsupported(def);
  const idx = use ?? ctx.inputs.map((_, i) => i).filter((i) => ctx.inputs[i] !== undefined);
  const shapes = idx.map((i) => dims?.[i] ?? ctx.inputs[i]!.dims);
  const outDims = broadcastShapes(shapes);
  if (!outDims) return unsupported(`inputs [${shapes.map((s) => s.join('x')).join('], [')}] do not broadcast`);
  const ins: WgslType[] = [];
  for (const i of idx) {
    const t = storageType(ctx.inputs[i]!.dtype, ctx.f16, true);
    if (!t) return unsupported(`input ${i} is ${ctx.inputs[i]!.dtype}`);
    ins.push(t);
  }
  const out = storageType(def.out, ctx.f16, true);
  if (!out) return unsupported(`output is ${def.out}`);
  const n = sizeOf(outDims);
  const direct = shapes.map((s) => sizeOf(s) === n && s.length <= outDims.length && s.every((d, k) => d === outDims[outDims.length - s.length + k]));
  const uniforms: UniformValue[] = [{ name: 'n', type: 'u32', value: n }];
  if (direct.some((d) => !d)) uniforms.push({ name: 'os', type: 'u32', value: stridesOf(outDims) });
  shapes.forEach((s, k) => {
    if (!direct[k]) uniforms.push({ name: `s${k}`, type: 'u32', value: broadcastStrides(s, outDims) });
  });
  (def.scalars ?? []).forEach(([type, value], k) => uniforms.push({ name: `p${k}`, type, value }));
  return {
    kind: 'run',
    outputs: [{ dtype: def.out, dims: outDims }],
    programs: [{
      shader: ewShader,
      params: { rank: outDims.length, ins, direct, out, expr: def.expr } satisfies EwParams,
      uniforms,
      bindings: [...idx.map((i) => ({ input: i })), { output: 0 }],
      workgroups: grid(n),
    }],
  };
}

const isFloat = (d: DType) => d === 'float32' || d === 'float16';
/** Integers held in one 32-bit word (int8/int16/uint8/uint16 widened, normalized after the kernel). */
const isSigned = (d: DType) => d === 'int32' || d === 'int8' || d === 'int16';
const isUnsigned = (d: DType) => d === 'uint32' || d === 'uint8' || d === 'uint16';
const isInt = (d: DType) => isSigned(d) || isUnsigned(d);
/** 64-bit integers: vec2<u32> with the helpers of int64.ts. */
const is64 = (d: DType) => d === 'int64' || d === 'uint64';
const word = (d: DType) => (isSigned(d) ? 'i32' : 'u32');

type ExprFor = (ctx: GpuKernelContext, t: DType) => EwDef | string;

function unary(f: (ctx: GpuKernelContext) => string, opts: { ints?: (ctx: GpuKernelContext, t: DType) => string | undefined } = {}): GpuKernel {
  return {
    allDtypes: true,
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      if (isFloat(t)) return ewPlan(ctx, { expr: f(ctx), out: t }, [0]);
      const e = opts.ints?.(ctx, t);
      return ewPlan(ctx, e ? { expr: e, out: t } : `${ctx.node.opType} of ${t} runs on the CPU`, [0]);
    },
  };
}

/** Float unary ops whose alpha/beta attributes go into uniforms (one pipeline for every value). */
function unaryAttrs(expr: string, attrs: readonly (readonly [string, number])[]): GpuKernel {
  return {
    allDtypes: true,
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      if (!isFloat(t)) return unsupported(`${ctx.node.opType} of ${t} runs on the CPU`);
      return ewPlan(ctx, { expr, out: t, scalars: attrs.map(([name, d]) => ['f32', ctx.attrs.float(name, d)] as const) }, [0]);
    },
  };
}

function binary(e: ExprFor): GpuKernel {
  return { allDtypes: true, plan: (ctx) => ewPlan(ctx, e(ctx, ctx.inputs[0]!.dtype), [0, 1]) };
}

const ARITH64: Record<string, string> = { '+': 'tg_i64_add', '-': 'tg_i64_sub', '*': 'tg_i64_mul' };
const arith = (op: string): ExprFor => (_ctx, t) => (isFloat(t) || isInt(t) ? { expr: `a0 ${op} a1`, out: t } : is64(t) ? { expr: `${ARITH64[op]}(a0, a1)`, out: t } : `${t} runs on the CPU`);
/** a < b, b < a...: 64-bit compares call the signed or unsigned helper. */
const COMPARE64: Record<string, (lt: string) => string> = {
  '==': () => 'all(a0 == a1)',
  '<': (lt) => `${lt}(a0, a1)`,
  '>': (lt) => `${lt}(a1, a0)`,
  '<=': (lt) => `!${lt}(a1, a0)`,
  '>=': (lt) => `!${lt}(a0, a1)`,
};
const compare = (op: string): ExprFor => (_ctx, t) => {
  if (is64(t)) return { expr: `select(0u, 1u, ${COMPARE64[op]!(t === 'int64' ? 'tg_i64_lt' : 'tg_u64_lt')})`, out: 'bool' };
  return isFloat(t) || isInt(t) || t === 'bool' ? { expr: `select(0u, 1u, a0 ${op} a1)`, out: 'bool' } : `${t} runs on the CPU`;
};
const logic = (op: string): ExprFor => (_ctx, t) => (t === 'bool' ? { expr: `(a0 ${op} a1) & 1u`, out: 'bool' } : `${t} runs on the CPU`);
const bitwise = (op: string): ExprFor => (_ctx, t) => (isInt(t) || is64(t) ? { expr: `a0 ${op} a1`, out: t } : `${t} runs on the CPU`);

/** fold64(t): the fold of two int64/uint64 values (undefined: not for 64-bit ints). */
function variadic(fold: (a: string, b: string) => string, finish?: (acc: string, n: number) => string, fold64?: (t: DType) => (a: string, b: string) => string): GpuKernel {
  return {
    allDtypes: true,
    plan(ctx) {
      const idx = ctx.inputs.map((_, i) => i).filter((i) => ctx.inputs[i] !== undefined);
      const t = ctx.inputs[idx[0]!]!.dtype;
      const f = is64(t) ? fold64?.(t) : fold;
      if (!f || (!isFloat(t) && ((!isInt(t) && !is64(t)) || finish))) return unsupported(`${ctx.node.opType} of ${t} runs on the CPU`);
      if (idx.some((i) => ctx.inputs[i]!.dtype !== t)) return unsupported('inputs of different dtypes');
      if (idx.length > 8) return unsupported('more than 8 inputs');
      let acc = 'a0';
      for (let k = 1; k < idx.length; k++) acc = f(acc, `a${k}`);
      return ewPlan(ctx, { expr: finish ? finish(acc, idx.length) : acc, out: t }, idx);
    },
  };
}

const F32_MAX = 3.4028234663852886e38;

type CastKind = 'f' | 'i' | 'u' | 'b' | 'i64' | 'u64';

function castKind(d: DType): CastKind | undefined {
  if (isFloat(d)) return 'f';
  if (isSigned(d)) return 'i';
  if (isUnsigned(d)) return 'u';
  if (d === 'bool') return 'b';
  return d === 'int64' ? 'i64' : d === 'uint64' ? 'u64' : undefined;
}

/**
 * Cast as the CPU kernel does: floats to ints truncate and wrap (ToInt32; narrow ints then wrap in
 * the normalizing pass), to int64 through the exact helpers; int64 to float32 rounds twice as
 * Number() then Math.fround do. int64 to float16 stays on the CPU (it rounds once from the double).
 */
function castExpr(from: DType, to: DType): string | undefined {
  const s = castKind(from);
  const d = castKind(to);
  if (!s || !d) return undefined;
  const wide = s === 'i64' || s === 'u64';
  switch (d) {
    case 'b':
      // By bits: NaN is true, and a compiler may fold NaN != 0 to false.
      return s === 'f' ? 'select(0u, 1u, (bitcast<u32>(a0) & 0x7fffffffu) != 0u)' : wide ? 'select(0u, 1u, any(a0 != vec2<u32>(0u)))' : `select(0u, 1u, a0 != ${s === 'i' ? 'i32' : 'u32'}(0))`;
    case 'f':
      if (s === 'f') return 'a0';
      if (wide) return to === 'float16' ? undefined : `tg_${s}_to_f32(a0)`;
      // Exactly rounded (SwiftShader's u32 -> f32 is not, past 2^24).
      if (s === 'i') return 'tg_i64_to_f32(tg_i64_from_i32(a0))';
      return s === 'u' ? 'tg_u64_to_f32(vec2<u32>(a0, 0u))' : 'f32(a0)';
    case 'i': case 'u': {
      const T = d === 'i' ? 'i32' : 'u32';
      if (s === 'f') return d === 'i' ? 'tg_f32_to_i32(a0)' : 'bitcast<u32>(tg_f32_to_i32(a0))';
      if (wide) return d === 'i' ? 'bitcast<i32>(a0.x)' : 'a0.x';
      if (s === 'b') return `${T}(a0)`;
      return s === d ? 'a0' : `bitcast<${T}>(a0)`;
    }
    default:
      if (s === 'f') return d === 'i64' ? 'tg_f32_to_i64(a0)' : 'tg_f32_to_u64(a0)';
      if (s === 'i') return 'tg_i64_from_i32(a0)';
      if (s === 'u' || s === 'b') return 'vec2<u32>(a0, 0u)';
      return 'a0';
  }
}

const WIDTH: Partial<Record<DType, number>> = { float32: 4, int32: 4, uint32: 4, int64: 8, uint64: 8, float64: 8, int16: 2, uint16: 2, float16: 2, int8: 1, uint8: 1, bool: 1 };

/**
 * BitCast on the stored words: 8-byte types are their bits already, 4-byte ones a WGSL bitcast;
 * 1- and 2-byte ones are the low bits of the word (the normalizing pass wraps or sign-extends them),
 * float16 through its half bits; to bool, any nonzero value is true (as the CPU kernel).
 */
function bitcastPlan(ctx: GpuKernelContext): GpuPlan {
  const from = ctx.inputs[0]!.dtype;
  const to = dtypeFromOnnx(ctx.attrs.int('to', 0));
  const w = WIDTH[from];
  if (!to || !w || WIDTH[to] !== w) return unsupported(`BitCast ${from} -> ${to ?? '?'} runs on the CPU`);
  // Widened float16 (no shader-f16) does not keep NaN payloads through upload and read back.
  if ((from === 'float16' || to === 'float16') && !ctx.f16) return unsupported('BitCast of float16 bits runs on the CPU without shader-f16');
  const st = storageType(to, ctx.f16, true)!;
  let expr: string;
  if (w === 8) expr = 'a0';
  else if (w === 4) expr = `bitcast<${st}>(a0)`;
  else {
    const bits = from === 'float16' ? 'tg_f16_bits(a0)' : 'bitcast<u32>(a0)';
    const mask = w === 1 ? '0xffu' : '0xffffu';
    expr = to === 'bool' ? `select(0u, 1u, (${bits} & ${mask}) != 0u)` : to === 'float16' ? `tg_f16_value(${bits} & 0xffffu)` : `bitcast<${st}>(${bits})`;
  }
  return ewPlan(ctx, { expr, out: to }, [0]);
}

function castPlan(ctx: GpuKernelContext, to: DType | undefined): GpuPlan {
  const from = ctx.inputs[0]!.dtype;
  if (!to) return unsupported('unknown target type');
  // float64 <-> float32/float16 by bits (float64 -> float16 rounds once from the double on the CPU: stays there).
  if (to === 'float64' && isFloat(from)) return ewPlan(ctx, { expr: 'tg_f32_to_f64(a0)', out: to }, [0]);
  if (from === 'float64' && to === 'float32') return ewPlan(ctx, { expr: 'tg_f64_to_f32(a0)', out: to }, [0]);
  if (from === 'float64' && to === 'float64') return ewPlan(ctx, { expr: 'a0', out: to }, [0]);
  const e = castExpr(from, to);
  return ewPlan(ctx, e ? { expr: e, out: to } : `Cast ${from} -> ${to} runs on the CPU`, [0]);
}

function clipPlan(ctx: GpuKernelContext): GpuPlan {
  const t = ctx.inputs[0]!.dtype;
  const ut: UniformType | undefined = isFloat(t) ? 'f32' : isInt(t) ? word(t) : undefined;
  if (!ut) return unsupported(`${t} runs on the CPU`);
  let lo: number;
  let hi: number;
  const dLo = ut === 'f32' ? -Infinity : ut === 'i32' ? -(2 ** 31) : 0;
  const dHi = ut === 'f32' ? Infinity : ut === 'i32' ? 2 ** 31 - 1 : 2 ** 32 - 1;
  if (ctx.opset < 11) {
    lo = ctx.attrs.float('min', -F32_MAX);
    hi = ctx.attrs.float('max', F32_MAX);
  } else {
    const mn = ctx.host(1);
    const mx = ctx.host(2);
    lo = mn ? toNumbers(mn)[0]! : dLo;
    hi = mx ? toNumbers(mx)[0]! : dHi;
  }
  return ewPlan(ctx, { expr: 'min(max(a0, u_p0()), u_p1())', out: t, scalars: [[ut, lo], [ut, hi]] }, [0]);
}

function bnPlan(ctx: GpuKernelContext): GpuPlan {
  if (ctx.attrs.int('training_mode', 0) !== 0 || ctx.outputsUsed.slice(1).some(Boolean)) return unsupported('training mode runs on the CPU');
  const x = ctx.inputs[0]!;
  if (!isFloat(x.dtype) || x.dims.length < 2) return unsupported('BatchNormalization needs float input of rank >= 2');
  const c = x.dims[1]!;
  const per = [c, ...new Array<number>(x.dims.length - 2).fill(1)];
  for (let i = 1; i <= 4; i++) if (!ctx.inputs[i] || sizeOf(ctx.inputs[i]!.dims) !== c || !isFloat(ctx.inputs[i]!.dtype)) return unsupported(`input ${i} is not a float of size C`);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  return ewPlan(ctx, { expr: '(a0 - a3) / sqrt(a4 + u_p0()) * a1 + a2', out: x.dtype, scalars: [['f32', eps]] }, [0, 1, 2, 3, 4], { 1: per, 2: per, 3: per, 4: per });
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

export const elementwiseGpuKernels = {
  Abs: unary(() => 'abs(a0)', { ints: (_c, t) => (isSigned(t) ? 'abs(a0)' : isUnsigned(t) || t === 'uint64' ? 'a0' : t === 'int64' ? 'tg_i64_abs(a0)' : undefined) }),
  Neg: unary(() => '-a0', { ints: (_c, t) => (isSigned(t) ? '-a0' : t === 'int64' ? 'tg_i64_neg(a0)' : undefined) }),
  Sign: unary(() => 'sign(a0)', {
    ints: (_c, t) => (isSigned(t) ? 'sign(a0)' : isUnsigned(t) ? 'min(a0, 1u)' : t === 'int64' ? 'tg_i64_sign(a0)' : t === 'uint64' ? 'vec2<u32>(select(0u, 1u, any(a0 != vec2<u32>(0u))), 0u)' : undefined),
  }),
  Ceil: unary(() => 'ceil(a0)'),
  Floor: unary(() => 'floor(a0)'),
  Round: unary(() => 'round(a0)'),
  Sqrt: unary(() => 'sqrt(a0)'),
  Reciprocal: unary(() => '1.0 / a0'),
  Exp: unary(() => 'exp(a0)'),
  Log: unary(() => 'log(a0)'),
  Sin: unary(() => 'tg_sincos(a0).x'),
  Cos: unary(() => 'tg_sincos(a0).y'),
  Tan: unary(() => 'tg_sincos(a0).x / tg_sincos(a0).y'),
  Asin: unary(() => 'asin(a0)'),
  Acos: unary(() => 'acos(a0)'),
  Atan: unary(() => 'atan(a0)'),
  Sinh: unary(() => 'sinh(a0)'),
  Cosh: unary(() => 'cosh(a0)'),
  Tanh: unary(() => 'tg_tanh(a0)'),
  Asinh: unary(() => 'asinh(a0)'),
  Acosh: unary(() => 'acosh(a0)'),
  Atanh: unary(() => 'atanh(a0)'),
  Erf: unary(() => 'tg_erf(a0)'),
  Sigmoid: unary(() => '1.0 / (1.0 + exp(-a0))'),
  Relu: unary(() => 'max(a0, 0.0)', { ints: (_c, t) => (isSigned(t) ? 'max(a0, 0)' : t === 'int64' ? 'select(vec2<u32>(0u), a0, !tg_i64_isneg(a0))' : undefined) }),
  Softplus: unary(() => 'max(a0, 0.0) + log(1.0 + exp(-abs(a0)))'),
  Softsign: unary(() => 'a0 / (1.0 + abs(a0))'),
  Mish: unary(() => 'a0 * tg_tanh(max(a0, 0.0) + log(1.0 + exp(-abs(a0))))'),
  HardSwish: unary(() => 'a0 * clamp(a0 / 6.0 + 0.5, 0.0, 1.0)'),
  Gelu: unary((ctx) => (ctx.attrs.string('approximate', 'none') === 'tanh'
    ? '0.5 * a0 * (1.0 + tg_tanh(0.7978845608028654 * (a0 + 0.044715 * a0 * a0 * a0)))'
    : '0.5 * a0 * (1.0 + tg_erf(a0 * 0.7071067811865476))')),
  LeakyRelu: unaryAttrs('select(u_p0() * a0, a0, a0 >= 0.0)', [['alpha', 0.01]]),
  Elu: unaryAttrs('select(u_p0() * (exp(a0) - 1.0), a0, a0 >= 0.0)', [['alpha', 1]]),
  Celu: unaryAttrs('max(0.0, a0) + min(0.0, u_p0() * (exp(a0 / u_p0()) - 1.0))', [['alpha', 1]]),
  Selu: unaryAttrs('select(u_p1() * (u_p0() * exp(a0) - u_p0()), u_p1() * a0, a0 > 0.0)', [['alpha', SELU_ALPHA], ['gamma', SELU_GAMMA]]),
  ThresholdedRelu: unaryAttrs('select(0.0, a0, a0 > u_p0())', [['alpha', 1]]),
  Swish: unaryAttrs('a0 / (1.0 + exp(-u_p0() * a0))', [['alpha', 1]]),
  Shrink: unaryAttrs('select(select(0.0, a0 - u_p1(), a0 > u_p0()), a0 + u_p1(), a0 < -u_p0())', [['lambd', 0.5], ['bias', 0]]),
  HardSigmoid: unaryAttrs('clamp(u_p0() * a0 + u_p1(), 0.0, 1.0)', [['alpha', 0.2], ['beta', 0.5]]),
  IsNaN: { allDtypes: true, plan: (ctx) => (isFloat(ctx.inputs[0]!.dtype) ? ewPlan(ctx, { expr: 'select(0u, 1u, tg_isnan(a0))', out: 'bool' }, [0]) : unsupported('not float')) },
  IsInf: {
    allDtypes: true,
    plan(ctx) {
      if (!isFloat(ctx.inputs[0]!.dtype)) return unsupported('not float');
      const neg = ctx.attrs.int('detect_negative', 1) ? '0xff800000u' : '0u';
      const pos = ctx.attrs.int('detect_positive', 1) ? '0x7f800000u' : '0u';
      return ewPlan(ctx, { expr: `select(0u, 1u, bitcast<u32>(a0) == ${neg} || bitcast<u32>(a0) == ${pos})`, out: 'bool' }, [0]);
    },
  },
  Not: { allDtypes: true, plan: (ctx) => ewPlan(ctx, ctx.inputs[0]!.dtype === 'bool' ? { expr: '1u - a0', out: 'bool' } : 'not bool', [0]) },
  BitwiseNot: { allDtypes: true, plan: (ctx) => ewPlan(ctx, isInt(ctx.inputs[0]!.dtype) || is64(ctx.inputs[0]!.dtype) ? { expr: '~a0', out: ctx.inputs[0]!.dtype } : `BitwiseNot of ${ctx.inputs[0]!.dtype} runs on the CPU`, [0]) },

  Add: binary(arith('+')),
  Sub: binary(arith('-')),
  Mul: binary(arith('*')),
  Div: binary((_c, t) => {
    if (isFloat(t)) return { expr: 'a0 / a1', out: t };
    if (isInt(t)) return { expr: `select(a0 / a1, ${word(t)}(0), a1 == ${word(t)}(0))`, out: t };
    if (is64(t)) return { expr: t === 'int64' ? 'tg_i64_div(a0, a1)' : 'tg_u64_divmod(a0, a1).q', out: t };
    return `${t} runs on the CPU`;
  }),
  Pow: {
    allDtypes: true,
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      const e = ctx.inputs[1]!.dtype;
      if (!isFloat(t) && t !== 'int32') return unsupported(`Pow of ${t} runs on the CPU`);
      if (!isFloat(e) && e !== 'int32') return unsupported(`Pow exponent ${e} runs on the CPU`);
      const expr = isFloat(t) ? 'tg_pow(a0, f32(a1))' : 'i32(round(tg_pow(f32(a0), f32(a1))))';
      return ewPlan(ctx, { expr, out: t }, [0, 1]);
    },
  },
  Mod: binary((ctx, t) => {
    const fmod = ctx.attrs.int('fmod', 0) === 1;
    if (isFloat(t)) return { expr: 'a0 - a1 * trunc(a0 / a1)', out: t };
    if (isSigned(t)) return { expr: fmod ? 'select(a0 % a1, 0, a1 == 0)' : 'tg_imod(a0, a1)', out: t };
    if (isUnsigned(t)) return { expr: 'select(a0 % a1, 0u, a1 == 0u)', out: t };
    if (t === 'int64') return { expr: fmod ? 'tg_i64_fmod(a0, a1)' : 'tg_i64_mod(a0, a1)', out: t };
    if (t === 'uint64') return { expr: 'tg_u64_divmod(a0, a1).r', out: t };
    return `${t} runs on the CPU`;
  }),
  PRelu: binary((_c, t) => (isFloat(t) ? { expr: 'select(a0 * a1, a0, a0 >= 0.0)', out: t } : isSigned(t) ? { expr: 'select(a0 * a1, a0, a0 >= 0)', out: t } : `${t} runs on the CPU`)),
  Equal: binary(compare('==')),
  Less: binary(compare('<')),
  LessOrEqual: binary(compare('<=')),
  Greater: binary(compare('>')),
  GreaterOrEqual: binary(compare('>=')),
  And: binary(logic('&')),
  Or: binary(logic('|')),
  Xor: binary(logic('^')),
  BitwiseAnd: binary(bitwise('&')),
  BitwiseOr: binary(bitwise('|')),
  BitwiseXor: binary(bitwise('^')),
  BitShift: binary((ctx, t) => {
    const left = ctx.attrs.string('direction', 'LEFT') === 'LEFT';
    if (isUnsigned(t)) return { expr: left ? 'select(a0 << a1, 0u, a1 >= 32u)' : 'select(a0 >> a1, 0u, a1 >= 32u)', out: t };
    if (t === 'uint64') return { expr: `tg_u64_${left ? 'shl' : 'shr'}(a0, select(a1.x, 64u, a1.y != 0u))`, out: t };
    return `BitShift of ${t} runs on the CPU`;
  }),
  Max: variadic((a, b) => `max(${a}, ${b})`, undefined, (t) => (a, b) => `tg_${t === 'int64' ? 'i' : 'u'}64_max(${a}, ${b})`),
  Min: variadic((a, b) => `min(${a}, ${b})`, undefined, (t) => (a, b) => `tg_${t === 'int64' ? 'i' : 'u'}64_min(${a}, ${b})`),
  Sum: variadic((a, b) => `${a} + ${b}`, (acc) => acc),
  Mean: variadic((a, b) => `${a} + ${b}`, (acc, n) => `(${acc}) / ${flit(n)}`),
  SwiGLU: {
    allDtypes: true,
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      if (!isFloat(t) || ctx.inputs[1]!.dtype !== t) return unsupported(`SwiGLU of ${t} runs on the CPU`);
      return ewPlan(ctx, { expr: 'a0 / (1.0 + exp(-u_p0() * a0)) * a1', out: t, scalars: [['f32', ctx.attrs.float('alpha', 1)]] }, [0, 1]);
    },
  },
  Where: { allDtypes: true, plan: (ctx) => ewPlan(ctx, { expr: 'select(a2, a1, a0 != 0u)', out: ctx.inputs[1]!.dtype }, [0, 1, 2]) },
  Clip: { hostInputs: () => [1, 2], allDtypes: true, plan: clipPlan },
  Cast: { allDtypes: true, plan: (ctx) => castPlan(ctx, dtypeFromOnnx(ctx.attrs.int('to', 0))) },
  CastLike: { metaInputs: [1], allDtypes: true, plan: (ctx) => castPlan(ctx, ctx.inputs[1]?.dtype) },
  BitCast: { allDtypes: true, plan: bitcastPlan },
  BatchNormalization: { allDtypes: true, plan: bnPlan },
} satisfies Record<string, GpuKernel>;
