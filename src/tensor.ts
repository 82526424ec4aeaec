// The public Tensor, compatible with onnxruntime-web/-node's Tensor.
import { type DType, DTYPES, newArray } from '../graph/dtype.js';
import { InputError } from '../graph/errors.js';
import { type HostTensor, checkedSize } from '../graph/tensor.js';

/** onnxruntime's type strings ('float32', 'int64', 'bool', 'string' ...). */
export type TensorType = Exclude<DType, 'bfloat16'>;
export type TensorDataType<T extends TensorType = TensorType> = HostTensor<T>['data'];
export type TensorLocation = 'cpu' | 'gpu-buffer';

/** What a GPU-resident tensor needs to read itself back and free itself. */
export interface GpuData {
  readonly buffer: unknown;
  download(): Promise<HostTensor>;
  dispose(): void;
}

const ARRAY_TYPES: [new (...a: never[]) => unknown, TensorType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int8Array, 'int8'], [Int16Array, 'int16'],
  [Int32Array, 'int32'], [BigInt64Array, 'int64'], [Uint8Array, 'uint8'], [Uint16Array, 'uint16'],
  [Uint32Array, 'uint32'], [BigUint64Array, 'uint64'],
];

function inferType(data: unknown): TensorType {
  if (Array.isArray(data)) {
    if (data.length === 0 || typeof data[0] === 'number') return 'float32';
    if (typeof data[0] === 'string') return 'string';
    if (typeof data[0] === 'boolean') return 'bool';
    if (typeof data[0] === 'bigint') return 'int64';
  }
  for (const [C, t] of ARRAY_TYPES) if (data instanceof C) return t;
  throw new InputError(`cannot make a tensor from ${Object.prototype.toString.call(data)}`);
}

function coerce(type: TensorType, data: unknown): TensorDataType {
  if (type === 'string') {
    if (!Array.isArray(data) || data.some((s) => typeof s !== 'string')) throw new InputError('a string tensor needs a string[]');
    return data as string[];
  }
  if (Array.isArray(data)) {
    const out = newArray(type, data.length) as unknown as Record<number, unknown>;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      out[i] = type === 'int64' || type === 'uint64' ? BigInt(v as number) : type === 'bool' ? (v ? 1 : 0) : Number(v);
    }
    return out as unknown as TensorDataType;
  }
  const want = newArray(type, 0).constructor;
  if (type === 'float16' && (data instanceof Uint16Array || (globalThis as { Float16Array?: new () => unknown }).Float16Array && data instanceof (globalThis as unknown as { Float16Array: new () => unknown }).Float16Array)) {
    return data as Uint16Array;
  }
  if (!(data instanceof want)) {
    throw new InputError(`a '${type}' tensor needs a ${want.name}, got ${Object.prototype.toString.call(data).slice(8, -1)}`);
  }
  return data as TensorDataType;
}

export class Tensor {
  readonly type: TensorType;
  readonly dims: readonly number[];
  readonly size: number;
  private _data: TensorDataType | undefined;
  private _gpu: GpuData | undefined;
  private _disposed = false;

  constructor(type: TensorType, data: TensorDataType | readonly unknown[], dims?: readonly number[]);
  constructor(data: TensorDataType | readonly unknown[], dims?: readonly number[]);
  constructor(a: unknown, b?: unknown, c?: unknown) {
    let type: TensorType;
    let data: unknown;
    let dims: readonly number[] | undefined;
    if (typeof a === 'string') {
      if (!(DTYPES as readonly string[]).includes(a) || a === 'bfloat16') throw new InputError(`unknown tensor type '${a}'`);
      type = a as TensorType;
      data = b;
      dims = c as readonly number[] | undefined;
    } else {
      data = a;
      type = inferType(a);
      dims = b as readonly number[] | undefined;
    }
    const arr = coerce(type, data);
    const d = dims ?? [arr.length];
    const n = checkedSize(d, 'tensor');
    if (n !== arr.length) throw new InputError(`tensor data has ${arr.length} elements, but dims [${d.join(',')}] need ${n}`);
    this.type = type;
    this.dims = Object.freeze([...d]);
    this.size = n;
    this._data = arr;
  }

  /** A tensor whose data lives on the GPU (onnxruntime-web's Tensor.fromGpuBuffer). */
  static fromGpuBuffer(buffer: unknown, opts: { dataType: TensorType; dims: readonly number[]; download?: () => Promise<HostTensor>; dispose?: () => void }): Tensor {
    const t = Object.create(Tensor.prototype) as Tensor;
    const mutable = t as unknown as { type: TensorType; dims: readonly number[]; size: number; _gpu: GpuData; _data: undefined; _disposed: boolean };
    mutable.type = opts.dataType;
    mutable.dims = Object.freeze([...opts.dims]);
    mutable.size = checkedSize(opts.dims);
    mutable._data = undefined;
    mutable._disposed = false;
    mutable._gpu = {
      buffer,
      download: opts.download ?? (() => Promise.reject(new InputError('this GPU tensor cannot be read back: no download function'))),
      dispose: opts.dispose ?? (() => (buffer as { destroy?: () => void }).destroy?.()),
    };
    return t;
  }

  static fromHost(h: HostTensor): Tensor {
    if (h.dtype === 'bfloat16') throw new InputError('bfloat16 tensors are not supported by the Tensor API');
    return new Tensor(h.dtype, h.data as TensorDataType, h.dims);
  }

  get location(): TensorLocation {
    return this._gpu ? 'gpu-buffer' : 'cpu';
  }

  /** The GPU buffer of a 'gpu-buffer' tensor. */
  get gpuBuffer(): unknown {
    if (!this._gpu) throw new InputError('this tensor is on the CPU; it has no GPU buffer');
    return this._gpu.buffer;
  }

  /** CPU data; throws for a 'gpu-buffer' tensor not yet read back (use getData()). */
  get data(): TensorDataType {
    this.checkAlive();
    if (this._data === undefined) throw new InputError("this tensor's data is on the GPU: call `await tensor.getData()`");
    return this._data;
  }

  /** The data on the CPU, reading it back from the GPU when needed. */
  async getData(releaseData = false): Promise<TensorDataType> {
    this.checkAlive();
    if (this._data === undefined && this._gpu) {
      const h = await this._gpu.download();
      this._data = h.data as TensorDataType;
      if (releaseData) {
        this._gpu.dispose();
        this._gpu = undefined;
      }
    }
    return this._data!;
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._gpu?.dispose();
    this._gpu = undefined;
    this._data = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get disposed(): boolean {
    return this._disposed;
  }

  reshape(dims: readonly number[]): Tensor {
    return new Tensor(this.type, this.data, dims);
  }

  /** The host view used internally (no copy). */
  toHost(): HostTensor {
    return { kind: 'tensor', dtype: this.type, dims: this.dims, data: this.data } as HostTensor;
  }

  private checkAlive(): void {
    if (this._disposed) throw new InputError('this tensor has been disposed');
  }
}
