// The small typed expression program of tgraph's fused elementwise kernels (FusedElementwise and
// the epilogues of FusedConv/FusedMatMul/FusedGemm). The lowering passes write it into a string
// attribute; the CPU kernel evaluates it and the WGSL emitter turns it into one shader.
//
// A program is a list of instructions in dependency order; each reads operands that are node inputs
// (`{ in: i }`), results of earlier instructions (`{ t: j }`) or float32 constants (`{ c: v }`).
// The last instruction's result is the output. Every value is float32 except Where's condition
// (a bool input); each instruction rounds to float32, as the unfused ops do.
import { GraphError } from '../errors.js';

export type Operand = { readonly in: number } | { readonly t: number } | { readonly c: number };

export const UNARY_OPS = ['Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Tanh', 'Relu', 'Erf', 'Floor', 'Ceil', 'HardSwish'] as const;
export const BINARY_OPS = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export type BinaryOp = (typeof BINARY_OPS)[number];

export type Instr =
  | { readonly op: UnaryOp; readonly x: Operand }
  | { readonly op: BinaryOp; readonly x: Operand; readonly y: Operand }
  /** NaN passes through; lo > hi gives hi (ONNX Clip). */
  | { readonly op: 'Clip'; readonly x: Operand; readonly lo: number; readonly hi: number }
  | { readonly op: 'HardSigmoid'; readonly x: Operand; readonly alpha: number; readonly beta: number }
  | { readonly op: 'LeakyRelu'; readonly x: Operand; readonly alpha: number }
  | { readonly op: 'Gelu'; readonly x: Operand; readonly tanh: boolean }
  /** cond is a bool node input. */
  | { readonly op: 'Where'; readonly cond: Operand; readonly x: Operand; readonly y: Operand };

export type FusedOp = Instr['op'];
export const FUSED_OPS: readonly FusedOp[] = [...UNARY_OPS, ...BINARY_OPS, 'Clip', 'HardSigmoid', 'LeakyRelu', 'Gelu', 'Where'];

export interface Program {
  readonly code: readonly Instr[];
}

/** The operands an instruction reads, in order. */
export function operandsOf(i: Instr): Operand[] {
  if (i.op === 'Where') return [i.cond, i.x, i.y];
  if ('y' in i) return [i.x, i.y];
  return [i.x];
}

const isUnary = (op: string): op is UnaryOp => (UNARY_OPS as readonly string[]).includes(op);
const isBinary = (op: string): op is BinaryOp => (BINARY_OPS as readonly string[]).includes(op);

/** Node inputs the program reads (indices), sorted. */
export function programInputs(p: Program): number[] {
  const s = new Set<number>();
  for (const i of p.code) for (const o of operandsOf(i)) if ('in' in o) s.add(o.in);
  return [...s].sort((a, b) => a - b);
}

/** Inputs used as Where conditions (bool). */
export function conditionInputs(p: Program): Set<number> {
  const s = new Set<number>();
  for (const i of p.code) if (i.op === 'Where' && 'in' in i.cond) s.add(i.cond.in);
  return s;
}

/** JSON, with ±Infinity, NaN and -0 written as strings (JSON has no such numbers). */
export function encodeProgram(p: Program): string {
  return JSON.stringify(p.code, (_k, v: unknown) => (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)) ? String(Object.is(v, -0) ? '-0' : v) : v));
}

const SPECIAL: Record<string, number> = { Infinity, '-Infinity': -Infinity, NaN, '-0': -0 };
const numberOf = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v in SPECIAL ? SPECIAL[v] : undefined);

const decoded = new Map<string, Program>();

/** Parse and check a program attribute (cached: kernels decode it on every run). */
export function decodeProgram(text: string, inputCount: number, where = 'program'): Program {
  const hit = decoded.get(text);
  if (hit) return hit;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new GraphError(`${where}: not JSON`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new GraphError(`${where}: expected a non-empty instruction list`);
  const num = (v: unknown, what: string): number => {
    const n = numberOf(v);
    if (n === undefined) throw new GraphError(`${where}: ${what} is not a number`);
    return n;
  };
  const code: Instr[] = raw.map((r: unknown, k: number): Instr => {
    if (typeof r !== 'object' || r === null) throw new GraphError(`${where}: instruction ${k} is not an object`);
    const o = r as Record<string, unknown>;
    const opnd = (v: unknown): Operand => {
      const x = v as Record<string, unknown> | undefined;
      if (x && typeof x.in === 'number' && Number.isInteger(x.in) && x.in >= 0 && x.in < inputCount) return { in: x.in };
      if (x && typeof x.t === 'number' && Number.isInteger(x.t) && x.t >= 0 && x.t < k) return { t: x.t };
      const c = x ? numberOf(x.c) : undefined;
      if (c !== undefined) return { c };
      throw new GraphError(`${where}: instruction ${k} (${String(o.op)}) has a bad operand ${JSON.stringify(v)}`);
    };
    const op = String(o.op);
    if (isUnary(op)) return { op, x: opnd(o.x) };
    if (isBinary(op)) return { op, x: opnd(o.x), y: opnd(o.y) };
    switch (op) {
      case 'Clip': return { op, x: opnd(o.x), lo: num(o.lo, 'lo'), hi: num(o.hi, 'hi') };
      case 'HardSigmoid': return { op, x: opnd(o.x), alpha: num(o.alpha, 'alpha'), beta: num(o.beta, 'beta') };
      case 'LeakyRelu': return { op, x: opnd(o.x), alpha: num(o.alpha, 'alpha') };
      case 'Gelu': return { op, x: opnd(o.x), tanh: o.tanh === true };
      case 'Where': return { op, cond: opnd(o.cond), x: opnd(o.x), y: opnd(o.y) };
      default: throw new GraphError(`${where}: unknown instruction '${op}'`);
    }
  });
  const p = { code };
  if (decoded.size > 4096) decoded.clear();
  decoded.set(text, p);
  return p;
}

/** One line per instruction, for reports and error messages. */
export function formatProgram(p: Program): string {
  const o = (x: Operand) => ('in' in x ? `in${x.in}` : 't' in x ? `t${x.t}` : String(x.c));
  return p.code.map((i, k) => `t${k} = ${i.op}(${operandsOf(i).map(o).join(', ')})`).join('; ');
}
