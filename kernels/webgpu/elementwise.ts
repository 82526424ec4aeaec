// Elementwise ops on WebGPU: one shader over N inputs broadcast through uniform strides (never
// materialized), with the op given as a WGSL expression of a0, a1, ... Unary and binary math,
// activations, comparisons and logic, Where, Clip, Cast/CastLike, variadic Max/Min/Sum/Mean,
// BatchNormalization (inference).
import { dtypeFromOnnx, type DType } from '../../graph/dtype.js';
import { toNumbers } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformType, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, broadcastShapes, broadcastStrides, defineShader, enables, flit, grid, main1d, sizeOf, stridedOffsetFn, stridesOf, uniformDecl, wgslType } from './wgsl.js';

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
  tg_tanh: `fn tg_tanh(x: f32) -> f32 { let c = clamp(x, -15.0, 15.0); let e = exp(2.0 * c); return (e - 1.0) / (e + 1.0); }`,
  tg_imod: `fn tg_imod(a: i32, b: i32) -> i32 { if (b == 0) { return 0; } let r = a % b; return select(r, r + b, r != 0 && ((r < 0) != (b < 0))); }`,
};

const computeType = (t: WgslType): string => (t === 'f16' ? 'f32' : t);

const ewShader = defineShader<EwParams>('elementwise', (spec) => {
  const p = spec.params;
  const decls = p.ins.map((t, i) => ({ name: `in${i}`, type: t }));
  const helpers = Object.keys(HELPERS).filter((h) => p.expr.includes(h) || (h === 'tg_isnan' && p.expr.includes('tg_pow'))).map((h) => HELPERS[h]);
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
    const t = wgslType(ctx.inputs[i]!.dtype, ctx.f16);
    if (!t) return unsupported(`input ${i} is ${ctx.inputs[i]!.dtype}`);
    ins.push(t);
  }
  const out = wgslType(def.out, ctx.f16);
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
const isInt = (d: DType) => d === 'int32' || d === 'uint32';

type ExprFor = (ctx: GpuKernelContext, t: DType) => EwDef | string;

function unary(f: (ctx: GpuKernelContext) => string, opts: { ints?: (ctx: GpuKernelContext, t: DType) => string | undefined } = {}): GpuKernel {
  return {
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
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      if (!isFloat(t)) return unsupported(`${ctx.node.opType} of ${t} runs on the CPU`);
      return ewPlan(ctx, { expr, out: t, scalars: attrs.map(([name, d]) => ['f32', ctx.attrs.float(name, d)] as const) }, [0]);
    },
  };
}

function binary(e: ExprFor): GpuKernel {
  return { plan: (ctx) => ewPlan(ctx, e(ctx, ctx.inputs[0]!.dtype), [0, 1]) };
}

const arith = (op: string): ExprFor => (_ctx, t) => (isFloat(t) || isInt(t) ? { expr: `a0 ${op} a1`, out: t } : `${t} runs on the CPU`);
const compare = (op: string): ExprFor => () => ({ expr: `select(0u, 1u, a0 ${op} a1)`, out: 'bool' });
const logic = (op: string): ExprFor => (_ctx, t) => (t === 'bool' ? { expr: `(a0 ${op} a1) & 1u`, out: 'bool' } : `${t} runs on the CPU`);
const bitwise = (op: string): ExprFor => (_ctx, t) => (isInt(t) ? { expr: `a0 ${op} a1`, out: t } : `${t} runs on the CPU`);

function variadic(fold: (a: string, b: string) => string, finish?: (acc: string, n: number) => string): GpuKernel {
  return {
    plan(ctx) {
      const idx = ctx.inputs.map((_, i) => i).filter((i) => ctx.inputs[i] !== undefined);
      const t = ctx.inputs[idx[0]!]!.dtype;
      if (!isFloat(t) && (!isInt(t) || finish)) return unsupported(`${ctx.node.opType} of ${t} runs on the CPU`);
      if (idx.length > 8) return unsupported('more than 8 inputs');
      let acc = 'a0';
      for (let k = 1; k < idx.length; k++) acc = fold(acc, `a${k}`);
      return ewPlan(ctx, { expr: finish ? finish(acc, idx.length) : acc, out: t }, idx);
    },
  };
}

const F32_MAX = 3.4028234663852886e38;

function castExpr(from: DType, to: DType): string | undefined {
  const src = from === 'float16' ? 'float32' : from;
  const dst = to === 'float16' ? 'float32' : to;
  if (src === dst) return 'a0';
  const T: Record<string, string> = { float32: 'f32', int32: 'i32', uint32: 'u32' };
  if (dst === 'bool') return src === 'float32' ? 'select(0u, 1u, a0 != 0.0)' : `select(0u, 1u, a0 != ${T[src] ?? 'u32'}(0))`;
  const d = T[dst];
  if (!d) return undefined;
  if (src === 'bool') return `${d}(a0)`;
  if ((src === 'int32' && dst === 'uint32') || (src === 'uint32' && dst === 'int32')) return `bitcast<${d}>(a0)`;
  if (src === 'float32' && dst === 'uint32') return `bitcast<u32>(i32(a0))`;
  return `${d}(a0)`;
}

function castPlan(ctx: GpuKernelContext, to: DType | undefined): GpuPlan {
  const from = ctx.inputs[0]!.dtype;
  if (!to) return unsupported('unknown target type');
  const e = castExpr(from, to);
  return ewPlan(ctx, e ? { expr: e, out: to } : `Cast ${from} -> ${to} runs on the CPU`, [0]);
}

function clipPlan(ctx: GpuKernelContext): GpuPlan {
  const t = ctx.inputs[0]!.dtype;
  const ut: UniformType | undefined = isFloat(t) ? 'f32' : t === 'int32' ? 'i32' : t === 'uint32' ? 'u32' : undefined;
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
  for (let i = 1; i <= 4; i++) if (!ctx.inputs[i] || sizeOf(ctx.inputs[i]!.dims) !== c) return unsupported(`input ${i} is not of size C`);
  const eps = ctx.attrs.float('epsilon', 1e-5);
  return ewPlan(ctx, { expr: '(a0 - a3) / sqrt(a4 + u_p0()) * a1 + a2', out: x.dtype, scalars: [['f32', eps]] }, [0, 1, 2, 3, 4], { 1: per, 2: per, 3: per, 4: per });
}

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

export const elementwiseGpuKernels = {
  Abs: unary(() => 'abs(a0)', { ints: (_c, t) => (t === 'int32' ? 'abs(a0)' : t === 'uint32' ? 'a0' : undefined) }),
  Neg: unary(() => '-a0', { ints: (_c, t) => (t === 'int32' ? '-a0' : undefined) }),
  Sign: unary(() => 'sign(a0)', { ints: (_c, t) => (t === 'int32' ? 'sign(a0)' : t === 'uint32' ? 'min(a0, 1u)' : undefined) }),
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
  Relu: unary(() => 'max(a0, 0.0)', { ints: (_c, t) => (t === 'int32' ? 'max(a0, 0)' : undefined) }),
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
  IsNaN: { plan: (ctx) => (isFloat(ctx.inputs[0]!.dtype) ? ewPlan(ctx, { expr: 'select(0u, 1u, tg_isnan(a0))', out: 'bool' }, [0]) : unsupported('not float')) },
  IsInf: {
    plan(ctx) {
      if (!isFloat(ctx.inputs[0]!.dtype)) return unsupported('not float');
      const neg = ctx.attrs.int('detect_negative', 1) ? '0xff800000u' : '0u';
      const pos = ctx.attrs.int('detect_positive', 1) ? '0x7f800000u' : '0u';
      return ewPlan(ctx, { expr: `select(0u, 1u, bitcast<u32>(a0) == ${neg} || bitcast<u32>(a0) == ${pos})`, out: 'bool' }, [0]);
    },
  },
  Not: { plan: (ctx) => ewPlan(ctx, ctx.inputs[0]!.dtype === 'bool' ? { expr: '1u - a0', out: 'bool' } : 'not bool', [0]) },
  BitwiseNot: { plan: (ctx) => ewPlan(ctx, isInt(ctx.inputs[0]!.dtype) ? { expr: '~a0', out: ctx.inputs[0]!.dtype } : 'not int32/uint32', [0]) },

  Add: binary(arith('+')),
  Sub: binary(arith('-')),
  Mul: binary(arith('*')),
  Div: binary((_c, t) => (isFloat(t) ? { expr: 'a0 / a1', out: t } : isInt(t) ? { expr: `select(a0 / a1, ${t === 'int32' ? 'i32' : 'u32'}(0), a1 == ${t === 'int32' ? 'i32' : 'u32'}(0))`, out: t } : `${t} runs on the CPU`)),
  Pow: {
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
    if (t === 'int32') return { expr: fmod ? 'select(a0 % a1, 0, a1 == 0)' : 'tg_imod(a0, a1)', out: t };
    if (t === 'uint32') return { expr: 'select(a0 % a1, 0u, a1 == 0u)', out: t };
    return `${t} runs on the CPU`;
  }),
  PRelu: binary((_c, t) => (isFloat(t) ? { expr: 'select(a0 * a1, a0, a0 >= 0.0)', out: t } : t === 'int32' ? { expr: 'select(a0 * a1, a0, a0 >= 0)', out: t } : `${t} runs on the CPU`)),
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
  BitShift: binary((ctx, t) => (t === 'uint32' ? { expr: ctx.attrs.string('direction', 'LEFT') === 'LEFT' ? 'select(a0 << a1, 0u, a1 >= 32u)' : 'select(a0 >> a1, 0u, a1 >= 32u)', out: t } : `BitShift of ${t} runs on the CPU`)),
  Max: variadic((a, b) => `max(${a}, ${b})`),
  Min: variadic((a, b) => `min(${a}, ${b})`),
  Sum: variadic((a, b) => `${a} + ${b}`),
  Mean: variadic((a, b) => `${a} + ${b}`, (acc, n) => `(${acc}) / ${flit(n)}`),
  SwiGLU: {
    plan(ctx) {
      const t = ctx.inputs[0]!.dtype;
      if (!isFloat(t) || ctx.inputs[1]!.dtype !== t) return unsupported(`SwiGLU of ${t} runs on the CPU`);
      return ewPlan(ctx, { expr: 'a0 / (1.0 + exp(-u_p0() * a0)) * a1', out: t, scalars: [['f32', ctx.attrs.float('alpha', 1)]] }, [0, 1]);
    },
  },
  Where: { plan: (ctx) => ewPlan(ctx, { expr: 'select(a2, a1, a0 != 0u)', out: ctx.inputs[1]!.dtype }, [0, 1, 2]) },
  Clip: { hostInputs: () => [1, 2], plan: clipPlan },
  Cast: { plan: (ctx) => castPlan(ctx, dtypeFromOnnx(ctx.attrs.int('to', 0))) },
  CastLike: { metaInputs: [1], plan: (ctx) => castPlan(ctx, ctx.inputs[1]?.dtype) },
  BatchNormalization: { plan: bnPlan },
} satisfies Record<string, GpuKernel>;
