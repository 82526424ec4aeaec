// The WebGPU kernel boundary. A kernel turns a node and its inputs' dtypes and dims into a plan:
// programs (a shader, the parameter object that generates its WGSL, run-time uniforms and the
// dispatch size), or a no-copy alias of an input, or the reason it cannot run on the GPU.
// Kernels know nothing of devices or buffers; the backend (src/backends/webgpu) runs the plans.
import type { AttrReader } from '../../graph/attrs.js';
import type { DType } from '../../graph/dtype.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';

/** WGSL element types a tensor can be stored as. */
/** 'vec2<u32>': an 8-byte element (int64, uint64, float64) as (lo, hi) words. */
export type WgslType = 'f32' | 'i32' | 'u32' | 'f16' | 'vec2<u32>';
export type UniformType = 'u32' | 'i32' | 'f32';

/** A uniform field as the shader sees it: a scalar (len undefined) or an array of len words. */
export interface UniformField {
  readonly name: string;
  readonly type: UniformType;
  readonly len?: number;
}

/** A uniform's run-time value: a scalar or an array (whose length is part of the shader's key). */
export interface UniformValue {
  readonly name: string;
  readonly type: UniformType;
  readonly value: number | readonly number[];
}

/**
 * Everything a shader's WGSL is generated from. The pipeline cache key is the stable JSON of this
 * object, and the WGSL is `shader.emit(spec)`: one key maps to one source by construction.
 */
export interface ShaderSpec<P> {
  readonly shader: string;
  readonly params: P;
  readonly uniforms: readonly UniformField[];
}

export interface Shader<P> {
  readonly name: string;
  /** Method syntax: a Shader<P> is usable where a Shader<unknown> is expected. */
  emit(spec: ShaderSpec<P>): string;
}

/** A binding after the uniform buffer (binding 0): a node input, a node output or a temporary. */
export type BindingRef = { readonly input: number } | { readonly output: number } | { readonly temp: number };

export interface Program<P = unknown> {
  readonly shader: Shader<P>;
  readonly params: P;
  readonly uniforms: readonly UniformValue[];
  /** Bound at 1, 2, ... in this order. */
  readonly bindings: readonly BindingRef[];
  readonly workgroups: readonly [number, number, number];
}

export interface TensorDesc {
  readonly dtype: DType;
  readonly dims: readonly number[];
}

export type GpuPlan =
  | { readonly kind: 'unsupported'; readonly reason: string }
  /** Output 0 is input `input` with new dims (Reshape, Squeeze, Identity...): no copy. */
  | { readonly kind: 'alias'; readonly input: number; readonly dims: readonly number[] }
  | {
      readonly kind: 'run';
      readonly outputs: readonly TensorDesc[];
      /** Temporaries: element counts in words of 4 bytes. */
      readonly temps?: readonly number[];
      readonly programs: readonly Program[];
    };

export interface GpuInput {
  /** The value's dtype (storage: wgsl.ts `storageType`; int64 inputs in `narrowInt64` are bound as i32). */
  readonly dtype: DType;
  readonly dims: readonly number[];
}

export interface GpuKernelContext {
  readonly node: Node;
  readonly opset: number;
  readonly attrs: AttrReader;
  /** undefined for an omitted optional input. */
  readonly inputs: readonly (GpuInput | undefined)[];
  /** Outputs the graph uses (a name that is not ''). */
  readonly outputsUsed: readonly boolean[];
  /** Host value of an input listed in `hostInputs`. */
  host(i: number): HostTensor | undefined;
  /** shader-f16 is enabled on the device. */
  readonly f16: boolean;
}

export interface GpuKernel {
  /** Inputs the kernel reads on the CPU (shape-like: Reshape's shape, Slice's starts...). */
  readonly hostInputs?: (node: Node, opset: number) => readonly number[];
  /** Inputs of which only the dtype and dims are read (CastLike's target): never copied. */
  readonly metaInputs?: readonly number[];
  /**
   * int64 inputs bound as i32 (Gather's indices): the backend narrows them on the GPU into a
   * temporary, saturating values outside i32 (which are out of range as indices anyway).
   */
  readonly narrowInt64?: readonly number[];
  /**
   * plan() checks the dtype of everything it binds, so it may be given every storable dtype: 8-byte
   * ones (int64, uint64, float64 as vec2<u32>) and int8/uint8/int16/uint16 (widened to i32/u32).
   * Other kernels only see float32, float16, int32, uint32 and bool.
   */
  readonly allDtypes?: boolean;
  /** Outputs are copies of input elements (no arithmetic): no normalizing pass for widened dtypes. */
  readonly exact?: boolean;
  plan(ctx: GpuKernelContext): GpuPlan;
}

export const unsupported = (reason: string): GpuPlan => ({ kind: 'unsupported', reason });
