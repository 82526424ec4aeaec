// The op registry: every supported op's schema and shape rule, one entry per op.
// Kernels (kernels/cpu, kernels/webgpu) are keyed by the same names and TypeScript checks they are complete.
import type { OpSchema } from './types.js';
import { elementwiseOps } from './elementwise.js';
import { reduceOps } from './reduce.js';
import { linalgOps } from './linalg.js';
import { nnOps } from './nn.js';
import { manipOps } from './manip.js';
import { controlOps } from './control.js';
import { sequenceOps } from './sequence.js';
import { rnnOps } from './rnn.js';
import { imageOps } from './image.js';
import { quantOps } from './quant.js';
import { attentionOps } from './attention.js';
import { miscOps } from './misc.js';
import { fusedOps } from './fused.js';
import { layoutOps } from './layout.js';

export const OP_SCHEMAS = {
  ...elementwiseOps,
  ...reduceOps,
  ...linalgOps,
  ...nnOps,
  ...manipOps,
  ...controlOps,
  ...sequenceOps,
  ...rnnOps,
  ...imageOps,
  ...quantOps,
  ...attentionOps,
  ...miscOps,
  ...fusedOps,
  ...layoutOps,
} satisfies Record<string, OpSchema>;

/** Registry key of an op: its name, prefixed by its domain outside ai.onnx ('ai.onnx.ml:Scaler'). */
export type OpType = Extract<keyof typeof OP_SCHEMAS, string>;

export function opKey(domain: string, opType: string): string {
  return domain ? `${domain}:${opType}` : opType;
}

export function findSchema(domain: string, opType: string): OpSchema | undefined {
  const key = opKey(domain, opType);
  return Object.prototype.hasOwnProperty.call(OP_SCHEMAS, key) ? (OP_SCHEMAS as Record<string, OpSchema>)[key] : undefined;
}

export function isOpType(key: string): key is OpType {
  return Object.prototype.hasOwnProperty.call(OP_SCHEMAS, key);
}

export type { OpSchema, InferContext, ShapeRule } from './types.js';
