/// <reference types="@webgpu/types" />
// The per-node GPU steps shared by the compiled-model backend (backend.ts) and the eager runner
// (eager.ts): the kernel's plan, the dtype rules for what may be bound, the program list with
// int64 indices narrowed by a pass before the kernel and widened outputs (float16 without
// shader-f16, 8/16-bit ints in 32-bit words) rounded/wrapped by a pass after it. The kernel
// contract changes here once; each caller only supplies its buffers.
import { AttrReader } from '../../../graph/attrs.js';
import type { DType } from '../../../graph/dtype.js';
import type { Node } from '../../../graph/ir.js';
import { checkedSize, type HostTensor } from '../../../graph/tensor.js';
import type { GpuInput, GpuKernel, GpuPlan, Program } from '../../../kernels/webgpu/types.js';
import { normalizeProgram, narrowProgram } from '../../../kernels/webgpu/storage.js';
import { packUniforms, uniformWords, widenedKind } from '../../../kernels/webgpu/wgsl.js';
import { storable } from './backend.js';

/** A plan that runs programs. */
export type RunPlan = Extract<GpuPlan, { kind: 'run' }>;

/** Which inputs the kernel reads on the CPU, reads only the dims of, or takes int64 narrowed to i32. */
export interface InputRoles {
  readonly host: ReadonlySet<number>;
  readonly meta: ReadonlySet<number>;
  readonly narrow: ReadonlySet<number>;
}

export function inputRoles(kernel: GpuKernel, node: Node, opset: number): InputRoles {
  return { host: new Set(kernel.hostInputs?.(node, opset) ?? []), meta: new Set(kernel.metaInputs ?? []), narrow: new Set(kernel.narrowInt64 ?? []) };
}

/** The kernel's plan for the node, or why it has none (a throwing plan counts as a refusal). */
export function planNode(kernel: GpuKernel, node: Node, opset: number, inputs: readonly (GpuInput | undefined)[], host: (i: number) => HostTensor | undefined, f16: boolean): Exclude<GpuPlan, { kind: 'unsupported' }> | string {
  let plan: GpuPlan;
  try {
    plan = kernel.plan({ node, opset, attrs: new AttrReader(node), inputs, outputsUsed: node.outputs.map((o) => o !== ''), host, f16 });
  } catch (e) {
    return `the WebGPU kernel refused it: ${(e as Error).message}`;
  }
  return plan.kind === 'unsupported' ? plan.reason : plan;
}

/** The inputs the programs bind (device inputs). */
export function boundInputs(plan: RunPlan): Set<number> {
  const bound = new Set<number>();
  for (const p of plan.programs) for (const b of p.bindings) if ('input' in b) bound.add(b.input);
  return bound;
}

/**
 * Why the plan's outputs or bound inputs cannot be stored on the GPU; undefined when they all can.
 * `also`: the caller's own check of a bound input, after the dtype rules.
 */
export function storageRefusal(kernel: GpuKernel, plan: RunPlan, bound: ReadonlySet<number>, roles: InputRoles, dtypeOf: (i: number) => DType, f16: boolean, also?: (i: number) => string | undefined): string | undefined {
  const all = kernel.allDtypes === true;
  for (const o of plan.outputs) if (!storable(o.dtype, f16, all)) return `output is ${o.dtype}`;
  for (const i of bound) {
    if (roles.host.has(i) || roles.meta.has(i)) return `kernel bug: input ${i} is bound but host-only`;
    const dtype = dtypeOf(i);
    if (!storable(dtype, f16, all) && !(dtype === 'int64' && roles.narrow.has(i))) return `input ${i} is ${dtype}`;
    const other = also?.(i);
    if (other) return other;
  }
  return undefined;
}

/** A program and what it binds after the uniforms, in its bindings' order. */
export interface NodeStep<B> {
  readonly program: Program;
  readonly buffers: B[];
}

export interface NodeBuffers<B> {
  /** Bound input `i` as stored (int64 still 64-bit when narrowed). */
  input(i: number): B;
  readonly outputs: readonly B[];
  readonly temps: readonly B[];
  /** A scratch buffer of `bytes` (a narrowed int64 input), released by the caller after the node. */
  scratch(bytes: number): B;
}

/**
 * The node's programs in order with their buffers: a narrowing pass per int64 index input, the
 * kernel's programs, then (unless the kernel only copies elements) a normalizing pass per used
 * widened output.
 */
export function nodeSteps<B>(node: Node, kernel: GpuKernel, plan: RunPlan, bound: ReadonlySet<number>, roles: InputRoles, inputs: readonly (GpuInput | undefined)[], f16: boolean, bufs: NodeBuffers<B>): NodeStep<B>[] {
  const steps: NodeStep<B>[] = [];
  const inBufs = new Map<number, B>();
  for (const i of bound) {
    const v = inputs[i]!;
    let b = bufs.input(i);
    if (v.dtype === 'int64' && roles.narrow.has(i)) {
      const n = checkedSize(v.dims);
      const narrow = bufs.scratch(n * 4);
      if (n > 0) steps.push({ program: narrowProgram(n, 0, 0), buffers: [b, narrow] });
      b = narrow;
    }
    inBufs.set(i, b);
  }
  for (const p of plan.programs) {
    steps.push({ program: p, buffers: p.bindings.map((b) => ('input' in b ? inBufs.get(b.input)! : 'output' in b ? bufs.outputs[b.output]! : bufs.temps[b.temp]!)) });
  }
  if (!kernel.exact) {
    plan.outputs.forEach((o, k) => {
      const kind = widenedKind(o.dtype, f16);
      const n = checkedSize(o.dims);
      if (kind && n > 0 && node.outputs[k]) steps.push({ program: normalizeProgram(kind, n, 0), buffers: [bufs.outputs[k]!] });
    });
  }
  return steps;
}

/** A slot for a program's uniforms: `words` words at `offset` of `buffer`, written through `view`. */
export type UniformSlot = (words: number) => { buffer: GPUBuffer; offset: number; view: DataView };

/** The bind group of one program: its uniforms packed into a slot (binding 0), then `buffers` in order. */
export function stepBindGroup(device: GPUDevice, program: Program, layout: GPUBindGroupLayout, slot: UniformSlot, buffers: readonly { readonly buffer: GPUBuffer }[]): GPUBindGroup {
  const words = uniformWords(program.uniforms.map((u) => (typeof u.value === 'number' ? { name: u.name, type: u.type } : { name: u.name, type: u.type, len: u.value.length })));
  const u = slot(words);
  packUniforms(program.uniforms, u.view, 0);
  return device.createBindGroup({
    layout,
    entries: [
      { binding: 0, resource: { buffer: u.buffer, offset: u.offset, size: words * 4 } },
      ...buffers.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer } })),
    ],
  });
}
