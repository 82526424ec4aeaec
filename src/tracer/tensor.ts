// TgTensor: the tensor of the tensor API. Eager tensors hold a HostTensor (CPU) or a DeviceValue
// (GPU: a buffer, plus a host copy once read back); symbolic tensors, made while tracing, hold the
// name of a value in the trace and its type from the shape rules.
import type { EagerGpu, DeviceValue } from '../backends/webgpu/eager.js';
import { BYTES, type DType } from '../../graph/dtype.js';
import { DeviceLostError, InputError } from '../../graph/errors.js';
import type { Dim, TensorType as IrTensorType } from '../../graph/ir.js';
import { type HostTensor, getNumber, toNumbers } from '../../graph/tensor.js';
import { Tensor } from '../tensor.js';
import { DeviceResidentError, DisposedTensorError, TracedValueError } from './errors.js';
import { type Allocation, release, track } from './memory.js';
import type * as Ops from './ops.js';
import { userSourceLine } from './source.js';
import type { TraceContext } from './trace.js';

export type NestedArray<T> = T | readonly NestedArray<T>[];
/** Anything an op accepts as a tensor: TgTensor, the ORT-style Tensor, numbers, booleans, nested arrays, typed arrays. */
export type TensorLike = TgTensor | Tensor | NestedArray<number> | NestedArray<boolean> | bigint | ArrayBufferView;

interface Symbolic {
  readonly ctx: TraceContext;
  readonly name: string;
}

// Set by ops.ts (breaks the import cycle between the class and the op functions).
let ops: typeof Ops;
export function bindOps(o: typeof Ops): void {
  ops = o;
}

export class TgTensor {
  /** @internal CPU data (CPU-resident tensors). */ _host: HostTensor | undefined;
  /** @internal GPU data: results of GPU ops, and uploads of CPU tensors kept for reuse. */ _dev: DeviceValue | undefined;
  /** @internal The runner that owns `_dev`. */ _gpu: EagerGpu | undefined;
  /** @internal */ readonly _sym: Symbolic | undefined;
  private readonly _alloc: Allocation | undefined;
  readonly dtype: DType;
  private readonly _shape: readonly Dim[] | undefined;

  private constructor(dtype: DType, shape: readonly Dim[] | undefined, host: HostTensor | undefined, sym: Symbolic | undefined, tracked: boolean, dev?: DeviceValue, gpu?: EagerGpu) {
    this.dtype = dtype;
    this._shape = shape;
    this._host = host;
    this._dev = dev;
    this._gpu = gpu;
    this._sym = sym;
    const n = host ? host.data.length : dev ? dev.dims.reduce((a, b) => a * b, 1) : 0;
    this._alloc = (host || dev) && tracked ? track(this, n * (BYTES[dtype] ?? 0), dev !== undefined) : undefined;
    if (this._alloc && dev && gpu) this._alloc.free = () => gpu.release(dev);
  }

  /** An eager tensor over `h` (no copy). Untracked tensors (views of a caller's Tensor) do not count in tg.memory(). */
  static fromHost(h: HostTensor, tracked = true): TgTensor {
    return new TgTensor(h.dtype, Object.freeze([...h.dims]), h, undefined, tracked);
  }

  /** @internal An eager tensor whose data lives on the GPU. */
  static fromDevice(v: DeviceValue, gpu: EagerGpu): TgTensor {
    return new TgTensor(v.dtype, Object.freeze([...v.dims]), undefined, undefined, true, v, gpu);
  }

  /** Where the data was computed and lives: 'webgpu' for results of GPU ops (even once read back). */
  get device(): 'cpu' | 'webgpu' {
    return this._host || !this._dev ? 'cpu' : 'webgpu';
  }

  /** @internal The host data now, if there is one (a CPU tensor, or a GPU tensor read back). */
  get _hostNow(): HostTensor | undefined {
    return this._host ?? this._dev?.host;
  }

  /**
   * @internal This tensor as a value for the GPU runner. A tracked CPU tensor keeps the value (and
   * so its upload) for later ops; `temp` values of untracked tensors are released after the op.
   */
  _deviceValue(gpu: EagerGpu): { value: DeviceValue; temp: boolean } {
    if (this._dev && this._gpu === gpu) return { value: this._dev, temp: false };
    if (this._dev) {
      // Made on a device that is gone (lost): only a host copy survives.
      const kept = this._host ?? this._dev.host;
      if (!kept) throw new DeviceLostError('this tensor lived on a WebGPU device that was lost; its data is gone');
      this._gpu?.release(this._dev);
      this._dev = undefined;
      this._host = kept;
    }
    const h = this._host!;
    const value: DeviceValue = { dtype: h.dtype, dims: h.dims, host: h };
    if (!this._alloc) return { value, temp: true };
    this._dev = value;
    this._gpu = gpu;
    this._alloc.free = () => gpu.release(value);
    return { value, temp: false };
  }

  /** @internal A value of a trace. */
  static symbolic(ctx: TraceContext, name: string, type: IrTensorType): TgTensor {
    return new TgTensor(type.dtype, type.shape ? Object.freeze([...type.shape]) : undefined, undefined, { ctx, name }, false);
  }

  get isSymbolic(): boolean {
    return this._sym !== undefined;
  }

  /** Dims; inside a traced function a dim may be a symbol (a string) standing for any size. */
  get shape(): readonly Dim[] {
    if (!this._shape) throw new InputError(`the rank of traced value '${this._sym?.name}' is not known`);
    return this._shape;
  }
  /** @internal The shape, or undefined when the rank is not known. */
  get maybeShape(): readonly Dim[] | undefined {
    return this._shape;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Element count (symbolic dims make it unknown: NaN). */
  get size(): number {
    return this.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
  }

  /** @internal The host value of an eager tensor (a GPU tensor must have been read back). */
  host(what = 'reading the value'): HostTensor {
    if (this._sym) throw new TracedValueError(what, userSourceLine());
    const h = this._host ?? this._dev?.host;
    if (h) return h;
    if (this._dev && this._gpu?.lost) throw new DeviceLostError(`${what}: this tensor lived on a WebGPU device that was lost; its data is gone`);
    if (this._dev) throw new DeviceResidentError(what, this, userSourceLine());
    throw new DisposedTensorError(what, userSourceLine());
  }

  /** @internal The host value, read back from the GPU when needed (kept as a host copy). */
  async hostAsync(): Promise<HostTensor> {
    if (this._sym || this._host || !this._dev) return this.host();
    return this._gpu!.read(this._dev);
  }

  /** The elements (a typed array), once computed; results stay on the device that computed them until this. */
  data(): Promise<HostTensor['data']> {
    try {
      if (this._host) return Promise.resolve(this._host.data);
      return this.hostAsync().then((h) => h.data);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  /** The elements now: CPU tensors, and GPU tensors already read back (else a DeviceResidentError). */
  dataSync(): HostTensor['data'] {
    return this.host('dataSync()').data;
  }
  /** The elements as a nested JS array (numbers; float16 decoded). */
  async array(): Promise<NestedArray<number>> {
    const h = await this.hostAsync();
    const flat = toNumbers(h);
    const build = (d: number, off: number): NestedArray<number> => {
      if (d === h.dims.length) return flat[off]!;
      const stride = h.dims.slice(d + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: h.dims[d]! }, (_, i) => build(d + 1, off + i * stride));
    };
    return build(0, 0);
  }
  /** The single element of a one-element tensor. */
  async item(): Promise<number> {
    await this.hostAsync();
    return this.itemSync();
  }
  private itemSync(): number {
    const h = this.host('item()');
    if (h.data.length !== 1) throw new InputError(`item() needs a tensor of one element, this one is [${h.dims.join(',')}]`);
    return getNumber(h, 0);
  }
  /** The ORT-style Tensor (shares the data). */
  toTensor(): Tensor {
    return Tensor.fromHost(this.host());
  }

  [Symbol.toPrimitive](hint: string): number | string {
    if (this._sym) throw new TracedValueError(hint === 'string' ? 'converting to a string' : 'using as a JS number or boolean (e.g. in `if`, `<`, `+`)', userSourceLine());
    if (hint === 'string') return this.toString();
    return this.itemSync();
  }

  get disposed(): boolean {
    return !this._sym && this._host === undefined && this._dev === undefined;
  }
  dispose(): void {
    if (this.disposed || this._sym) return;
    this._host = undefined;
    const dev = this._dev;
    this._dev = undefined;
    if (dev) this._gpu?.release(dev);
    if (this._alloc) release(this, this._alloc);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    const shape = this._shape ? `[${this._shape.join(',')}]` : '[?]';
    if (this._sym) return `TgTensor(symbolic ${this._sym.name}: ${this.dtype}${shape})`;
    if (this.disposed) return `TgTensor(disposed ${this.dtype}${shape})`;
    const h = this._hostNow;
    if (!h) return `TgTensor(${this.dtype}${shape} on webgpu)`;
    const vals = toNumbers({ ...h, data: h.data.slice(0, 8) } as HostTensor);
    return `TgTensor(${this.dtype}${shape} ${vals.join(', ')}${h.data.length > 8 ? ', ...' : ''})`;
  }

  // ---- methods: the op functions of ops.ts with this tensor first ----
  add(b: TensorLike): TgTensor { return ops.add(this, b); }
  sub(b: TensorLike): TgTensor { return ops.sub(this, b); }
  mul(b: TensorLike): TgTensor { return ops.mul(this, b); }
  div(b: TensorLike): TgTensor { return ops.div(this, b); }
  pow(b: TensorLike): TgTensor { return ops.pow(this, b); }
  maximum(b: TensorLike): TgTensor { return ops.maximum(this, b); }
  minimum(b: TensorLike): TgTensor { return ops.minimum(this, b); }
  equal(b: TensorLike): TgTensor { return ops.equal(this, b); }
  notEqual(b: TensorLike): TgTensor { return ops.notEqual(this, b); }
  greater(b: TensorLike): TgTensor { return ops.greater(this, b); }
  greaterEqual(b: TensorLike): TgTensor { return ops.greaterEqual(this, b); }
  less(b: TensorLike): TgTensor { return ops.less(this, b); }
  lessEqual(b: TensorLike): TgTensor { return ops.lessEqual(this, b); }
  logicalAnd(b: TensorLike): TgTensor { return ops.logicalAnd(this, b); }
  logicalOr(b: TensorLike): TgTensor { return ops.logicalOr(this, b); }
  logicalNot(): TgTensor { return ops.logicalNot(this); }
  matmul(b: TensorLike): TgTensor { return ops.matmul(this, b); }
  neg(): TgTensor { return ops.neg(this); }
  abs(): TgTensor { return ops.abs(this); }
  exp(): TgTensor { return ops.exp(this); }
  log(): TgTensor { return ops.log(this); }
  sqrt(): TgTensor { return ops.sqrt(this); }
  square(): TgTensor { return ops.square(this); }
  relu(): TgTensor { return ops.relu(this); }
  sigmoid(): TgTensor { return ops.sigmoid(this); }
  tanh(): TgTensor { return ops.tanh(this); }
  gelu(): TgTensor { return ops.gelu(this); }
  silu(): TgTensor { return ops.silu(this); }
  softmax(axis = -1): TgTensor { return ops.softmax(this, axis); }
  sum(axis?: number | readonly number[], keepDims = false): TgTensor { return ops.sum(this, axis, keepDims); }
  mean(axis?: number | readonly number[], keepDims = false): TgTensor { return ops.mean(this, axis, keepDims); }
  max(axis?: number | readonly number[], keepDims = false): TgTensor { return ops.max(this, axis, keepDims); }
  min(axis?: number | readonly number[], keepDims = false): TgTensor { return ops.min(this, axis, keepDims); }
  argMax(axis = 0, keepDims = false): TgTensor { return ops.argMax(this, axis, keepDims); }
  reshape(shape: readonly number[]): TgTensor { return ops.reshape(this, shape); }
  transpose(perm?: readonly number[]): TgTensor { return ops.transpose(this, perm); }
  flatten(axis = 1): TgTensor { return ops.flatten(this, axis); }
  squeeze(axes?: number | readonly number[]): TgTensor { return ops.squeeze(this, axes); }
  unsqueeze(axes: number | readonly number[]): TgTensor { return ops.unsqueeze(this, axes); }
  slice(starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): TgTensor { return ops.slice(this, starts, ends, axes, steps); }
  gather(indices: TensorLike, axis = 0): TgTensor { return ops.gather(this, indices, axis); }
  cast(dtype: DType): TgTensor { return ops.cast(this, dtype); }
}
