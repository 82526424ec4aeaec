// WGSL of a fused elementwise program (graph/ops/fused-program.ts): one `let` per instruction, the
// same f32 expressions as the unfused emitters (elementwise.ts), and the epilogue function that the
// Conv and MatMul/Gemm shaders call before their store. Everything here is generated from the
// program, which is part of each shader's spec (and so of its pipeline key).
import type { EpilogueRead } from '../../graph/ops/fused.js';
import { epilogueRead } from '../../graph/ops/fused.js';
import type { Instr, Operand } from '../../graph/ops/fused-program.js';
import type { GpuKernelContext } from './types.js';
import { HELPERS } from './elementwise.js';
import { type BindingDecl, flit } from './wgsl.js';

function instrExpr(i: Instr, o: (x: Operand) => string): string {
  const x = o(i.x);
  switch (i.op) {
    case 'Add': return `${x} + ${o(i.y)}`;
    case 'Sub': return `${x} - ${o(i.y)}`;
    case 'Mul': return `${x} * ${o(i.y)}`;
    case 'Div': return `${x} / ${o(i.y)}`;
    case 'Pow': return `tg_pow(${x}, ${o(i.y)})`;
    case 'Max': return `max(${x}, ${o(i.y)})`;
    case 'Min': return `min(${x}, ${o(i.y)})`;
    case 'Neg': return `-${x}`;
    case 'Abs': return `abs(${x})`;
    case 'Exp': return `exp(${x})`;
    case 'Log': return `log(${x})`;
    case 'Sqrt': return `sqrt(${x})`;
    case 'Reciprocal': return `1.0 / ${x}`;
    case 'Sigmoid': return `1.0 / (1.0 + exp(-${x}))`;
    case 'Tanh': return `tg_tanh(${x})`;
    case 'Relu': return `max(${x}, 0.0)`;
    case 'Erf': return `tg_erf(${x})`;
    case 'Floor': return `floor(${x})`;
    case 'Ceil': return `ceil(${x})`;
    case 'HardSwish': return `${x} * clamp(${x} / 6.0 + 0.5, 0.0, 1.0)`;
    case 'Clip': return `min(max(${x}, ${flit(i.lo)}), ${flit(i.hi)})`;
    case 'HardSigmoid': return `clamp(${flit(i.alpha)} * ${x} + ${flit(i.beta)}, 0.0, 1.0)`;
    case 'LeakyRelu': return `select(${flit(i.alpha)} * ${x}, ${x}, ${x} >= 0.0)`;
    case 'Gelu': return i.tanh
      ? `0.5 * ${x} * (1.0 + tg_tanh(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x})))`
      : `0.5 * ${x} * (1.0 + tg_erf(${x} * 0.7071067811865476))`;
    case 'Where': return `select(${o(i.y)}, ${x}, ${o(i.cond)} != 0.0)`;
  }
}

/**
 * `let t0 = ...; let t1 = ...;` for a program whose input i is the f32 variable `a<i>`; the result is
 * `t<last>`. Returns the statements and the helper functions they call (module scope).
 */
export function programWgsl(code: readonly Instr[], indent = '  '): { body: string; result: string; helpers: string } {
  // Negative literals in parentheses: `-` before one would lex as WGSL's `--`.
  const o = (x: Operand): string => ('in' in x ? `a${x.in}` : 't' in x ? `t${x.t}` : `(${flit(x.c)})`);
  const body = code.map((i, k) => `${indent}let t${k}: f32 = ${instrExpr(i, o)};`).join('\n');
  const used = Object.keys(HELPERS).filter((h) => body.includes(h) || (h === 'tg_isnan' && body.includes('tg_pow')));
  return { body, result: `t${code.length - 1}`, helpers: used.map((h) => HELPERS[h]).join('\n') };
}

/** An epilogue as the shaders take it: the program and how each extra input is read. */
export interface EpilogueSpec {
  readonly code: readonly Instr[];
  /** Extra input k (program input k + 1) is bound as `e<k+1>`. */
  readonly reads: readonly EpilogueRead[];
}

/** What a fused op's plan passes to the Conv/MatMul/Gemm emitters. */
export interface EpilogueArgs {
  readonly code: readonly Instr[];
  /** Node inputs of the extra operands, in program-input order (program input k + 1). */
  readonly inputs: readonly number[];
}

/** The spec for an output of `outDims`, or why the epilogue cannot run in the shader. */
export function epilogueSpec(ctx: GpuKernelContext, e: EpilogueArgs, outDims: readonly number[], channelAxis: number): EpilogueSpec | string {
  const reads: EpilogueRead[] = [];
  for (const i of e.inputs) {
    const t = ctx.inputs[i];
    if (!t || t.dtype !== 'float32') return `epilogue input ${i} is ${t?.dtype ?? 'missing'}`;
    const r = epilogueRead(t.dims, outDims, channelAxis);
    if (!r) return `epilogue input [${t.dims.join(',')}] does not broadcast onto [${outDims.join(',')}] per channel`;
    reads.push(r);
  }
  return { code: e.code, reads };
}

/** Storage declarations of the extra inputs (bound after the op's own inputs, before the output). */
export function epilogueDecls(e: EpilogueSpec | undefined): BindingDecl[] {
  return (e?.reads ?? []).map((_, k) => ({ name: `e${k + 1}`, type: 'f32' }));
}

/** `fn tg_epi(acc, fi, ch) -> f32` and a newline: the epilogue at flat output index fi and channel ch ('' without one, so shaders without an epilogue keep their source). */
export function epilogueFn(e: EpilogueSpec | undefined): string {
  if (!e) return '';
  const w = programWgsl(e.code);
  const loads = e.reads.map((r, k) => `  let a${k + 1} = e${k + 1}[${r === 'full' ? 'fi' : r === 'channel' ? 'ch' : '0u'}];`);
  return `${w.helpers}
fn tg_epi(acc: f32, fi: u32, ch: u32) -> f32 {
  let a0 = acc;
${loads.join('\n')}
${w.body}
  return ${w.result};
}
`;
}

/** `v` through the epilogue (or `v` unchanged without one). */
export function applyEpilogue(e: EpilogueSpec | undefined, v: string, fi: string, ch: string): string {
  return e ? `tg_epi(${v}, ${fi}, ${ch})` : v;
}
