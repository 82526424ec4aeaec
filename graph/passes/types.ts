// A pass is a named graph-to-graph rewrite; the manager runs the list in order.
import type { Model } from '../ir.js';
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
