// ScatterElements and ScatterND on WebGPU. A thread per output element starts from data and applies,
// in order, every update that lands on it (ScatterElements scans only its line along the axis;
// ScatterND scans the index tuples), so duplicate indices and reductions give the CPU kernel's
// sequential result without atomics. Indices are int32 or int64 narrowed to i32.
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, enables, grid, main1d, sizeOf, stridesOf, uniformDecl, wgslType } from './wgsl.js';

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

const combine = (r: Reduction, a: string, v: string): string =>
  r === 'none' ? v : r === 'add' ? `${a} + ${v}` : r === 'mul' ? `${a} * ${v}` : `${r}(${a}, ${v})`;

interface ScatterElementsParams {
  readonly t: WgslType;
  readonly rank: number;
  readonly reduction: Reduction;
}

const scatterElementsShader = defineShader<ScatterElementsParams>('scatter-elements', (spec) => {
  const p = spec.params;
  const dims = [...Array(p.rank).keys()];
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'data', type: p.t }, { name: 'ind', type: 'i32' }, { name: 'upd', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  var acc = data[gi];
  var rem = gi;
  var ioff = 0u;
  var inside = true;
  var ca = 0u;
${dims.map((d) => `  { let c = rem / u_ds(${d}u); rem = rem - c * u_ds(${d}u);
    if (${d}u == u_axis()) { ca = c; } else { if (c >= u_idm(${d}u)) { inside = false; } ioff = ioff + c * u_is(${d}u); } }`).join('\n')}
  if (inside) {
    for (var j = 0u; j < u_idm(u_axis()); j = j + 1u) {
      let o = ioff + j * u_is(u_axis());
      var k = ind[o];
      if (k < 0) { k = k + i32(u_dim()); }
      if (k == i32(ca)) { acc = ${combine(p.reduction, 'acc', 'upd[o]')}; }
    }
  }
  out[gi] = acc;`)}`;
});

function reductionOf(ctx: GpuKernelContext): Reduction | undefined {
  const r = ctx.attrs.string('reduction', 'none');
  return r === 'none' || r === 'add' || r === 'mul' || r === 'max' || r === 'min' ? r : undefined;
}

function scatterElementsPlan(ctx: GpuKernelContext): GpuPlan {
  const [x, ind, upd] = ctx.inputs;
  if (!x || !ind || !upd) return unsupported('data, indices and updates are required');
  const t = wgslType(x.dtype, ctx.f16);
  if (!t || t === 'f16' || upd.dtype !== x.dtype) return unsupported(`${ctx.node.opType} of ${x.dtype} runs on the CPU`);
  if (ind.dtype !== 'int32' && ind.dtype !== 'int64') return unsupported(`indices are ${ind.dtype}`);
  const reduction = reductionOf(ctx);
  if (!reduction) return unsupported('unknown reduction');
  if (reduction !== 'none' && x.dtype === 'bool') return unsupported('bool reduction');
  const r = x.dims.length;
  if (r === 0 || ind.dims.length !== r || upd.dims.length !== r || ind.dims.some((d, i) => d !== upd.dims[i] || d > x.dims[i]!)) return unsupported('indices/updates shapes');
  let axis = ctx.attrs.int('axis', 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return unsupported('axis out of range');
  const n = sizeOf(x.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'axis', type: 'u32', value: axis },
    { name: 'dim', type: 'u32', value: x.dims[axis]! },
    { name: 'ds', type: 'u32', value: stridesOf(x.dims) },
    { name: 'is', type: 'u32', value: stridesOf(ind.dims) },
    { name: 'idm', type: 'u32', value: ind.dims },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: x.dtype, dims: x.dims }],
    programs: n === 0 ? [] : [{ shader: scatterElementsShader, params: { t, rank: r, reduction } satisfies ScatterElementsParams, uniforms, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, { output: 0 }], workgroups: grid(n) }],
  };
}

interface ScatterNdParams {
  readonly t: WgslType;
  readonly k: number;
  readonly reduction: Reduction;
}

const scatterNdShader = defineShader<ScatterNdParams>('scatter-nd', (spec) => {
  const p = spec.params;
  const ks = [...Array(p.k).keys()];
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'data', type: p.t }, { name: 'ind', type: 'i32' }, { name: 'upd', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  var acc = data[gi];
  let slice = u_slice();
  let prefix = gi / slice;
  let within = gi % slice;
  for (var u = 0u; u < u_nt(); u = u + 1u) {
    var tgt = 0u;
${ks.map((i) => `    { var c = ind[u * ${p.k}u + ${i}u]; if (c < 0) { c = c + i32(u_pd(${i}u)); } tgt = tgt + u32(c) * u_ps(${i}u); }`).join('\n')}
    if (tgt == prefix) { acc = ${combine(p.reduction, 'acc', 'upd[u * slice + within]')}; }
  }
  out[gi] = acc;`)}`;
});

function scatterNdPlan(ctx: GpuKernelContext): GpuPlan {
  const [x, ind, upd] = ctx.inputs;
  if (!x || !ind || !upd) return unsupported('data, indices and updates are required');
  const t = wgslType(x.dtype, ctx.f16);
  if (!t || t === 'f16' || upd.dtype !== x.dtype) return unsupported(`ScatterND of ${x.dtype} runs on the CPU`);
  if (ind.dtype !== 'int32' && ind.dtype !== 'int64') return unsupported(`indices are ${ind.dtype}`);
  const reduction = reductionOf(ctx);
  if (!reduction) return unsupported('unknown reduction');
  if (reduction !== 'none' && x.dtype === 'bool') return unsupported('bool reduction');
  const q = ind.dims.length;
  if (q < 1) return unsupported('indices rank 0');
  const k = ind.dims[q - 1]!;
  const r = x.dims.length;
  if (k < 1 || k > r) return unsupported('index tuple length');
  const want = [...ind.dims.slice(0, -1), ...x.dims.slice(k)];
  if (upd.dims.length !== want.length || upd.dims.some((d, i) => d !== want[i])) return unsupported('updates shape');
  const n = sizeOf(x.dims);
  const slice = sizeOf(x.dims.slice(k));
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'slice', type: 'u32', value: Math.max(1, slice) },
    { name: 'nt', type: 'u32', value: sizeOf(ind.dims.slice(0, -1)) },
    { name: 'pd', type: 'u32', value: x.dims.slice(0, k) },
    { name: 'ps', type: 'u32', value: stridesOf(x.dims.slice(0, k)) },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: x.dtype, dims: x.dims }],
    programs: n === 0 ? [] : [{ shader: scatterNdShader, params: { t, k, reduction } satisfies ScatterNdParams, uniforms, bindings: [{ input: 0 }, { input: 1 }, { input: 2 }, { output: 0 }], workgroups: grid(n) }],
  };
}

export const scatterGpuKernels = {
  ScatterElements: { narrowInt64: [1], plan: scatterElementsPlan },
  ScatterND: { narrowInt64: [1], plan: scatterNdPlan },
} satisfies Record<string, GpuKernel>;
