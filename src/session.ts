// InferenceSession: onnxruntime-web/-node compatible entry point.
import { AbortError, InputError, ModelLoadError, type ShapeError, SessionReleasedError, UnsupportedOpError } from '../graph/errors.js';
import { inferGraph } from '../graph/infer.js';
import { findProblems } from '../graph/verify.js';
import { lower, optimize, type OptimizeReport } from '../graph/passes/index.js';
import { evaluateConstantNode } from '../kernels/cpu/evaluate.js';
import { formatType, type Model, type ValueInfo } from '../graph/ir.js';
import { findUnsupported } from '../graph/support.js';
import { type RtValue, setMaxElements, DEFAULT_MAX_ELEMENTS, checkedSize } from '../graph/tensor.js';
import { createCpuBackend, type CpuCompiledModel } from './backends/cpu.js';
import type { Backend, BackendName, CompiledModel, DeviceFeed, DeviceOutput, Placement } from './backends/types.js';
import { type ChromeTrace, Profiler } from './executor/profiler.js';
import { type QueuePolicy, RunControl, RunQueue, type RunQueueStats } from './executor/run-queue.js';
import { type ExecRunContext, wallNow } from './executor/types.js';
import type { WorkerPool } from './executor/worker-pool.js';
import { loadModel, type ModelSource } from './model-loader.js';
import { Tensor, type TensorType } from './tensor.js';

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
  /** Record every node run; `endProfiling()` returns the Chrome trace. */
  enableProfiling?: boolean;
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
  /**
   * CPU: 'sequential' (default) runs nodes one at a time on the calling thread (the reference path);
   * 'parallel' schedules them by data readiness on the CPU worker pool, splitting big MatMul/Gemm/Conv.
   */
  executionMode?: 'sequential' | 'parallel';
  /** CPU pool workers in parallel mode (default: the machine's cores); > 1 also selects 'parallel' when executionMode is not given. */
  intraOpNumThreads?: number;
  /**
   * CPU: run the lowering passes (fused elementwise chains, Conv/MatMul/Gemm epilogues, exported layer norms) for the
   * CPU backend. On by default: the fused programs run as WebAssembly SIMD generated per program and
   * took PaddleOCR's classifier from 6.4 to 4.7 ms of CPU (recognizer 38.8 -> 32.9 ms); `false` runs
   * the unfused kernels. WebGPU sessions always lower (there fusion saves dispatches: 194 -> 81 ms).
   */
  fuseCpuKernels?: boolean;
  /**
   * Sizes for symbolic input dims, by name (as onnxruntime's option): the plan is made for them, so
   * shape-dependent choices (the CPU's channels-last conv regions, graph/passes/lower-layout.ts) can be made.
   * Feeds must then have those sizes. A size that is not a positive integer, or a name no input's dims
   * use, is an InputError at create.
   */
  freeDimensionOverrides?: Readonly<Record<string, number>>;
  /** Runs executing at once (default: the pool size in parallel mode, else 1). */
  maxConcurrentRuns?: number;
  /** Runs waiting for a slot (default unbounded); see queuePolicy. */
  maxQueuedRuns?: number;
  /** When the queue is full: 'wait' (default) holds callers until there is room, 'reject' throws QueueFullError. */
  queuePolicy?: QueuePolicy;
  /**
   * Where outputs are returned (as onnxruntime-web): 'gpu-buffer' keeps them on the GPU
   * (`tensor.location === 'gpu-buffer'`, `await tensor.getData()` reads back); per output name or for all.
   */
  preferredOutputLocation?: OutputLocation | Readonly<Record<string, OutputLocation>>;
}

export type OutputLocation = 'cpu' | 'gpu-buffer';

export interface ReleaseOptions {
  /** Cancel runs in flight and queued (they reject with AbortError) instead of letting them finish. */
  force?: boolean;
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

const BACKENDS: Partial<Record<BackendName, (options: SessionOptions) => Promise<Backend>>> = {
  cpu: async (o) => createCpuBackend({ executionMode: cpuMode(o), numThreads: o.intraOpNumThreads, fuse: o.fuseCpuKernels ?? true }),
  webgpu: async () => (await import('./backends/webgpu/backend.js')).loadWebgpuBackend(),
};

/** Let a backend module register itself with the session (keeps the session free of backend imports). */
export function registerBackend(name: BackendName, load: () => Promise<Backend>): void {
  BACKENDS[name] = load;
}

function cpuMode(o: SessionOptions): 'sequential' | 'parallel' {
  return o.executionMode ?? ((o.intraOpNumThreads ?? 1) > 1 ? 'parallel' : 'sequential');
}

function epName(ep: ExecutionProvider): BackendName {
  const n = typeof ep === 'string' ? ep : ep.name;
  return n === 'wasm' ? 'cpu' : n;
}

export class InferenceSession {
  private released = false;
  private releasing: Promise<void> | undefined;
  private readonly queue: RunQueue;
  private profiler: Profiler | undefined;
  /** Names of the graph's inputs, for checking feeds (the model does not change). */
  private inputSet: Set<string> | undefined;

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
  ) {
    const pool = (compiled as Partial<CpuCompiledModel>).pool;
    this.queue = new RunQueue({
      maxConcurrentRuns: options.maxConcurrentRuns ?? pool?.size ?? 1,
      maxQueuedRuns: options.maxQueuedRuns,
      queuePolicy: options.queuePolicy,
    });
    if (options.enableProfiling) this.profiler = new Profiler();
  }

  static async create(src: ModelSource, options: SessionOptions = {}): Promise<InferenceSession> {
    const model = await loadModel(src);
    return InferenceSession.fromModel(model, options);
  }

  static async fromModel(original: Model, options: SessionOptions = {}): Promise<InferenceSession> {
    let model = withDimOverrides(original, options.freeDimensionOverrides);
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
        backend = await load(options);
      } catch (e) {
        notes.push(`${name}: ${(e as Error).message}`);
        continue;
      }
      const gaps = findUnsupported(model, (k) => backend.hasKernel(k));
      if (gaps.length && name === eps[eps.length - 1]) throw new UnsupportedOpError(gaps, model.source);
      const planned = lowerFor(model, backend, options, optimizeReport);
      const compiled = await backend.compile(planned.model);
      return new InferenceSession(planned.model, compiled, options, notes, shapeWarnings, planned.report);
    }
    throw new InputError(`no execution provider could be used: ${notes.join('; ')}`);
  }

  get backend(): BackendName {
    return this.compiled.backend;
  }

  /** The CPU worker pool (parallel mode), shared with other sessions of the same size. */
  get workerPool(): WorkerPool | undefined {
    return (this.compiled as Partial<CpuCompiledModel>).pool;
  }

  /** Runs executing, queued and waiting for room. */
  runQueueStats(): RunQueueStats {
    return this.queue.stats();
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
    const outputs = this.outputNames;
    let fetches: string[] = outputs;
    let options: RunOptions = {};
    if (Array.isArray(fetchesOrOptions)) {
      fetches = [...(fetchesOrOptions as readonly string[])];
      options = maybeOptions ?? {};
    } else if (fetchesOrOptions && isFetchObject(fetchesOrOptions, outputs)) {
      fetches = Object.keys(fetchesOrOptions);
      options = maybeOptions ?? {};
    } else if (fetchesOrOptions) {
      options = fetchesOrOptions as RunOptions;
    }
    for (const f of fetches) {
      if (!outputs.includes(f)) throw new InputError(`'${f}' is not an output of the model (outputs: ${outputs.join(', ')})`, f);
    }
    // GPU-resident feeds: bound as they are by a backend that takes them, else read back.
    const direct = this.compiled.acceptsDeviceFeeds === true;
    const hostFeeds: FeedsType = {};
    const deviceFeeds = new Map<string, DeviceFeed>();
    for (const [k, t] of Object.entries(feeds)) {
      if (t instanceof Tensor && t.location === 'gpu-buffer') {
        if (direct) deviceFeeds.set(k, { buffer: t.gpuBuffer, dtype: t.type, dims: t.dims });
        hostFeeds[k] = direct ? t : new Tensor(t.type, await t.getData(), t.dims);
      } else hostFeeds[k] = t;
    }
    const values = this.checkFeeds(hostFeeds);
    const toGpu = fetches.some((f) => this.outputLocation(f) === 'gpu-buffer') && !!this.compiled.runToGpu;
    const outs = toGpu ? await this.runToGpu(values, fetches, options, deviceFeeds) : await this.runDevice(values, fetches, options, deviceFeeds);
    const result: ReturnType = {};
    for (const f of fetches) {
      const v = outs.get(f)!;
      if (v.kind === 'gpu-buffer') {
        const gpu = v;
        result[f] = this.outputLocation(f) === 'gpu-buffer'
          ? Tensor.fromGpuBuffer(gpu.buffer, { dataType: gpu.dtype as TensorType, dims: gpu.dims, download: () => gpu.download(), dispose: () => gpu.dispose() })
          : Tensor.fromHost(await gpu.download());
        continue;
      }
      if (v.kind !== 'tensor') throw new InputError(`output '${f}' is a ${v.kind}, which the Tensor API cannot return; use runValues()`);
      result[f] = Tensor.fromHost(v);
    }
    return result;
  }

  private outputLocation(name: string): OutputLocation {
    const p = this.options.preferredOutputLocation;
    return typeof p === 'string' ? p : p?.[name] ?? 'cpu';
  }

  /** Where each node runs and why (backends that place nodes on more than one device). */
  get placements(): Placement[] {
    return [...(this.compiled.placements?.values() ?? [])];
  }

  private async runToGpu(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[], options: RunOptions, deviceFeeds?: ReadonlyMap<string, DeviceFeed>): Promise<Map<string, RtValue | DeviceOutput>> {
    if (this.released) throw new SessionReleasedError();
    const control = new RunControl(options.signal, options.timeoutMs);
    try {
      return await this.queue.run(control, () => this.execute(feeds, fetches, control, true, deviceFeeds));
    } finally {
      control.dispose();
    }
  }

  /** runValues with feeds already on the device (a backend with `acceptsDeviceFeeds`). */
  private async runDevice(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[], options: RunOptions, deviceFeeds: ReadonlyMap<string, DeviceFeed>): Promise<Map<string, RtValue>> {
    if (!deviceFeeds.size) return this.runValues(feeds, fetches, options);
    if (this.released) throw new SessionReleasedError();
    const control = new RunControl(options.signal, options.timeoutMs);
    try {
      return (await this.queue.run(control, () => this.execute(feeds, fetches, control, false, deviceFeeds))) as Map<string, RtValue>;
    } finally {
      control.dispose();
    }
  }

  /** Run with IR values (tensors, sequences, optionals) by input name. */
  async runValues(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[] = this.outputNames, options: RunOptions = {}): Promise<Map<string, RtValue>> {
    if (this.released) throw new SessionReleasedError();
    const control = new RunControl(options.signal, options.timeoutMs);
    try {
      return await this.queue.run(control, () => this.execute(feeds, fetches, control));
    } finally {
      control.dispose();
    }
  }

  private async execute(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[], control: RunControl): Promise<Map<string, RtValue>>;
  private async execute(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[], control: RunControl, toGpu: boolean, deviceFeeds?: ReadonlyMap<string, DeviceFeed>): Promise<Map<string, RtValue | DeviceOutput>>;
  private async execute(feeds: ReadonlyMap<string, RtValue>, fetches: readonly string[], control: RunControl, toGpu = false, deviceFeeds?: ReadonlyMap<string, DeviceFeed>): Promise<Map<string, RtValue | DeviceOutput>> {
    const limit = this.options.maxTensorElements ?? DEFAULT_MAX_ELEMENTS;
    const profiler = this.profiler;
    const runId = profiler?.nextRun() ?? 0;
    const placements = (this.compiled as { placements?: ReadonlyMap<string, { device: string }> }).placements;
    const ctx: ExecRunContext = {
      signal: control,
      fetches,
      maxTensorElements: limit,
      ...(deviceFeeds?.size ? { deviceFeeds } : {}),
      ...(profiler
        ? this.compiled.backend === 'cpu'
          ? { onNodeRun: (ev) => profiler.record(ev, runId) }
          : {
              // Backends that only report (node, ms): the node ended now; GPU nodes go on the GPU queue track.
              onNode: (node, ms) => {
                const n = node as { name: string; opType: string; domain?: string; inputs?: string[] };
                profiler.record({ node: { name: n.name, opType: n.opType, domain: n.domain ?? '' }, start: wallNow() - ms, dur: ms, thread: placements?.get(n.name)?.device === 'gpu' ? 'gpu' : 0, inputShapes: [] }, runId);
              },
            }
        : {}),
    };
    if (this.compiled.backend === 'cpu') return this.compiled.run(feeds, ctx);
    const prevMax = setMaxElements(limit);
    try {
      return toGpu && this.compiled.runToGpu ? await this.compiled.runToGpu(feeds, ctx) : await this.compiled.run(feeds, ctx);
    } catch (e) {
      // A backend that saw only the `aborted` flag throws a plain AbortError: report why it stopped.
      if (e instanceof AbortError) throw control.check() ?? e;
      throw e;
    } finally {
      setMaxElements(prevMax);
    }
  }

  /**
   * The Chrome trace (`{ traceEvents }`, one complete event per node run; Perfetto opens it) recorded
   * since creation with `enableProfiling`, written to `file` when given. Recording stops.
   */
  async endProfiling(file?: string): Promise<ChromeTrace> {
    const trace = this.profiler?.trace() ?? { traceEvents: [] };
    this.profiler = undefined;
    if (file) {
      const fs = await import('node:fs');
      fs.writeFileSync(file, JSON.stringify(trace));
    }
    return trace;
  }

  private checkFeeds(feeds: FeedsType): Map<string, RtValue> {
    const known = (this.inputSet ??= new Set(this.model.graph.inputs.map((i) => i.name)));
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
      // A GPU tensor reaches here only for a backend that binds it (RunContext.deviceFeeds).
      if (t.location !== 'gpu-buffer') out.set(info.name, t.toHost());
    }
    return out;
  }

  /**
   * Refuse new runs, let the runs in flight and queued finish, then free the compiled model.
   * `{ force: true }` cancels them instead (they reject with AbortError). Failed runs do not make it throw.
   */
  async release(options: ReleaseOptions = {}): Promise<void> {
    this.released = true;
    this.queue.close();
    if (options.force) this.queue.cancelAll(new AbortError('the run was cancelled: the session was released'));
    this.releasing ??= this.queue.drain().then(() => this.compiled.release());
    return this.releasing;
  }
}

/** The model with the named symbolic dims of its inputs fixed (freeDimensionOverrides). */
function withDimOverrides(model: Model, dims: Readonly<Record<string, number>> | undefined): Model {
  if (!dims || !Object.keys(dims).length) return model;
  // A bad size or a name no input uses (a typo) would otherwise surface only as a confusing feed error.
  const symbolic = new Set(model.graph.inputs.flatMap((i) => (i.type?.kind === 'tensor' ? (i.type.shape ?? []).filter((d): d is string => typeof d === 'string') : [])));
  for (const [name, size] of Object.entries(dims)) {
    if (!Number.isSafeInteger(size) || size < 1) throw new InputError(`freeDimensionOverrides['${name}'] is ${size}; expected a positive integer`, name);
    if (!symbolic.has(name)) throw new InputError(`freeDimensionOverrides['${name}']: no input has a dim of that name (symbolic dims: ${[...symbolic].join(', ') || 'none'})`, name);
  }
  const inputs = model.graph.inputs.map((i) => {
    const t = i.type;
    if (t?.kind !== 'tensor' || !t.shape?.some((d) => typeof d === 'string' && d in dims)) return i;
    return { ...i, type: { ...t, shape: t.shape.map((d) => (typeof d === 'string' && d in dims ? dims[d]! : d)) } };
  });
  return { ...model, graph: { ...model.graph, inputs } };
}

/**
 * The backend's plan: the optimized model lowered with the backend's capabilities (fused kernels,
 * tgraph's own ops), shapes inferred again for the backend's placement. The report gains the lowering passes.
 */
function lowerFor(model: Model, backend: Backend, options: SessionOptions, report: OptimizeReport | undefined): { model: Model; report: OptimizeReport | undefined } {
  const level = options.graphOptimizationLevel ?? 'all';
  if (level === 'disabled' || !backend.capabilities || !report) return { model, report };
  const prevMax = setMaxElements(options.maxTensorElements ?? DEFAULT_MAX_ELEMENTS);
  try {
    const r = lower(model, backend.capabilities, evaluateConstantNode, { level, disable: options.disabledOptimizers });
    // Rewrites, not node counts: a lowering inside If/Loop bodies leaves the main graph's count unchanged.
    const rewrote = r.report.passes.some((p) => Object.keys(p.rewrites).length > 0);
    if (!rewrote) return { model, report: { ...report, passes: [...report.passes, ...r.report.passes] } };
    inferGraph(r.model.graph, { opsets: r.model.opsets, evaluate: evaluateConstantNode });
    return { model: r.model, report: { ...report, passes: [...report.passes, ...r.report.passes], nodesAfter: r.report.nodesAfter, ms: report.ms + r.report.ms } };
  } finally {
    setMaxElements(prevMax);
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
