// The tensor API and tracer: `import * as tg from 'tgraph'` gives these names.
export { TgTensor, type TensorLike, type NestedArray } from './tensor.js';
export * from './ops.js';
export { tidy, keep, memory, type MemoryInfo } from './memory.js';
export { fn, spec, type FnOptions, type TensorSpec, type TracedFunction, type RetraceEvent, type CallArgs } from './fn.js';
export { type ConcreteFunction, printGraph } from './concrete.js';
export { type Device, type DeviceInfo, setDevice, getDevice, ready, deviceInfo } from './device.js';
export { eagerStats, type EagerStats } from './stats.js';
export { cond, whileLoop, type WhileLoopOptions } from './control.js';
export { TracerOpError, TracedValueError, DeviceResidentError, DisposedTensorError } from './errors.js';
export { TRACE_OPSET } from './trace.js';
