// What the op registry holds for each op: its schema and its shape/dtype rule.
import type { AttrReader } from '../attrs.js';
import type { Dim, Node, ValueType } from '../ir.js';
import type { HostTensor } from '../tensor.js';

export interface InferContext {
  readonly node: Node;
  /** Opset version of the node's domain in the model. */
  readonly opset: number;
  readonly attrs: AttrReader;
  /** Types of the node's inputs; undefined for an omitted optional input or an unknown type. */
  readonly inputs: readonly (ValueType | undefined)[];
  /** The value of input i when it is constant (an initializer or a folded value), else undefined. */
  constant(i: number): HostTensor | undefined;
  /** Number of inputs actually given (trailing omitted ones excluded). */
  readonly inputCount: number;
  /**
   * Contents of a small integer input that is not constant but whose elements are known dims
   * (e.g. Shape of x[N,3]: ['N', 3]); see graph/ops/manip-values.ts.
   */
  symbolicValue?(i: number): Dim[] | undefined;
}

/**
 * A shape and dtype rule. Returns one type per output, undefined where unknown.
 * Throwing a ShapeError reports inputs that do not fit the op.
 */
export type ShapeRule = (ctx: InferContext) => (ValueType | undefined)[];

export interface OpSchema {
  /** '' for ai.onnx. */
  readonly domain: string;
  /** Lowest opset version supported (the op exists from this version). */
  readonly since: number;
  readonly infer: ShapeRule;
  /** One line for docs and `tgraph inspect`. */
  readonly doc?: string;
}

/** Build a schema of the default domain. */
export function op(infer: ShapeRule, opts: { since?: number; domain?: string; doc?: string } = {}): OpSchema {
  return { domain: opts.domain ?? '', since: opts.since ?? 1, infer, doc: opts.doc };
}
