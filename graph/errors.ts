// Typed errors. Each names what went wrong and where: file, node, op, shapes.

export type ErrorCode =
  | 'MODEL_LOAD' | 'UNSUPPORTED_OP' | 'INPUT' | 'SHAPE' | 'KERNEL' | 'RESOURCE_LIMIT'
  | 'GRAPH' | 'ABORT' | 'TIMEOUT' | 'QUEUE_FULL' | 'SESSION_RELEASED' | 'DEVICE' | 'DEVICE_LOST'
  | 'WORKER' | 'TRACE' | 'EXTERNAL_DATA';

export class TgraphError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The model file or bytes could not be read as ONNX, or refer to things that are not there. */
export class ModelLoadError extends TgraphError {
  constructor(message: string, readonly file?: string, options?: { cause?: unknown }) {
    super('MODEL_LOAD', file ? `${file}: ${message}` : message, options);
  }
}

/** External data that is missing or points outside the model's folder. */
export class ExternalDataError extends TgraphError {
  constructor(message: string, readonly file?: string) {
    super('EXTERNAL_DATA', file ? `${file}: ${message}` : message);
  }
}

export interface UnsupportedOpInfo { op: string; domain: string; opset: number; nodes: string[]; reason: string }

/** One or more ops (or opsets or element types) the backend cannot run; all are listed at once. */
export class UnsupportedOpError extends TgraphError {
  constructor(readonly ops: UnsupportedOpInfo[], readonly file?: string) {
    const list = ops.map((o) => `${o.domain ? o.domain + '.' : ''}${o.op} (opset ${o.opset}; ${o.reason}; node${o.nodes.length > 1 ? 's' : ''} ${o.nodes.slice(0, 3).join(', ')}${o.nodes.length > 3 ? ', ...' : ''})`);
    super('UNSUPPORTED_OP', `${file ? file + ': ' : ''}unsupported: ${list.join('; ')}`);
  }
}

/** A feed with the wrong name, dtype, rank or dims. */
export class InputError extends TgraphError {
  constructor(message: string, readonly input?: string) {
    super('INPUT', message);
  }
}

/** Shapes or dtypes that do not fit an op. */
export class ShapeError extends TgraphError {
  constructor(message: string, readonly node?: string, readonly op?: string) {
    super('SHAPE', node ? `node '${node}' (${op}): ${message}` : message);
  }
}

/** A graph that is not well formed. */
export class GraphError extends TgraphError {
  constructor(message: string) {
    super('GRAPH', message);
  }
}

/** An element count that overflows or exceeds the configured limit; raised before allocating. */
export class ResourceLimitError extends TgraphError {
  constructor(message: string) {
    super('RESOURCE_LIMIT', message);
  }
}

/** A kernel failed while running a node. */
export class KernelError extends TgraphError {
  constructor(
    readonly node: string,
    readonly op: string,
    readonly inputShapes: readonly (readonly number[] | string)[],
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    const shapes = inputShapes.map((s) => (typeof s === 'string' ? s : `[${s.join(',')}]`)).join(', ');
    super('KERNEL', `node '${node}' (${op}) with inputs ${shapes || '(none)'}: ${reason}`, options);
  }
}

export class AbortError extends TgraphError {
  constructor(message = 'the run was aborted') {
    super('ABORT', message);
  }
}
export class TimeoutError extends TgraphError {
  constructor(readonly timeoutMs: number) {
    super('TIMEOUT', `the run did not finish within ${timeoutMs} ms`);
  }
}
export class QueueFullError extends TgraphError {
  constructor(readonly limit: number) {
    super('QUEUE_FULL', `the session's run queue is full (maxQueuedRuns = ${limit})`);
  }
}
export class SessionReleasedError extends TgraphError {
  constructor(message = 'the session has been released') {
    super('SESSION_RELEASED', message);
  }
}
export class DeviceError extends TgraphError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEVICE', message, options);
  }
}
export class DeviceLostError extends TgraphError {
  constructor(message: string) {
    super('DEVICE_LOST', message);
  }
}
export class WorkerError extends TgraphError {
  constructor(message: string) {
    super('WORKER', message);
  }
}
export class TraceError extends TgraphError {
  constructor(message: string) {
    super('TRACE', message);
  }
}
