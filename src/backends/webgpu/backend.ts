/// <reference types="@webgpu/types" />
// The WebGPU backend. Each node runs on the GPU when kernels/webgpu has a kernel whose plan
// accepts its inputs' dtypes and shapes, else on the CPU (the reason is recorded per node).
// Intermediates stay on the GPU; a value is read back only when it is an output or a CPU node
// needs it. Dispatches are encoded into few command buffers and never awaited one by one.
import { AttrReader } from '../../../graph/attrs.js';
import { type DType, f16BitsToNumber, numberToF16Bits } from '../../../graph/dtype.js';
import { AbortError, DeviceError, DeviceLostError, GraphError, InputError } from '../../../graph/errors.js';
import { type Graph, type Model, type Node, type ValueType, outerReferences, subgraphsOf } from '../../../graph/ir.js';
import { opKey } from '../../../graph/ops/index.js';
import { type HostTensor, type RtValue, checkedSize } from '../../../graph/tensor.js';
import { findCpuKernel } from '../../../kernels/cpu/index.js';
import { runNode, type Scope } from '../../../kernels/cpu/interpreter.js';
import { findGpuKernel } from '../../../kernels/webgpu/index.js';
import { WEBGPU_CAPABILITIES } from '../../../kernels/webgpu/fused.js';
import type { GpuKernel, Program } from '../../../kernels/webgpu/types.js';
import { copyWordsProgram, unpackProgram, type UnpackKind } from '../../../kernels/webgpu/storage.js';
import { elemBytes, storageType } from '../../../kernels/webgpu/wgsl.js';
import type { Backend, CompiledModel, DeviceFeed, DeviceOutput, RunContext } from '../types.js';
import { BufferPool, type BufferStats, writePadded } from './buffers.js';
import { acquireGpu, type GpuContext } from './device.js';
import { quietly, quietWaitWanted } from './pacing.js';
import { boundInputs, inputRoles, nodeSteps, planNode, stepBindGroup, storageRefusal } from './node-plan.js';
import { type BindingKind, type CachedPipeline, PipelineCache } from './pipelines.js';

export interface Placement {
  readonly node: string;
  readonly op: string;
  readonly device: 'gpu' | 'cpu';
  /** Why a node runs on the CPU; for GPU nodes, 'alias' when it only renames its input. */
  readonly reason?: string;
  /** 'compile': predicted from the static types (valueInfo); 'run': where it ran in the latest run. */
  readonly when: 'compile' | 'run';
}

export interface WebgpuRunStats {
  dispatches: number;
  submits: number;
  /** Values read back from the GPU (outputs included). */
  downloads: number;
  /** Names of the values read back, in order. */
  downloaded: string[];
  uploads: number;
}

/** An output that stays on the GPU (preferredOutputLocation 'gpu-buffer'): for Tensor.fromGpuBuffer. */
export interface GpuOutput extends DeviceOutput {
  readonly buffer: GPUBuffer;
}

export interface WebgpuCompiledModel extends CompiledModel {
  /** Like run(), but GPU-resident outputs stay on the GPU (CPU-produced ones come as host values). */
  runToGpu(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue | GpuOutput>>;
  /** Where each node runs: predicted at compile time, then where it ran in the latest run. */
  readonly placements: ReadonlyMap<string, Placement>;
  readonly lastRun: WebgpuRunStats | undefined;
  bufferStats(): BufferStats | undefined;
  /** WGSL of the pipelines built for this model's device, by cache key. */
  pipelineSources(): ReadonlyMap<string, string>;
}

// GPUBufferUsage / GPUMapMode values (the `webgpu` package does not install them as globals).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ_MODE = 0x1;
const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
const UNIFORM = USAGE.UNIFORM | USAGE.COPY_DST;
const READBACK = USAGE.MAP_READ | USAGE.COPY_DST;
/**
 * Dispatches per command buffer before it is submitted (buffers released in it become reusable):
 * the first command buffer of a run is submitted after FIRST_SUBMIT dispatches and each next one
 * holds twice as many, up to MAX_SUBMIT, so the device starts while the rest is still encoded
 * (encoding 128 dispatches takes 15-70 ms of the main thread; a submit costs far less). On
 * SwiftShader, whose device shares the CPU with the encoder, this measured neutral (191 vs 201 ms).
 */
const FIRST_SUBMIT = 16;
const MAX_SUBMIT = 128;
const UNIFORM_CHUNK = 64 * 1024;

/** A GPU buffer shared by a value and its aliases. */
interface GpuBuf {
  readonly buffer: GPUBuffer;
  /** Bytes of data (the buffer may be larger). */
  readonly bytes: number;
  refs: number;
  /** Initializer copies live as long as the compiled model. */
  readonly pinned: boolean;
}

interface Slot {
  readonly dtype?: DType;
  readonly dims?: readonly number[];
  host?: RtValue;
  gpu?: GpuBuf;
}

/** Per-device state of a compiled model (rebuilt after a device loss). */
interface DeviceState {
  readonly gpu: GpuContext;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly initializers: Map<string, GpuBuf>;
  /** Await GPU work with the event loop sleeping between turns (Dawn in Node; pacing.ts). */
  readonly quietWait: boolean;
}

const pipelineCaches = new WeakMap<GPUDevice, PipelineCache>();
const pools = new WeakMap<GPUDevice, BufferPool>();

function deviceState(gpu: GpuContext): DeviceState {
  let pipelines = pipelineCaches.get(gpu.device);
  if (!pipelines) pipelineCaches.set(gpu.device, (pipelines = new PipelineCache(gpu.device)));
  let pool = pools.get(gpu.device);
  if (!pool) pools.set(gpu.device, (pool = new BufferPool(gpu.device)));
  return { gpu, pool, pipelines, initializers: new Map(), quietWait: quietWaitWanted(gpu.report.source) };
}

/** The pipeline cache of `device`, shared by compiled models and eager ops (src/backends/webgpu/eager.ts). */
export function sharedPipelineCache(device: GPUDevice): PipelineCache {
  let c = pipelineCaches.get(device);
  if (!c) pipelineCaches.set(device, (c = new PipelineCache(device)));
  return c;
}

let bufferCap: number | undefined;

/**
 * Cap every GPU tensor below the device's limits (bytes; undefined: the device's own). A node whose
 * input, output or temporary would exceed the cap runs on the CPU, with the tensor and limit named.
 */
export function limitGpuBuffers(bytes: number | undefined): void {
  bufferCap = bytes;
}

/** The largest tensor one binding can hold on `device`, and which limit says so. */
function bufferLimit(device: GPUDevice): { bytes: number; name: string } {
  const l = device.limits;
  const bind = l.maxStorageBufferBindingSize ?? 134217728;
  const size = l.maxBufferSize ?? 268435456;
  const dev = bind <= size ? { bytes: bind, name: 'maxStorageBufferBindingSize' } : { bytes: size, name: 'maxBufferSize' };
  return bufferCap !== undefined && bufferCap < dev.bytes ? { bytes: bufferCap, name: 'limitGpuBuffers' } : dev;
}

/** Buffers of outputs left on the GPU (preferredOutputLocation 'gpu-buffer') and of eager values: fed back, they are in our storage layout. */
const ownOutputs = new WeakMap<GPUBuffer, GPUDevice>();

/** Mark `buffer` as holding our storage layout (an eager value's buffer fed to a plan): bound as is, no unpacking or probe. */
export function markStorageLayout(buffer: GPUBuffer, device: GPUDevice): void {
  ownOutputs.set(buffer, device);
}
/** Per device, a one-binding layout to check that a fed buffer belongs to the device. */
const probeLayouts = new WeakMap<GPUDevice, GPUBindGroupLayout>();

/** Host layouts a user's buffer holds that the GPU stores otherwise (wgsl.ts storeType). */
function unpackKind(dtype: DType, f16: boolean): { kind: UnpackKind; bytes: number } | undefined {
  switch (dtype) {
    case 'int8': return { kind: 'i8', bytes: 1 };
    case 'uint8': return { kind: 'u8', bytes: 1 };
    case 'bool': return { kind: 'b8', bytes: 1 };
    case 'int16': return { kind: 'i16', bytes: 2 };
    case 'uint16': return { kind: 'u16', bytes: 2 };
    case 'float16': return f16 ? undefined : { kind: 'f16', bytes: 2 };
    default: return undefined;
  }
}

/** Runs on one device are serialized (error scopes are per device). */
let deviceQueue: Promise<unknown> = Promise.resolve();

function gpuBytes(dtype: DType, n: number, f16: boolean): number {
  return n * (elemBytes(dtype, f16) ?? 4);
}

/** Dtypes every kernel may be given; kernels with `allDtypes` take every storable one (wgsl.ts). */
const BASIC = new Set<DType>(['float32', 'float16', 'int32', 'uint32', 'bool']);

export function storable(dtype: DType, f16: boolean, all: boolean): boolean {
  return all ? storageType(dtype, f16, true) !== undefined : BASIC.has(dtype);
}

/**
 * Host data as the GPU stores it (wgsl.ts `storageType`); undefined when it cannot be. `narrow`: an
 * int64 tensor as i32 instead, undefined when a value is outside i32 (eager.ts binds indices so).
 */
export function toGpuData(t: HostTensor, f16: boolean, narrow = false): ArrayBufferView | undefined {
  const d = t.data;
  switch (t.dtype) {
    case 'float32': case 'int32': case 'uint32': return d as Float32Array;
    case 'float16': {
      if (f16) return d as Uint16Array;
      const h = d as Uint16Array;
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = f16BitsToNumber(h[i]!);
      return out;
    }
    case 'bool': case 'uint8': case 'uint16': return Uint32Array.from(d as Uint8Array);
    case 'int8': case 'int16': return Int32Array.from(d as Int8Array);
    case 'int64': {
      if (!narrow) return d as BigInt64Array;
      const src = d as BigInt64Array;
      const out = new Int32Array(src.length);
      for (let i = 0; i < src.length; i++) {
        const v = src[i]!;
        if (v > 2147483647n || v < -2147483648n) return undefined;
        out[i] = Number(v);
      }
      return out;
    }
    case 'uint64': case 'float64': return d as BigUint64Array;
    default: return undefined;
  }
}

/** A tensor read back; `f16`: float16 is stored as halves (shader-f16), else widened to f32. */
export function fromGpuData(dtype: DType, dims: readonly number[], bytes: ArrayBuffer, f16 = true): HostTensor {
  const n = checkedSize(dims);
  const t = (data: HostTensor['data']) => ({ kind: 'tensor', dtype, dims: [...dims], data }) as HostTensor;
  switch (dtype) {
    case 'float32': return t(new Float32Array(bytes, 0, n).slice());
    case 'int32': return t(new Int32Array(bytes, 0, n).slice());
    case 'uint32': return t(new Uint32Array(bytes, 0, n).slice());
    case 'float16': {
      if (f16) return t(new Uint16Array(bytes, 0, n).slice());
      const f = new Float32Array(bytes, 0, n);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = numberToF16Bits(f[i]!);
      return t(out);
    }
    case 'bool': return t(Uint8Array.from(new Uint32Array(bytes, 0, n)));
    case 'uint8': return t(Uint8Array.from(new Uint32Array(bytes, 0, n)));
    case 'uint16': return t(Uint16Array.from(new Uint32Array(bytes, 0, n)));
    case 'int8': return t(Int8Array.from(new Int32Array(bytes, 0, n)));
    case 'int16': return t(Int16Array.from(new Int32Array(bytes, 0, n)));
    case 'int64': return t(new BigInt64Array(bytes, 0, n).slice());
    case 'uint64': return t(new BigUint64Array(bytes, 0, n).slice());
    case 'float64': return t(new Float64Array(bytes, 0, n).slice());
    default: throw new DeviceError(`cannot read ${dtype} back from the GPU`);
  }
}

function lastUses(graph: Graph): Map<string, number> {
  const last = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const x of n.inputs) if (x) last.set(x, i);
    for (const g of subgraphsOf(n)) for (const r of outerReferences(g)) last.set(r, i);
  });
  return last;
}

/** One run: its values, the command encoder being filled, and what it read back. */
class Run {
  readonly values = new Map<string, Slot>();
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private dispatchesInEncoder = 0;
  private submitAt = FIRST_SUBMIT;
  private uniformChunk: { buffer: GPUBuffer; data: ArrayBuffer; used: number } | undefined;
  private readonly chunksToWrite: { buffer: GPUBuffer; data: ArrayBuffer; used: number }[] = [];
  private readonly uniformBuffers: GPUBuffer[] = [];
  readonly stats: WebgpuRunStats = { dispatches: 0, submits: 0, downloads: 0, downloaded: [], uploads: 0 };
  private readonly device: GPUDevice;
  private readonly align: number;

  constructor(readonly st: DeviceState, readonly lost: Promise<never>) {
    this.device = st.gpu.device;
    this.align = st.gpu.device.limits.minUniformBufferOffsetAlignment ?? 256;
  }

  newBuf(bytes: number, pinned = false): GpuBuf {
    return { buffer: this.st.pool.acquire(Math.max(bytes, 4), STORAGE), bytes, refs: 1, pinned };
  }

  release(b: GpuBuf | undefined): void {
    if (!b || b.pinned) return;
    if (--b.refs === 0) this.st.pool.release(b.buffer);
  }

  upload(t: HostTensor, pinned = false): GpuBuf | undefined {
    const data = toGpuData(t, this.st.gpu.features.f16);
    if (!data) return undefined;
    const buf = this.newBuf(data.byteLength, pinned);
    writePadded(this.device, buf.buffer, data);
    this.stats.uploads++;
    return buf;
  }

  private enc(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'tgraph run' });
    if (!this.pass) this.pass = this.encoder.beginComputePass({ label: 'tgraph' });
    return this.pass;
  }

  private uniformSlot(words: number): { buffer: GPUBuffer; offset: number; view: DataView } {
    const bytes = words * 4;
    let c = this.uniformChunk;
    if (!c || Math.ceil(c.used / this.align) * this.align + bytes > c.data.byteLength) {
      const size = Math.max(UNIFORM_CHUNK, bytes);
      c = { buffer: this.st.pool.acquire(size, UNIFORM, 'tgraph uniforms'), data: new ArrayBuffer(size), used: 0 };
      this.uniformBuffers.push(c.buffer);
      this.chunksToWrite.push(c);
      this.uniformChunk = c;
    }
    const offset = Math.ceil(c.used / this.align) * this.align;
    c.used = offset + bytes;
    return { buffer: c.buffer, offset, view: new DataView(c.data, offset, bytes) };
  }

  dispatch(program: Program, pipeline: { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }, buffers: readonly GpuBuf[]): void {
    const bindGroup = stepBindGroup(this.device, program, pipeline.layout, (words) => this.uniformSlot(words), buffers);
    const pass = this.enc();
    pass.setPipeline(pipeline.pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y, z] = program.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (++this.dispatchesInEncoder >= this.submitAt) {
      this.submitAt = Math.min(this.submitAt * 2, MAX_SUBMIT);
      this.flush();
    }
  }

  /** Submit what is encoded; buffers released so far become reusable. */
  flush(): void {
    if (this.pass) this.pass.end();
    this.pass = undefined;
    for (const c of this.chunksToWrite) this.device.queue.writeBuffer(c.buffer, 0, c.data, 0, Math.ceil(c.used / 4) * 4);
    this.chunksToWrite.length = 0;
    this.uniformChunk = undefined;
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.stats.submits++;
    }
    this.encoder = undefined;
    this.dispatchesInEncoder = 0;
    for (const b of this.uniformBuffers) this.st.pool.release(b);
    this.uniformBuffers.length = 0;
    this.st.pool.afterSubmit();
  }

  /** Read GPU-only values back (one submit, all maps awaited together). */
  async download(names: readonly string[]): Promise<void> {
    const todo = [...new Set(names)].filter((n) => {
      const s = this.values.get(n);
      return s && !s.host && s.gpu;
    });
    if (!todo.length) return;
    // A user's feed buffer without COPY_SRC is first copied by a shader into one of ours.
    const source = new Map<string, GpuBuf>();
    for (const n of todo) {
      const g = this.values.get(n)!.gpu!;
      if (g.buffer.usage & USAGE.COPY_SRC) continue;
      const words = Math.ceil(Math.max(g.bytes, 4) / 4);
      const tmp = this.newBuf(words * 4);
      const p = copyWordsProgram(words);
      const c = this.st.pipelines.get(p, ['read', 'write']);
      this.dispatch(p, c instanceof Promise ? await this.wait(Promise.race([c, this.lost])) : c, [g, tmp]);
      source.set(n, tmp);
    }
    if (this.pass) this.pass.end();
    this.pass = undefined;
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'tgraph readback' });
    const staging = todo.map((n) => {
      const s = this.values.get(n)!;
      const size = Math.ceil(Math.max(s.gpu!.bytes, 4) / 4) * 4;
      const buf = this.st.pool.acquire(size, READBACK, 'tgraph readback');
      this.encoder!.copyBufferToBuffer((source.get(n) ?? s.gpu!).buffer, 0, buf, 0, size);
      return { n, s, buf, size };
    });
    this.flush();
    for (const tmp of source.values()) this.release(tmp);
    await this.wait(Promise.race([Promise.all(staging.map((x) => x.buf.mapAsync(MAP_READ_MODE, 0, x.size))), this.lost]));
    for (const x of staging) {
      const bytes = x.buf.getMappedRange(0, x.size).slice(0);
      x.buf.unmap();
      this.st.pool.release(x.buf);
      x.s.host = fromGpuData(x.s.dtype!, x.s.dims!, bytes, this.st.gpu.features.f16);
      this.stats.downloads++;
      this.stats.downloaded.push(x.n);
    }
    this.st.pool.afterSubmit();
  }

  /** Await GPU work without letting Dawn's polling loop take a core (pacing.ts). */
  wait<T>(p: Promise<T>): Promise<T> {
    return this.st.quietWait ? quietly(p) : p;
  }

  /** Release every GPU buffer still held by values of this run. */
  releaseAll(): void {
    for (const s of this.values.values()) this.release(s.gpu);
    this.values.clear();
  }
}

class WebgpuModel implements WebgpuCompiledModel {
  readonly backend = 'webgpu' as const;
  readonly acceptsDeviceFeeds = true;
  readonly placements = new Map<string, Placement>();
  lastRun: WebgpuRunStats | undefined;
  private state: DeviceState | undefined;
  private readonly last: Map<string, number>;
  private released = false;
  /** Outputs of Constant nodes by node name (their GPU copies are pinned, made on first use). */
  private readonly constants = new Map<string, Slot>();
  /** Values that are graph feeds in the current run. */
  private feedNames = new Set<string>();

  constructor(readonly model: Model, private readonly f16: boolean) {
    this.last = lastUses(model.graph);
    this.predict();
  }

  /** Placements from the static types (graph inputs, initializers, valueInfo); runs replace them. */
  private predict(): void {
    const g = this.model.graph;
    const types = new Map<string, { dtype: DType; dims?: number[] }>();
    const put = (name: string, t: ValueType | undefined) => {
      if (t?.kind === 'tensor') types.set(name, { dtype: t.dtype, dims: t.shape?.every((d) => typeof d === 'number') ? (t.shape as number[]) : undefined });
    };
    for (const [name, t] of g.valueInfo) put(name, t);
    for (const i of g.inputs) put(i.name, i.type);
    for (const [name, t] of g.initializers) types.set(name, { dtype: t.dtype, dims: [...t.dims] });
    for (const node of g.nodes) {
      const kernel = findGpuKernel(opKey(node.domain, node.opType));
      const set = (device: 'gpu' | 'cpu', reason?: string) => this.placements.set(node.name, { node: node.name, op: node.opType, device, ...(reason ? { reason } : {}), when: 'compile' });
      if (!kernel) {
        set('cpu', 'no WebGPU kernel');
        continue;
      }
      const ins = node.inputs.map((n) => (n ? types.get(n) : undefined));
      if (node.inputs.some((n, i) => n && !ins[i]?.dims)) {
        set('gpu', 'predicted; decided at run time (input shapes not static)');
        continue;
      }
      const opset = this.model.opsets[node.domain] ?? 1;
      try {
        const plan = kernel.plan({
          node, opset, attrs: new AttrReader(node), f16: this.f16,
          inputs: ins.map((t) => (t ? { dtype: t.dtype, dims: t.dims! } : undefined)),
          outputsUsed: node.outputs.map((o) => o !== ''),
          host: (i) => {
            const t = g.initializers.get(node.inputs[i] ?? '');
            if (!t && (kernel.hostInputs?.(node, opset) ?? []).includes(i) && node.inputs[i]) throw new Error('decided at run time (shape-like input computed by the graph)');
            return t;
          },
        });
        if (plan.kind === 'unsupported') set('cpu', plan.reason);
        else set('gpu', plan.kind === 'alias' ? 'alias' : undefined);
      } catch (e) {
        set('gpu', `predicted; ${(e as Error).message}`);
      }
    }
  }

  bufferStats(): BufferStats | undefined {
    return this.state?.pool.stats();
  }

  pipelineSources(): ReadonlyMap<string, string> {
    return this.state?.pipelines.sources ?? new Map();
  }

  async run(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue>> {
    return (await this.enqueue(feeds, ctx, false)) as Map<string, RtValue>;
  }

  async runToGpu(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue | GpuOutput>> {
    return this.enqueue(feeds, ctx, true);
  }

  private enqueue(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext, gpuOutputs: boolean): Promise<Map<string, RtValue | GpuOutput>> {
    const job = deviceQueue.then(() => this.runNow(feeds, ctx, gpuOutputs));
    deviceQueue = job.catch(() => undefined);
    return job;
  }

  private async runNow(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext, gpuOutputs: boolean): Promise<Map<string, RtValue | GpuOutput>> {
    if (this.released) throw new DeviceError('the compiled model has been released');
    const gpu = await acquireGpu();
    if (!this.state || this.state.gpu !== gpu) {
      this.state = deviceState(gpu);
      this.constants.clear();
    }
    const st = this.state;
    let onLost!: (e: DeviceLostError) => void;
    const lost = new Promise<never>((_, reject) => {
      onLost = reject;
    });
    lost.catch(() => undefined);
    gpu.onLost.add(onLost);
    const run = new Run(st, lost);
    gpu.device.pushErrorScope('validation');
    let scopeOpen = true;
    try {
      const out = await this.execute(run, feeds, ctx, gpuOutputs);
      run.flush();
      scopeOpen = false;
      const err = await run.wait(Promise.race([gpu.device.popErrorScope(), lost]));
      if (err) throw new DeviceError(`WebGPU validation error: ${err.message}`);
      if (gpu.lost) throw gpu.lost;
      return out;
    } catch (e) {
      if (gpu.lost) throw gpu.lost;
      throw e;
    } finally {
      if (scopeOpen && !gpu.lost) {
        run.flush();
        await gpu.device.popErrorScope().catch(() => null);
      }
      gpu.onLost.delete(onLost);
      if (!gpu.lost) {
        run.releaseAll();
        st.pool.afterSubmit();
      }
      this.lastRun = run.stats;
    }
  }

  private async execute(run: Run, feeds: ReadonlyMap<string, RtValue>, ctx: RunContext, gpuOutputs: boolean): Promise<Map<string, RtValue | GpuOutput>> {
    const g = this.model.graph;
    for (const [name, t] of g.initializers) {
      if (!feeds.has(name)) run.values.set(name, { dtype: t.dtype, dims: t.dims, host: t, gpu: this.state!.initializers.get(name) });
    }
    for (const [name, v] of feeds) run.values.set(name, v.kind === 'tensor' ? { dtype: v.dtype, dims: v.dims, host: v } : { host: v });
    this.feedNames = new Set(feeds.keys());
    for (const [name, f] of ctx.deviceFeeds ?? []) {
      run.values.set(name, { dtype: f.dtype, dims: f.dims, gpu: await this.deviceFeed(run, name, f) });
      this.feedNames.add(name);
    }
    const keep = new Set(ctx.fetches);
    const opts = { opsets: this.model.opsets, signal: ctx.signal };
    for (let index = 0; index < g.nodes.length; index++) {
      const node = g.nodes[index]!;
      if (ctx.signal?.aborted) throw new AbortError();
      const t0 = ctx.onNode ? performance.now() : 0;
      for (const name of node.inputs) {
        if (name && !run.values.has(name)) throw new GraphError(`node '${node.name}' (${node.opType}) reads '${name}', which no node, input or initializer defines`);
      }
      const key = opKey(node.domain, node.opType);
      const cached = this.constants.get(node.name);
      if (cached) {
        // A Constant node: computed once, its GPU copy (made on first use) kept like an initializer's.
        run.values.set(node.outputs[0]!, cached);
        continue;
      }
      const kernel = findGpuKernel(key);
      let reason: string | undefined = kernel ? undefined : 'no WebGPU kernel';
      if (kernel && this.shapeLike(run, node)) reason = 'small integer (shape-like) inputs stay on the CPU';
      else if (kernel) reason = await this.tryGpu(run, node, kernel);
      if (reason !== undefined) {
        if (await this.metaNode(run, node)) reason = 'reads only the dims (no read back)';
        else await this.cpuNode(run, node, opts);
        if (node.opType === 'Constant' && node.domain === '' && node.inputs.length === 0 && node.outputs.length === 1) {
          const slot = run.values.get(node.outputs[0]!);
          if (slot?.dims) this.constants.set(node.name, slot);
        }
        this.place(node, 'cpu', reason);
      }
      for (const name of node.inputs) {
        if (name && this.last.get(name) === index && !keep.has(name)) {
          const s = run.values.get(name);
          if (s && !g.initializers.has(name)) {
            run.release(s.gpu);
            run.values.delete(name);
          }
        }
      }
      if (ctx.onNode) ctx.onNode(node, performance.now() - t0);
    }
    const missing = ctx.fetches.filter((f) => !run.values.has(f));
    if (missing.length) throw new GraphError(`graph '${g.name}' output '${missing[0]}' was not produced`);
    const out = new Map<string, RtValue | GpuOutput>();
    if (gpuOutputs) {
      for (const f of ctx.fetches) {
        const s = run.values.get(f)!;
        if (s.host || !s.gpu || s.gpu.pinned) continue;
        s.gpu.refs++;
        out.set(f, this.gpuOutput(s.gpu, s.dtype!, s.dims!));
      }
    }
    await run.download(ctx.fetches.filter((f) => !out.has(f)));
    for (const f of ctx.fetches) if (!out.has(f)) out.set(f, run.values.get(f)!.host!);
    return out;
  }

  /**
   * A feed already on the GPU, bound without a copy: an output of an earlier run on this device (our
   * storage layout), or a user's buffer holding the host layout (little-endian elements as in the
   * typed array), converted on the GPU only where the storage differs (1- and 2-byte types, float16
   * without shader-f16). A buffer too small, without STORAGE usage, or of another device is an InputError.
   */
  private async deviceFeed(run: Run, name: string, f: DeviceFeed): Promise<GpuBuf> {
    const st = this.state!;
    const device = st.gpu.device;
    const f16 = st.gpu.features.f16;
    const buf = f.buffer as GPUBuffer;
    if (!buf || typeof buf.size !== 'number' || typeof buf.usage !== 'number') throw new InputError(`feed '${name}' is a GPU tensor whose buffer is not a GPUBuffer`, name);
    const owner = ownOutputs.get(buf);
    if (owner && owner !== device) throw new InputError(`feed '${name}': its GPU buffer is an output of a run on another device (lost or replaced since)`, name);
    if (!storageType(f.dtype, f16, true)) throw new InputError(`feed '${name}': ${f.dtype} tensors cannot be bound on the GPU`, name);
    const n = checkedSize(f.dims);
    const unpack = owner ? undefined : unpackKind(f.dtype, f16);
    const bytes = unpack ? n * unpack.bytes : gpuBytes(f.dtype, n, f16);
    const limit = bufferLimit(device);
    if (gpuBytes(f.dtype, n, f16) > limit.bytes) throw new InputError(`feed '${name}' needs ${gpuBytes(f.dtype, n, f16)} bytes on the GPU, over the device's ${limit.name} (${limit.bytes})`, name);
    if (buf.size < bytes) throw new InputError(`feed '${name}': its GPU buffer has ${buf.size} bytes; ${f.dtype} [${f.dims.join(',')}] needs ${bytes}`, name);
    if (!(buf.usage & USAGE.STORAGE)) throw new InputError(`feed '${name}': its GPU buffer was not created with STORAGE usage`, name);
    if (!owner) {
      let layout = probeLayouts.get(device);
      if (!layout) probeLayouts.set(device, (layout = device.createBindGroupLayout({ entries: [{ binding: 0, visibility: 0x4, buffer: { type: 'read-only-storage' } }] })));
      device.pushErrorScope('validation');
      device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: buf } }] });
      const err = await run.wait(Promise.race([device.popErrorScope(), run.lost]));
      if (err) throw new InputError(`feed '${name}': its GPU buffer cannot be used on this device (is it another device's?): ${err.message}`, name);
    }
    const fed: GpuBuf = { buffer: buf, bytes, refs: 1, pinned: true };
    if (!unpack || n === 0) return fed;
    const out = run.newBuf(gpuBytes(f.dtype, n, f16));
    const p = unpackProgram(unpack.kind, n);
    const c = st.pipelines.get(p, ['read', 'write']);
    run.dispatch(p, c instanceof Promise ? await run.wait(Promise.race([c, run.lost])) : c, [fed, out]);
    return out;
  }

  /** An output left on the GPU; its buffer returns to the pool on dispose(). */
  private gpuOutput(b: GpuBuf, dtype: DType, dims: readonly number[]): GpuOutput {
    const st = this.state!;
    ownOutputs.set(b.buffer, st.gpu.device);
    let disposed = false;
    return {
      kind: 'gpu-buffer',
      buffer: b.buffer,
      dtype,
      dims,
      download: () => {
        if (disposed) return Promise.reject(new DeviceError('this GPU output has been disposed'));
        const job = deviceQueue.then(async () => {
          if (st.gpu.lost) throw st.gpu.lost;
          const run = new Run(st, new Promise<never>(() => {}));
          run.values.set('out', { dtype, dims, gpu: b });
          await run.download(['out']);
          return run.values.get('out')!.host as HostTensor;
        });
        deviceQueue = job.catch(() => undefined);
        return job;
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        if (!st.gpu.lost && --b.refs === 0) st.pool.release(b.buffer);
      },
    };
  }

  /**
   * Shape arithmetic stays on the CPU: a node whose tensor inputs are all CPU-resident, small
   * (<= 64 elements) and integer, none of them a feed, is not worth an upload and a read back.
   */
  private shapeLike(run: Run, node: Node): boolean {
    if (!findCpuKernel(opKey(node.domain, node.opType))) return false;
    let any = false;
    for (const name of node.inputs) {
      if (!name) continue;
      const s = run.values.get(name);
      if (!s || s.gpu || !s.host || s.host.kind !== 'tensor' || this.feedNames.has(name)) return false;
      if (s.host.data.length > 64 || !/int|bool/.test(s.host.dtype)) return false;
      any = true;
    }
    return any;
  }

  /** Shape and Size need only dims: no read back. */
  private async metaNode(run: Run, node: Node): Promise<boolean> {
    if (node.domain !== '' || (node.opType !== 'Shape' && node.opType !== 'Size')) return false;
    const s = run.values.get(node.inputs[0]!);
    if (!s?.dims || s.host) return false;
    const attrs = new AttrReader(node);
    let out: HostTensor;
    if (node.opType === 'Size') {
      out = { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(s.dims.reduce((a, b) => a * b, 1))) };
    } else {
      const r = s.dims.length;
      const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
      const start = clamp(attrs.int('start', 0));
      const end = clamp(attrs.int('end', r));
      const dims = s.dims.slice(start, Math.max(start, end));
      out = { kind: 'tensor', dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims.map(BigInt)) };
    }
    run.values.set(node.outputs[0]!, { dtype: 'int64', dims: out.dims, host: out });
    return true;
  }

  private async cpuNode(run: Run, node: Node, opts: { opsets: Record<string, number>; signal?: { readonly aborted: boolean } }): Promise<void> {
    const refs = new Set<string>();
    for (const sg of subgraphsOf(node)) for (const r of outerReferences(sg)) if (run.values.has(r)) refs.add(r);
    await run.download([...node.inputs.filter(Boolean), ...refs]);
    const inputs = node.inputs.map((name) => (name ? run.values.get(name)!.host : undefined));
    const scopeValues = new Map<string, RtValue>();
    for (const r of refs) scopeValues.set(r, run.values.get(r)!.host!);
    const scope: Scope = { values: scopeValues };
    const outs = runNode(node, inputs, scope, opts);
    node.outputs.forEach((name, i) => {
      const v = outs[i];
      if (!name || v === undefined) return;
      run.values.set(name, v.kind === 'tensor' ? { dtype: v.dtype, dims: v.dims, host: v } : { host: v });
    });
  }

  /** Run `node` on the GPU; returns why not (the node then runs on the CPU). */
  private async tryGpu(run: Run, node: Node, kernel: GpuKernel): Promise<string | undefined> {
    const st = this.state!;
    const opset = this.model.opsets[node.domain] ?? 1;
    const roles = inputRoles(kernel, node, opset);
    const slots = node.inputs.map((n) => (n ? run.values.get(n) : undefined));
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (s && !s.dims) return `input ${i} is a ${s.host?.kind ?? 'value'}, not a tensor`;
    }
    const needHost = node.inputs.filter((n, i) => n && roles.host.has(i));
    if (needHost.length) await run.download(needHost);
    const f16 = st.gpu.features.f16;
    const types = slots.map((s) => (s ? { dtype: s.dtype!, dims: s.dims! } : undefined));
    const plan = planNode(kernel, node, opset, types, (i) => {
      const h = slots[i]?.host;
      return h && h.kind === 'tensor' ? h : undefined;
    }, f16);
    if (typeof plan === 'string') return plan;
    if (plan.kind === 'alias') {
      const s = slots[plan.input]!;
      const host = s.host && s.host.kind === 'tensor' ? { ...s.host, dims: [...plan.dims] } : undefined;
      if (s.gpu && !s.gpu.pinned) s.gpu.refs++;
      run.values.set(node.outputs[0]!, { dtype: s.dtype, dims: plan.dims, host, gpu: s.gpu });
      this.place(node, 'gpu', 'alias');
      return undefined;
    }
    // Device inputs: those the programs bind (dtype rules, narrowing and normalizing: node-plan.ts).
    const bound = boundInputs(plan);
    const refused = storageRefusal(kernel, plan, bound, roles, (i) => slots[i]!.dtype!, f16);
    if (refused) return refused;
    // Every tensor must fit one binding: else the node runs on the CPU, naming the tensor and the limit.
    const limit = bufferLimit(st.gpu.device);
    const tooBig = (what: string, bytes: number) => `${what} needs ${bytes} bytes, over the device's ${limit.name} (${limit.bytes})`;
    for (const i of bound) {
      const s = slots[i]!;
      const b = s.gpu ? s.gpu.bytes : gpuBytes(s.dtype!, checkedSize(s.dims!), f16);
      if (b > limit.bytes) return tooBig(`input ${i} ('${node.inputs[i]}')`, b);
    }
    for (const [k, o] of plan.outputs.entries()) {
      const b = gpuBytes(o.dtype, checkedSize(o.dims), f16);
      if (b > limit.bytes) return tooBig(`output ${k} ('${node.outputs[k] ?? ''}')`, b);
    }
    for (const words of plan.temps ?? []) if (words * 4 > limit.bytes) return tooBig('a temporary', words * 4);
    for (const i of bound) {
      const s = slots[i]!;
      if (s.gpu) continue;
      const name = node.inputs[i]!;
      const isConst = [...this.constants.values()].includes(s);
      const isInit = isConst || (this.model.graph.initializers.has(name) && s.host === this.model.graph.initializers.get(name));
      const b = run.upload(s.host as HostTensor, isInit);
      if (!b) return `input ${i} (${s.dtype}) cannot be stored on the GPU`;
      s.gpu = b;
      if (isInit && !isConst) st.initializers.set(name, b);
    }
    const outBufs = plan.outputs.map((o) => run.newBuf(gpuBytes(o.dtype, o.dims.reduce((a, b) => a * b, 1), f16)));
    const temps = (plan.temps ?? []).map((words) => run.newBuf(words * 4));
    const scratch: GpuBuf[] = [];
    const steps = nodeSteps<GpuBuf>(node, kernel, plan, bound, roles, types, f16, {
      input: (i) => slots[i]!.gpu!,
      outputs: outBufs,
      temps,
      scratch: (bytes) => {
        const b = run.newBuf(bytes);
        scratch.push(b);
        return b;
      },
    });
    // Pipelines first (awaited only when not yet built), then encode.
    const pipes: CachedPipeline[] = [];
    for (const { program: p } of steps) {
      const kinds: BindingKind[] = p.bindings.map((b) => ('input' in b ? 'read' : 'write'));
      const c = st.pipelines.get(p, kinds);
      pipes.push(c instanceof Promise ? await run.wait(Promise.race([c, run.lost])) : c);
    }
    steps.forEach((step, k) => run.dispatch(step.program, pipes[k]!, step.buffers));
    for (const t of temps) run.release(t);
    for (const t of scratch) run.release(t);
    plan.outputs.forEach((o, k) => {
      const name = node.outputs[k];
      if (name) run.values.set(name, { dtype: o.dtype, dims: o.dims, gpu: outBufs[k] });
      else run.release(outBufs[k]);
    });
    this.place(node, 'gpu');
    return undefined;
  }

  private place(node: Node, device: 'gpu' | 'cpu', reason?: string): void {
    const prev = this.placements.get(node.name);
    if (prev && prev.when === 'run' && prev.device === device && prev.reason === reason) return;
    this.placements.set(node.name, { node: node.name, op: node.opType, device, ...(reason ? { reason } : {}), when: 'run' });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const st = this.state;
    if (st && !st.gpu.lost) {
      for (const b of st.initializers.values()) st.pool.release(b.buffer);
      st.initializers.clear();
      for (const c of this.constants.values()) if (c.gpu) st.pool.release(c.gpu.buffer);
      this.constants.clear();
    }
  }
}

export const webgpuBackend: Omit<Backend, 'compile'> & { compile(model: Model): Promise<WebgpuCompiledModel> } = {
  name: 'webgpu',
  hasKernel: (key) => findGpuKernel(key) !== undefined || findCpuKernel(key) !== undefined,
  capabilities: WEBGPU_CAPABILITIES,
  async compile(model: Model): Promise<WebgpuCompiledModel> {
    const gpu = await acquireGpu();
    return new WebgpuModel(model, gpu.features.f16);
  },
};

/** Acquire the device (throws DeviceError when there is none) and give the backend. */
export async function loadWebgpuBackend(): Promise<Backend> {
  await acquireGpu();
  return webgpuBackend;
}
