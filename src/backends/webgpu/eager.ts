/// <reference types="@webgpu/types" />
// Eager WebGPU execution for the tensor API (src/tracer). Ops are synchronous calls that return
// tensors at once, so a node is planned now (kernels/webgpu plans need only dtypes, dims and small
// host inputs), its output buffers are allocated now, and its dispatches are encoded now when the
// pipelines are built, else queued in order behind the builds. Nothing is awaited per op: command
// buffers are submitted at the end of the current task (a microtask) or every SUBMIT_EVERY
// dispatches, and only a read (`read()`, behind `await t.data()`) waits for the GPU.
// Ops without a usable kernel run on the CPU kernels: at once when their inputs are on the host,
// else queued behind a read back (the reason is counted in `stats.fallbacks`).
// Buffers come from a pool of their own (not the compiled models'): a buffer released here becomes
// reusable only after this runner's next submit, which no other user of the device can trigger.
import { AttrReader } from '../../../graph/attrs.js';
import type { DType } from '../../../graph/dtype.js';
import { DeviceError } from '../../../graph/errors.js';
import type { Node, ValueType } from '../../../graph/ir.js';
import { opKey } from '../../../graph/ops/index.js';
import { checkedSize, type HostTensor, type RtValue } from '../../../graph/tensor.js';
import { runNode } from '../../../kernels/cpu/interpreter.js';
import { findGpuKernel } from '../../../kernels/webgpu/index.js';
import type { GpuKernel, Program } from '../../../kernels/webgpu/types.js';
import { elemBytes } from '../../../kernels/webgpu/wgsl.js';
import { fromGpuData, markStorageLayout, sharedPipelineCache, toGpuData } from './backend.js';
import { BufferPool, type BufferStats, writePadded } from './buffers.js';
import { acquireGpu, type GpuContext } from './device.js';
import { boundInputs, inputRoles, nodeSteps, planNode, stepBindGroup, storageRefusal } from './node-plan.js';
import { quietly, quietWaitWanted } from './pacing.js';
import type { BindingKind, CachedPipeline, PipelineCache } from './pipelines.js';

// GPUBufferUsage / GPUMapMode values (not globals in Node).
const STORAGE = 0x80 | 0x4 | 0x8;
const UNIFORM = 0x40 | 0x8;
const READBACK = 0x1 | 0x8;
const MAP_READ_MODE = 0x1;
const SUBMIT_EVERY = 64;
const UNIFORM_CHUNK = 16 * 1024;

/** A device buffer shared by a value and its aliases (Reshape, Squeeze ... share, not copy). */
export interface DeviceBuf {
  readonly buffer: GPUBuffer;
  /** Bytes of data (the buffer may be larger). */
  readonly bytes: number;
  refs: number;
  /** Gives the buffer back to its owner (this runner's pool, or a compiled model's output). */
  readonly free: () => void;
}

/**
 * An eager value on the GPU: its buffer once written, its host copy once read back (or computed on
 * the CPU). A value with neither is being computed by a queued CPU fallback.
 */
export interface DeviceValue {
  readonly dtype: DType;
  readonly dims: readonly number[];
  buf?: DeviceBuf;
  host?: HostTensor;
  /** The error of the queued work that was to compute it. */
  failed?: Error;
  /** Its tensor was disposed: queued jobs may still read it, nothing is cached on it any more. */
  released?: boolean;
}

export interface EagerGpuStats {
  dispatches: number;
  submits: number;
  uploads: number;
  /** Values read back from the GPU (each `await t.data()` of a GPU-only value, each CPU fallback input). */
  downloads: number;
  /** Ops that aliased their input (no copy). */
  aliases: number;
  /** Ops that ran on the CPU kernels, and why (op -> latest reason). */
  cpuOps: number;
  readonly fallbacks: Map<string, string>;
  /** Ops queued behind a pipeline build or a read back. */
  queued: number;
}

/** A value whose buffer is bound when the job is encoded (it may still be computed by a queued CPU op), or a buffer. */
type Binding = { value: DeviceValue } | DeviceBuf;

interface GpuJob {
  readonly kind: 'gpu';
  /** The kernel's programs, with narrowing passes (int64 indices) before and normalizing passes (widened dtypes) after. */
  readonly programs: readonly Program[];
  readonly pipes: (CachedPipeline | Promise<CachedPipeline>)[];
  /** Per program, its bindings after the uniforms. */
  readonly bindings: Binding[][];
  /** Buffers this job keeps alive until it is encoded (inputs, outputs, temporaries). */
  readonly held: DeviceBuf[];
  readonly outputs: DeviceValue[];
}

interface CpuJob {
  readonly kind: 'cpu';
  readonly node: Node;
  readonly opsets: Readonly<Record<string, number>>;
  readonly inputs: readonly (DeviceValue | undefined)[];
  readonly held: DeviceBuf[];
  readonly outputs: DeviceValue[];
}

type Job = GpuJob | CpuJob;

export class EagerGpu {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly stats: EagerGpuStats = { dispatches: 0, submits: 0, uploads: 0, downloads: 0, aliases: 0, cpuOps: 0, fallbacks: new Map(), queued: 0 };
  /** Buffers of eager values alive (this pool's and adopted ones) and their data bytes. */
  readonly live = { buffers: 0, bytes: 0 };
  private readonly queue: Job[] = [];
  private draining: Promise<void> | undefined;
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private inEncoder = 0;
  private uniformChunk: { buffer: GPUBuffer; data: ArrayBuffer; used: number } | undefined;
  private readonly chunks: { buffer: GPUBuffer; data: ArrayBuffer; used: number }[] = [];
  private flushScheduled = false;
  /** Frees of adopted buffers wait for the submit that used them. */
  private afterSubmitFrees: (() => void)[] = [];
  private readonly scopes: Promise<GPUError | null>[] = [];
  private readonly quiet: boolean;
  private readonly align: number;

  constructor(readonly gpu: GpuContext) {
    this.device = gpu.device;
    this.pool = new BufferPool(gpu.device);
    this.pipelines = sharedPipelineCache(gpu.device);
    this.quiet = quietWaitWanted(gpu.report.source);
    this.align = gpu.device.limits.minUniformBufferOffsetAlignment ?? 256;
  }

  get lost(): boolean {
    return this.gpu.lost !== undefined;
  }

  poolStats(): BufferStats {
    return this.pool.stats();
  }

  // ---- buffers ----

  private newBuf(bytes: number): DeviceBuf {
    const buffer = this.pool.acquire(Math.max(bytes, 4), STORAGE, 'tgraph eager');
    this.live.buffers++;
    this.live.bytes += bytes;
    let freed = false;
    return {
      buffer,
      bytes,
      refs: 1,
      free: () => {
        if (freed) return;
        freed = true;
        this.live.buffers--;
        this.live.bytes -= bytes;
        if (!this.lost) this.pool.release(buffer);
      },
    };
  }

  private unref(b: DeviceBuf): void {
    if (--b.refs === 0) b.free();
  }

  /** A value over a buffer another owner made on this device (a tg.fn output); `dispose` gives it back. */
  adopt(buffer: GPUBuffer, dtype: DType, dims: readonly number[], dispose: () => void): DeviceValue {
    const bytes = checkedSize(dims) * (elemBytes(dtype, this.gpu.features.f16) ?? 4);
    this.live.buffers++;
    this.live.bytes += bytes;
    let freed = false;
    const free = () => {
      if (freed) return;
      freed = true;
      this.live.buffers--;
      this.live.bytes -= bytes;
      // Its owner may reuse it after its own next submit: ours, which may read it, goes first.
      if (this.encoder || this.queue.length) this.afterSubmitFrees.push(dispose);
      else dispose();
    };
    return { dtype, dims, buf: { buffer, bytes, refs: 1, free } };
  }

  /**
   * The buffer of `v` to feed to a compiled model on this device (a tg.fn plan), without a read back:
   * queued work is submitted first (the model's submit comes after ours on the device queue), and the
   * buffer is held until `release()`. Undefined when `v` has no buffer (a host value: feed that).
   */
  async lend(v: DeviceValue): Promise<{ buffer: GPUBuffer; release: () => void } | undefined> {
    if (!v.host || v.buf) await this.settle();
    if (v.failed) throw v.failed;
    const b = v.buf;
    if (!b) return undefined;
    if (this.gpu.lost) throw this.gpu.lost;
    b.refs++;
    markStorageLayout(b.buffer, this.device);
    let held = true;
    return {
      buffer: b.buffer,
      release: () => {
        if (!held) return;
        held = false;
        this.unref(b);
      },
    };
  }

  /** Drop a value's hold on its buffer (the tensor was disposed); queued jobs that read it hold their own. */
  release(v: DeviceValue): void {
    if (v.released) return;
    v.released = true;
    if (v.buf) this.unref(v.buf);
  }

  private upload(host: HostTensor): DeviceBuf | undefined {
    const data = toGpuData(host, this.gpu.features.f16);
    if (!data) return undefined;
    const b = this.newBuf(data.byteLength);
    writePadded(this.device, b.buffer, data);
    this.stats.uploads++;
    return b;
  }

  /** The buffer to bind for `v`: its own, or an upload of its host data (kept on the value, so a weight is uploaded once). */
  private bind(v: DeviceValue, held: DeviceBuf[]): DeviceBuf {
    if (v.failed) throw v.failed;
    if (v.buf) {
      v.buf.refs++;
      held.push(v.buf);
      return v.buf;
    }
    if (!v.host) throw new DeviceError('an input of a queued op has no data (it was disposed, or its producer failed)');
    const b = this.upload(v.host);
    if (!b) throw new DeviceError(`a ${v.dtype} input cannot be stored on the GPU`);
    if (!v.released) {
      v.buf = b;
      b.refs++;
    }
    held.push(b);
    return b;
  }

  // ---- ops ----

  /**
   * Run one node. Outputs are DeviceValues (GPU work, encoded or queued) or, for a CPU fallback
   * whose inputs are all on the host, host tensors computed now. `inferred` are the registry's
   * output types (the dims of outputs computed later by a queued CPU fallback).
   */
  run(node: Node, opsets: Readonly<Record<string, number>>, inputs: readonly (DeviceValue | undefined)[], inferred: readonly (ValueType | undefined)[]): (DeviceValue | RtValue)[] {
    if (this.gpu.lost) throw this.gpu.lost;
    for (const v of inputs) if (v?.failed) throw v.failed;
    const meta = this.metaNode(node, inputs);
    if (meta) return [meta];
    const kernel = findGpuKernel(opKey(node.domain, node.opType));
    let reason = 'no WebGPU kernel';
    if (kernel) {
      const r = this.tryGpu(node, opsets[node.domain] ?? 1, kernel, inputs);
      if (typeof r !== 'string') return r;
      reason = r;
    }
    return this.onCpu(node, opsets, inputs, inferred, reason);
  }

  /** Shape and Size read only dims: never a read back. */
  private metaNode(node: Node, inputs: readonly (DeviceValue | undefined)[]): HostTensor | undefined {
    if (node.domain !== '' || (node.opType !== 'Shape' && node.opType !== 'Size')) return undefined;
    const v = inputs[0];
    if (!v || v.host) return undefined;
    if (node.opType === 'Size') return { kind: 'tensor', dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(checkedSize(v.dims))) };
    const attrs = new AttrReader(node);
    const r = v.dims.length;
    const clamp = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
    const start = clamp(attrs.int('start', 0));
    const end = clamp(attrs.int('end', r));
    const dims = v.dims.slice(start, Math.max(start, end));
    return { kind: 'tensor', dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims.map(BigInt)) };
  }

  private tryGpu(node: Node, opset: number, kernel: GpuKernel, inputs: readonly (DeviceValue | undefined)[]): DeviceValue[] | string {
    const f16 = this.gpu.features.f16;
    const roles = inputRoles(kernel, node, opset);
    for (const i of roles.host) if (inputs[i] && !inputs[i]!.host) return `input ${i} (read on the CPU by the kernel) is only on the GPU`;
    const types = inputs.map((v) => (v ? { dtype: v.dtype, dims: v.dims } : undefined));
    const plan = planNode(kernel, node, opset, types, (i) => inputs[i]?.host, f16);
    if (typeof plan === 'string') return plan;
    if (plan.kind === 'alias') {
      const src = inputs[plan.input]!;
      if (!src.buf && !src.host) return 'aliases a value still being computed';
      const out: DeviceValue = { dtype: src.dtype, dims: [...plan.dims] };
      if (src.host) out.host = { ...src.host, dims: [...plan.dims] };
      if (src.buf) {
        src.buf.refs++;
        out.buf = src.buf;
      }
      this.stats.aliases++;
      return [out];
    }
    // As the compiled-model backend (backend.ts tryGpu): the shared steps of node-plan.ts.
    const bound = boundInputs(plan);
    const refused = storageRefusal(kernel, plan, bound, roles, (i) => inputs[i]!.dtype, f16, (i) => {
      const v = inputs[i]!;
      return v.host && !v.buf && !toGpuData(v.host, f16) ? `input ${i} (${v.dtype}) cannot be stored on the GPU` : undefined;
    });
    if (refused) return refused;
    const held: DeviceBuf[] = [];
    const outputs = plan.outputs.map((o): DeviceValue => {
      const b = this.newBuf(checkedSize(o.dims) * (elemBytes(o.dtype, f16) ?? 4));
      b.refs++;
      held.push(b);
      return { dtype: o.dtype, dims: [...o.dims], buf: b };
    });
    const scratch = (bytes: number): DeviceBuf => {
      const b = this.newBuf(bytes);
      held.push(b);
      return b;
    };
    const temps = (plan.temps ?? []).map((words) => scratch(words * 4));
    const steps = nodeSteps<Binding>(node, kernel, plan, bound, roles, types, f16, { input: (i) => ({ value: inputs[i]! }), outputs: outputs.map((o) => o.buf!), temps, scratch });
    const programs = steps.map((s) => s.program);
    const bindings = steps.map((s) => s.buffers);
    const pipes = programs.map((p) => this.pipelines.get(p, p.bindings.map((b): BindingKind => ('input' in b ? 'read' : 'write'))));
    // Inputs are bound now (their buffers held by the job) so that a dispose() before the job runs is
    // safe; an input still being computed by a queued CPU fallback is bound when the job runs.
    const resolved = bindings.map((list) => list.map((b) => ('value' in b && (b.value.buf || b.value.host) ? this.bind(b.value, held) : b)));
    const job: GpuJob = { kind: 'gpu', programs, pipes, bindings: resolved, held, outputs };
    if (!this.queue.length && pipes.every((p) => !(p instanceof Promise)) && resolved.every((l) => l.every((b) => !('value' in b)))) this.encode(job, pipes as CachedPipeline[]);
    else this.enqueue(job);
    return outputs;
  }

  private onCpu(node: Node, opsets: Readonly<Record<string, number>>, inputs: readonly (DeviceValue | undefined)[], inferred: readonly (ValueType | undefined)[], reason: string): (DeviceValue | RtValue)[] {
    this.stats.cpuOps++;
    this.stats.fallbacks.set(node.opType, reason);
    if (inputs.every((v) => !v || v.host)) {
      return runNode(node, inputs.map((v) => v?.host), { values: new Map() }, { opsets });
    }
    // Some input is only on the GPU: read back, queued in order. The outputs' dims come from the shape rule.
    const outputs = node.outputs.map((_, i): DeviceValue => {
      const t = inferred[i];
      if (!t || t.kind !== 'tensor' || !t.shape || !t.shape.every((d) => typeof d === 'number')) {
        throw new DeviceError(`${node.opType} runs on the CPU here (${reason}) and its output shape depends on the values of an input that is on the GPU: read that input first (await t.data())`);
      }
      return { dtype: t.dtype, dims: t.shape as number[] };
    });
    const held: DeviceBuf[] = [];
    for (const v of inputs) if (v?.buf) {
      v.buf.refs++;
      held.push(v.buf);
    }
    this.enqueue({ kind: 'cpu', node, opsets, inputs, held, outputs });
    return outputs;
  }

  // ---- queue, encoding, submits ----

  private enqueue(job: Job): void {
    this.stats.queued++;
    this.queue.push(job);
    this.draining ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length) {
        const job = this.queue[0]!;
        try {
          if (job.kind === 'gpu') {
            const pipes: CachedPipeline[] = [];
            for (const p of job.pipes) pipes.push(p instanceof Promise ? await this.wait(p) : p);
            const bindings = job.bindings.map((list) => list.map((b) => ('value' in b ? this.bind(b.value, job.held) : b)));
            this.encode({ ...job, bindings }, pipes);
          } else {
            await this.runCpuJob(job);
          }
        } catch (e) {
          const err = e instanceof Error ? e : new Error(String(e));
          for (const o of job.outputs) o.failed = err;
          for (const b of job.held) this.unref(b);
        }
        this.queue.shift();
      }
    } finally {
      this.draining = undefined;
      this.flush();
    }
  }

  private async runCpuJob(job: CpuJob): Promise<void> {
    const hosts = await Promise.all(job.inputs.map((v) => (v ? this.read(v, true) : undefined)));
    const outs = runNode(job.node, hosts, { values: new Map() }, { opsets: job.opsets });
    job.outputs.forEach((o, i) => {
      const v = outs[i];
      if (!v || v.kind !== 'tensor') throw new DeviceError(`${job.node.opType} output ${i} is not a tensor`);
      if (v.dtype !== o.dtype || v.dims.join() !== o.dims.join()) throw new DeviceError(`${job.node.opType}: the CPU kernel gave ${v.dtype}[${v.dims}] where the shape rule said ${o.dtype}[${o.dims}]`);
      o.host = v;
    });
    for (const b of job.held) this.unref(b);
  }

  private encode(job: GpuJob, pipes: readonly CachedPipeline[]): void {
    this.device.pushErrorScope('validation');
    try {
      job.programs.forEach((p, k) => this.dispatch(p, pipes[k]!, job.bindings[k] as DeviceBuf[]));
    } finally {
      this.scopes.push(this.device.popErrorScope());
    }
    for (const b of job.held) this.unref(b);
    if (this.inEncoder >= SUBMIT_EVERY) this.flush();
    else this.scheduleFlush();
  }

  private uniformSlot(words: number): { buffer: GPUBuffer; offset: number; view: DataView } {
    const bytes = words * 4;
    let c = this.uniformChunk;
    if (!c || Math.ceil(c.used / this.align) * this.align + bytes > c.data.byteLength) {
      const size = Math.max(UNIFORM_CHUNK, bytes);
      c = { buffer: this.pool.acquire(size, UNIFORM, 'tgraph eager uniforms'), data: new ArrayBuffer(size), used: 0 };
      this.chunks.push(c);
      this.uniformChunk = c;
    }
    const offset = Math.ceil(c.used / this.align) * this.align;
    c.used = offset + bytes;
    return { buffer: c.buffer, offset, view: new DataView(c.data, offset, bytes) };
  }

  private dispatch(program: Program, pipeline: CachedPipeline, buffers: readonly DeviceBuf[]): void {
    const bindGroup = stepBindGroup(this.device, program, pipeline.layout, (words) => this.uniformSlot(words), buffers);
    this.encoder ??= this.device.createCommandEncoder({ label: 'tgraph eager' });
    this.pass ??= this.encoder.beginComputePass({ label: 'tgraph eager' });
    this.pass.setPipeline(pipeline.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    const [x, y, z] = program.workgroups;
    this.pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    this.inEncoder++;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Submit what is encoded; buffers released so far become reusable after it. */
  flush(): void {
    if (this.lost) return;
    if (this.pass) this.pass.end();
    this.pass = undefined;
    for (const c of this.chunks) this.device.queue.writeBuffer(c.buffer, 0, c.data, 0, Math.ceil(c.used / 4) * 4);
    const uniforms = this.chunks.map((c) => c.buffer);
    this.chunks.length = 0;
    this.uniformChunk = undefined;
    if (this.encoder) {
      this.device.pushErrorScope('validation');
      this.device.queue.submit([this.encoder.finish()]);
      this.scopes.push(this.device.popErrorScope());
      this.stats.submits++;
    }
    this.encoder = undefined;
    this.inEncoder = 0;
    for (const b of uniforms) this.pool.release(b);
    this.pool.afterSubmit();
    if (!this.queue.length) {
      const frees = this.afterSubmitFrees;
      this.afterSubmitFrees = [];
      for (const f of frees) f();
    }
  }

  /** Until every queued op has been encoded and submitted. */
  async settle(): Promise<void> {
    while (this.draining) await this.draining;
    this.flush();
  }

  /** The host data of `v`, read back once (kept on the value). `inQueue`: called by a queued job, which must not wait for the queue. */
  async read(v: DeviceValue, inQueue = false): Promise<HostTensor> {
    if (v.host) return v.host;
    if (!inQueue) await this.settle();
    if (v.failed) throw v.failed;
    if (v.host) return v.host;
    const b = v.buf;
    if (!b) throw new DeviceError('this GPU tensor has no data (it was disposed)');
    if (this.gpu.lost) throw this.gpu.lost;
    b.refs++;
    try {
      this.flush();
      const size = Math.ceil(Math.max(b.bytes, 4) / 4) * 4;
      const staging = this.pool.acquire(size, READBACK, 'tgraph eager readback');
      const enc = this.device.createCommandEncoder({ label: 'tgraph eager readback' });
      enc.copyBufferToBuffer(b.buffer, 0, staging, 0, size);
      this.device.queue.submit([enc.finish()]);
      this.stats.submits++;
      await this.wait(staging.mapAsync(MAP_READ_MODE, 0, size));
      const bytes = staging.getMappedRange(0, size).slice(0);
      staging.unmap();
      this.pool.release(staging);
      this.pool.afterSubmit();
      this.stats.downloads++;
      await this.checkErrors();
      v.host = fromGpuData(v.dtype, v.dims, bytes, this.gpu.features.f16);
      return v.host;
    } finally {
      this.unref(b);
    }
  }

  /** Validation errors of submitted work, as a DeviceError. */
  private async checkErrors(): Promise<void> {
    if (!this.scopes.length) return;
    const errs = await this.wait(Promise.all(this.scopes.splice(0)));
    const first = errs.find((e) => e);
    if (first) throw new DeviceError(`WebGPU validation error in eager ops: ${first.message}`);
  }

  private wait<T>(p: Promise<T>): Promise<T> {
    if (this.gpu.lost) return Promise.reject(this.gpu.lost);
    let onLost!: (e: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      onLost = reject;
    });
    lost.catch(() => undefined);
    this.gpu.onLost.add(onLost);
    const raced = Promise.race([p, lost]).finally(() => this.gpu.onLost.delete(onLost));
    return this.quiet ? quietly(raced) : raced;
  }
}

const runners = new WeakMap<GpuContext, EagerGpu>();

/** The eager runner of the shared device (acquired now if needed; a lost device gives a new one). */
export async function eagerGpuRunner(): Promise<EagerGpu> {
  const gpu = await acquireGpu();
  let r = runners.get(gpu);
  if (!r) runners.set(gpu, (r = new EagerGpu(gpu)));
  return r;
}
