// Builders that turn scalar functions into CPU kernels: dtype checks, float16 widening, output
// allocation and broadcasting. Each elementwise op is then one table entry.
import { type DType, isBig } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, cloneData, narrowHalf, UNINIT, widenHalf } from '../../graph/tensor.js';
import { type TypeClass, inClass, legacyBroadcastB } from '../../graph/ops/elementwise.js';
import { KernelInputError } from './errors.js';
import { type Run2, broadcast2, map1, map2, type Vec } from './elementwise-loops.js';
import type { UnaryRun } from './elementwise-runs.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastShapes, sameItems, tensorArg } from './util.js';
import { evaluateProgram } from './fused-eval.js';
import type { Program } from '../../graph/ops/fused-program.js';

export type Half = 'float16' | 'bfloat16';

export function halfOf(d: DType): Half | undefined {
  return d === 'float16' || d === 'bfloat16' ? d : undefined;
}

export function checkType(ctx: CpuContext, t: HostTensor, c: TypeClass, what = 'input'): void {
  if (!inClass(t.dtype, c)) throw new KernelInputError(ctx, `${what} has element type ${t.dtype}; ${ctx.node.opType} takes ${c} tensors`);
}

/** Run `f` (which may throw RangeError for integer division by zero) reporting such errors as bad input. */
function guarded(ctx: CpuContext, f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e instanceof RangeError) throw new KernelInputError(ctx, e.message);
    throw e;
  }
}

export interface UnaryDef {
  types: TypeClass;
  /** On floats (float16/bfloat16 computed in float32) and on integers up to 32 bits. */
  num: (x: number) => number;
  /** `num` over a whole array (no call per element), for hot ops; used wherever `num` would be. */
  run?: UnaryRun;
  /** On int64/uint64; without it those types are refused. */
  big?: (x: bigint) => bigint;
  /** The output is bool (IsNaN, IsInf). */
  bool?: boolean;
}

export function unaryOp(ctx: CpuContext, def: UnaryDef, t: HostTensor): HostTensor {
  checkType(ctx, t, def.types);
  const half = halfOf(t.dtype);
  const x = half ? widenHalf(t) : t;
  const out = allocTensor(def.bool ? 'bool' : x.dtype, x.dims, UNINIT); // map1 and the runs write every element
  if (isBig(x.dtype)) {
    if (!def.big) throw new KernelInputError(ctx, `${ctx.node.opType} does not take ${x.dtype} tensors`);
    map1(x.data as Vec<bigint>, out.data as Vec<bigint>, def.big);
  } else if (def.run) {
    def.run(x.data as Vec<number>, out.data as Vec<number>);
  } else {
    map1(x.data as Vec<number>, out.data as Vec<number>, def.num);
  }
  return half && !def.bool ? narrowHalf(out, half) : out;
}

/** A one-input kernel; `def` may depend on the node's attributes. */
export function unaryKernel(def: UnaryDef | ((ctx: CpuContext) => UnaryDef)): CpuKernel {
  return (inputs, ctx) => [unaryOp(ctx, typeof def === 'function' ? def(ctx) : def, tensorArg(inputs, 0, ctx))];
}

export interface BinaryDef {
  types: TypeClass;
  /** On floats (float16/bfloat16 computed in float32), and on integers up to 32 bits unless `int` is given. */
  num: (a: number, b: number) => number;
  /** On integers up to 32 bits, where their semantics differ (truncating division, wrapping product). */
  int?: (a: number, b: number) => number;
  /** `num` as a whole run (no call per element), for hot ops; used wherever `num` would be. */
  run?: Run2<number, number, number>;
  /** On int64/uint64 (returns a number when the output is bool); without it those types are refused. */
  big?: (a: bigint, b: bigint) => bigint | number;
  /** On strings (Equal); without it strings are refused. */
  str?: (a: string, b: string) => number;
  /** The output is bool (comparisons). */
  bool?: boolean;
  /**
   * The same op as a fused program instruction: float32 operands that broadcast (neither a scalar) run as a
   * one-instruction program (fused-eval.ts: a per-channel [C,1,1] operand staged as row fills, one wasm
   * call per block instead of one per run of the inner dim; bit for bit the same).
   */
  fused?: 'Add' | 'Sub' | 'Mul' | 'Div';
}

const PROGRAMS = Object.fromEntries((['Add', 'Sub', 'Mul', 'Div'] as const).map((op) => [op, { code: [{ op, x: { in: 0 }, y: { in: 1 } }] } satisfies Program]));

/** Dims of input 1 as broadcast against input 0: NumPy rules, or the `broadcast`/`axis` attributes before opset 7. */
export function rightDims(ctx: CpuContext, a: HostTensor, b: HostTensor): readonly number[] {
  if (ctx.opset < 7 && ctx.attrs.int('broadcast', 0) === 1) return legacyBroadcastB(a.dims.length, b.dims, ctx.attrs.int('axis')) as number[];
  return b.dims;
}

/** `def` applied to a and b with broadcasting; both must have one dtype. */
export function binaryOp(ctx: CpuContext, def: BinaryDef, a: HostTensor, b: HostTensor): HostTensor {
  if (a.dtype !== b.dtype) throw new KernelInputError(ctx, `input element types differ: ${a.dtype} and ${b.dtype}`);
  checkType(ctx, a, def.types);
  const half = halfOf(a.dtype);
  const x = half ? widenHalf(a) : a;
  const y = half ? widenHalf(b) : b;
  const yDims = rightDims(ctx, x, y);
  const outDims = broadcastShapes(x.dims, yDims);
  if (!outDims) throw new KernelInputError(ctx, `shapes [${a.dims.join(',')}] and [${b.dims.join(',')}] do not broadcast`);
  const out = allocTensor(def.bool ? 'bool' : x.dtype, outDims, UNINIT); // broadcast2 covers the output with runs
  const o = out.data as Vec<number>;
  guarded(ctx, () => {
    if (isBig(x.dtype)) {
      if (!def.big) throw new KernelInputError(ctx, `${ctx.node.opType} does not take ${x.dtype} tensors`);
      map2(x.data as Vec<bigint>, x.dims, y.data as Vec<bigint>, yDims, out.data as Vec<bigint | number>, outDims, def.big);
    } else if (x.dtype === 'string') {
      if (!def.str) throw new KernelInputError(ctx, `${ctx.node.opType} does not take string tensors`);
      map2(x.data as Vec<string>, x.dims, y.data as Vec<string>, yDims, o, outDims, def.str);
    } else {
      const int = half || x.dtype === 'float32' || x.dtype === 'float64' ? undefined : def.int;
      const xs = x.data as Vec<number>;
      const ys = y.data as Vec<number>;
      if (int) map2(xs, x.dims, ys, yDims, o, outDims, int);
      else if (def.fused && xs instanceof Float32Array && ys instanceof Float32Array && o instanceof Float32Array && xs.length > 1 && ys.length > 1 && !sameItems(x.dims, yDims)) {
        evaluateProgram(PROGRAMS[def.fused]!, [{ data: xs, dims: x.dims }, { data: ys, dims: yDims }], o, outDims);
      } else if (def.run) broadcast2(xs, x.dims, ys, yDims, o, outDims, def.run);
      else map2(xs, x.dims, ys, yDims, o, outDims, def.num);
    }
  });
  return half && !def.bool ? narrowHalf(out, half) : out;
}

/** A two-input kernel; `def` may depend on the node's attributes. */
export function binaryKernel(def: BinaryDef | ((ctx: CpuContext) => BinaryDef)): CpuKernel {
  return (inputs, ctx) => [binaryOp(ctx, typeof def === 'function' ? def(ctx) : def, tensorArg(inputs, 0, ctx), tensorArg(inputs, 1, ctx))];
}

/** Min/Max/Sum/Mean: `def` folded over all inputs (broadcast); `finish` post-processes the result. */
export function variadicKernel(def: BinaryDef, finish?: (ctx: CpuContext, t: HostTensor, count: number) => HostTensor): CpuKernel {
  return (inputs, ctx) => {
    if (inputs.length === 0) throw new KernelInputError(ctx, 'needs at least one input');
    const ts = inputs.map((_, i) => tensorArg(inputs, i, ctx));
    let acc = ts[0]!;
    checkType(ctx, acc, def.types);
    if (ts.length === 1) acc = { kind: 'tensor', dtype: acc.dtype, dims: [...acc.dims], data: cloneData(acc.dtype, acc.data) };
    for (let i = 1; i < ts.length; i++) acc = binaryOp(ctx, def, acc, ts[i]!);
    return [finish ? finish(ctx, acc, ts.length) : acc];
  };
}
