// The graph IR: values are named (as in ONNX); nodes refer to them by name.
import type { DType } from './dtype.js';
import type { HostTensor } from './tensor.js';

/** A dimension: a known size, or a symbol (ONNX dim_param) shared by dims that are equal. */
export type Dim = number | string;

export type ValueType =
  | { kind: 'tensor'; dtype: DType; /** undefined: rank unknown */ shape?: Dim[] }
  | { kind: 'sequence'; elem?: ValueType }
  | { kind: 'optional'; elem?: ValueType }
  | { kind: 'map'; keyType: DType; value?: ValueType };

export type TensorType = Extract<ValueType, { kind: 'tensor' }>;

export interface ValueInfo {
  name: string;
  type?: ValueType;
}

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string }
  | { kind: 'strings'; value: string[] }
  | { kind: 'tensor'; value: HostTensor }
  | { kind: 'tensors'; value: HostTensor[] }
  | { kind: 'graph'; value: Graph }
  | { kind: 'graphs'; value: Graph[] }
  | { kind: 'type'; value: ValueType }
  | { kind: 'types'; value: ValueType[] }
  | { kind: 'sparse'; value: HostTensor };

export interface Node {
  /** Unique within its graph (import names unnamed nodes). */
  name: string;
  opType: string;
  /** '' is the default ONNX domain (also written 'ai.onnx'). */
  domain: string;
  /** Value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attr>;
  docString?: string;
}

export interface Graph {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Constant tensors by value name. An initializer may also be listed in `inputs` (overridable). */
  initializers: Map<string, HostTensor>;
  nodes: Node[];
  /** Known types of intermediate values (from the model or from inference). */
  valueInfo: Map<string, ValueType>;
  docString?: string;
}

/** A model-local function (ONNX FunctionProto), inlined at import. */
export interface FunctionDef {
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: string[];
  attributeDefaults: Record<string, Attr>;
  nodes: Node[];
  opsets: Record<string, number>;
}

export interface Model {
  graph: Graph;
  /** Opset version by domain ('' = ai.onnx). */
  opsets: Record<string, number>;
  irVersion: number;
  producerName?: string;
  producerVersion?: string;
  modelVersion?: number;
  docString?: string;
  metadata?: Record<string, string>;
  /** Where the model was read from, for error messages and external data. */
  source?: string;
}

export function normalizeDomain(domain: string | null | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

export function tensorType(dtype: DType, shape?: Dim[]): ValueType {
  return shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype };
}

export function formatType(t: ValueType | undefined): string {
  if (!t) return '?';
  switch (t.kind) {
    case 'tensor': return `${t.dtype}${t.shape ? `[${t.shape.join(',')}]` : '[?]'}`;
    case 'sequence': return `seq<${formatType(t.elem)}>`;
    case 'optional': return `optional<${formatType(t.elem)}>`;
    case 'map': return `map<${t.keyType},${formatType(t.value)}>`;
  }
}

/** Subgraphs held in a node's attributes (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of Object.values(node.attributes)) {
    if (a.kind === 'graph') out.push(a.value);
    else if (a.kind === 'graphs') out.push(...a.value);
  }
  return out;
}

/** Names a subgraph reads from enclosing scopes (not defined inside it). */
export function outerReferences(g: Graph): Set<string> {
  const defined = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  const refs = new Set<string>();
  for (const n of g.nodes) {
    for (const i of n.inputs) if (i && !defined.has(i)) refs.add(i);
    for (const sg of subgraphsOf(n)) for (const r of outerReferences(sg)) if (!defined.has(r)) refs.add(r);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of g.outputs) if (!defined.has(o.name)) refs.add(o.name);
  return refs;
}
