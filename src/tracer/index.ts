// The tensor API and tracer: `import * as tg from 'tgraph'` gives these names.
export { TgTensor, type TensorLike, type NestedArray } from './tensor.js';
export * from './ops.js';
export { tidy, keep, memory, type MemoryInfo } from './memory.js';
export { fn, spec, type FnOptions, type TensorSpec, type TracedFunction, type RetraceEvent, type CallArgs } from './fn.js';
export { type ConcreteFunction, type Device, printGraph, setDevice, getDevice } from './concrete.js';
export { cond, whileLoop, type WhileLoopOptions } from './control.js';
export { TracerOpError, TracedValueError } from './errors.js';
export { TRACE_OPSET } from './trace.js';
