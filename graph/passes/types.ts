// A pass is a named graph-to-graph rewrite; the manager runs the list in order.
import type { Model, ValueType } from '../ir.js';
import type { ConstantEvaluator } from '../infer.js';
import type { LoweringCapabilities } from './lower-types.js';

export type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';
export const LEVELS: readonly OptLevel[] = ['disabled', 'basic', 'extended', 'all'];

export interface PassContext {
  /** Runs a node on constant inputs (the CPU kernels). */
  readonly evaluate: ConstantEvaluator;
  /** Largest tensor (elements) constant folding may create. */
  readonly maxFoldElements: number;
  /** What the target backend runs fused (lowering passes only; portable passes ignore it). */
  readonly capabilities?: LoweringCapabilities;
  /**
   * Types of the values a subgraph reads from its enclosing scopes (set while a portable pass runs on
   * an If branch or Loop/Scan body; their initializers are visible as the subgraph's own meanwhile).
   */
  readonly outerTypes?: ReadonlyMap<string, ValueType>;
  /** Initializers of the graph being rewritten that belong to an enclosing scope (not its own to remove). */
  readonly inherited?: ReadonlySet<string>;
}

export interface Pass {
  readonly name: string;
  /** The lowest level that runs it. */
  readonly level: Exclude<OptLevel, 'disabled'>;
  /** One line: what it rewrites. */
  readonly doc: string;
  /** Rewrites `model` in place; returns counts of rewrites by rule name. */
  run(model: Model, ctx: PassContext): Record<string, number>;
}

export interface PassReport {
  name: string;
  nodesBefore: number;
  nodesAfter: number;
  valuesBefore: number;
  valuesAfter: number;
  rewrites: Record<string, number>;
  ms: number;
}

export interface OptimizeReport {
  level: OptLevel;
  passes: PassReport[];
  nodesBefore: number;
  nodesAfter: number;
  ms: number;
}
