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
    // Subclasses also set `name` explicitly: minifiers rename classes, and users match on names.
    this.name = new.target.name;
  }
}

/** The model file or bytes could not be read as ONNX, or refer to things that are not there. */
export class ModelLoadError extends TgraphError {
  override readonly name: string = 'ModelLoadError';
  constructor(message: string, readonly file?: string, options?: { cause?: unknown }) {
    super('MODEL_LOAD', file ? `${file}: ${message}` : message, options);
  }
}

/** External data that is missing or points outside the model's folder. */
export class ExternalDataError extends TgraphError {
  override readonly name: string = 'ExternalDataError';
  constructor(message: string, readonly file?: string) {
    super('EXTERNAL_DATA', file ? `${file}: ${message}` : message);
  }
}

export interface UnsupportedOpInfo { op: string; domain: string; opset: number; nodes: string[]; reason: string }

/** One or more ops (or opsets or element types) the backend cannot run; all are listed at once. */
export class UnsupportedOpError extends TgraphError {
  override readonly name: string = 'UnsupportedOpError';
  constructor(readonly ops: UnsupportedOpInfo[], readonly file?: string) {
    const list = ops.map((o) => `${o.domain ? o.domain + '.' : ''}${o.op} (opset ${o.opset}; ${o.reason}; node${o.nodes.length > 1 ? 's' : ''} ${o.nodes.slice(0, 3).join(', ')}${o.nodes.length > 3 ? ', ...' : ''})`);
    super('UNSUPPORTED_OP', `${file ? file + ': ' : ''}unsupported: ${list.join('; ')}`);
  }
}

/** A feed with the wrong name, dtype, rank or dims. */
export class InputError extends TgraphError {
  override readonly name: string = 'InputError';
  constructor(message: string, readonly input?: string) {
    super('INPUT', message);
  }
}

/** Shapes or dtypes that do not fit an op. */
export class ShapeError extends TgraphError {
  override readonly name: string = 'ShapeError';
  constructor(message: string, readonly node?: string, readonly op?: string) {
    super('SHAPE', node ? `node '${node}' (${op}): ${message}` : message);
  }
}

/** A graph that is not well formed. */
export class GraphError extends TgraphError {
  override readonly name: string = 'GraphError';
  constructor(message: string) {
    super('GRAPH', message);
  }
}

/** An element count that overflows or exceeds the configured limit; raised before allocating. */
export class ResourceLimitError extends TgraphError {
  override readonly name: string = 'ResourceLimitError';
  constructor(message: string) {
    super('RESOURCE_LIMIT', message);
  }
}

/** A kernel failed while running a node. */
export class KernelError extends TgraphError {
  override readonly name: string = 'KernelError';
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
  override readonly name: string = 'AbortError';
  constructor(message = 'the run was aborted') {
    super('ABORT', message);
  }
}
export class TimeoutError extends TgraphError {
  override readonly name: string = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super('TIMEOUT', `the run did not finish within ${timeoutMs} ms`);
  }
}
export class QueueFullError extends TgraphError {
  override readonly name: string = 'QueueFullError';
  constructor(readonly limit: number) {
    super('QUEUE_FULL', `the session's run queue is full (maxQueuedRuns = ${limit})`);
  }
}
export class SessionReleasedError extends TgraphError {
  override readonly name: string = 'SessionReleasedError';
  constructor(message = 'the session has been released') {
    super('SESSION_RELEASED', message);
  }
}
export class DeviceError extends TgraphError {
  override readonly name: string = 'DeviceError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEVICE', message, options);
  }
}
export class DeviceLostError extends TgraphError {
  override readonly name: string = 'DeviceLostError';
  constructor(message: string) {
    super('DEVICE_LOST', message);
  }
}
export class WorkerError extends TgraphError {
  override readonly name: string = 'WorkerError';
  constructor(message: string) {
    super('WORKER', message);
  }
}
export class TraceError extends TgraphError {
  override readonly name: string = 'TraceError';
  constructor(message: string) {
    super('TRACE', message);
  }
}
