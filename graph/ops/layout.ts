// tgraph's channels-last convolution (domain 'tgraph'), written by the layout lowering
// (graph/passes/lower-layout.ts) into the plan of a backend that declares it; never exported.
//   ConvNhwc(X[N, H, W, C], W[KH, KW, C/group, M], B?[M]) -> Y[N, OH, OW, M]
//   FusedConvNhwc(X, W, B?, e1, ...)  ConvNhwc + `epilogue` (fused.ts; per-channel inputs along the last axis)
//   GlobalPoolNhwc(X[N, H, W, C]) -> Y[N, 1, 1, C]  attribute `mode`: 'average' | 'max' (GlobalAverage/MaxPool)
// Conv's attributes (kernel_shape, strides, pads, dilations, auto_pad, group) with Conv's meaning; the
// weight is re-laid out at lowering time (HWIO, as TensorFlow stores it), so a pointwise ConvNhwc is a
// plain [N*H*W, C] x [C, M] GEMM and a depthwise one reads C contiguous weights per tap.
import type { ValueType } from '../ir.js';
import { FUSED_DOMAIN, withEpilogue } from './fused.js';
import { nnOps } from './nn.js';
import { fail } from './shape-util.js';
import { op, type OpSchema, type ShapeRule } from './types.js';

/** NHWC <-> NCHW permutations (ONNX Transpose perms). */
export const TO_NHWC = [0, 2, 3, 1] as const;
export const TO_NCHW = [0, 3, 1, 2] as const;

const permuted = (t: ValueType | undefined, perm: readonly number[]): ValueType | undefined =>
  t?.kind === 'tensor' && t.shape ? { ...t, shape: perm.map((p) => t.shape![p]!) } : t;

/** Conv's rule on the NCHW view of the inputs, its output seen channels-last. */
const convNhwc: ShapeRule = (ctx) => {
  const [x, w] = ctx.inputs;
  for (const [t, what] of [[x, 'input'], [w, 'weight']] as const) {
    if (t?.kind === 'tensor' && t.shape && t.shape.length !== 4) fail(ctx, `${what} should have rank 4, got [${t.shape.join(',')}]`);
  }
  const inputs = [permuted(x, TO_NCHW), permuted(w, [3, 2, 0, 1]), ...ctx.inputs.slice(2)];
  const out = nnOps.Conv.infer({ ...ctx, inputs, constant: () => undefined });
  return [permuted(out[0], TO_NHWC)];
};

const globalPoolNhwc: ShapeRule = (ctx) => {
  const x = ctx.inputs[0];
  const mode = ctx.attrs.string('mode', 'average');
  if (mode !== 'average' && mode !== 'max') fail(ctx, `mode should be 'average' or 'max', got '${mode}'`);
  if (x?.kind !== 'tensor' || !x.shape) return [x?.kind === 'tensor' ? { kind: 'tensor', dtype: x.dtype } : undefined];
  if (x.shape.length !== 4) fail(ctx, `input should have rank 4, got [${x.shape.join(',')}]`);
  return [{ kind: 'tensor', dtype: x.dtype, shape: [x.shape[0]!, 1, 1, x.shape[3]!] }];
};

const convNhwcOp = op(convNhwc, { domain: FUSED_DOMAIN, doc: 'Conv over channels-last data with an HWIO weight (layout lowering)' });
export const layoutOps = {
  'tgraph:ConvNhwc': convNhwcOp,
  'tgraph:FusedConvNhwc': op(withEpilogue('FusedConvNhwc', convNhwcOp), { domain: FUSED_DOMAIN, doc: 'ConvNhwc with an elementwise epilogue (lowering)' }),
  'tgraph:GlobalPoolNhwc': op(globalPoolNhwc, { domain: FUSED_DOMAIN, doc: 'GlobalAverage/MaxPool over channels-last data (layout lowering)' }),
} satisfies Record<string, OpSchema>;
