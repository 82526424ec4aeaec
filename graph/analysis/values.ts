// Shared pieces of the graph analyses: value sizes under a dims binding, producers and readers.
import type { DType } from '../dtype.js';
import type { Graph, Node, ValueType } from '../ir.js';
import { outerReferences, subgraphsOf } from '../ir.js';

/** Bytes per element (bool as one byte, as the host stores it; string counted as 0). */
export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4, float16: 2, float64: 8, bfloat16: 2, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1, string: 0,
};

/** How symbolic dims are sized: by `dims`, else counted as 1 (and remembered for the report). */
export class DimResolver {
  readonly unbound = new Set<string>();
  constructor(private readonly dims: Readonly<Record<string, number>> = {}) {}
  elements(t: ValueType | undefined): number | undefined {
    if (!t || t.kind !== 'tensor' || !t.shape) return undefined;
    let n = 1;
    for (const d of t.shape) {
      if (typeof d === 'number') n *= d;
      else if (this.dims[d] !== undefined) n *= this.dims[d]!;
      else this.unbound.add(d);
    }
    return n;
  }
  /** Bytes of a value, or undefined when its type, rank or dtype size is unknown. */
  bytes(t: ValueType | undefined): number | undefined {
    const n = this.elements(t);
    return n === undefined || t?.kind !== 'tensor' ? undefined : n * DTYPE_BYTES[t.dtype];
  }
  shape(t: ValueType | undefined): number[] | undefined {
    if (!t || t.kind !== 'tensor' || !t.shape) return undefined;
    return t.shape.map((d) => (typeof d === 'number' ? d : this.dims[d] ?? (this.unbound.add(d), 1)));
  }
}

/** Every value a node reads: its inputs and what its subgraphs read from enclosing scopes. */
export function readsOfNode(node: Node): string[] {
  const out = new Set<string>();
  for (const i of node.inputs) if (i) out.add(i);
  for (const g of subgraphsOf(node)) for (const r of outerReferences(g)) out.add(r);
  return [...out];
}

/** Index of the node producing each value (graph inputs and initializers have none). */
export function producers(graph: Graph): Map<string, number> {
  const p = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => { if (o) p.set(o, i); }));
  return p;
}
