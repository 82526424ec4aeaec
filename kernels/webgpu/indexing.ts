// Index-driven ops on WebGPU: GatherElements (int64 indices narrowed to i32 on the GPU), Trilu, Range,
// CumSum, CumProd and GatherND. One thread per output element; shapes and strides go into uniforms.
import type { DType } from '../../graph/dtype.js';
import { toIntList, toNumbers } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, Program, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, enables, grid, main1d, sizeOf, stridedOffsetFn, stridesOf, uniformDecl, storageType } from './wgsl.js';

const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

function run(dtype: DType, dims: readonly number[], programs: Program[]): GpuPlan {
  return { kind: 'run', outputs: [{ dtype, dims }], programs: sizeOf(dims) === 0 ? [] : programs };
}

interface GatherElementsParams {
  readonly rank: number;
  readonly t: WgslType;
}

/** out[i] = data[base(i) + idx(i) * u_sa()], base: the output coordinates (but the axis) over data strides. */
const gatherElementsShader = defineShader<GatherElementsParams>('gather-elements', (spec) => {
  const p = spec.params;
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'data', type: p.t }, { name: 'ind', type: 'i32' }, { name: 'out', type: p.t, write: true }])}
${stridedOffsetFn('baseOff', p.rank, 'os', 'ds')}
${main1d(`  if (gi >= u_n()) { return; }
  var k = ind[gi];
  if (k < 0) { k = k + i32(u_dim()); }
  k = clamp(k, 0, i32(u_dim()) - 1);
  out[gi] = data[baseOff(gi) + u32(k) * u_sa()];`)}`;
});

function gatherElementsPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const ind = ctx.inputs[1]!;
  const t = storageType(x.dtype, ctx.f16, true);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  if (ind.dtype !== 'int32' && ind.dtype !== 'int64') return unsupported(`indices are ${ind.dtype}`);
  const r = x.dims.length;
  if (ind.dims.length !== r || r === 0) return unsupported('indices must have the data rank');
  const axis = normAxis(ctx.attrs.int('axis', 0), r);
  if (x.dims[axis] === 0) return unsupported('empty axis');
  const ds = stridesOf(x.dims);
  const n = sizeOf(ind.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'dim', type: 'u32', value: x.dims[axis]! },
    { name: 'sa', type: 'u32', value: ds[axis]! },
    { name: 'os', type: 'u32', value: stridesOf(ind.dims) },
    { name: 'ds', type: 'u32', value: ds.map((s, d) => (d === axis ? 0 : s)) },
  ];
  return run(x.dtype, ind.dims, [{ shader: gatherElementsShader, params: { rank: r, t } satisfies GatherElementsParams, uniforms, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }], workgroups: grid(n) }]);
}

interface TriluParams {
  readonly t: WgslType;
  readonly upper: boolean;
}

const triluShader = defineShader<TriluParams>('trilu', (spec) => {
  const p = spec.params;
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let col = i32(gi % u_w());
  let row = i32((gi / u_w()) % u_h());
  let keep = ${p.upper ? 'col - row >= u_k()' : 'col - row <= u_k()'};
  out[gi] = select(${p.t}(0), x[gi], keep);`)}`;
});

function triluPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storageType(x.dtype, ctx.f16, true);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  if (r < 2) return unsupported('rank < 2');
  const kT = ctx.host(1);
  let k = kT && kT.data.length ? toIntList(kT)[0]! : 0;
  const h = x.dims[r - 2]!;
  const w = x.dims[r - 1]!;
  k = Math.max(-h - 1, Math.min(w + 1, k));
  const n = sizeOf(x.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'w', type: 'u32', value: w },
    { name: 'h', type: 'u32', value: h },
    { name: 'k', type: 'i32', value: k },
  ];
  return run(x.dtype, x.dims, [{ shader: triluShader, params: { t, upper: ctx.attrs.int('upper', 1) !== 0 } satisfies TriluParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }]);
}

interface RangeParams {
  readonly t: 'f32' | 'i32';
}

const rangeShader = defineShader<RangeParams>('range', (spec) => {
  const p = spec.params;
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  out[gi] = u_start() + ${p.t}(gi) * u_delta();`)}`;
});

function rangePlan(ctx: GpuKernelContext): GpuPlan {
  const dt = ctx.inputs[0]!.dtype;
  if (dt !== 'float32' && dt !== 'int32') return unsupported(`Range of ${dt} runs on the CPU`);
  const vals = [0, 1, 2].map((i) => ctx.host(i));
  if (vals.some((v) => !v || v.data.length !== 1)) return unsupported('start, limit and delta must be scalars');
  const [a, b, c] = vals.map((v) => toNumbers(v!)[0]!) as [number, number, number];
  if (c === 0) return unsupported('Range delta is 0');
  const n = Math.max(0, Math.ceil((b - a) / c));
  if (!Number.isFinite(n)) return unsupported('Range has no finite length');
  const t = dt === 'float32' ? 'f32' : 'i32';
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'start', type: t, value: a },
    { name: 'delta', type: t, value: c },
  ];
  return run(dt, [n], [{ shader: rangeShader, params: { t } satisfies RangeParams, uniforms, bindings: [{ output: 0 }], workgroups: grid(n) }]);
}

interface CumSumParams {
  readonly t: 'f32' | 'i32' | 'u32';
  readonly op: 'sum' | 'prod';
  readonly exclusive: boolean;
  readonly reverse: boolean;
}

/** out[i] = sum of x along the axis up to (or from, reversed) i's position: a thread per element. */
const cumSumShader = defineShader<CumSumParams>('cumsum', (spec) => {
  const p = spec.params;
  const from = p.reverse ? (p.exclusive ? 'pos + 1u' : 'pos') : '0u';
  const to = p.reverse ? 'u_len()' : p.exclusive ? 'pos' : 'pos + 1u';
  const op = p.op === 'sum' ? '+' : '*';
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let pos = (gi / u_inner()) % u_len();
  let base = gi - pos * u_inner();
  var acc = ${p.t}(${p.op === 'sum' ? 0 : 1});
  ${p.reverse ? `for (var j = u_len(); j > ${from}; j = j - 1u) { acc = acc ${op} x[base + (j - 1u) * u_inner()]; }` : `for (var j = ${from}; j < ${to}; j = j + 1u) { acc = acc ${op} x[base + j * u_inner()]; }`}
  out[gi] = acc;`)}`;
});

function cumPlan(ctx: GpuKernelContext, op: CumSumParams['op']): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = x.dtype === 'float32' ? 'f32' : x.dtype === 'int32' ? 'i32' : x.dtype === 'uint32' ? 'u32' : undefined;
  if (!t) return unsupported(`${ctx.node.opType} of ${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  if (r === 0) return unsupported('scalar');
  const axT = ctx.host(1);
  if (!axT || axT.data.length !== 1) return unsupported('axis must be a scalar');
  const axis = normAxis(toIntList(axT)[0]!, r);
  const n = sizeOf(x.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'len', type: 'u32', value: x.dims[axis]! },
    { name: 'inner', type: 'u32', value: sizeOf(x.dims.slice(axis + 1)) },
  ];
  const params: CumSumParams = { t, op, exclusive: ctx.attrs.int('exclusive', 0) !== 0, reverse: ctx.attrs.int('reverse', 0) !== 0 };
  return run(x.dtype, x.dims, [{ shader: cumSumShader, params, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }]);
}

export const indexingGpuKernels = {
  GatherElements: { narrowInt64: [1], allDtypes: true, exact: true, plan: gatherElementsPlan },
  Trilu: { hostInputs: () => [1], allDtypes: true, exact: true, plan: triluPlan },
  Range: { hostInputs: () => [0, 1, 2], plan: rangePlan },
  CumSum: { hostInputs: () => [1], plan: (ctx) => cumPlan(ctx, 'sum') },
  CumProd: { hostInputs: () => [1], plan: (ctx) => cumPlan(ctx, 'prod') },
} satisfies Record<string, GpuKernel>;

interface GatherNdParams {
  readonly t: WgslType;
  readonly k: number;
}

/** GatherND: a thread per output element reads its index tuple and copies one element of the slice. */
const gatherNdShader = defineShader<GatherNdParams>('gather-nd', (spec) => {
  const p = spec.params;
  const ks = [...Array(p.k).keys()];
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'data', type: p.t }, { name: 'ind', type: 'i32' }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let slice = u_slice();
  let t = gi / slice;
  let within = gi % slice;
  let batch = t / u_perbatch();
  var off = batch * u_batchsize() + within;
${ks.map((i) => `  { var c = ind[t * ${p.k}u + ${i}u]; if (c < 0) { c = c + i32(u_pd(${i}u)); } off = off + u32(clamp(c, 0, i32(u_pd(${i}u)) - 1)) * u_ps(${i}u); }`).join('\n')}
  out[gi] = data[off];`)}`;
});

function gatherNdPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const ind = ctx.inputs[1]!;
  const t = storageType(x.dtype, ctx.f16, true);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  if (ind.dtype !== 'int32' && ind.dtype !== 'int64') return unsupported(`indices are ${ind.dtype}`);
  const b = ctx.attrs.int('batch_dims', 0);
  const q = ind.dims.length;
  const r = x.dims.length;
  if (q < 1 || b < 0 || b >= q || b >= r) return unsupported('batch_dims out of range');
  const k = ind.dims[q - 1]!;
  if (k < 1 || b + k > r) return unsupported('index tuple length');
  if (ind.dims.slice(0, b).some((d, i) => d !== x.dims[i])) return unsupported('batch dims differ');
  const outDims = [...ind.dims.slice(0, -1), ...x.dims.slice(b + k)];
  const n = sizeOf(outDims);
  const inner = x.dims.slice(b);
  const innerStrides = stridesOf(inner);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'slice', type: 'u32', value: Math.max(1, sizeOf(x.dims.slice(b + k))) },
    { name: 'perbatch', type: 'u32', value: Math.max(1, sizeOf(ind.dims.slice(b, -1))) },
    { name: 'batchsize', type: 'u32', value: sizeOf(inner) },
    { name: 'pd', type: 'u32', value: inner.slice(0, k) },
    { name: 'ps', type: 'u32', value: innerStrides.slice(0, k) },
  ];
  return run(x.dtype, outDims, [{ shader: gatherNdShader, params: { t, k } satisfies GatherNdParams, uniforms, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }], workgroups: grid(n) }]);
}

export const gatherNdGpuKernels = {
  GatherND: { narrowInt64: [1], allDtypes: true, exact: true, plan: gatherNdPlan },
} satisfies Record<string, GpuKernel>;
