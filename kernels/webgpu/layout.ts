// DepthToSpace and SpaceToDepth as one strided copy each (the reshape-transpose-reshape of the ONNX
// definition folded into source strides), and EyeLike (a diagonal fill).
import type { GpuInput, GpuKernel, GpuKernelContext, GpuPlan, UniformValue, WgslType } from './types.js';
import { dtypeFromOnnx } from '../../graph/dtype.js';
import { unsupported } from './types.js';
import { copyProgram } from './manip.js';
import { bindingDecls, defineShader, enables, grid, main1d, sizeOf, stridesOf, uniformDecl, wgslType } from './wgsl.js';

/** The 4-D input, its WGSL type and blocksize of DepthToSpace / SpaceToDepth, or why it runs on the CPU. */
function blockInput(ctx: GpuKernelContext): { x: GpuInput; t: WgslType; dims: [number, number, number, number]; b: number } | GpuPlan {
  const x = ctx.inputs[0]!;
  const t = wgslType(x.dtype, ctx.f16);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  if (x.dims.length !== 4) return unsupported('input must be 4-D');
  return { x, t, dims: x.dims as [number, number, number, number], b: ctx.attrs.int('blocksize', 0) };
}

function depthToSpacePlan(ctx: GpuKernelContext): GpuPlan {
  const bi = blockInput(ctx);
  if ('kind' in bi) return bi;
  const { x, t, b } = bi;
  const [N, C, H, W] = bi.dims;
  if (b < 1 || C % (b * b) !== 0) return unsupported('blocksize does not divide the channels');
  const Cp = C / (b * b);
  const crd = ctx.attrs.string('mode', 'DCR') === 'CRD';
  const HW = H * W;
  // Iterate the output as [N, C', H, b1, W, b2] (its row-major layout).
  const iter = [N, Cp, H, b, W, b];
  const src = crd ? [C * HW, b * b * HW, W, b * HW, 1, HW] : [C * HW, HW, W, b * Cp * HW, 1, Cp * HW];
  const outDims = [N, Cp, H * b, W * b];
  return { kind: 'run', outputs: [{ dtype: x.dtype, dims: outDims }], programs: sizeOf(outDims) === 0 ? [] : [copyProgram(t, 0, iter, { base: 0, strides: src }, { base: 0, strides: stridesOf(iter) })] };
}

function spaceToDepthPlan(ctx: GpuKernelContext): GpuPlan {
  const bi = blockInput(ctx);
  if ('kind' in bi) return bi;
  const { x, t, b } = bi;
  const [N, C, H, W] = bi.dims;
  if (b < 1 || H % b !== 0 || W % b !== 0) return unsupported('blocksize does not divide H and W');
  // Output [N, b1, b2, C, H/b, W/b] row-major is [N, C*b*b, H/b, W/b].
  const iter = [N, b, b, C, H / b, W / b];
  const src = [C * H * W, W, 1, H * W, b * W, b];
  const outDims = [N, C * b * b, H / b, W / b];
  return { kind: 'run', outputs: [{ dtype: x.dtype, dims: outDims }], programs: sizeOf(outDims) === 0 ? [] : [copyProgram(t, 0, iter, { base: 0, strides: src }, { base: 0, strides: stridesOf(iter) })] };
}

interface EyeParams {
  readonly t: WgslType;
}

const eyeShader = defineShader<EyeParams>('eye-like', (spec) => `${enables([spec.params.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'out', type: spec.params.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let col = i32(gi % u_w());
  let row = i32(gi / u_w());
  out[gi] = select(${spec.params.t}(0), ${spec.params.t}(1), col - row == u_k());`)}`);

function eyeLikePlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  if (x.dims.length !== 2) return unsupported('input must be 2-D');
  const dtype = ctx.attrs.has('dtype') ? dtypeFromOnnx(ctx.attrs.int('dtype', 1)) : x.dtype;
  if (!dtype) return unsupported('unknown dtype');
  const t = wgslType(dtype, ctx.f16);
  if (!t || t === 'f16') return unsupported(`EyeLike of ${dtype} runs on the CPU`);
  const [h, w] = x.dims as [number, number];
  const n = h * w;
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'w', type: 'u32', value: w },
    { name: 'k', type: 'i32', value: Math.max(-h - 1, Math.min(w + 1, ctx.attrs.int('k', 0))) },
  ];
  return { kind: 'run', outputs: [{ dtype, dims: [h, w] }], programs: n === 0 ? [] : [{ shader: eyeShader, params: { t } satisfies EyeParams, uniforms, bindings: [{ output: 0 }], workgroups: grid(n) }] };
}

export const layoutGpuKernels = {
  DepthToSpace: { plan: depthToSpacePlan },
  SpaceToDepth: { plan: spaceToDepthPlan },
  EyeLike: { metaInputs: [0], plan: eyeLikePlan },
} satisfies Record<string, GpuKernel>;
