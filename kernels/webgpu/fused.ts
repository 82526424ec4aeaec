// WebGPU kernels of the internal fused ops (graph/ops/fused.ts): FusedElementwise is one generated
// shader per program (inputs broadcast through uniform strides, as elementwise.ts); FusedConv,
// FusedMatMul and FusedGemm are the Conv/MatMul/Gemm shaders with the epilogue before the store;
// LayerNormalization is reduce.ts's row shader (scale optional).
import { decodeProgram, conditionInputs, FUSED_OPS } from '../../graph/ops/fused-program.js';
import type { Instr } from '../../graph/ops/fused-program.js';
import { EPILOGUE_BASE_INPUTS, type EpilogueOp } from '../../graph/ops/fused.js';
import type { LoweringCapabilities } from '../../graph/passes/lower-types.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { type EpilogueArgs, programWgsl } from './fused-expr.js';
import { gemmGpu, matmulGpu } from './linalg.js';
import { convGpu } from './nn.js';
import { layerNorm } from './reduce.js';
import { bindingDecls, broadcastShapes, broadcastStrides, defineShader, grid, main1d, sizeOf, stridedOffsetFn, stridesOf, uniformDecl } from './wgsl.js';

/**
 * What the WebGPU backend runs fused. Eight storage buffers per shader stage is WebGPU's default
 * limit: a fused elementwise kernel reads at most 7 inputs, an epilogue at most 4 besides the op's own.
 */
export const WEBGPU_CAPABILITIES: LoweringCapabilities = {
  elementwise: { ops: FUSED_OPS, maxInputs: 7 },
  epilogue: { bases: ['Conv', 'MatMul', 'Gemm'], ops: FUSED_OPS, maxInputs: 4 },
  patterns: ['LayerNormalization'],
};

interface FusedEwParams {
  readonly rank: number;
  /** Storage type of each input: f32, or u32 for bool conditions. */
  readonly ins: readonly WgslType[];
  /** Input i has the output's shape (read at the output's index). */
  readonly direct: readonly boolean[];
  readonly code: readonly Instr[];
}

const fusedEwShader = defineShader<FusedEwParams>('fused_elementwise', (spec) => {
  const p = spec.params;
  const w = programWgsl(p.code);
  const offsets = p.ins.map((_, i) => (p.direct[i] ? '' : stridedOffsetFn(`off${i}`, p.rank, 'os', `s${i}`))).filter(Boolean);
  const loads = p.ins.map((_, i) => `  let a${i} = f32(in${i}[${p.direct[i] ? 'gi' : `off${i}(gi)`}]);`).join('\n');
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([...p.ins.map((t, i) => ({ name: `in${i}`, type: t })), { name: 'out', type: 'f32', write: true }])}
${w.helpers}
${offsets.join('\n')}
${main1d(`  if (gi >= u_n()) { return; }
${loads}
${w.body}
  out[gi] = ${w.result};`)}`;
});

function fusedElementwise(ctx: GpuKernelContext): GpuPlan {
  const n = ctx.inputs.length;
  const p = decodeProgram(ctx.attrs.string('program', ''), n, ctx.node.name);
  const conds = conditionInputs(p);
  const ins: WgslType[] = [];
  for (let i = 0; i < n; i++) {
    const t = ctx.inputs[i];
    if (!t) return unsupported(`input ${i} is missing`);
    if (t.dtype !== (conds.has(i) ? 'bool' : 'float32')) return unsupported(`input ${i} is ${t.dtype}`);
    ins.push(t.dtype === 'bool' ? 'u32' : 'f32');
  }
  const shapes = ctx.inputs.map((t) => t!.dims);
  const outDims = broadcastShapes(shapes);
  if (!outDims) return unsupported('inputs do not broadcast');
  const total = sizeOf(outDims);
  const direct = shapes.map((s) => sizeOf(s) === total && s.length <= outDims.length && s.every((d, k) => d === outDims[outDims.length - s.length + k]));
  const uniforms: UniformValue[] = [{ name: 'n', type: 'u32', value: total }];
  if (direct.some((d) => !d)) uniforms.push({ name: 'os', type: 'u32', value: stridesOf(outDims) });
  shapes.forEach((s, k) => {
    if (!direct[k]) uniforms.push({ name: `s${k}`, type: 'u32', value: broadcastStrides(s, outDims) });
  });
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: total === 0 ? [] : [{
      shader: fusedEwShader,
      params: { rank: outDims.length, ins, direct, code: p.code } satisfies FusedEwParams,
      uniforms,
      bindings: [...ins.map((_, i) => ({ input: i })), { output: 0 }],
      workgroups: grid(total),
    }],
  };
}

function withEpilogue(name: EpilogueOp, plan: (ctx: GpuKernelContext, epi: EpilogueArgs) => GpuPlan): GpuKernel {
  const base = EPILOGUE_BASE_INPUTS[name];
  return {
    plan(ctx) {
      const extra = Math.max(0, ctx.inputs.length - base);
      const p = decodeProgram(ctx.attrs.string('epilogue', ''), 1 + extra, ctx.node.name);
      return plan(ctx, { code: p.code, inputs: [...Array(extra).keys()].map((k) => base + k) });
    },
  };
}

export const fusedGpuKernels = {
  'tgraph:FusedElementwise': { plan: fusedElementwise },
  'tgraph:LayerNormalization': { plan: (ctx) => layerNorm(ctx, true) },
  'tgraph:FusedConv': withEpilogue('FusedConv', convGpu),
  'tgraph:FusedMatMul': withEpilogue('FusedMatMul', matmulGpu),
  'tgraph:FusedGemm': withEpilogue('FusedGemm', gemmGpu),
} satisfies Record<string, GpuKernel>;
