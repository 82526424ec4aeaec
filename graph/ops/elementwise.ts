// Op schemas and shape rules: elementwise family (unary math, binary math with broadcasting,
// comparisons, logic, variadic Min/Max/Sum/Mean, Where, Clip, Cast, activations).
import { BYTES, type DType, dtypeFromOnnx, isFloat, isInteger, isSigned, onnxTypeName } from '../dtype.js';
import { UnsupportedOpError } from '../errors.js';
import type { Dim } from '../ir.js';
import { op, type InferContext, type OpSchema, type ShapeRule } from './types.js';
import { broadcastDims, dtypeOf, fail, shapeOf, tensorOut } from './shape-util.js';

/** Element-type classes the elementwise ops accept. */
export type TypeClass = 'float' | 'numeric' | 'signed' | 'int' | 'uint' | 'bool' | 'any' | 'numbool';

export function inClass(d: DType, c: TypeClass): boolean {
  switch (c) {
    case 'float': return isFloat(d);
    case 'numeric': return d !== 'bool' && d !== 'string';
    case 'signed': return isSigned(d);
    case 'int': return isInteger(d);
    case 'uint': return isInteger(d) && !isSigned(d);
    case 'bool': return d === 'bool';
    case 'numbool': return d !== 'string';
    case 'any': return true;
  }
}

function checkClass(ctx: InferContext, i: number, c: TypeClass): DType | undefined {
  const d = dtypeOf(ctx, i);
  if (d !== undefined && !inClass(d, c)) fail(ctx, `input ${i} has element type ${d}; ${ctx.node.opType} takes ${c} tensors`);
  return d;
}

/** Inputs `idx` must share one element type (when known); returns it. */
function sameType(ctx: InferContext, idx: readonly number[]): DType | undefined {
  let t: DType | undefined;
  for (const i of idx) {
    const d = dtypeOf(ctx, i);
    if (d === undefined) continue;
    if (t !== undefined && d !== t) fail(ctx, `input ${i} has element type ${d}, expected ${t} like the others`);
    t ??= d;
  }
  return t;
}

/** Shape of input 1 as seen by the pre-opset-7 `broadcast=1, axis=k` rule: aligned at `axis`, padded with 1s. */
export function legacyBroadcastB(aRank: number, b: readonly Dim[], axis: number | undefined): Dim[] {
  if (axis === undefined) return [...b];
  const ax = axis < 0 ? axis + aRank : axis;
  const tail = Math.max(0, aRank - ax - b.length);
  return [...b, ...new Array<Dim>(tail).fill(1)];
}

/** Broadcast shape of the given inputs, honouring the legacy broadcast attribute of opsets < 7. */
function broadcastShape(ctx: InferContext, idx: readonly number[]): Dim[] | undefined {
  const shapes = idx.map((i) => shapeOf(ctx, i));
  if (shapes.some((s) => s === undefined)) return undefined;
  if (ctx.opset < 7 && idx.length === 2 && ctx.attrs.int('broadcast', 0) === 1) {
    const a = shapes[0]!;
    const b = legacyBroadcastB(a.length, shapes[1]!, ctx.attrs.int('axis'));
    return broadcastDims(a, b, ctx);
  }
  let out: Dim[] = [];
  for (const s of shapes) out = broadcastDims(out, s!, ctx);
  return out;
}

/** Same type and shape as input 0, which must be of class `c`; `out` overrides the output type. */
function unary(c: TypeClass, out?: DType): ShapeRule {
  return (ctx) => {
    const d = checkClass(ctx, 0, c);
    return [tensorOut(out ?? d, shapeOf(ctx, 0))];
  };
}

/** Inputs of one type of class `c`, broadcast; `out` overrides the output type (comparisons: bool). */
function nary(c: TypeClass, out?: DType): ShapeRule {
  return (ctx) => {
    const idx = [...Array(ctx.inputCount).keys()];
    if (idx.length === 0) fail(ctx, 'needs at least one input');
    idx.forEach((i) => checkClass(ctx, i, c));
    const d = sameType(ctx, idx);
    return [tensorOut(out ?? d, broadcastShape(ctx, idx))];
  };
}

/** Two inputs of possibly different types (Pow's exponent); output takes input 0's type. */
function mixedBinary(c0: TypeClass, c1: TypeClass): ShapeRule {
  return (ctx) => {
    const d = checkClass(ctx, 0, c0);
    checkClass(ctx, 1, c1);
    return [tensorOut(d, broadcastShape(ctx, [0, 1]))];
  };
}

/** The element type named by Cast's `to` (an int code; a type name string before opset 6). */
export function castTarget(to: number | string | undefined, where: { name: string; opType: string; opset: number }): DType {
  if (to === undefined) throw new UnsupportedOpError([{ op: where.opType, domain: '', opset: where.opset, nodes: [where.name], reason: "attribute 'to' is missing" }]);
  const d = typeof to === 'string' ? dtypeFromTypeName(to) : dtypeFromOnnx(to);
  if (d === undefined) {
    const name = typeof to === 'string' ? to : onnxTypeName(to);
    throw new UnsupportedOpError([{ op: where.opType, domain: '', opset: where.opset, nodes: [where.name], reason: `element type ${name} is not supported` }]);
  }
  return d;
}

const TYPE_NAMES: Record<string, DType> = {
  FLOAT: 'float32', FLOAT16: 'float16', DOUBLE: 'float64', BFLOAT16: 'bfloat16', INT8: 'int8', INT16: 'int16',
  INT32: 'int32', INT64: 'int64', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool', STRING: 'string',
};
function dtypeFromTypeName(s: string): DType | undefined {
  return TYPE_NAMES[s.toUpperCase()];
}

function castToAttr(ctx: InferContext): DType {
  const a = ctx.node.attributes['to'];
  const to = a?.kind === 'int' || a?.kind === 'string' ? a.value : undefined;
  return castTarget(to, { name: ctx.node.name, opType: ctx.node.opType, opset: ctx.opset });
}

const float = unary('float');
const numeric = unary('numeric');
const signed = unary('signed');
const arith = nary('numeric');
const compare = nary('numeric', 'bool');
const logic = nary('bool', 'bool');
const bitwise = nary('int');

export const elementwiseOps = {
  // ---- unary math ----
  Abs: op(numeric, { since: 1 }),
  Neg: op(signed, { since: 1 }),
  Reciprocal: op(float, { since: 1 }),
  Floor: op(float, { since: 1 }),
  Ceil: op(float, { since: 1 }),
  Round: op(float, { since: 11, doc: 'round half to even' }),
  Sqrt: op(float, { since: 1 }),
  Exp: op(float, { since: 1 }),
  Log: op(float, { since: 1 }),
  Sin: op(float, { since: 7 }),
  Cos: op(float, { since: 7 }),
  Tan: op(float, { since: 7 }),
  Asin: op(float, { since: 7 }),
  Acos: op(float, { since: 7 }),
  Atan: op(float, { since: 7 }),
  Sinh: op(float, { since: 9 }),
  Cosh: op(float, { since: 9 }),
  Tanh: op(float, { since: 1 }),
  Asinh: op(float, { since: 9 }),
  Acosh: op(float, { since: 9 }),
  Atanh: op(float, { since: 9 }),
  Erf: op(numeric, { since: 9 }),
  Sign: op(numeric, { since: 9 }),
  IsNaN: op(unary('float', 'bool'), { since: 9 }),
  IsInf: op(unary('float', 'bool'), { since: 10 }),
  Not: op(unary('bool'), { since: 1 }),
  BitwiseNot: op(unary('int'), { since: 18 }),

  // ---- binary math (NumPy broadcasting; `broadcast`/`axis` attributes before opset 7) ----
  Add: op(arith, { since: 1 }),
  Sub: op(arith, { since: 1 }),
  Mul: op(arith, { since: 1 }),
  Div: op(arith, { since: 1, doc: 'integer division truncates toward zero' }),
  Pow: op(mixedBinary('numeric', 'numeric'), { since: 1, doc: 'the exponent may have another type than the base' }),
  Mod: op(arith, { since: 10, doc: 'sign of the divisor, or of the dividend with fmod=1' }),
  BitShift: op(nary('uint'), { since: 11 }),
  BitwiseAnd: op(bitwise, { since: 18 }),
  BitwiseOr: op(bitwise, { since: 18 }),
  BitwiseXor: op(bitwise, { since: 18 }),
  And: op(logic, { since: 1 }),
  Or: op(logic, { since: 1 }),
  Xor: op(logic, { since: 1 }),

  // ---- comparisons ----
  Equal: op(nary('any', 'bool'), { since: 1 }),
  Greater: op(compare, { since: 1 }),
  Less: op(compare, { since: 1 }),
  GreaterOrEqual: op(compare, { since: 12 }),
  LessOrEqual: op(compare, { since: 12 }),

  // ---- variadic, selection, clipping ----
  Min: op(arith, { since: 1 }),
  Max: op(arith, { since: 1 }),
  Sum: op(nary('float'), { since: 1 }),
  Mean: op(nary('float'), { since: 1 }),
  Where: op((ctx) => {
    checkClass(ctx, 0, 'bool');
    const d = sameType(ctx, [1, 2]);
    return [tensorOut(d, broadcastShape(ctx, [0, 1, 2]))];
  }, { since: 9 }),
  Clip: op((ctx) => {
    const d = checkClass(ctx, 0, 'numeric');
    if (ctx.opset >= 11) {
      for (const i of [1, 2]) {
        const s = shapeOf(ctx, i);
        if (s && s.length > 0 && !s.every((x) => x === 1)) fail(ctx, `input ${i} (${i === 1 ? 'min' : 'max'}) must be a scalar, got shape [${s.join(',')}]`);
      }
      sameType(ctx, [0, 1, 2]);
    }
    return [tensorOut(d, shapeOf(ctx, 0))];
  }, { since: 1 }),

  // ---- casts ----
  Cast: op((ctx) => [tensorOut(castToAttr(ctx), shapeOf(ctx, 0))], { since: 1 }),
  CastLike: op((ctx) => [tensorOut(dtypeOf(ctx, 1), shapeOf(ctx, 0))], { since: 15 }),
  BitCast: op((ctx) => {
    const to = castToAttr(ctx);
    const from = dtypeOf(ctx, 0);
    if (from !== undefined && (from === 'string' || to === 'string' || BYTES[from] !== BYTES[to])) fail(ctx, `cannot reinterpret ${from} as ${to}: the types differ in width`);
    return [tensorOut(to, shapeOf(ctx, 0))];
  }, { since: 26, doc: 'reinterpret the bits; both types must have the same width' }),

  // ---- activations ----
  Relu: op(signed, { since: 1 }),
  LeakyRelu: op(float, { since: 1 }),
  // The slope broadcasts to X (unidirectionally); before opset 7 a 1-D slope may be per channel.
  PRelu: op((ctx) => {
    const d = checkClass(ctx, 0, 'numeric');
    sameType(ctx, [0, 1]);
    return [tensorOut(d, shapeOf(ctx, 0))];
  }, { since: 1 }),
  Elu: op(float, { since: 1 }),
  Selu: op(float, { since: 1 }),
  Celu: op(float, { since: 12 }),
  Gelu: op(float, { since: 20 }),
  HardSigmoid: op(float, { since: 1 }),
  HardSwish: op(float, { since: 14 }),
  Mish: op(float, { since: 18 }),
  Softplus: op(float, { since: 1 }),
  Softsign: op(float, { since: 1 }),
  ThresholdedRelu: op(float, { since: 10 }),
  Sigmoid: op(float, { since: 1 }),
  Swish: op(float, { since: 24 }),
  Shrink: op(numeric, { since: 9 }),
} satisfies Record<string, OpSchema>;
