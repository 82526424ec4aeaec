// tgraph's internal fused ops (domain 'tgraph'). The lowering passes (graph/passes/lower-*.ts) write
// them into the plan a backend compiles; they are never exported as standard ONNX.
//   FusedElementwise(in0, in1, ...)            attribute `program`: a fused-program.ts program
//   FusedConv(X, W, B?, e1, e2, ...)           Conv's attributes + `epilogue` applied to its output
//   FusedMatMul(A, B, e1, ...)                 MatMul + `epilogue`
//   FusedGemm(A, B, C?, e1, ...)               Gemm's attributes + `epilogue`
//   LayerNormalization(X, Scale?, B?)          ai.onnx LayerNormalization-17 at any opset, Scale optional
//                                              (ones); lower-patterns writes it for exported layer norms
// In an epilogue program, input 0 is the base op's result and input k >= 1 is node input
// (base inputs + k - 1); extra inputs broadcast to the output (per channel, whole or scalar).
import { dtypeOf, fail, tensorOut, broadcastInputs } from './shape-util.js';
import { linalgOps } from './linalg.js';
import { nnOps } from './nn.js';
import { conditionInputs, decodeProgram, type Program } from './fused-program.js';
import type { Dim } from '../ir.js';
import { op, type InferContext, type OpSchema, type ShapeRule } from './types.js';

export const FUSED_DOMAIN = 'tgraph';

/** How many leading node inputs belong to the base op of an epilogue-fused op. */
export const EPILOGUE_BASE_INPUTS = { FusedConv: 3, FusedMatMul: 2, FusedGemm: 3, FusedConvNhwc: 3 } as const;
export type EpilogueOp = keyof typeof EPILOGUE_BASE_INPUTS;
/** The standard op each epilogue-fused op extends. */
export const EPILOGUE_BASE_OP = { FusedConv: 'Conv', FusedMatMul: 'MatMul', FusedGemm: 'Gemm', FusedConvNhwc: 'ConvNhwc' } as const satisfies Record<EpilogueOp, string>;

/** How an epilogue reads an extra input: at the output's flat index, at its channel, or its one element. */
export type EpilogueRead = 'full' | 'channel' | 'scalar';

/**
 * How `leaf` broadcasts onto an epilogue's output `out` (channel: axis 1 for Conv, the last axis for
 * MatMul/Gemm); undefined when it broadcasts any other way (the lowering then does not fuse).
 */
export function epilogueRead(leaf: readonly Dim[], out: readonly Dim[], channelAxis: number): EpilogueRead | undefined {
  if (leaf.length > out.length) return undefined;
  if (leaf.every((d) => d === 1)) return 'scalar';
  const padded = [...new Array<Dim>(out.length - leaf.length).fill(1), ...leaf];
  if (padded.every((d, i) => d === out[i])) return 'full';
  if (padded.every((d, i) => (i === channelAxis ? d === out[i] : d === 1))) return 'channel';
  return undefined;
}

/** The axis an epilogue's per-channel inputs follow (channels-last for tgraph.ConvNhwc, graph/ops/layout.ts). */
export function channelAxisOf(op: EpilogueOp, outRank: number): number {
  return op === 'FusedConv' ? 1 : outRank - 1;
}

function programOf(ctx: InferContext, attr: string, inputs: number): Program {
  const text = ctx.attrs.string(attr);
  if (text === undefined) fail(ctx, `attribute '${attr}' is missing`);
  try {
    return decodeProgram(text, inputs, `${ctx.node.name} ${attr}`);
  } catch (e) {
    fail(ctx, (e as Error).message);
  }
}

const fusedElementwise: ShapeRule = (ctx) => {
  const p = programOf(ctx, 'program', ctx.inputCount);
  const conds = conditionInputs(p);
  for (let i = 0; i < ctx.inputCount; i++) {
    const t = dtypeOf(ctx, i);
    if (t && t !== (conds.has(i) ? 'bool' : 'float32')) fail(ctx, `input ${i} is ${t}; fused programs take float32 (bool conditions)`);
  }
  return [tensorOut('float32', broadcastInputs(ctx))];
};

/** The base op's rule on its own inputs; the epilogue keeps its output type. */
export function withEpilogue(name: EpilogueOp, base: OpSchema): ShapeRule {
  const n = EPILOGUE_BASE_INPUTS[name];
  return (ctx) => {
    programOf(ctx, 'epilogue', 1 + Math.max(0, ctx.inputCount - n));
    for (let i = n; i < ctx.inputCount; i++) {
      const t = dtypeOf(ctx, i);
      if (t && t !== 'float32') fail(ctx, `epilogue input ${i} is ${t}; epilogues take float32`);
    }
    const out = base.infer({ ...ctx, inputs: ctx.inputs.slice(0, n), inputCount: Math.min(n, ctx.inputCount), constant: (i) => (i < n ? ctx.constant(i) : undefined) });
    if (out[0]?.kind === 'tensor' && out[0].dtype !== 'float32') fail(ctx, `${name} computes float32, got ${out[0].dtype}`);
    return out;
  };
}

const d = { domain: FUSED_DOMAIN };
// tgraph:FusedConvNhwc (ConvNhwc + epilogue) is registered with ConvNhwc in layout.ts.
export const fusedOps = {
  'tgraph:FusedElementwise': op(fusedElementwise, { ...d, doc: 'a chain of elementwise ops evaluated in one loop (lowering)' }),
  'tgraph:FusedConv': op(withEpilogue('FusedConv', nnOps.Conv), { ...d, doc: 'Conv with an elementwise epilogue (lowering)' }),
  'tgraph:FusedMatMul': op(withEpilogue('FusedMatMul', linalgOps.MatMul), { ...d, doc: 'MatMul with an elementwise epilogue (lowering)' }),
  'tgraph:FusedGemm': op(withEpilogue('FusedGemm', linalgOps.Gemm), { ...d, doc: 'Gemm with an elementwise epilogue (lowering)' }),
  'tgraph:LayerNormalization': op(nnOps.LayerNormalization.infer, { ...d, doc: 'LayerNormalization-17 at any opset, scale optional (lowering of the exported pattern)' }),
} satisfies Record<string, OpSchema>;
