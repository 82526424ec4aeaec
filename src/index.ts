// tgraph's public API.
export { InferenceSession, type SessionOptions, type RunOptions, type GraphOptimizationLevel, type ExecutionProvider, type IoMetadata } from './session.js';
export { Tensor, type TensorType, type TensorLocation } from './tensor.js';
export * from '../graph/errors.js';
export type { Model, Graph, Node, ValueType, Dim } from '../graph/ir.js';
export { importModel } from '../graph/onnx/import.js';
export { exportModel } from '../graph/onnx/export.js';
export { verifyGraph } from '../graph/verify.js';
export { inferGraph } from '../graph/infer.js';
export { OP_SCHEMAS, type OpType } from '../graph/ops/index.js';
export * from './tracer/index.js';
