// A concrete function: one traced graph for one input signature, its optimized form, its plan.
import { type Attr, formatType, type Graph, type Model, type ValueInfo } from '../../graph/ir.js';
import { exportModel } from '../../graph/onnx/export.js';
import { formatReport, type OptimizeReport } from '../../graph/passes/index.js';
import type { RtValue } from '../../graph/tensor.js';
import type { EagerGpu } from '../backends/webgpu/eager.js';
import { InferenceSession } from '../session.js';
import { Tensor, type TensorType } from '../tensor.js';
import { type Device, gpuRunner } from './device.js';
import { TgTensor } from './tensor.js';

export type { Device } from './device.js';

/** Where the outputs go in the returned value. */
export type OutputTemplate = { kind: 'tensor'; index: number } | { kind: 'array'; items: OutputTemplate[] } | { kind: 'object'; entries: [string, OutputTemplate][] };

export interface ConcreteFunction {
  readonly name: string;
  /** The input signature it was traced for: `(x: float32[batch,4], n: 3)`. */
  readonly signature: string;
  /** The traced model, before optimization. */
  readonly model: Model;
  /** The model the plan runs (after the optimizer). */
  readonly optimizedModel: Model;
  readonly graph: Graph;
  /** What the optimizer did; undefined when optimization is off. */
  readonly report: OptimizeReport | undefined;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** A readable listing of the traced graph (each node with the source line that made it). */
  print(): string;
  formatReport(): string;
  /** ONNX bytes (the optimized model unless `{ optimized: false }`). */
  toOnnx(opts?: { optimized?: boolean }): Uint8Array;
  /** The compiled plan (an InferenceSession over the optimized model). */
  plan(): Promise<InferenceSession>;
}

export class ConcreteFunctionImpl implements ConcreteFunction {
  private session: InferenceSession | undefined;
  private compiling: Promise<InferenceSession> | undefined;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  constructor(
    readonly name: string,
    readonly signature: string,
    readonly model: Model,
    readonly optimizedModel: Model,
    readonly report: OptimizeReport | undefined,
    readonly template: OutputTemplate,
    readonly device: Device,
  ) {
    this.inputNames = model.graph.inputs.map((i) => i.name);
    this.outputNames = model.graph.outputs.map((o) => o.name);
  }

  get graph(): Graph {
    return this.model.graph;
  }

  print(): string {
    return `function ${this.name}${this.signature}\n${printGraph(this.model.graph, '  ')}`;
  }
  toString(): string {
    return this.print();
  }
  formatReport(): string {
    return this.report ? formatReport(this.report) : 'optimizer: disabled';
  }
  toOnnx(opts: { optimized?: boolean } = {}): Uint8Array {
    return exportModel(opts.optimized === false ? this.model : this.optimizedModel);
  }

  plan(): Promise<InferenceSession> {
    if (this.session) return Promise.resolve(this.session);
    this.compiling ??= (async () => {
      const webgpu = this.device === 'webgpu';
      // On WebGPU the outputs stay on the GPU (eager tensors over the plan's buffers). The session gets
      // the function's level so it lowers for its backend (fused kernels); its portable passes find
      // nothing left to do on the already optimized model.
      const level = this.report?.level ?? 'disabled';
      const s = await InferenceSession.fromModel(this.optimizedModel, { executionProviders: webgpu ? ['webgpu', 'cpu'] : ['cpu'], graphOptimizationLevel: level, ...(webgpu ? { preferredOutputLocation: 'gpu-buffer' as const } : {}) });
      if (s.backend === 'webgpu') this.gpu = await gpuRunner();
      return (this.session = s);
    })();
    return this.compiling;
  }

  private gpu: EagerGpu | undefined;

  /** Run the plan on the tensors of a call (in input order); rebuilds the returned structure. */
  run(tensors: readonly (TgTensor | Tensor)[]): Promise<unknown> {
    const session = this.session;
    if (!session) return this.plan().then(() => this.run(tensors));
    if (this.gpu) return this.runGpu(session, this.gpu, tensors);
    const feeds = new Map<string, RtValue>();
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      if (t instanceof TgTensor && !t._hostNow) return this.readFeeds(tensors).then(() => this.run(tensors));
      feeds.set(this.inputNames[i]!, t instanceof TgTensor ? t.host() : t.toHost());
    }
    return session.runValues(feeds, this.outputNames).then((outs) => {
      if (this.template.kind === 'tensor') return TgTensor.fromHost(outs.get(this.outputNames[0]!) as never);
      const values = this.outputNames.map((n) => TgTensor.fromHost(outs.get(n) as never));
      return rebuild(this.template, values);
    });
  }

  /** GPU-resident arguments are read back (the CPU plan takes host feeds). */
  private async readFeeds(tensors: readonly (TgTensor | Tensor)[]): Promise<void> {
    await Promise.all(tensors.map((t) => (t instanceof TgTensor ? t.hostAsync() : undefined)));
  }

  private async runGpu(session: InferenceSession, gpu: EagerGpu, tensors: readonly (TgTensor | Tensor)[]): Promise<unknown> {
    // Eager GPU tensors are fed as GPU buffers (bound without a copy or a read back); others as host data.
    const lent: { release: () => void }[] = [];
    try {
      const feeds: Record<string, Tensor> = {};
      for (let i = 0; i < tensors.length; i++) {
        const t = tensors[i]!;
        const name = this.inputNames[i]!;
        if (!(t instanceof TgTensor)) {
          feeds[name] = t;
          continue;
        }
        const dev = t._dev && t._gpu === gpu && !t._host ? await gpu.lend(t._dev) : undefined;
        if (dev) {
          lent.push(dev);
          const v = t._dev!;
          feeds[name] = Tensor.fromGpuBuffer(dev.buffer, { dataType: v.dtype as TensorType, dims: v.dims, download: () => gpu.read(v), dispose: () => undefined });
        } else feeds[name] = Tensor.fromHost(await t.hostAsync());
      }
      return await this.runGpuFeeds(session, gpu, feeds);
    } finally {
      for (const d of lent) d.release();
    }
  }

  private async runGpuFeeds(session: InferenceSession, gpu: EagerGpu, feeds: Record<string, Tensor>): Promise<unknown> {
    const outs = await session.run(feeds, this.outputNames);
    const values = this.outputNames.map((n) => {
      const o = outs[n]!;
      if (o.location !== 'gpu-buffer') return TgTensor.fromHost(o.toHost());
      return TgTensor.fromDevice(gpu.adopt(o.gpuBuffer as Parameters<EagerGpu['adopt']>[0], o.type as TensorType, o.dims, () => o.dispose()), gpu);
    });
    return this.template.kind === 'tensor' ? values[0] : rebuild(this.template, values);
  }
}

function rebuild(t: OutputTemplate, values: readonly TgTensor[]): unknown {
  switch (t.kind) {
    case 'tensor': return values[t.index];
    case 'array': return t.items.map((i) => rebuild(i, values));
    case 'object': return Object.fromEntries(t.entries.map(([k, v]) => [k, rebuild(v, values)]));
  }
}

function formatAttr(a: Attr): string {
  switch (a.kind) {
    case 'tensor': return `tensor ${a.value.dtype}[${a.value.dims.join(',')}]`;
    case 'graph': return `graph(${a.value.nodes.length} nodes)`;
    case 'graphs': case 'tensors': case 'sparse': return a.kind;
    case 'type': return formatType(a.value);
    case 'types': return a.value.map(formatType).join(',');
    case 'string': return JSON.stringify(a.value);
    default: return Array.isArray(a.value) ? `[${a.value.join(',')}]` : String(a.value);
  }
}

const sig = (v: ValueInfo): string => `%${v.name}: ${formatType(v.type)}`;

/** The graph as text: inputs, constants, one line per node (with its source line), outputs. */
export function printGraph(g: Graph, indent = ''): string {
  const lines: string[] = [];
  lines.push(`${indent}inputs: ${g.inputs.map(sig).join(', ') || '(none)'}`);
  for (const [name, t] of g.initializers) lines.push(`${indent}const %${name}: ${t.dtype}[${t.dims.join(',')}]`);
  for (const n of g.nodes) {
    const attrs = Object.entries(n.attributes).filter(([, a]) => a.kind !== 'graph');
    const attrText = attrs.length ? ` {${attrs.map(([k, a]) => `${k}=${formatAttr(a)}`).join(', ')}}` : '';
    const line = `${indent}${n.outputs.map((o) => `%${o}`).join(', ')} = ${n.opType}(${n.inputs.map((i) => (i ? `%${i}` : '_')).join(', ')})${attrText}`;
    lines.push(n.docString ? `${line.padEnd(60)}  # ${n.docString}` : line);
    for (const [k, a] of Object.entries(n.attributes)) {
      if (a.kind === 'graph') lines.push(`${indent}  ${k}:`, printGraph(a.value, indent + '    '));
    }
  }
  lines.push(`${indent}return ${g.outputs.map(sig).join(', ')}`);
  return lines.join('\n');
}
