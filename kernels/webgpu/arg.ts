// ArgMax, ArgMin and TopK on WebGPU: index outputs are int64 (vec2<u32>, high word 0). ArgMax/ArgMin
// run a thread per output over its line (the first NaN wins, as the CPU kernel). TopK runs a thread
// per input element that counts the line's elements ranking before it (larger or smaller, NaN
// largest, ties by lower index: a strict order, so ranks are distinct) and writes itself to its rank
// when that is below k: O(len) per element, sorted output for either value of `sorted`.
import { toIntList } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { withHelpers } from './int64.js';
import { bindingDecls, defineShader, enables, grid, main1d, sizeOf, uniformDecl, storeType } from './wgsl.js';

const ISNAN = 'fn tg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }';

interface ArgParams {
  readonly t: WgslType;
  readonly float: boolean;
  readonly max: boolean;
  readonly last: boolean;
}

const argShader = defineShader<ArgParams>('arg-extreme', (spec) => {
  const p = spec.params;
  const better = `${p.max ? 'e > best' : 'e < best'}${p.last ? ' || e == best' : ''}`;
  const nanBreak = p.float ? '    if (tg_isnan(f32(e))) { bi = i; break; }\n' : '';
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'out', type: 'vec2<u32>', write: true }])}
${p.float ? ISNAN : ''}
${main1d(`  if (gi >= u_n()) { return; }
  let inner = u_inner();
  let L = u_len();
  let base = (gi / inner) * L * inner + gi % inner;
  var best = x[base];
  var bi = 0u;
  ${p.float ? 'if (!tg_isnan(f32(best))) {' : '{'}
  for (var i = 1u; i < L; i = i + 1u) {
    let e = x[base + i * inner];
${nanBreak}    if (${better}) { best = e; bi = i; }
  }
  }
  out[gi] = vec2<u32>(bi, 0u);`)}`;
});

const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

function argPlan(ctx: GpuKernelContext, max: boolean): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storeType(x.dtype, ctx.f16);
  if (!t || x.dtype === 'bool') return unsupported(`${ctx.node.opType} of ${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  const axis = normAxis(ctx.attrs.int('axis', 0), Math.max(r, 1));
  if (axis < 0 || axis >= Math.max(r, 1)) return unsupported('axis out of range');
  const len = r === 0 ? 1 : x.dims[axis]!;
  if (len === 0) return unsupported('empty axis (the CPU kernel reports it)');
  const keep = ctx.attrs.int('keepdims', 1) !== 0;
  const dims = r === 0 ? [] : x.dims.map((d, i) => (i === axis ? 1 : d)).filter((_, i) => keep || i !== axis);
  const n = sizeOf(dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'len', type: 'u32', value: len },
    { name: 'inner', type: 'u32', value: r === 0 ? 1 : Math.max(1, sizeOf(x.dims.slice(axis + 1))) },
  ];
  const params: ArgParams = { t, float: t === 'f32' || t === 'f16', max, last: ctx.attrs.int('select_last_index', 0) !== 0 };
  return { kind: 'run', outputs: [{ dtype: 'int64', dims }], programs: n === 0 ? [] : [{ shader: argShader, params, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }] };
}

interface TopKParams {
  readonly t: WgslType;
  readonly float: boolean;
  readonly largest: boolean;
  /** int64/uint64 values (vec2<u32>) compared with the int64.ts helpers. */
  readonly wide?: 'i64' | 'u64';
}

const topKShader = defineShader<TopKParams>('top-k', (spec) => {
  const p = spec.params;
  const cmp = p.largest ? '>' : '<';
  // w (at j) ranks before v (at i).
  const lt = `tg_${p.wide ?? 'i64'}_lt`;
  const before = p.wide
    ? `let pre = ${p.largest ? `${lt}(v, w)` : `${lt}(w, v)`} || (all(w == v) && j < i);`
    : p.float
    ? `let wn = tg_isnan(f32(w));
      let ${p.largest ? 'pre = (wn && !vn)' : 'pre = (vn && !wn)'} || (!wn && !vn && w ${cmp} v) || ((w == v || (wn && vn)) && j < i);`
    : `let pre = w ${cmp} v || (w == v && j < i);`;
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'vals', type: p.t, write: true }, { name: 'ind', type: 'vec2<u32>', write: true }])}
${p.float ? ISNAN : ''}
${p.wide ? withHelpers(before).join('\n') : ''}
${main1d(`  if (gi >= u_n()) { return; }
  let inner = u_inner();
  let L = u_len();
  let r = gi % inner;
  let t = gi / inner;
  let i = t % L;
  let o = t / L;
  let base = o * L * inner + r;
  let v = x[gi];
  ${p.float ? 'let vn = tg_isnan(f32(v));' : ''}
  var rank = 0u;
  for (var j = 0u; j < L; j = j + 1u) {
    if (j != i) {
      let w = x[base + j * inner];
      ${before}
      if (pre) { rank = rank + 1u; }
    }
  }
  if (rank < u_k()) {
    let at = (o * u_k() + rank) * inner + r;
    vals[at] = v;
    ind[at] = vec2<u32>(i, 0u);
  }`)}`;
});

function topKPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const wide = x.dtype === 'int64' ? 'i64' : x.dtype === 'uint64' ? 'u64' : undefined;
  const t = wide ? 'vec2<u32>' : storeType(x.dtype, ctx.f16);
  if (!t || x.dtype === 'bool') return unsupported(`TopK of ${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  if (r === 0) return unsupported('scalar input');
  const axis = normAxis(ctx.attrs.int('axis', -1), r);
  if (axis < 0 || axis >= r) return unsupported('axis out of range');
  let k: number;
  if (ctx.opset < 10) k = ctx.attrs.int('k', -1);
  else {
    const kt = ctx.host(1);
    if (!kt || kt.data.length !== 1) return unsupported('K must be a 1-element tensor');
    k = toIntList(kt)[0]!;
  }
  const len = x.dims[axis]!;
  if (k < 0 || k > len) return unsupported(`k = ${k} is out of range (the CPU kernel reports it)`);
  const dims = x.dims.map((d, i) => (i === axis ? k : d));
  const n = sizeOf(x.dims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'len', type: 'u32', value: len },
    { name: 'inner', type: 'u32', value: Math.max(1, sizeOf(x.dims.slice(axis + 1))) },
    { name: 'k', type: 'u32', value: k },
  ];
  const params: TopKParams = { t, float: t === 'f32' || t === 'f16', largest: ctx.attrs.int('largest', 1) !== 0, ...(wide ? { wide } : {}) };
  return {
    kind: 'run',
    outputs: [{ dtype: x.dtype, dims }, { dtype: 'int64', dims }],
    programs: n === 0 || k === 0 ? [] : [{ shader: topKShader, params, uniforms, bindings: [{ input: 0 }, { output: 0 }, { output: 1 }], workgroups: grid(n) }],
  };
}

export const argGpuKernels = {
  ArgMax: { allDtypes: true, plan: (ctx) => argPlan(ctx, true) },
  ArgMin: { allDtypes: true, plan: (ctx) => argPlan(ctx, false) },
  TopK: { hostInputs: (_n, opset) => (opset >= 10 ? [1] : []), allDtypes: true, exact: true, plan: topKPlan },
} satisfies Record<string, GpuKernel>;
