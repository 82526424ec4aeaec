// The CPU kernel boundary: kernels are synchronous functions of host values.
import type { AttrReader } from '../../graph/attrs.js';
import type { Graph, Node } from '../../graph/ir.js';
import type { RtValue } from '../../graph/tensor.js';

export interface CpuContext {
  readonly node: Node;
  /** Opset version of the node's domain in the model. */
  readonly opset: number;
  readonly attrs: AttrReader;
  /**
   * Run a subgraph (If branch, Loop/Scan body) with positional inputs for its formal inputs;
   * values of enclosing scopes are visible to it. Returns its outputs in order.
   */
  runGraph(graph: Graph, inputs: readonly (RtValue | undefined)[]): RtValue[];
}

/**
 * A CPU kernel: inputs in node order (undefined for omitted optional inputs), outputs in node order.
 * Outputs may be fewer than the node declares when trailing optional outputs are not produced.
 */
export type CpuKernel = (inputs: readonly (RtValue | undefined)[], ctx: CpuContext) => RtValue[];
