// tg.fn: trace a function per input signature into a graph, optimize it, compile a plan, cache it.
import type { DType } from '../../graph/dtype.js';
import { InputError, TraceError } from '../../graph/errors.js';
import { type Dim, formatType, type Model, TensorType as IrTensorType, ValueInfo } from '../../graph/ir.js';
import { optimize, type OptLevel } from '../../graph/passes/index.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { Tensor } from '../tensor.js';
import { ConcreteFunctionImpl, type ConcreteFunction, type OutputTemplate } from './concrete.js';
import { apply1 } from './core.js';
import { type Device, getDevice } from './device.js';
import { DeviceResidentError } from './errors.js';
import { type CallSignature, callSignature, diffLeaves, type Leaf, leavesOf, paramNames } from './signature.js';
import { TgTensor } from './tensor.js';
import { OPSETS, TraceContext, withTrace } from './trace.js';

/** The expected type of one tensor argument; `null` dims accept any size (traced once for all). */
export interface TensorSpec {
  readonly shape: readonly (number | null)[];
  readonly dtype?: DType;
}
export function spec(shape: readonly (number | null)[], dtype: DType = 'float32'): TensorSpec {
  return { shape, dtype };
}

export interface RetraceEvent {
  readonly fn: string;
  /** Traces so far, this one included. */
  readonly traceCount: number;
  /** One line: which arguments changed, from what to what. */
  readonly reason: string;
  readonly changes: readonly { path: string; from: string; to: string }[];
}

export interface FnOptions {
  name?: string;
  /** One spec per tensor argument, in the order they appear in the arguments. */
  inputSignature?: readonly TensorSpec[];
  /** Dims that change between calls become symbolic, so later sizes reuse one trace. */
  reduceRetracing?: boolean;
  onRetrace?: (e: RetraceEvent) => void;
  /** Log each retrace's explanation (true: console.warn). */
  log?: boolean | ((message: string) => void);
  /** Where plans run; default tg.getDevice() when traced (the CPU until tg.ready() or tg.setDevice() settles on WebGPU). */
  device?: Device;
  /** Optimizer level for the traced graph (default 'all'). */
  optimize?: OptLevel | 'disabled';
}

/** Arguments a traced function accepts: its parameters, with the ORT-style Tensor wherever a TgTensor goes. */
export type CallArgs<A extends unknown[]> = { [K in keyof A]: A[K] extends TgTensor ? TgTensor | Tensor : A[K] };

export interface TracedFunction<A extends unknown[], R> {
  (...args: CallArgs<A>): Promise<R>;
  /** How many times the function has been traced. */
  readonly traceCount: number;
  /** The concrete function for these arguments (traced now if needed; nothing runs). */
  concrete(...args: CallArgs<A>): ConcreteFunction;
  /** Every retrace with its explanation. */
  readonly retraces: readonly RetraceEvent[];
  readonly concreteFunctions: readonly ConcreteFunction[];
}

/** A tensor leaf's pattern: dtype and dims, null where any size matches. */
interface Pattern {
  dtype: DType;
  dims: (number | null)[];
}

interface Entry {
  readonly valueKey: string;
  /** Every argument is a tensor (the hot path can match the arguments directly). */
  readonly tensorArgsOnly: boolean;
  readonly patterns: Pattern[];
  readonly leaves: Leaf[];
  readonly concrete: ConcreteFunctionImpl;
}

const MEMO_LIMIT = 1024;

export function fn<A extends unknown[], R>(f: (...args: A) => R, options: FnOptions = {}): TracedFunction<A, R> {
  const name = options.name ?? (f.name || 'traced');
  const params = paramNames(f as never);
  const entries: Entry[] = [];
  const memo = new Map<string, Entry>();
  const retraces: RetraceEvent[] = [];
  let traceCount = 0;
  let last: Entry | undefined;

  const find = (sig: CallSignature): Entry | undefined => {
    const hit = memo.get(sig.key);
    if (hit) return hit;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (e.valueKey === sig.valueKey && matches(e.patterns, sig.tensors)) {
        if (memo.size >= MEMO_LIMIT) memo.clear();
        memo.set(sig.key, e);
        return e;
      }
    }
    return undefined;
  };

  const entryFor = (args: readonly unknown[]): { entry: Entry; sig: CallSignature } => {
    const sig = callSignature(args);
    const found = find(sig);
    if (found) return { entry: found, sig };
    if (args.length < f.length) {
      throw new InputError(`${name} takes ${f.length} argument${f.length > 1 ? 's' : ''} (${params.slice(0, f.length).join(', ')}), got ${args.length}`);
    }
    const leaves = leavesOf(args, params);
    let patterns: Pattern[];
    if (options.inputSignature) {
      patterns = checkSignature(name, options.inputSignature, leaves);
    } else {
      patterns = sig.tensors.map((t) => ({ dtype: dtypeOf(t), dims: [...dimsOf(t)] }));
      if (options.reduceRetracing) {
        const prev = [...entries].reverse().find((e) => e.valueKey === sig.valueKey && e.patterns.length === patterns.length && e.patterns.every((p, i) => p.dtype === patterns[i]!.dtype && p.dims.length === patterns[i]!.dims.length));
        if (prev) patterns = patterns.map((p, i) => ({ dtype: p.dtype, dims: p.dims.map((d, j) => (prev.patterns[i]!.dims[j] === d ? d : null)) }));
      }
    }
    // Traced first, counted after: a trace that stops on a GPU-resident capture is retried (see call).
    const concrete = traceConcrete(f, name, args, leaves, patterns, options);
    traceCount++;
    if (last) {
      const changes = diffLeaves(last.leaves, leaves);
      const reason = `${name}: retracing (trace #${traceCount}) because ${changes.length ? changes.map((c) => `'${c.path}' changed from ${c.from} to ${c.to}`).join('; ') : 'no cached trace matches'}${options.reduceRetracing ? `; dims now symbolic where they changed` : ''}`;
      const event: RetraceEvent = { fn: name, traceCount, reason, changes };
      retraces.push(event);
      options.onRetrace?.(event);
      if (options.log === true) console.warn(reason);
      else if (typeof options.log === 'function') options.log(reason);
    }
    const entry: Entry = { valueKey: sig.valueKey, tensorArgsOnly: sig.tensors.length === args.length && args.every((a) => a instanceof TgTensor || a instanceof Tensor), patterns, leaves, concrete };
    entries.push(entry);
    last = entry;
    if (memo.size >= MEMO_LIMIT) memo.clear();
    if (matches(patterns, sig.tensors)) memo.set(sig.key, entry);
    return { entry, sig };
  };

  // The hot path: a call whose arguments are all tensors matching the last plan used skips the
  // signature string entirely; no extra promise layers.
  let hot: Entry | undefined;
  const call = ((...args: unknown[]) => {
    try {
      if (hot && hot.tensorArgsOnly && matchesArgs(hot.patterns, args)) return hot.concrete.run(args as (TgTensor | Tensor)[]);
      const { entry, sig } = entryFor(args);
      hot = entry;
      return entry.concrete.run(sig.tensors);
    } catch (e) {
      // A captured tensor lives on the GPU: its value becomes a constant of the graph, so read it
      // back (a host copy stays on the tensor) and trace again.
      if (e instanceof DeviceResidentError && e.tensor instanceof TgTensor && !e.tensor.disposed) {
        return e.tensor.hostAsync().then(() => call(...(args as CallArgs<A>)));
      }
      return Promise.reject(e);
    }
  }) as TracedFunction<A, R>;
  Object.defineProperties(call, {
    traceCount: { get: () => traceCount },
    retraces: { get: () => retraces },
    concreteFunctions: { get: () => entries.map((e) => e.concrete) },
    concrete: { value: (...args: unknown[]) => entryFor(args).entry.concrete },
    name: { value: name },
  });
  return call;
}

function dtypeOf(t: TgTensor | Tensor): DType {
  return t instanceof Tensor ? t.type : t.dtype;
}
function dimsOf(t: TgTensor | Tensor): readonly number[] {
  if (t instanceof TgTensor && t.isSymbolic) throw new TraceError('a traced function was called with a symbolic tensor: call the plain function inside a traced one, not its tg.fn wrapper');
  return t instanceof Tensor ? t.dims : (t.shape as number[]);
}

function matches(patterns: readonly Pattern[], tensors: readonly (TgTensor | Tensor)[]): boolean {
  if (patterns.length !== tensors.length) return false;
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i]!;
    const t = tensors[i]!;
    if (dtypeOf(t) !== p.dtype) return false;
    const dims = dimsOf(t);
    if (dims.length !== p.dims.length) return false;
    for (let j = 0; j < dims.length; j++) if (p.dims[j] !== null && p.dims[j] !== dims[j]) return false;
  }
  return true;
}

function matchesArgs(patterns: readonly Pattern[], args: readonly unknown[]): boolean {
  if (patterns.length !== args.length) return false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!(a instanceof TgTensor || a instanceof Tensor)) return false;
  }
  return matches(patterns, args as (TgTensor | Tensor)[]);
}

function checkSignature(name: string, specs: readonly TensorSpec[], leaves: readonly Leaf[]): Pattern[] {
  const tensors = leaves.filter((l) => l.kind === 'tensor');
  if (tensors.length !== specs.length) {
    const nonTensor = leaves.filter((l) => l.kind === 'value' && specs.length > tensors.length).map((l) => `'${l.path}' is ${l.kind === 'value' ? l.repr : ''}`);
    throw new InputError(`${name} expects ${specs.length} tensor argument${specs.length === 1 ? '' : 's'} (inputSignature), got ${tensors.length}${tensors.length ? ` (${tensors.map((t) => t.path).join(', ')})` : ''}${nonTensor.length ? `; not tensors: ${nonTensor.join(', ')}` : ''}`);
  }
  return tensors.map((l, i) => {
    const s = specs[i]!;
    if (l.kind !== 'tensor') throw new Error('unreachable');
    const want = `${s.dtype ?? 'float32'}[${s.shape.map((d) => d ?? '?').join(',')}]`;
    const got = `${l.dtype}[${l.dims.join(',')}]`;
    if ((s.dtype ?? 'float32') !== l.dtype) throw new InputError(`${name}: argument '${l.path}' should be ${want}, got ${got} (dtype differs)`, l.path);
    if (s.shape.length !== l.dims.length) throw new InputError(`${name}: argument '${l.path}' should be ${want}, got ${got} (rank ${l.dims.length}, expected ${s.shape.length})`, l.path);
    s.shape.forEach((d, j) => {
      if (d !== null && d !== l.dims[j]) throw new InputError(`${name}: argument '${l.path}' should be ${want}, got ${got} (dim ${j} is ${l.dims[j]}, expected ${d})`, l.path);
    });
    return { dtype: l.dtype, dims: [...s.shape] };
  });
}

function inputName(path: string, used: Set<string>): string {
  let base = path.replace(/[^\w]+/g, '_').replace(/^_+|_+$/g, '') || 'input';
  if (/^\d/.test(base)) base = `in_${base}`;
  let n = base;
  for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
  used.add(n);
  return n;
}

function traceConcrete(f: (...a: never[]) => unknown, name: string, args: readonly unknown[], leaves: readonly Leaf[], patterns: readonly Pattern[], options: FnOptions): ConcreteFunctionImpl {
  const ctx = new TraceContext();
  const used = new Set<string>();
  const tensorLeaves = leaves.filter((l) => l.kind === 'tensor');
  const symbols: TgTensor[] = tensorLeaves.map((l, i) => {
    const input = inputName(l.path, used);
    const shape: Dim[] = patterns[i]!.dims.map((d, j) => d ?? `${input}_d${j}`);
    const type: IrTensorType = { kind: 'tensor', dtype: patterns[i]!.dtype, shape };
    ctx.inputs.push({ name: input, type });
    return TgTensor.symbolic(ctx, input, type);
  });
  let k = 0;
  const replace = (x: unknown, depth: number): unknown => {
    if (x instanceof TgTensor || x instanceof Tensor) return symbols[k++];
    if (Array.isArray(x) && depth < 8) return x.map((v) => replace(v, depth + 1));
    if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype && depth < 8) {
      return Object.fromEntries(Object.entries(x).map(([key, v]) => [key, replace(v, depth + 1)]));
    }
    return x;
  };
  const symArgs = args.map((a) => replace(a, 0));
  const result = withTrace(ctx, () => f(...(symArgs as never[])));
  if (result instanceof Promise) throw new TraceError(`${name}: a traced function must be synchronous (it returned a Promise)`);

  // Outputs: each returned tensor becomes a graph output through an Identity of its own name.
  const outputs: ValueInfo[] = [];
  const template = withTrace(ctx, () => templateOf(result, ctx, outputs, name, 0));
  let ti = 0;
  const signature = `(${leaves.map((l) => (l.kind === 'tensor' ? `${l.path}: ${formatType(ctx.inputs[ti++]!.type)}` : `${l.path} = ${l.repr}`)).join(', ')})`;
  const model: Model = { graph: ctx.toGraph(name, outputs), opsets: { ...OPSETS }, irVersion: 8, producerName: 'tgraph.fn' };
  const level = options.optimize ?? 'all';
  let optimized = model;
  let report;
  if (level !== 'disabled') {
    const r = optimize(model, evaluateConstantNode, { level });
    optimized = r.model;
    report = r.report;
  }
  return new ConcreteFunctionImpl(name, signature, model, optimized, report, template, options.device ?? getDevice());
}

function templateOf(x: unknown, ctx: TraceContext, outputs: ValueInfo[], fname: string, depth: number): OutputTemplate {
  if (x instanceof TgTensor || x instanceof Tensor) {
    const t = x instanceof Tensor ? TgTensor.fromHost(x.toHost(), false) : x;
    const out = apply1('Identity', [t]);
    const index = outputs.length;
    const node = ctx.nodes[ctx.nodes.length - 1]!;
    const outName = `output_${index}`;
    node.outputs[0] = outName;
    outputs.push({ name: outName, type: { kind: 'tensor', dtype: out.dtype, shape: out.maybeShape ? [...out.maybeShape] : undefined } as IrTensorType });
    return { kind: 'tensor', index };
  }
  if (Array.isArray(x) && depth < 8) return { kind: 'array', items: x.map((v) => templateOf(v, ctx, outputs, fname, depth + 1)) };
  if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype && depth < 8) {
    return { kind: 'object', entries: Object.entries(x).map(([k, v]) => [k, templateOf(v, ctx, outputs, fname, depth + 1)]) };
  }
  throw new TraceError(`${fname}: a traced function must return a tensor, an array or an object of tensors; found ${x === undefined ? 'undefined' : typeof x}${depth ? ' inside the result' : ''}`);
}
