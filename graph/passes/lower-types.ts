// What a backend can run fused: the lowering passes consult this instead of guessing (no
// `if (backend === ...)` inside a pass). Each backend declares one (src/backends/types.ts).
import type { FusedOp } from '../ops/fused-program.js';

/** Standard ops, and tgraph.ConvNhwc (written by lower-layout before the epilogue pass runs). */
export type EpilogueBase = 'Conv' | 'MatMul' | 'Gemm' | 'ConvNhwc';

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
  /** Exported subgraphs run as one tgraph op where the opset has no standard op for them (lower-patterns.ts). */
  readonly patterns?: readonly PatternOp[];
  /** Regions of convolutions run channels-last (tgraph.ConvNhwc, lower-layout.ts); undefined: NCHW only. */
  readonly layout?: LayoutCapabilities;
}

/** tgraph ops lower-patterns may write (graph/ops/fused.ts). */
export type PatternOp = 'LayerNormalization';

/** A 2-D convolution as the layout decision sees it (ONNX's NCHW dims; output OH x OW). */
export interface ConvShape {
  readonly N: number; readonly C: number; readonly H: number; readonly W: number;
  readonly M: number; readonly KH: number; readonly KW: number; readonly OH: number; readonly OW: number;
  readonly SH: number; readonly SW: number; readonly group: number;
  /** Dilations (1 where absent). */
  readonly DH?: number; readonly DW?: number;
}

/** What decides a channels-last region: estimated costs, so it fires only where it pays. */
export interface LayoutCapabilities {
  /** Estimated cost of a conv in NCHW (Conv) and channels-last (ConvNhwc); undefined where ConvNhwc does not run it. */
  readonly convCost: (c: ConvShape) => { readonly nchw: number; readonly nhwc: number } | undefined;
  /** Estimated cost, in the same unit, of a layout Transpose of `elements` floats (a region boundary). */
  readonly transposeCost: (elements: number) => number;
  /** Estimated extra cost of a GlobalAverage/MaxPool of `elements` floats run channels-last (ReduceMean/ReduceMax over H, W). */
  readonly globalPoolCost: (elements: number) => number;
  /** A region is rewritten when its convs save more than `margin` times what its Transposes and pools cost (the estimates' error). */
  readonly margin: number;
}
