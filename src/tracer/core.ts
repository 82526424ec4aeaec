// The op builder shared by both modes: build an IR node; record it into the current trace (types
// from the registry's shape rule, so mismatches fail at trace time) or run it at once (eager): on
// the GPU runner (src/backends/webgpu/eager.ts) when the device is WebGPU or an input lives on the
// GPU, else on the CPU kernels.
import { AttrReader } from '../../graph/attrs.js';
import { type DType, isFloat } from '../../graph/dtype.js';
import { DeviceLostError, InputError, TgraphError, TraceError } from '../../graph/errors.js';
import { type Attr, type Node, type TensorType as IrTensorType, formatType, type ValueType } from '../../graph/ir.js';
import { findSchema } from '../../graph/ops/index.js';
import type { InferContext } from '../../graph/ops/types.js';
import { type HostTensor, type RtValue, makeTensor, setElement, allocTensor } from '../../graph/tensor.js';
import { runNode } from '../../kernels/cpu/interpreter.js';
import { Tensor } from '../tensor.js';
import { eagerGpu, getDevice } from './device.js';
import { DeviceResidentError, DisposedTensorError, TracerOpError } from './errors.js';
import { userSourceLine } from './source.js';
import { type TensorLike, TgTensor } from './tensor.js';
import { OPSETS, type TraceContext, currentTrace } from './trace.js';

export const attr = {
  int: (value: number): Attr => ({ kind: 'int', value }),
  ints: (value: readonly number[]): Attr => ({ kind: 'ints', value: [...value] }),
  float: (value: number): Attr => ({ kind: 'float', value }),
  string: (value: string): Attr => ({ kind: 'string', value }),
};

/** Largest constant the trace evaluates while recording (for shape rules that need values). */
const MAX_PROPAGATED = 4096;
const RANDOM = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial']);

function describe(t: TgTensor | undefined): string {
  if (!t) return '-';
  const s = t.maybeShape;
  return `${t.dtype}${s ? `[${s.join(',')}]` : '[?]'}`;
}

/** Run one op: recorded when tracing, computed now otherwise. */
export function apply(op: string, inputs: readonly (TgTensor | undefined)[], attributes: Record<string, Attr> = {}, nOut = 1): TgTensor[] {
  const ctx = currentTrace();
  return ctx ? record(ctx, op, inputs, attributes, nOut) : runEager(op, inputs, attributes, nOut);
}

export function apply1(op: string, inputs: readonly (TgTensor | undefined)[], attributes: Record<string, Attr> = {}): TgTensor {
  return apply(op, inputs, attributes, 1)[0]!;
}

function opError(op: string, inputs: readonly (TgTensor | undefined)[], e: unknown): Error {
  if (e instanceof TracerOpError) return e;
  const reason = (e instanceof Error ? e.message : String(e)).replace(/^node '[^']*' \([^)]*\)(?: with inputs [^:]*)?: /, '');
  return new TracerOpError(op, inputs.map(describe), reason, userSourceLine(), { cause: e });
}

function inferTypes(node: Node, inputs: readonly (TgTensor | undefined)[], constant: (i: number) => HostTensor | undefined): (ValueType | undefined)[] {
  const schema = findSchema(node.domain, node.opType);
  if (!schema) throw new TraceError(`op '${node.opType}' is not in the registry`);
  let inputCount = inputs.length;
  while (inputCount > 0 && !inputs[inputCount - 1]) inputCount--;
  const ctx: InferContext = {
    node,
    opset: OPSETS[node.domain] ?? 1,
    attrs: new AttrReader(node),
    inputs: inputs.map((t): ValueType | undefined => (t ? (t.maybeShape ? { kind: 'tensor', dtype: t.dtype, shape: [...t.maybeShape] } : { kind: 'tensor', dtype: t.dtype }) : undefined)),
    inputCount,
    constant,
  };
  return schema.infer(ctx);
}

/** The name of `t` in trace `ctx`: its own value, or a constant captured into the root trace. */
export function nameIn(ctx: TraceContext, t: TgTensor): string {
  if (t._sym) {
    if (ctx.sees(t._sym.ctx)) return t._sym.name;
    throw new TraceError(`symbolic tensor '${t._sym.name}' belongs to another trace (a finished traced call, or a branch body that is not enclosing this one); pass it in as an argument or return it${sourceSuffix()}`);
  }
  const host = t._hostNow;
  if (!host) {
    if (t._dev) throw new DeviceResidentError('capturing a tensor as a constant of a traced function', t, userSourceLine());
    throw new DisposedTensorError('a tensor used inside a traced function', userSourceLine());
  }
  const root = ctx.root;
  let name = root.captured.get(t);
  if (!name) {
    name = root.freshName('const');
    root.initializers.set(name, host);
    root.constants.set(name, host);
    root.captured.set(t, name);
  }
  return name;
}

function sourceSuffix(): string {
  const s = userSourceLine();
  return s ? ` (at ${s})` : '';
}

function record(ctx: TraceContext, op: string, inputs: readonly (TgTensor | undefined)[], attributes: Record<string, Attr>, nOut: number): TgTensor[] {
  const names = inputs.map((t) => (t ? nameIn(ctx, t) : ''));
  const node: Node = {
    name: ctx.freshName(op),
    opType: op,
    domain: '',
    inputs: names,
    outputs: Array.from({ length: nOut }, () => ctx.freshName(op.toLowerCase())),
    attributes,
  };
  const src = userSourceLine();
  if (src) node.docString = src;
  const constant = (i: number): HostTensor | undefined => (names[i] ? ctx.constantOf(names[i]!) : undefined);
  let types: (ValueType | undefined)[];
  try {
    types = inferTypes(node, inputs, constant);
  } catch (e) {
    throw opError(op, inputs, e);
  }
  // Constant inputs only: compute now, so that shape rules downstream (Reshape, Expand) see values.
  const consts = names.map((n, i) => (n ? constant(i) : undefined));
  if (!RANDOM.has(op) && names.some(Boolean) && names.every((n, i) => !n || (consts[i] && consts[i]!.data.length <= MAX_PROPAGATED))) {
    try {
      const outs = runNode(node, consts as (RtValue | undefined)[], { values: new Map() }, { opsets: OPSETS });
      outs.forEach((v, i) => {
        if (v && v.kind === 'tensor' && v.data.length <= MAX_PROPAGATED) {
          ctx.constants.set(node.outputs[i]!, v);
          types[i] = { kind: 'tensor', dtype: v.dtype, shape: [...v.dims] };
        }
      });
    } catch (e) {
      throw opError(op, inputs, e);
    }
  }
  ctx.nodes.push(node);
  return node.outputs.map((name, i) => {
    const t = types[i];
    if (!t || t.kind !== 'tensor') throw new TracerOpError(op, inputs.map(describe), `output ${i} has no tensor type (${formatType(t)})`, src);
    return TgTensor.symbolic(ctx, name, t as IrTensorType);
  });
}

/** The CPU eager device: the CPU kernels. */
export function runEagerNode(node: Node, inputs: readonly (HostTensor | undefined)[]): RtValue[] {
  return runNode(node, inputs as (RtValue | undefined)[], { values: new Map() }, { opsets: OPSETS });
}

let eagerCount = 0;

function runEager(op: string, inputs: readonly (TgTensor | undefined)[], attributes: Record<string, Attr>, nOut: number): TgTensor[] {
  let gpuInput = false;
  for (const t of inputs) {
    if (!t) continue;
    if (t._sym) throw new TraceError(`symbolic tensor '${t._sym.name}' was used outside its traced function (${op})${sourceSuffix()}; return it from the function instead`);
    if (t.disposed) throw new DisposedTensorError(`${op}: an input tensor`, userSourceLine());
    if (!t._host) gpuInput = true;
  }
  const node: Node = { name: `eager_${op}_${++eagerCount}`, opType: op, domain: '', inputs: inputs.map((t, i) => (t ? `in${i}` : '')), outputs: Array.from({ length: nOut }, (_, i) => `out${i}`), attributes };
  const gpu = gpuInput || getDevice() === 'webgpu' ? eagerGpu() : undefined;
  let outs: RtValue[] | ReturnType<NonNullable<typeof gpu>['run']>;
  try {
    if (!gpu) {
      // The shape rule first: the same message as when tracing.
      inferTypes(node, inputs, () => undefined);
      outs = runEagerNode(node, inputs.map((t) => t?.host(op)));
    } else {
      const vals = inputs.map((t) => t?._deviceValue(gpu));
      try {
        const types = inferTypes(node, inputs, (i) => vals[i]?.value.host);
        outs = gpu.run(node, OPSETS, vals.map((v) => v?.value), types);
      } finally {
        for (const v of vals) if (v?.temp) gpu.release(v.value);
      }
    }
  } catch (e) {
    if (e instanceof DisposedTensorError || e instanceof DeviceResidentError || e instanceof DeviceLostError) throw e;
    if (e instanceof TgraphError || e instanceof Error) throw opError(op, inputs, e);
    throw e;
  }
  return outs.slice(0, nOut).map((v) => {
    // A GPU-runner value with host data and no buffer (a reshape of a CPU tensor) is a CPU tensor.
    if (!('kind' in v)) return !v.buf && v.host ? TgTensor.fromHost(v.host) : TgTensor.fromDevice(v, gpu!);
    if (v.kind !== 'tensor') throw new TraceError(`${op} returned a ${v.kind}; the tensor API handles tensors only`);
    return TgTensor.fromHost(v);
  });
}

// ---- conversions ----

type Nested = number | boolean | bigint | readonly Nested[];

function flattenNested(x: Nested, dims: number[], out: (number | boolean | bigint)[], depth: number): void {
  if (Array.isArray(x)) {
    if (dims.length === depth) dims.push(x.length);
    else if (dims[depth] !== x.length) throw new InputError(`ragged nested array: expected ${dims[depth]} elements at depth ${depth}, got ${x.length}`);
    for (const v of x) flattenNested(v as Nested, dims, out, depth + 1);
  } else {
    if (dims.length !== depth) throw new InputError(`ragged nested array: a scalar at depth ${depth}, where ${dims.length} levels were expected`);
    out.push(x as number | boolean | bigint);
  }
}

const VIEW_DTYPES: [new (...a: never[]) => ArrayBufferView, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int8Array, 'int8'], [Int16Array, 'int16'], [Int32Array, 'int32'],
  [BigInt64Array, 'int64'], [Uint8Array, 'uint8'], [Uint16Array, 'uint16'], [Uint32Array, 'uint32'], [BigUint64Array, 'uint64'],
];

/** A host tensor from a typed array or nested arrays (dims and dtype optional). */
export function hostFrom(data: unknown, dims?: readonly number[], dtype?: DType): HostTensor {
  if (ArrayBuffer.isView(data)) {
    const found = VIEW_DTYPES.find(([C]) => data instanceof C)?.[1];
    if (!found) throw new InputError(`cannot make a tensor from ${Object.prototype.toString.call(data)}`);
    const arr = data as unknown as ArrayLike<number | bigint>;
    const d = dims ?? [arr.length];
    if (dtype && dtype !== found) {
      const t = allocTensor(dtype, d);
      if (t.data.length !== arr.length) throw new InputError(`tensor data has ${arr.length} elements but dims [${d.join(',')}] need ${t.data.length}`);
      for (let i = 0; i < arr.length; i++) setElement(t, i, arr[i]!);
      return t;
    }
    try {
      return makeTensor(found, d, arr as HostTensor['data']);
    } catch (e) {
      throw new InputError((e as Error).message);
    }
  }
  const shape: number[] = [];
  const flat: (number | boolean | bigint)[] = [];
  flattenNested(data as Nested, shape, flat, 0);
  const dt: DType = dtype ?? (typeof flat[0] === 'boolean' ? 'bool' : typeof flat[0] === 'bigint' ? 'int64' : 'float32');
  const d = dims ?? shape;
  const t = allocTensor(dt, d);
  if (t.data.length !== flat.length) throw new InputError(`tensor data has ${flat.length} elements but dims [${d.join(',')}] need ${t.data.length}`);
  for (let i = 0; i < flat.length; i++) setElement(t, i, flat[i]!);
  return t;
}

export function isTensorValue(x: unknown): x is TgTensor | Tensor {
  return x instanceof TgTensor || x instanceof Tensor;
}

/** Any TensorLike as a TgTensor; literals take dtype `like` (the other operand's) when given. */
export function toTg(x: TensorLike, like?: DType): TgTensor {
  if (x instanceof TgTensor) return x;
  if (x instanceof Tensor) return TgTensor.fromHost(x.toHost(), false);
  if (typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint') {
    const dt: DType = like ?? (typeof x === 'boolean' ? 'bool' : typeof x === 'bigint' ? 'int64' : 'float32');
    if (typeof x === 'number' && !Number.isInteger(x) && like && !isFloat(like)) {
      throw new TracerOpError('literal', [dt], `${x} is not an integer, but the other operand is ${like}`, userSourceLine());
    }
    const t = allocTensor(dt, []);
    setElement(t, 0, x);
    return TgTensor.fromHost(t, false);
  }
  return TgTensor.fromHost(hostFrom(x, undefined, like), false);
}

/** Two operands of a binary op: literals take the dtype of the tensor operand. */
export function pair(a: TensorLike, b: TensorLike): [TgTensor, TgTensor] {
  if (isTensorValue(a)) {
    const x = toTg(a);
    return [x, toTg(b, x.dtype)];
  }
  if (isTensorValue(b)) {
    const y = toTg(b);
    return [toTg(a, y.dtype), y];
  }
  return [toTg(a), toTg(b)];
}

export function int64s(values: readonly number[]): TgTensor {
  return TgTensor.fromHost({ kind: 'tensor', dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) }, false);
}
