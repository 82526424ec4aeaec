// GridSample on WebGPU (float32; 1-3 spatial dims; nearest, linear, and cubic in 2-D; zeros, border
// and reflection padding; align_corners), following the CPU kernel (kernels/cpu/image-grid.ts, the
// ONNX reference): a thread per output element denormalizes its grid point, folds it for the padding
// mode, gathers each dim's taps and sums their products. AffineGrid: a thread per grid coordinate.
import { toIntList } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, grid, mainTotal, sizeOf, uniformDecl } from './wgsl.js';

interface GridSampleParams {
  readonly k: number;
  readonly mode: 'nearest' | 'linear' | 'cubic';
  readonly padding: 'zeros' | 'border' | 'reflection';
  readonly align: boolean;
}

const gridSampleShader = defineShader<GridSampleParams>('grid-sample', (spec) => {
  const p = spec.params;
  const k = p.k;
  const nt = p.mode === 'nearest' ? 1 : p.mode === 'linear' ? 2 : 4;
  const combos = nt ** k;
  const dims = [...Array(k).keys()];
  const perDim = dims.map((d) => {
    const lines = [`  {
    let len = i32(u_id(${d}u));
    let lo = ${p.align ? '0.0' : '-0.5'};
    let hi = ${p.align ? 'f32(len) - 1.0' : 'f32(len) - 0.5'};
    let norm = g[gbase + ${k - 1 - d}u];
    var c = ${p.align ? '(norm + 1.0) * 0.5 * f32(len - 1)' : '((norm + 1.0) * f32(len) - 1.0) * 0.5'};`];
    if (p.mode === 'nearest') lines.push('    c = round(c);');
    if (!(p.mode === 'cubic' && p.padding === 'border')) {
      if (p.padding === 'border') lines.push('    if (c < lo || c > hi) { c = clamp(c, 0.0, f32(len - 1)); }');
      else if (p.padding === 'reflection') lines.push('    if (c < lo || c > hi) { c = reflect1(c, lo, hi); }');
    }
    if (p.mode === 'nearest') lines.push(`    ti[${d * nt}] = fetchIndex(i32(trunc(c)), len, lo, hi); tw[${d * nt}] = 1.0;`);
    else if (p.mode === 'linear') {
      lines.push('    let c0 = floor(c); let t = c - c0; let i0 = i32(c0);');
      lines.push(`    ti[${d * nt}] = fetchIndex(i0, len, lo, hi); ti[${d * nt + 1}] = fetchIndex(i0 + 1, len, lo, hi);`);
      lines.push(`    tw[${d * nt}] = 1.0 - t; tw[${d * nt + 1}] = t;`);
    } else {
      lines.push('    let c0 = floor(c); let t = c - c0; let i0 = i32(c0);');
      for (let j = 0; j < 4; j++) lines.push(`    ti[${d * nt + j}] = fetchIndex(i0 - 1 + ${j}, len, lo, hi);`);
      lines.push('    let A = -0.75; let x1 = abs(t) + 1.0; let x0 = abs(t); let x2 = 1.0 - abs(t); let x3 = 2.0 - abs(t);');
      lines.push(`    tw[${d * nt}] = ((A * x1 - 5.0 * A) * x1 + 8.0 * A) * x1 - 4.0 * A;`);
      lines.push(`    tw[${d * nt + 1}] = ((A + 2.0) * x0 - (A + 3.0)) * x0 * x0 + 1.0;`);
      lines.push(`    tw[${d * nt + 2}] = ((A + 2.0) * x2 - (A + 3.0)) * x2 * x2 + 1.0;`);
      lines.push(`    tw[${d * nt + 3}] = ((A * x3 - 5.0 * A) * x3 + 8.0 * A) * x3 - 4.0 * A;`);
    }
    lines.push('  }');
    return lines.join('\n');
  });
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'g', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
fn reflect1(x: f32, lo: f32, hi: f32) -> f32 {
  let rng = hi - lo;
  if (rng <= 0.0) { return lo; }
  if (x < lo) {
    let dx = lo - x; let n = trunc(dx / rng); let r = dx - n * rng;
    return select(hi - r, lo + r, (i32(n) % 2) == 0);
  }
  if (x > hi) {
    let dx = x - hi; let n = trunc(dx / rng); let r = dx - n * rng;
    return select(lo + r, hi - r, (i32(n) % 2) == 0);
  }
  return x;
}
fn fetchIndex(i: i32, len: i32, lo: f32, hi: f32) -> i32 {
  if (i >= 0 && i < len) { return i; }
  ${p.padding === 'zeros' ? 'return -1;' : p.padding === 'border' ? 'return select(len - 1, 0, i < 0);' : 'let r = i32(trunc(reflect1(f32(i), lo, hi))); return clamp(r, 0, len - 1);'}
}
${mainTotal(`  let P = u_p();
  let pp = gi % P;
  let nc = gi / P;
  let n = nc / u_c();
  let gbase = (n * P + pp) * ${k}u;
  var ti: array<i32, ${k * nt}>;
  var tw: array<f32, ${k * nt}>;
${perDim.join('\n')}
  let xbase = nc * u_s();
  var acc = 0.0;
  for (var ci = 0u; ci < ${combos}u; ci = ci + 1u) {
    var rest = ci;
    var off = 0u;
    var w = 1.0;
    var ok = true;
${dims.slice().reverse().map((d) => `    { let j = rest % ${nt}u; rest = rest / ${nt}u; let t = ti[${d * nt}u + j]; if (t < 0) { ok = false; } else { off = off + u32(t) * u_is(${d}u); w = w * tw[${d * nt}u + j]; } }`).join('\n')}
    if (ok) { acc = acc + w * x[xbase + off]; }
  }
  out[gi] = acc;`)}`;
});

function gridSamplePlan(ctx: GpuKernelContext): GpuPlan {
  const X = ctx.inputs[0]!;
  const G = ctx.inputs[1]!;
  if (X.dtype !== 'float32' || G.dtype !== 'float32') return unsupported(`GridSample of ${X.dtype} runs on the CPU`);
  const rank = X.dims.length;
  const k = rank - 2;
  if (k < 1 || k > 3) return unsupported(`GridSample of rank ${rank} runs on the CPU`);
  if (G.dims.length !== rank || G.dims[rank - 1] !== k || G.dims[0] !== X.dims[0]) return unsupported('grid shape does not match');
  if (ctx.opset < 20 && k !== 2) return unsupported('GridSample before opset 20 takes 4-D inputs');
  let mode = ctx.attrs.string('mode', ctx.opset >= 20 ? 'linear' : 'bilinear');
  if (mode === 'bilinear') mode = 'linear';
  if (mode === 'bicubic') mode = 'cubic';
  if (mode !== 'linear' && mode !== 'nearest' && mode !== 'cubic') return unsupported(`mode '${mode}'`);
  if (mode === 'cubic' && k !== 2) return unsupported('cubic mode supports 2-D only');
  const padding = ctx.attrs.string('padding_mode', 'zeros');
  if (padding !== 'zeros' && padding !== 'border' && padding !== 'reflection') return unsupported(`padding_mode '${padding}'`);
  const [N, C] = [X.dims[0]!, X.dims[1]!];
  const inDims = X.dims.slice(2);
  const outSpatial = G.dims.slice(1, -1);
  const outDims = [N, C, ...outSpatial];
  const total = sizeOf(outDims);
  const is = new Array<number>(k);
  let acc = 1;
  for (let d = k - 1; d >= 0; d--) { is[d] = acc; acc *= inDims[d]!; }
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'p', type: 'u32', value: sizeOf(outSpatial) },
    { name: 'c', type: 'u32', value: C },
    { name: 's', type: 'u32', value: sizeOf(inDims) },
    { name: 'id', type: 'u32', value: inDims },
    { name: 'is', type: 'u32', value: is },
  ];
  const params: GridSampleParams = { k, mode, padding, align: ctx.attrs.int('align_corners', 0) !== 0 };
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 || sizeOf(inDims) === 0 ? [] : [{ shader: gridSampleShader, params, uniforms, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }], workgroups: grid(total) }],
  };
}

interface AffineGridParams {
  readonly k: number;
  readonly align: boolean;
}

/** AffineGrid: out[n, p, r] = theta[n, r, k] + sum_c theta[n, r, c] * base_c(p), base x along the last axis. */
const affineGridShader = defineShader<AffineGridParams>('affine-grid', (spec) => {
  const { k, align } = spec.params;
  const lin = (i: string, len: string) => (align ? `select(-1.0, -1.0 + 2.0 * f32(${i}) / f32(${len} - 1u), ${len} > 1u)` : `(2.0 * f32(${i}) + 1.0) / f32(${len}) - 1.0`);
  const cs = [...Array(k).keys()];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'th', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${mainTotal(`  let r = gi % ${k}u;
  let pn = gi / ${k}u;
  let p = pn % u_p();
  let n = pn / u_p();
  var rest = p;
${cs.map((d) => `  let len${d} = u_sp(${k - 1 - d}u); let i${d} = rest % len${d}; rest = rest / len${d}; let c${d} = ${lin(`i${d}`, `len${d}`)};`).join('\n')}
  let t = n * ${k * (k + 1)}u + r * ${k + 1}u;
  out[gi] = th[t + ${k}u]${cs.map((c) => ` + th[t + ${c}u] * c${c}`).join('')};`)}`;
});

function affineGridPlan(ctx: GpuKernelContext): GpuPlan {
  const theta = ctx.inputs[0]!;
  if (theta.dtype !== 'float32') return unsupported(`AffineGrid of ${theta.dtype} runs on the CPU`);
  const sizeT = ctx.host(1);
  if (!sizeT) return unsupported('size is not known');
  const size = toIntList(sizeT);
  const k = size.length - 2;
  if (k !== 2 && k !== 3) return unsupported('size must have 4 or 5 values');
  const N = size[0]!;
  if (theta.dims.length !== 3 || theta.dims[0] !== N || theta.dims[1] !== k || theta.dims[2] !== k + 1) return unsupported('theta shape');
  const spatial = size.slice(2);
  const outDims = [N, ...spatial, k];
  const total = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'p', type: 'u32', value: Math.max(1, sizeOf(spatial)) },
    { name: 'sp', type: 'u32', value: spatial },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 ? [] : [{ shader: affineGridShader, params: { k, align: ctx.attrs.int('align_corners', 0) !== 0 } satisfies AffineGridParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(total) }],
  };
}

export const gridSampleGpuKernels = {
  GridSample: { plan: gridSamplePlan },
  AffineGrid: { hostInputs: () => [1], plan: affineGridPlan },
} satisfies Record<string, GpuKernel>;
