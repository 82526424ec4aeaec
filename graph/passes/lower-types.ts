// What a backend can run fused: the lowering passes consult this instead of guessing (no
// `if (backend === ...)` inside a pass). Each backend declares one (src/backends/types.ts).
import type { FusedOp } from '../ops/fused-program.js';

export type EpilogueBase = 'Conv' | 'MatMul' | 'Gemm';

export interface LoweringCapabilities {
  /** Elementwise chains fused into one tgraph.FusedElementwise kernel; undefined: not fused. */
  readonly elementwise?: {
    /** Instructions a fused program may hold. */
    readonly ops: readonly FusedOp[];
    /** Most node inputs one fused kernel may read (GPU: storage buffers per shader stage, less the output). */
    readonly maxInputs: number;
  };
  /** Elementwise consumers of Conv/MatMul/Gemm applied before the store (tgraph.FusedConv...). */
  readonly epilogue?: {
    readonly bases: readonly EpilogueBase[];
    readonly ops: readonly FusedOp[];
    /** Most extra inputs (bias, residual...) an epilogue may read. */
    readonly maxInputs: number;
  };
}
