import { ShapeError } from '../../graph/errors.js';
import type { CpuContext } from './types.js';

/** Inputs that do not fit a kernel; the executor wraps it with the node's input shapes. */
export class KernelInputError extends ShapeError {
  override readonly name: string = 'KernelInputError';
  constructor(ctx: Pick<CpuContext, 'node'>, message: string) {
    super(message, ctx.node.name, ctx.node.opType);
  }
}
