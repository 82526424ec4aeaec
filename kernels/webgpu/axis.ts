// Ops along one axis, a thread per output element looping over its line: Hardmax and
// LpNormalization; ConstantOfShape (a fill whose value's bits go into a uniform); OneHot.
import { dtypeFromOnnx } from '../../graph/dtype.js';
import { type HostTensor, toIntList, toNumbers } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, grid, main1d, sizeOf, storageType, uniformDecl, wgslType } from './wgsl.js';

interface LineParams {
  readonly op: 'hardmax' | 'lp1' | 'lp2';
}

const lineShader = defineShader<LineParams>('axis-line', (spec) => {
  const p = spec.params;
  const body = p.op === 'hardmax'
    ? `  var best = 0u;
  var bv = x[base];
  for (var j = 1u; j < L; j = j + 1u) { let v = x[base + j * inner]; if (v > bv) { bv = v; best = j; } }
  out[gi] = select(0.0, 1.0, best == pos);`
    : `  var s = 0.0;
  for (var j = 0u; j < L; j = j + 1u) { let v = x[base + j * inner]; s = s + ${p.op === 'lp1' ? 'abs(v)' : 'v * v'}; }
  let norm = ${p.op === 'lp1' ? 's' : 'sqrt(s)'};
  out[gi] = select(x[gi] / norm, 0.0, norm == 0.0);`;
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let L = u_len();
  let inner = u_inner();
  let pos = (gi / inner) % L;
  let base = gi - pos * inner;
${body}`)}`;
});

function linePlan(ctx: GpuKernelContext, op: LineParams['op'], len: number, inner: number): GpuPlan {
  const x = ctx.inputs[0]!;
  const n = sizeOf(x.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'len', type: 'u32', value: Math.max(1, len) },
    { name: 'inner', type: 'u32', value: Math.max(1, inner) },
  ];
  return { kind: 'run', outputs: [{ dtype: 'float32', dims: x.dims }], programs: n === 0 ? [] : [{ shader: lineShader, params: { op } satisfies LineParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }] };
}

function hardmaxPlan(ctx: GpuKernelContext): GpuPlan {
  const d = ctx.inputs[0]!.dims;
  if (ctx.inputs[0]!.dtype !== 'float32') return unsupported(`Hardmax of ${ctx.inputs[0]!.dtype} runs on the CPU`);
  const r = d.length;
  if (r === 0) return unsupported('scalar');
  let axis = ctx.attrs.int('axis', ctx.opset >= 13 ? -1 : 1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return unsupported('axis out of range');
  // Before opset 13 the input is flattened to 2-D at axis: the line is everything from axis on.
  if (ctx.opset < 13) return linePlan(ctx, 'hardmax', sizeOf(d.slice(axis)), 1);
  return linePlan(ctx, 'hardmax', d[axis]!, sizeOf(d.slice(axis + 1)));
}

function lpNormPlan(ctx: GpuKernelContext): GpuPlan {
  const d = ctx.inputs[0]!.dims;
  if (ctx.inputs[0]!.dtype !== 'float32') return unsupported(`LpNormalization of ${ctx.inputs[0]!.dtype} runs on the CPU`);
  const r = d.length;
  let axis = ctx.attrs.int('axis', -1);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return unsupported('axis out of range');
  const p = ctx.attrs.int('p', 2);
  if (p !== 1 && p !== 2) return unsupported(`p = ${p}`);
  return linePlan(ctx, p === 1 ? 'lp1' : 'lp2', d[axis]!, sizeOf(d.slice(axis + 1)));
}

interface FillParams {
  readonly t: 'f32' | 'i32' | 'u32' | 'vec2<u32>';
}

const fillShader = defineShader<FillParams>('fill', (spec) => `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'out', type: spec.params.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  out[gi] = ${spec.params.t === 'vec2<u32>' ? 'vec2<u32>(u_v(), u_hi())' : `bitcast<${spec.params.t}>(u_v())`};`)}`);

/** The bits of element 0 of `value` as its GPU storage holds them (two words for 8-byte dtypes). */
function storedBits(value: HostTensor | undefined, t: FillParams['t']): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  if (value && value.data.length) {
    const d = value.data;
    if (d instanceof BigInt64Array) view.setBigInt64(0, d[0]!, true);
    else if (d instanceof BigUint64Array) view.setBigUint64(0, d[0]!, true);
    else if (d instanceof Float64Array) view.setFloat64(0, d[0]!, true);
    else {
      const v = toNumbers(value)[0]!;
      if (t === 'f32') view.setFloat32(0, v, true);
      else if (t === 'i32') view.setInt32(0, v, true);
      else view.setUint32(0, v >>> 0, true);
    }
  }
  return [view.getUint32(0, true), view.getUint32(4, true)];
}

function constantOfShapePlan(ctx: GpuKernelContext): GpuPlan {
  const shapeT = ctx.host(0);
  if (!shapeT) return unsupported('shape is not known');
  const dims = toIntList(shapeT);
  const value = ctx.attrs.tensor('value');
  const dtype = value ? value.dtype : dtypeFromOnnx(1)!;
  const t = storageType(dtype, ctx.f16, true);
  if (!t || t === 'f16') return unsupported(`ConstantOfShape of ${dtype} runs on the CPU`);
  // float16 stored widened: its value as f32 (exact).
  const v = value && dtype === 'float16' && value.data.length ? { ...value, dtype: 'float32' as const, data: Float32Array.of(toNumbers(value)[0]!) } : value;
  const [lo, hi] = storedBits(v, t);
  const n = sizeOf(dims);
  const uniforms: UniformValue[] = [{ name: 'n', type: 'u32', value: n }, { name: 'v', type: 'u32', value: lo }, { name: 'hi', type: 'u32', value: hi }];
  return { kind: 'run', outputs: [{ dtype, dims }], programs: n === 0 ? [] : [{ shader: fillShader, params: { t } satisfies FillParams, uniforms, bindings: [{ output: 0 }], workgroups: grid(n) }] };
}

export const axisGpuKernels = {
  Hardmax: { plan: hardmaxPlan },
  LpNormalization: { plan: lpNormPlan },
  ConstantOfShape: { hostInputs: () => [0], allDtypes: true, exact: true, plan: constantOfShapePlan },
} satisfies Record<string, GpuKernel>;


interface OneHotParams {
  readonly it: WgslType;
  readonly t: WgslType;
}

/** out[o, d, i] = values[1] where trunc(indices[o, i]) (negative: + depth) is d, else values[0]. */
const oneHotShader = defineShader<OneHotParams>('one-hot', (spec) => {
  const p = spec.params;
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'ind', type: p.it }, { name: 'vals', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let inner = u_inner();
  let depth = u_depth();
  let i = gi % inner;
  let t = gi / inner;
  let d = t % depth;
  let o = t / depth;
  var v = i32(${p.it === 'f32' ? 'trunc(ind[o * inner + i])' : 'ind[o * inner + i]'});
  if (v < 0) { v = v + i32(depth); }
  out[gi] = select(vals[0], vals[1], v == i32(d));`)}`;
});

function oneHotPlan(ctx: GpuKernelContext): GpuPlan {
  const ind = ctx.inputs[0]!;
  const vals = ctx.inputs[2]!;
  const it = ind.dtype === 'int64' ? 'i32' : wgslType(ind.dtype, false);
  if (it !== 'i32' && it !== 'f32') return unsupported(`indices of ${ind.dtype} run on the CPU`);
  const t = wgslType(vals.dtype, false);
  if (!t || t === 'f16' || sizeOf(vals.dims) !== 2) return unsupported(`values of ${vals.dtype} run on the CPU`);
  const dt = ctx.host(1);
  if (!dt || dt.data.length !== 1) return unsupported('depth must be a scalar');
  const depth = Math.trunc(toNumbers(dt)[0]!);
  if (!(depth >= 0)) return unsupported('negative depth');
  const r = ind.dims.length;
  let axis = ctx.attrs.int('axis', -1);
  if (axis < 0) axis += r + 1;
  if (axis < 0 || axis > r) return unsupported('axis out of range');
  const outDims = [...ind.dims.slice(0, axis), depth, ...ind.dims.slice(axis)];
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'inner', type: 'u32', value: Math.max(1, sizeOf(ind.dims.slice(axis))) },
    { name: 'depth', type: 'u32', value: Math.max(1, depth) },
  ];
  return { kind: 'run', outputs: [{ dtype: vals.dtype, dims: outDims }], programs: n === 0 ? [] : [{ shader: oneHotShader, params: { it, t } satisfies OneHotParams, uniforms, bindings: [{ input: 0 }, { input: 2 }, { output: 0 }], workgroups: grid(n) }] };
}

export const oneHotGpuKernels = {
  OneHot: { hostInputs: () => [1], narrowInt64: [0], plan: oneHotPlan },
} satisfies Record<string, GpuKernel>;
