// LpPool on WebGPU (float32, 1-3 spatial dims): (sum over the window of |x|^p)^(1/p), padding counted
// as zeros; window geometry from graph/ops/nn-window.ts (pads, auto_pad, strides, dilations, ceil_mode).
import { readWindowAttrs, windowGeometry } from '../../graph/ops/nn-window.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, grid, mainTotal, sizeOf, spatialIndex, uniformDecl, windowUniforms } from './wgsl.js';

interface LpPoolParams {
  readonly nsp: number;
}

const lpPoolShader = defineShader<LpPoolParams>('lp-pool', (spec) => {
  const n = spec.params.nsp;
  const dims = [...Array(n).keys()];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${mainTotal(`  var t = gi;
${spatialIndex(n)}
  let base = t * u_isize();
  var acc = 0.0;
  for (var kk = 0u; kk < u_ksize(); kk = kk + 1u) {
    var kr = kk;
    var off = 0u;
    var ok = true;
${dims.slice().reverse().map((i) => `    { let k = kr % u_kd(${i}u); kr = kr / u_kd(${i}u);
      let ii = o${i} * i32(u_st(${i}u)) - u_ph(${i}u) + i32(k * u_dil(${i}u));
      if (ii < 0 || ii >= i32(u_id(${i}u))) { ok = false; }
      off = off + u32(max(ii, 0)) * u_is(${i}u); }`).join('\n')}
    if (!ok) { continue; }
    let v = abs(x[base + off]);
    acc = acc + select(pow(v, u_p()), 0.0, v == 0.0);
  }
  out[gi] = select(pow(acc, 1.0 / u_p()), 0.0, acc == 0.0);`)}`;
});

function lpPoolPlan(ctx: GpuKernelContext): GpuPlan {
  const X = ctx.inputs[0]!;
  if (X.dtype !== 'float32') return unsupported(`LpPool of ${X.dtype} runs on the CPU`);
  const r = X.dims.length;
  if (r < 3 || r > 5) return unsupported(`LpPool of rank ${r} runs on the CPU`);
  const nsp = r - 2;
  const a = readWindowAttrs(ctx.attrs, nsp);
  const inSp = X.dims.slice(2);
  const geo = windowGeometry(inSp, a);
  if (geo.out.some((o) => o < 1)) return unsupported('empty output');
  const p = ctx.opset >= 11 ? ctx.attrs.int('p', 2) : ctx.attrs.float('p', 2);
  const outDims = [X.dims[0]!, X.dims[1]!, ...geo.out];
  const total = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'isize', type: 'u32', value: sizeOf(inSp) },
    { name: 'ksize', type: 'u32', value: sizeOf(a.kernel) },
    { name: 'p', type: 'f32', value: p },
    ...windowUniforms(geo.out, inSp, a, geo.padHead),
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 ? [] : [{ shader: lpPoolShader, params: { nsp } satisfies LpPoolParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(total) }],
  };
}

export const lpPoolGpuKernels = {
  LpPool: { plan: lpPoolPlan },
} satisfies Record<string, GpuKernel>;
