// ConvTranspose on WebGPU (float32, 1 to 3 spatial dims, groups, dilations, pads / auto_pad /
// output_shape / output_padding through the shared geometry of graph/ops/nn-window.ts). Gather form:
// one thread per output element sums, over its group's input channels and the kernel positions, the
// inputs whose stride lands on it. Weights are [C, M/group, k...]. Col2Im is the same gather
// without the channel sum.
import { convTransposeGeometry, readWindowAttrs, windowGeometry } from '../../graph/ops/nn-window.js';
import { toIntList } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, grid, mainTotal, sizeOf, spatialIndex, stridesOf, transposedTap, uniformDecl, windowUniforms } from './wgsl.js';

interface ConvTransposeParams {
  readonly nsp: number;
  readonly bias: boolean;
}

const convTransposeShader = defineShader<ConvTransposeParams>('conv-transpose', (spec) => {
  const p = spec.params;
  const n = p.nsp;
  const decls = [{ name: 'x', type: 'f32' }, { name: 'w', type: 'f32' }, ...(p.bias ? [{ name: 'b', type: 'f32' }] : []), { name: 'out', type: 'f32', write: true }];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${mainTotal(`  var t = gi;
${spatialIndex(n)}
  let m = t % u_m(); let nb = t / u_m();
  let mg = u_mg(); let cg = u_cg();
  let g = m / mg; let mi = m % mg;
  var acc = ${p.bias ? 'b[m]' : '0.0'};
  for (var kk = 0u; kk < u_ksize(); kk = kk + 1u) {
    var kr = kk;
    var xoff = 0u;
    var ok = true;
${transposedTap(n, 'xoff', 'u_id', 'u_is')}
    if (!ok) { continue; }
    for (var c = 0u; c < cg; c = c + 1u) {
      let ch = g * cg + c;
      acc = acc + x[(nb * u_c() + ch) * u_isize() + xoff] * w[(ch * mg + mi) * u_ksize() + kk];
    }
  }
  out[gi] = acc;`)}`;
});

function convTransposePlan(ctx: GpuKernelContext): GpuPlan {
  const X = ctx.inputs[0]!;
  const W = ctx.inputs[1]!;
  const B = ctx.inputs[2];
  if (X.dtype !== 'float32' || W.dtype !== 'float32' || (B && B.dtype !== 'float32')) return unsupported(`ConvTranspose of ${X.dtype} runs on the CPU`);
  const r = X.dims.length;
  if (r < 3 || r > 5 || W.dims.length !== r) return unsupported(`ConvTranspose of rank ${r} runs on the CPU`);
  const nsp = r - 2;
  const group = ctx.attrs.int('group', 1);
  const [N, C] = [X.dims[0]!, X.dims[1]!];
  if (W.dims[0] !== C || group < 1 || C % group !== 0) return unsupported('channels do not match groups');
  const a = readWindowAttrs(ctx.attrs, nsp, W.dims.slice(2));
  if (a.kernel.some((k, i) => k !== W.dims[2 + i])) return unsupported('kernel_shape differs from the weight');
  const inSp = X.dims.slice(2);
  const geo = convTransposeGeometry(inSp, a, ctx.attrs.ints('output_padding'), ctx.attrs.ints('output_shape'));
  if (geo.out.some((o) => o < 1)) return unsupported('empty output');
  const Mg = W.dims[1]!;
  const M = Mg * group;
  if (B && sizeOf(B.dims) !== M) return unsupported('bias size');
  const outDims = [N, M, ...geo.out];
  const total = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'm', type: 'u32', value: M },
    { name: 'mg', type: 'u32', value: Mg },
    { name: 'cg', type: 'u32', value: C / group },
    { name: 'c', type: 'u32', value: C },
    { name: 'ksize', type: 'u32', value: sizeOf(a.kernel) },
    { name: 'isize', type: 'u32', value: sizeOf(inSp) },
    ...windowUniforms(geo.out, inSp, a, geo.padHead),
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 || sizeOf(X.dims) === 0 ? [] : [{
      shader: convTransposeShader,
      params: { nsp, bias: B !== undefined } satisfies ConvTransposeParams,
      uniforms,
      bindings: [{ input: 0 }, { input: 1 }, ...(B ? [{ input: 2 }] : []), { output: 0 }],
      workgroups: grid(total),
    }],
  };
}

interface Col2ImParams {
  readonly nsp: number;
}

const col2ImShader = defineShader<Col2ImParams>('col2im', (spec) => {
  const n = spec.params.nsp;
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${mainTotal(`  var t = gi;
${spatialIndex(n)}
  let nc = t;
  var acc = 0.0;
  for (var kk = 0u; kk < u_ksize(); kk = kk + 1u) {
    var kr = kk;
    var loff = 0u;
    var ok = true;
${transposedTap(n, 'loff', 'u_gd', 'u_gs')}
    if (!ok) { continue; }
    acc = acc + x[(nc * u_ksize() + kk) * u_l() + loff];
  }
  out[gi] = acc;`)}`;
});

function col2ImPlan(ctx: GpuKernelContext): GpuPlan {
  const X = ctx.inputs[0]!;
  if (X.dtype !== 'float32') return unsupported(`Col2Im of ${X.dtype} runs on the CPU`);
  const imgT = ctx.host(1);
  const blkT = ctx.host(2);
  if (!imgT || !blkT) return unsupported('image_shape and block_shape must be known');
  const img = toIntList(imgT);
  const blk = toIntList(blkT);
  const nd = img.length;
  if (X.dims.length !== 3 || blk.length !== nd || nd < 1 || nd > 3) return unsupported('shapes');
  const a = { ...readWindowAttrs(ctx.attrs, nd, blk), autoPad: 'NOTSET', ceilMode: false };
  const geo = windowGeometry(img, a);
  const kSize = sizeOf(blk);
  const [N, CK, L] = X.dims as [number, number, number];
  if (CK % kSize !== 0 || sizeOf(geo.out) !== L) return unsupported('input does not match the blocks');
  const C = CK / kSize;
  const outDims = [N, C, ...img];
  const total = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'ksize', type: 'u32', value: kSize },
    { name: 'l', type: 'u32', value: L },
    { name: 'od', type: 'u32', value: img },
    { name: 'gd', type: 'u32', value: geo.out },
    { name: 'gs', type: 'u32', value: stridesOf(geo.out) },
    { name: 'kd', type: 'u32', value: blk },
    { name: 'st', type: 'u32', value: a.strides },
    { name: 'dil', type: 'u32', value: a.dilations },
    { name: 'ph', type: 'i32', value: geo.padHead },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 || sizeOf(X.dims) === 0 ? [] : [{ shader: col2ImShader, params: { nsp: nd } satisfies Col2ImParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(total) }],
  };
}

export const convTransposeGpuKernels = {
  ConvTranspose: { plan: convTransposePlan },
  Col2Im: { hostInputs: () => [1, 2], plan: col2ImPlan },
} satisfies Record<string, GpuKernel>;
