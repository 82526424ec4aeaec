// What the session needs from a backend: compile a model into something that runs feeds.
import type { Model } from '../../graph/ir.js';
import type { RtValue } from '../../graph/tensor.js';

export type BackendName = 'cpu' | 'webgpu';

export interface RunContext {
  readonly signal?: { readonly aborted: boolean };
  /** Names of the outputs wanted. */
  readonly fetches: readonly string[];
  readonly onNode?: (node: { name: string; opType: string }, ms: number) => void;
}

export interface CompiledModel {
  readonly backend: BackendName;
  run(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue>>;
  release(): void;
}

export interface Backend {
  readonly name: BackendName;
  /** Registry keys this backend has kernels for (undefined: all). */
  hasKernel(key: string): boolean;
  compile(model: Model): Promise<CompiledModel>;
}
