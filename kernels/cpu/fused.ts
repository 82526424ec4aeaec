// CPU kernels of the internal fused ops (graph/ops/fused.ts). FusedElementwise evaluates its program
// in one blocked pass (fused-eval.ts: wasm SIMD, else a JS loop); FusedConv/FusedMatMul/FusedGemm run
// the standard kernel, then apply the epilogue in place on its output (equal to the unfused graph bit
// for bit; to a few ulps where the JS loop's double exp/sigmoid/tanh/erf meet the unfused kernels'
// SIMD approximations). LayerNormalization is the standard kernel with the scale optional.
import { decodeProgram, FUSED_OPS, type Program } from '../../graph/ops/fused-program.js';
import type { LoweringCapabilities } from '../../graph/passes/lower-types.js';
import { EPILOGUE_BASE_INPUTS, type EpilogueOp, type fusedOps } from '../../graph/ops/fused.js';
import { allocTensor, type HostTensor, type RtValue, UNINIT } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import { evaluateProgram, type Leaf } from './fused-eval.js';
import { linalgKernels } from './linalg.js';
import { CPU_LAYOUT } from './nn-conv-nhwc-cost.js';
import { layoutKernels } from './nn-conv-nhwc.js';
import { convWithEpilogue } from './nn-conv.js';
import { directEpilogue } from './nn-depthwise-simd.js';
import { nnKernels } from './nn.js';
import { lastAxesNorm } from './nn-norm.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastShapes, optTensorArg, tensorArg } from './util.js';

function leafOf(t: HostTensor, ctx: CpuContext, i: number, bool: boolean): Leaf {
  if (bool ? t.dtype !== 'bool' : t.dtype !== 'float32') throw new KernelInputError(ctx, `input ${i} is ${t.dtype}; expected ${bool ? 'bool' : 'float32'}`);
  return { data: t.data as Float32Array | Uint8Array, dims: t.dims };
}

const fusedElementwise: CpuKernel = (inputs, ctx) => {
  const p = decodeProgram(ctx.attrs.string('program', ''), inputs.length, ctx.node.name);
  const conds = new Set(p.code.flatMap((i) => (i.op === 'Where' && 'in' in i.cond ? [i.cond.in] : [])));
  const ts = inputs.map((_, i) => tensorArg(inputs, i, ctx));
  const dims = broadcastShapes(...ts.map((t) => t.dims));
  if (!dims) throw new KernelInputError(ctx, `inputs [${ts.map((t) => t.dims.join(',')).join('], [')}] do not broadcast`);
  const out = allocTensor('float32', dims, UNINIT); // the program's last instruction writes every element
  evaluateProgram(p, ts.map((t, i) => leafOf(t, ctx, i, conds.has(i))), out.data as Float32Array, dims);
  return [out];
};

/**
 * A base kernel that may apply a one-input epilogue itself (the direct depthwise conv does, on each
 * accumulator before its store: one pass over the output instead of two); `epilogue` says whether it did.
 */
type InKernel = (inputs: Parameters<CpuKernel>[0], ctx: CpuContext, p: Program) => { y: HostTensor; epilogue: boolean };

function withEpilogue(name: EpilogueOp, base: CpuKernel, inKernel?: InKernel): CpuKernel {
  const n = EPILOGUE_BASE_INPUTS[name];
  return (inputs, ctx) => {
    const extra = inputs.slice(n);
    const p = decodeProgram(ctx.attrs.string('epilogue', ''), 1 + extra.length, ctx.node.name);
    let y: HostTensor | undefined;
    if (inKernel && extra.length === 0) {
      const r = inKernel(inputs.slice(0, n), ctx, p);
      if (r.epilogue) return [r.y as RtValue];
      y = r.y;
    } else {
      y = (base(inputs.slice(0, n), ctx) as HostTensor[])[0];
    }
    if (!y || y.dtype !== 'float32') throw new KernelInputError(ctx, `the epilogue needs a float32 result, got ${y?.dtype}`);
    const leaves: Leaf[] = [{ data: y.data as Float32Array, dims: y.dims }];
    extra.forEach((_, k) => {
      const t = optTensorArg(inputs, n + k, ctx);
      if (!t) throw new KernelInputError(ctx, `epilogue input ${n + k} is missing`);
      const b = broadcastShapes(t.dims, y.dims);
      if (!b || b.length !== y.dims.length || b.some((d, i) => d !== y.dims[i])) throw new KernelInputError(ctx, `epilogue input [${t.dims.join(',')}] does not broadcast to the output [${y.dims.join(',')}]`);
      leaves.push(leafOf(t, ctx, n + k, false));
    });
    evaluateProgram(p, leaves, y.data as Float32Array, y.dims);
    return [y as RtValue];
  };
}

export const fusedKernels = {
  'tgraph:FusedElementwise': fusedElementwise,
  'tgraph:FusedConv': withEpilogue('FusedConv', nnKernels.Conv, (inputs, ctx, p) => {
    const x = inputs[0];
    if (x?.kind === 'tensor' && x.dtype === 'float32') return convWithEpilogue(inputs, ctx, directEpilogue(p));
    return { y: (nnKernels.Conv(inputs, ctx) as HostTensor[])[0]!, epilogue: false };
  }),
  'tgraph:FusedMatMul': withEpilogue('FusedMatMul', linalgKernels.MatMul),
  'tgraph:FusedGemm': withEpilogue('FusedGemm', linalgKernels.Gemm),
  'tgraph:FusedConvNhwc': withEpilogue('FusedConvNhwc', layoutKernels['tgraph:ConvNhwc']),
  'tgraph:LayerNormalization': lastAxesNorm(false, true),
} satisfies Record<keyof typeof fusedOps | 'tgraph:FusedConvNhwc', CpuKernel>;

/**
 * What the CPU backend runs fused, in either execution mode: the parallel scheduler splits the fused
 * Conv/MatMul/Gemm by the same cuts as the plain ops, with the epilogue's inputs cut alike
 * (src/executor/split.ts). Channels-last regions (CPU_LAYOUT: the measured cost model that decides
 * where they pay) only in sequential mode: split.ts does not cut tgraph.ConvNhwc.
 */
export function cpuCapabilities(mode: 'sequential' | 'parallel'): LoweringCapabilities {
  return {
    elementwise: { ops: FUSED_OPS, maxInputs: 16 },
    // ConvNhwc only appears where `layout` is declared (sequential mode).
    epilogue: { bases: ['Conv', 'MatMul', 'Gemm', 'ConvNhwc'], ops: FUSED_OPS, maxInputs: 8 },
    patterns: ['LayerNormalization'],
    ...(mode === 'sequential' ? { layout: CPU_LAYOUT } : {}),
  };
}

/** Without the fused kernels: channels-last conv regions only (sequential mode, as above). */
export function cpuLayoutCapabilities(mode: 'sequential' | 'parallel'): LoweringCapabilities | undefined {
  return mode === 'sequential' ? { layout: CPU_LAYOUT } : undefined;
}
