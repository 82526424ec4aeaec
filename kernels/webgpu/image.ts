// Resize on WebGPU: nearest and (multi)linear, the common coordinate transformation modes.
// Cubic, antialias, tf_crop_and_resize and keep_aspect_ratio_policy other than stretch run on the CPU.
import { toNumbers } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, grid, sizeOf, stridesOf, uniformDecl } from './wgsl.js';

const CTMS = ['half_pixel', 'pytorch_half_pixel', 'align_corners', 'asymmetric', 'tf_half_pixel_for_nn'] as const;
type Ctm = (typeof CTMS)[number];
const NEAREST = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;
type NearestMode = (typeof NEAREST)[number];

interface ResizeParams {
  readonly rank: number;
  readonly mode: 'nearest' | 'linear';
  readonly ctm: Ctm;
  readonly nearest: NearestMode;
  /** Dims interpolated linearly (the others map nearest; they are usually unscaled). */
  readonly lerp: readonly number[];
}

function coord(ctm: Ctm, d: number): string {
  const x = `f32(c${d})`;
  const s = `u_scale(${d}u)`;
  const inL = `f32(u_ind(${d}u))`;
  // As the ONNX reference: the output length here is scale * input length, not rounded.
  const outL = `(${s} * ${inL})`;
  switch (ctm) {
    case 'half_pixel': return `(${x} + 0.5) / ${s} - 0.5`;
    case 'pytorch_half_pixel': return `select((${x} + 0.5) / ${s} - 0.5, -0.5, ${outL} == 1.0)`;
    case 'align_corners': return `select(${x} * (${inL} - 1.0) / (${outL} - 1.0), 0.0, ${outL} == 1.0)`;
    case 'asymmetric': return `${x} / ${s}`;
    case 'tf_half_pixel_for_nn': return `(${x} + 0.5) / ${s}`;
  }
}

function round(mode: NearestMode, x: string): string {
  switch (mode) {
    case 'round_prefer_floor': return `ceil(${x} - 0.5)`;
    case 'round_prefer_ceil': return `floor(${x} + 0.5)`;
    case 'floor': return `floor(${x})`;
    case 'ceil': return `ceil(${x})`;
  }
}

const resizeShader = defineShader<ResizeParams>('resize', (spec) => {
  const p = spec.params;
  const L: string[] = ['  var rem = gi;'];
  for (let d = 0; d < p.rank; d++) {
    L.push(`  let c${d} = rem / u_os(${d}u); rem = rem - c${d} * u_os(${d}u);`);
    L.push(`  let x${d} = ${coord(p.ctm, d)};`);
    const hi = `i32(u_ind(${d}u)) - 1`;
    if (p.mode === 'linear' && p.lerp.includes(d)) {
      L.push(`  let xc${d} = clamp(x${d}, 0.0, f32(${hi}));`);
      L.push(`  let i${d}a = i32(floor(xc${d})); let i${d}b = min(i${d}a + 1, ${hi}); let w${d} = xc${d} - f32(i${d}a);`);
    } else {
      const r = p.mode === 'nearest' ? round(p.nearest, `x${d}`) : `x${d}`;
      L.push(`  let i${d}a = clamp(i32(${r}), 0, ${hi});`);
    }
  }
  const lerp = p.mode === 'linear' ? p.lerp : [];
  const corners: string[] = [];
  for (let m = 0; m < 1 << lerp.length; m++) {
    const idx: string[] = [];
    const w: string[] = [];
    for (let d = 0; d < p.rank; d++) {
      const k = lerp.indexOf(d);
      if (k < 0) idx.push(`i${d}a * i32(u_is(${d}u))`);
      else {
        const bit = (m >> k) & 1;
        idx.push(`i${d}${bit ? 'b' : 'a'} * i32(u_is(${d}u))`);
        w.push(bit ? `w${d}` : `(1.0 - w${d})`);
      }
    }
    corners.push(`${w.length ? w.join(' * ') + ' * ' : ''}x[u32(${idx.join(' + ') || '0'})]`);
  }
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi = (wid.y * nwg.x + wid.x) * 64u + lidx;
  if (gi >= u_n()) { return; }
${L.join('\n')}
  out[gi] = ${corners.join(' +\n    ')};
}`;
});

function resize(ctx: GpuKernelContext): GpuPlan {
  const X = ctx.inputs[0]!;
  if (X.dtype !== 'float32') return unsupported(`Resize of ${X.dtype} runs on the CPU`);
  if (ctx.opset < 11) return unsupported('Resize before opset 11 runs on the CPU');
  const mode = ctx.attrs.string('mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear') return unsupported(`mode ${mode}`);
  if (ctx.attrs.int('antialias', 0) !== 0) return unsupported('antialias');
  const ctm = ctx.attrs.string('coordinate_transformation_mode', 'half_pixel') as Ctm;
  if (!CTMS.includes(ctm)) return unsupported(`coordinate_transformation_mode ${ctm}`);
  const nearest = ctx.attrs.string('nearest_mode', 'round_prefer_floor') as NearestMode;
  if (!NEAREST.includes(nearest)) return unsupported(`nearest_mode ${nearest}`);
  if (ctx.attrs.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') return unsupported('keep_aspect_ratio_policy');
  const r = X.dims.length;
  const axes = ctx.attrs.ints('axes', [...Array(r).keys()]).map((a) => (a < 0 ? a + r : a));
  const scalesT = ctx.host(2);
  const sizesT = ctx.host(3);
  const scale = new Array<number>(r).fill(1);
  const outDims = [...X.dims];
  if (sizesT && sizesT.data.length) {
    const sizes = toNumbers(sizesT);
    axes.forEach((a, k) => {
      outDims[a] = sizes[k]!;
      scale[a] = sizes[k]! / X.dims[a]!;
    });
  } else if (scalesT && scalesT.data.length) {
    const sc = toNumbers(scalesT);
    axes.forEach((a, k) => {
      scale[a] = sc[k]!;
      outDims[a] = Math.floor(X.dims[a]! * sc[k]!);
    });
  } else {
    return unsupported('neither scales nor sizes');
  }
  const lerp = [...Array(r).keys()].filter((d) => outDims[d] !== X.dims[d] || scale[d] !== 1);
  if (mode === 'linear' && lerp.length > 3) return unsupported('linear over more than 3 dims');
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'os', type: 'u32', value: stridesOf(outDims) },
    { name: 'is', type: 'u32', value: stridesOf(X.dims) },
    { name: 'ind', type: 'u32', value: X.dims },
    { name: 'outd', type: 'u32', value: outDims },
    { name: 'scale', type: 'f32', value: scale },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: n === 0 ? [] : [{ shader: resizeShader, params: { rank: r, mode, ctm, nearest, lerp: mode === 'linear' ? lerp : [] } satisfies ResizeParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }],
  };
}

export const imageGpuKernels = {
  Resize: { hostInputs: () => [1, 2, 3], plan: resize },
} satisfies Record<string, GpuKernel>;
