// InferenceSession: onnxruntime-web/-node compatible entry point.
import { AbortError, InputError, ModelLoadError, type ShapeError, SessionReleasedError, TimeoutError, UnsupportedOpError } from '../graph/errors.js';
import { inferGraph } from '../graph/infer.js';
import { findProblems } from '../graph/verify.js';
import { optimize, type OptimizeReport } from '../graph/passes/index.js';
import { evaluateConstantNode } from '../kernels/cpu/evaluate.js';
import { formatType, type Model, type ValueInfo } from '../graph/ir.js';
import { findUnsupported } from '../graph/support.js';
import { type RtValue, setMaxElements, DEFAULT_MAX_ELEMENTS, checkedSize } from '../graph/tensor.js';
import { cpuBackend } from './backends/cpu.js';
import type { Backend, BackendName, CompiledModel } from './backends/types.js';
import { loadModel, type ModelSource } from './model-loader.js';
import { Tensor } from './tensor.js';

export type ExecutionProvider = BackendName | 'wasm' | { name: BackendName | 'wasm' };
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  executionProviders?: readonly ExecutionProvider[];
  /** onnxruntime's levels; default 'all'. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Pass names to skip (see `tgraph optimize --report`). */
  disabledOptimizers?: readonly string[];
  /** Largest element count of any one tensor; larger shapes are refused before allocating. */
  maxTensorElements?: number;
  enableProfiling?: boolean;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

export interface RunOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type FeedsType = Record<string, Tensor>;
export type ReturnType = Record<string, Tensor>;
export type FetchesType = readonly string[] | Record<string, Tensor | null>;

export interface IoMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

const BACKENDS: Partial<Record<BackendName, () => Promise<Backend>>> = {
  cpu: async () => cpuBackend,
  webgpu: async () => (await import('./backends/webgpu/backend.js')).loadWebgpuBackend(),
};

/** Let a backend module register itself with the session (keeps the session free of backend imports). */
export function registerBackend(name: BackendName, load: () => Promise<Backend>): void {
  BACKENDS[name] = load;
}

function epName(ep: ExecutionProvider): BackendName {
  const n = typeof ep === 'string' ? ep : ep.name;
  return n === 'wasm' ? 'cpu' : n;
}

export class InferenceSession {
  private released = false;

  private constructor(
    readonly model: Model,
    private readonly compiled: CompiledModel,
    private readonly options: SessionOptions,
    /** Why each backend that was tried before the chosen one was passed over. */
    readonly backendNotes: readonly string[],
    /** Shape-rule errors found at creation (the run may still fail on them). */
    readonly shapeWarnings: readonly ShapeError[],
    /** What the optimizer did (per-pass statistics); undefined at level 'disabled'. */
    readonly optimizeReport: OptimizeReport | undefined,
  ) {}

  static async create(src: ModelSource, options: SessionOptions = {}): Promise<InferenceSession> {
    const model = await loadModel(src);
    return InferenceSession.fromModel(model, options);
  }

  static async fromModel(original: Model, options: SessionOptions = {}): Promise<InferenceSession> {
    let model = original;
    const eps = (options.executionProviders ?? ['cpu']).map(epName);
    const notes: string[] = [];
    const problems = findProblems(model.graph);
    if (problems.length) throw new ModelLoadError(`the graph is not well formed: ${problems.slice(0, 5).join('; ')}`, model.source);
    const registryGaps = findUnsupported(model, () => true);
    if (registryGaps.length) throw new UnsupportedOpError(registryGaps, model.source);
    const limit = options.maxTensorElements ?? DEFAULT_MAX_ELEMENTS;
    const prevMax = setMaxElements(limit);
    let shapeWarnings: ShapeError[];
    let optimizeReport: OptimizeReport | undefined;
    try {
      const level = options.graphOptimizationLevel ?? 'all';
      if (level !== 'disabled') {
        const r = optimize(model, evaluateConstantNode, { level, disable: options.disabledOptimizers });
        model = r.model;
        optimizeReport = r.report;
      }
      shapeWarnings = inferGraph(model.graph, { opsets: model.opsets, evaluate: evaluateConstantNode }).errors;
      // Static shapes over the element limit are refused now, before anything is allocated.
      for (const [name, t] of model.graph.valueInfo) {
        if (t.kind === 'tensor' && t.shape && t.shape.every((d) => typeof d === 'number')) checkedSize(t.shape as number[], `value '${name}'`);
      }
    } finally {
      setMaxElements(prevMax);
    }
    for (const name of eps) {
      const load = BACKENDS[name];
      if (!load) {
        notes.push(`${name}: not available in this build`);
        continue;
      }
      let backend: Backend;
      try {
        backend = await load();
      } catch (e) {
        notes.push(`${name}: ${(e as Error).message}`);
        continue;
      }
      const gaps = findUnsupported(model, (k) => backend.hasKernel(k));
      if (gaps.length && name === eps[eps.length - 1]) throw new UnsupportedOpError(gaps, model.source);
      const compiled = await backend.compile(model);
      return new InferenceSession(model, compiled, options, notes, shapeWarnings, optimizeReport);
    }
    throw new InputError(`no execution provider could be used: ${notes.join('; ')}`);
  }

  get backend(): BackendName {
    return this.compiled.backend;
  }

  /** Graph inputs that are not initializers (the feeds a run takes). */
  get inputNames(): string[] {
    return this.feedInfos().map((i) => i.name);
  }
  get outputNames(): string[] {
    return this.model.graph.outputs.map((o) => o.name);
  }
  get inputMetadata(): IoMetadata[] {
    return this.feedInfos().map(meta);
  }
  get outputMetadata(): IoMetadata[] {
    return this.model.graph.outputs.map(meta);
  }

  private feedInfos(): ValueInfo[] {
    const g = this.model.graph;
    return g.inputs.filter((i) => !g.initializers.has(i.name));
  }

  async run(feeds: FeedsType, fetchesOrOptions?: FetchesType | RunOptions, maybeOptions?: RunOptions): Promise<ReturnType> {
    if (this.released) throw new SessionReleasedError();
    let fetches: string[] = this.outputNames;
    let options: RunOptions = {};
    if (Array.isArray(fetchesOrOptions)) {
      fetches = [...(fetchesOrOptions as readonly string[])];
      options = maybeOptions ?? {};
    } else if (fetchesOrOptions && isFetchObject(fetchesOrOptions, this.outputNames)) {
      fetches = Object.keys(fetchesOrOptions);
      options = maybeOptions ?? {};
    } else if (fetchesOrOptions) {
      options = fetchesOrOptions as RunOptions;
    }
    for (const f of fetches) {
      if (!this.outputNames.includes(f)) throw new InputError(`'${f}' is not an output of the model (outputs: ${this.outputNames.join(', ')})`, f);
    }
    const values = this.checkFeeds(feeds);
    const outs = await this.runValues(values, fetches, options);
    const result: ReturnType = {};
    for (const f of fetches) {
      const v = outs.get(f)!;
      if (v.kind !== 'tensor') throw new InputError(`output '${f}' is a ${v.kind}, which the Tensor API cannot return; use runValues()`);
      result[f] = Tensor.fromHost(v);
    }
    return result;
  }

  /** Run with IR values (tensors, sequences, optionals) by input name. */
  async runValues(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[] = this.outputNames, options: RunOptions = {}): Promise<Map<string, RtValue>> {
    if (this.released) throw new SessionReleasedError();
    const state = { aborted: false };
    const deadline = options.timeoutMs !== undefined ? performance.now() + options.timeoutMs : Infinity;
    const signal = {
      get aborted() {
        return state.aborted || options.signal?.aborted === true || performance.now() > deadline;
      },
    };
    const prevMax = setMaxElements(this.options.maxTensorElements ?? DEFAULT_MAX_ELEMENTS);
    try {
      if (options.signal?.aborted) throw new AbortError();
      return await this.compiled.run(feeds, { signal, fetches });
    } catch (e) {
      if (e instanceof AbortError && performance.now() > deadline && !options.signal?.aborted) throw new TimeoutError(options.timeoutMs!);
      throw e;
    } finally {
      setMaxElements(prevMax);
    }
  }

  private checkFeeds(feeds: FeedsType): Map<string, RtValue> {
    const known = new Set(this.model.graph.inputs.map((i) => i.name));
    for (const name of Object.keys(feeds)) {
      if (!known.has(name)) throw new InputError(`'${name}' is not an input of the model (inputs: ${this.inputNames.join(', ')})`, name);
    }
    const out = new Map<string, RtValue>();
    for (const info of this.model.graph.inputs) {
      const t = feeds[info.name];
      if (t === undefined) {
        if (this.model.graph.initializers.has(info.name)) continue;
        throw new InputError(`input '${info.name}' is missing (expected ${formatType(info.type)})`, info.name);
      }
      if (!(t instanceof Tensor)) throw new InputError(`input '${info.name}' should be a Tensor`, info.name);
      const type = info.type;
      if (type && type.kind === 'tensor') {
        if (t.type !== type.dtype) throw new InputError(`input '${info.name}' should be ${type.dtype}, got ${t.type}`, info.name);
        if (type.shape) {
          if (t.dims.length !== type.shape.length) {
            throw new InputError(`input '${info.name}' should have rank ${type.shape.length} ([${type.shape.join(',')}]), got [${t.dims.join(',')}]`, info.name);
          }
          type.shape.forEach((d, i) => {
            if (typeof d === 'number' && d !== t.dims[i]) {
              throw new InputError(`input '${info.name}' dim ${i} should be ${d} ([${type.shape!.join(',')}]), got [${t.dims.join(',')}]`, info.name);
            }
          });
        }
      }
      out.set(info.name, t.toHost());
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.compiled.release();
  }
}

function meta(v: ValueInfo): IoMetadata {
  const t = v.type;
  if (t && t.kind === 'tensor') return { name: v.name, isTensor: true, type: t.dtype, shape: t.shape };
  return { name: v.name, isTensor: false };
}

function isFetchObject(x: object, outputs: string[]): x is Record<string, Tensor | null> {
  const keys = Object.keys(x);
  return keys.length > 0 && keys.every((k) => outputs.includes(k));
}
