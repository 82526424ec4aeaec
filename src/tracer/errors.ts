// The tracer's typed errors: an op whose inputs do not fit, a value read inside a trace.
import { InputError, TraceError } from '../../graph/errors.js';

/** An op whose inputs do not fit it: names the op, the input types and the user's source line. */
export class TracerOpError extends TraceError {
  constructor(readonly op: string, readonly inputTypes: readonly string[], readonly reason: string, readonly source: string | undefined, options?: { cause?: unknown }) {
    super(`${op}(${inputTypes.join(', ')}): ${reason}${source ? ` (at ${source})` : ''}`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Reading a symbolic tensor's value while tracing: the value does not exist until the graph runs. */
export class TracedValueError extends TraceError {
  constructor(what: string, readonly source: string | undefined) {
    super(
      `${what} of a symbolic tensor inside a traced function${source ? ` (at ${source})` : ''}: its value is not known while tracing. ` +
        'Keep the computation in tensor ops: use tg.cond(pred, thenFn, elseFn) instead of `if`, tg.whileLoop(cond, body, init) instead of `while`, ' +
        'tg.where(c, a, b) for elementwise choices, or return the tensor and read it after the call with `await t.data()`.',
    );
  }
}

/** A disposed eager tensor was used again (as an op input, read, or captured by a traced function). */
export class DisposedTensorError extends InputError {
  override readonly name: string = 'DisposedTensorError';
  constructor(what: string, readonly source: string | undefined) {
    super(`${what}: the tensor has been disposed (by dispose(), a tg.tidy scope or \`using\`)${source ? ` (at ${source})` : ''}; tg.keep(t) or returning it from tidy keeps a tensor alive`);
  }
}

/**
 * A synchronous read of a tensor that lives on the GPU: WebGPU reads back asynchronously only.
 * `tensor` is the tensor concerned (tg.fn awaits its data and retries a trace that captured it).
 */
export class DeviceResidentError extends InputError {
  override readonly name: string = 'DeviceResidentError';
  constructor(what: string, readonly tensor: unknown, readonly source: string | undefined) {
    super(
      `${what} needs the values of a tensor that lives on the GPU${source ? ` (at ${source})` : ''}; WebGPU reads back asynchronously only: ` +
        '`await t.data()` (or t.array(), t.item()) first, which keeps a host copy, or keep the computation in tensor ops (inside tg.fn, tg.cond and tg.whileLoop trace into ONNX If and Loop).',
    );
  }
}
