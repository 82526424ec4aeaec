// What the session needs from a backend: compile a model into something that runs feeds.
import type { Model } from '../../graph/ir.js';
import type { DType } from '../../graph/dtype.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import type { LoweringCapabilities } from '../../graph/passes/lower-types.js';

export type BackendName = 'cpu' | 'webgpu';

export interface RunContext {
  readonly signal?: { readonly aborted: boolean };
  /** Names of the outputs wanted. */
  readonly fetches: readonly string[];
  readonly onNode?: (node: { name: string; opType: string }, ms: number) => void;
  /** Feeds already on the device (Tensor.fromGpuBuffer), bound without a copy; only for `acceptsDeviceFeeds`. */
  readonly deviceFeeds?: ReadonlyMap<string, DeviceFeed>;
}

/** A feed whose data is in a device buffer (a GPUBuffer for WebGPU). */
export interface DeviceFeed {
  readonly buffer: unknown;
  readonly dtype: DType;
  readonly dims: readonly number[];
}

/** An output left on the device (preferredOutputLocation 'gpu-buffer'). */
export interface DeviceOutput {
  readonly kind: 'gpu-buffer';
  readonly buffer: unknown;
  readonly dtype: DType;
  readonly dims: readonly number[];
  download(): Promise<HostTensor>;
  dispose(): void;
}

/** Where a node runs and, when not on the session's backend, why. */
export interface Placement {
  readonly node: string;
  readonly op: string;
  readonly device: 'gpu' | 'cpu';
  readonly reason?: string;
}

export interface CompiledModel {
  readonly backend: BackendName;
  run(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue>>;
  /** Like run(), leaving device-resident outputs on the device (backends with device memory). */
  runToGpu?(feeds: ReadonlyMap<string, RtValue>, ctx: RunContext): Promise<Map<string, RtValue | DeviceOutput>>;
  /** The backend binds `RunContext.deviceFeeds` itself (else the session reads GPU feeds back first). */
  readonly acceptsDeviceFeeds?: boolean;
  /** Each node's placement (backends that place nodes on more than one device). */
  readonly placements?: ReadonlyMap<string, Placement>;
  release(): void;
}

export interface Backend {
  readonly name: BackendName;
  /** Registry keys this backend has kernels for (undefined: all). */
  hasKernel(key: string): boolean;
  /** What it runs fused; the session lowers the optimized model with it before compile (none: no lowering). */
  readonly capabilities?: LoweringCapabilities;
  compile(model: Model): Promise<CompiledModel>;
}
