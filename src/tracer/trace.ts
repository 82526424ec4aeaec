// The trace being recorded: a graph under construction, and the stack of traces (If/Loop bodies
// are child traces whose nodes read their parents' values by name, as ONNX scoping allows).
import type { Graph, Node, ValueInfo } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';

/** ai.onnx opset of traced graphs and of eager nodes. */
export const TRACE_OPSET = 18;
export const OPSETS: Readonly<Record<string, number>> = Object.freeze({ '': TRACE_OPSET });

export class TraceContext {
  readonly nodes: Node[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly initializers = new Map<string, HostTensor>();
  /** Known values (initializers and nodes computed from them), for shape rules such as Reshape's. */
  readonly constants = new Map<string, HostTensor>();
  /** Eager tensors captured as constants (root trace only): object -> initializer name. */
  readonly captured = new WeakMap<object, string>();
  private counter = { n: 0 };

  constructor(readonly parent?: TraceContext) {
    if (parent) this.counter = parent.root.counter;
  }

  get root(): TraceContext {
    let c: TraceContext = this;
    while (c.parent) c = c.parent;
    return c;
  }

  /** Whether values of `other` are visible here (same trace or an enclosing one). */
  sees(other: TraceContext): boolean {
    for (let c: TraceContext | undefined = this; c; c = c.parent) if (c === other) return true;
    return false;
  }

  freshName(base: string): string {
    return `${base}_${++this.counter.n}`;
  }

  constantOf(name: string): HostTensor | undefined {
    for (let c: TraceContext | undefined = this; c; c = c.parent) {
      const v = c.constants.get(name);
      if (v) return v;
    }
    return undefined;
  }

  toGraph(name: string, outputs: ValueInfo[]): Graph {
    return { name, inputs: [...this.inputs], outputs, initializers: new Map(this.initializers), nodes: [...this.nodes], valueInfo: new Map() };
  }
}

let current: TraceContext | undefined;

export function currentTrace(): TraceContext | undefined {
  return current;
}

/** Run `fn` with `ctx` as the current trace. */
export function withTrace<T>(ctx: TraceContext, fn: () => T): T {
  const prev = current;
  current = ctx;
  try {
    return fn();
  } finally {
    current = prev;
  }
}
