// Helpers of the WebGPU tests: find the adapter (fail under CI when there is none, else warn and
// skip), build small IR models, run them on the WebGPU backend and on the CPU kernels.
import { it } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Model, Node } from '../../graph/ir.js';
import { type HostTensor, type RtValue } from '../../graph/tensor.js';
import { findCpuKernel } from '../../kernels/cpu/index.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { describeGpu } from '../../src/backends/webgpu/device.js';
import { webgpuBackend, type WebgpuCompiledModel } from '../../src/backends/webgpu/backend.js';

const report = await describeGpu();
export const GPU_OK = report.available;
export const GPU_MISSING_REASON = report.available ? '' : report.reason;
if (!report.available && !process.env.CI) {
  console.warn(`\n*** WebGPU tests SKIPPED: no WebGPU adapter (${report.reason}) ***\n`);
}

/** `it` when an adapter exists; under CI a missing adapter fails; elsewhere the test is skipped with the reason in its name. */
export function gpuIt(name: string, fn: () => Promise<void> | void, timeout?: number): void {
  if (GPU_OK) it(name, fn, timeout);
  else if (process.env.CI) it(name, () => { throw new Error(`no WebGPU adapter: ${GPU_MISSING_REASON}`); });
  else it.skip(`${name} [skipped: no WebGPU adapter: ${GPU_MISSING_REASON}]`, () => {});
}

let seed = 12345;
export function rand(): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
}

export function tensor(dtype: DType, dims: number[], gen?: (i: number) => number): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (gen ? gen(i) : rand() * 2 - 1));
  switch (dtype) {
    case 'float32': return { kind: 'tensor', dtype, dims, data: Float32Array.from(vals) };
    case 'int32': return { kind: 'tensor', dtype, dims, data: Int32Array.from(vals.map((v) => Math.round(v))) };
    case 'uint32': return { kind: 'tensor', dtype, dims, data: Uint32Array.from(vals.map((v) => Math.abs(Math.round(v)))) };
    case 'int64': return { kind: 'tensor', dtype, dims, data: BigInt64Array.from(vals.map((v) => BigInt(Math.round(v)))) };
    case 'bool': return { kind: 'tensor', dtype, dims, data: Uint8Array.from(vals.map((v) => (v > 0 ? 1 : 0))) };
    default: throw new Error(`tensor(): ${dtype}`);
  }
}

export const ints = (v: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs?: string[];
  attrs?: Record<string, Attr>;
}

/** A model of the given nodes; inputs are the feeds, initializers are constants. */
export function model(nodes: NodeSpec[], feeds: Record<string, HostTensor>, consts: Record<string, HostTensor> = {}, outputs?: string[], opset = 18): Model {
  const ns: Node[] = nodes.map((n, i) => ({ name: `n${i}_${n.op}`, opType: n.op, domain: '', inputs: n.inputs, outputs: n.outputs ?? [`y${i}`], attributes: n.attrs ?? {} }));
  const outs = outputs ?? ns[ns.length - 1]!.outputs.filter(Boolean);
  return {
    graph: {
      name: 'test',
      inputs: Object.entries(feeds).map(([name, t]) => ({ name, type: { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] } })),
      outputs: outs.map((name) => ({ name })),
      initializers: new Map(Object.entries(consts)),
      nodes: ns,
      valueInfo: new Map(),
    },
    opsets: { '': opset },
    irVersion: 8,
  };
}

export const int = (value: number): Attr => ({ kind: 'int', value });
export const intsAttr = (value: number[]): Attr => ({ kind: 'ints', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const str = (value: string): Attr => ({ kind: 'string', value });

export function cpuHas(m: Model): string | undefined {
  for (const n of m.graph.nodes) if (!findCpuKernel(n.opType)) return n.opType;
  return undefined;
}

export async function runGpu(m: Model, feeds: Record<string, HostTensor>): Promise<{ out: Map<string, RtValue>; compiled: WebgpuCompiledModel }> {
  const compiled = await webgpuBackend.compile(m);
  const out = await compiled.run(new Map(Object.entries(feeds)), { fetches: m.graph.outputs.map((o) => o.name) });
  return { out, compiled };
}

export function runCpu(m: Model, feeds: Record<string, HostTensor>): Map<string, RtValue> {
  return interpret(m.graph, new Map(Object.entries(feeds)), { opsets: m.opsets });
}

/** Max |a - b| / (atol + rtol |b|) over elements (NaN equal to NaN); throws on dtype or shape mismatch. */
export function compare(got: RtValue, want: RtValue, tol: { atol: number; rtol: number }): { ok: boolean; worst: string } {
  if (got.kind !== 'tensor' || want.kind !== 'tensor') throw new Error('not tensors');
  if (got.dtype !== want.dtype) return { ok: false, worst: `dtype ${got.dtype} vs ${want.dtype}` };
  if (got.dims.join(',') !== want.dims.join(',')) return { ok: false, worst: `dims [${got.dims}] vs [${want.dims}]` };
  const a = got.data as ArrayLike<number>;
  const b = want.data as ArrayLike<number>;
  for (let i = 0; i < b.length; i++) {
    const x = Number(a[i]);
    const y = Number(b[i]);
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= tol.atol + tol.rtol * Math.abs(y))) return { ok: false, worst: `element ${i}: got ${x}, want ${y}` };
  }
  return { ok: true, worst: '' };
}
