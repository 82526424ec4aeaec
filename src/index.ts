// tgraph's public API.
export { InferenceSession, type ReleaseOptions, type SessionOptions, type RunOptions, type GraphOptimizationLevel, type ExecutionProvider, type IoMetadata } from './session.js';
export { Tensor, type TensorType, type TensorLocation } from './tensor.js';
/** The WebGPU adapter, its features and limits (or why there is none). */
export { describeGpu, type GpuReport } from './backends/webgpu/device.js';
export type { QueuePolicy } from './executor/run-queue.js';
export type { ChromeTrace, TraceEvent, OpSummaryRow } from './executor/profiler.js';
export { optimize, formatReport, passNames, PASSES, type OptimizeReport, type PassReport, type OptLevel } from '../graph/passes/index.js';
export { analyzeModel, formatAnalysis, partitionModel, planMemory, checkPlan, formatPartition, formatMemoryPlan, type ModelAnalysis, type AnalyzeOptions, type PartitionReport, type MemoryPlan } from '../graph/analysis/index.js';
export * from '../graph/errors.js';
export type { Model, Graph, Node, ValueType, Dim } from '../graph/ir.js';
export { importModel } from '../graph/onnx/import.js';
export { exportModel } from '../graph/onnx/export.js';
export { verifyGraph } from '../graph/verify.js';
export { inferGraph } from '../graph/infer.js';
export { OP_SCHEMAS, type OpType } from '../graph/ops/index.js';
export * from './tracer/index.js';
