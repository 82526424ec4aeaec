// The tracer's typed errors: an op whose inputs do not fit, a value read inside a trace.
import { TraceError } from '../../graph/errors.js';

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
