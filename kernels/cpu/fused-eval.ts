// Evaluates a fused elementwise program (graph/ops/fused-program.ts) over an output. First choice is
// the program compiled to WebAssembly SIMD (fused-wasm.ts), equal to the JS below bit for bit except for
// exp/sigmoid/tanh/erf, where it uses the unfused kernels' SIMD approximations. Where the program has no
// SIMD code (Log, Pow) or wasm is unavailable, the program runs as a JS loop compiled once (one iteration
// per element, every instruction in registers) over blocks of inputs gathered (or viewed) at the
// output's indices; where code generation is not allowed (a CSP without unsafe-eval) an interpreter runs
// each instruction as a loop over Float32Array temporaries instead. Both compute each instruction in
// double with the scalar functions of the unfused kernels and round to float32, so the result equals
// running the ops one by one bit for bit, except that the unfused Exp/Sigmoid/Tanh/Erf/Gelu use SIMD
// approximations on long runs (a few ulps; elementwise-simd.ts) where this loop calls the
// double-precision functions.
import { type Instr, type Operand, operandsOf, type Program } from '../../graph/ops/fused-program.js';
import { erf, powC, sigmoid } from './elementwise-scalar.js';
import { type Leaf, leafReader, READER_BLOCK as BLOCK } from './fused-leaves.js';
import { evaluateWasm } from './fused-wasm.js';

export type { Leaf } from './fused-leaves.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function runInstr(i: Instr, get: (o: Operand) => Float32Array, o: Float32Array, n: number): void {
  switch (i.op) {
    case 'Add': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = a[k]! + b[k]!; return; }
    case 'Sub': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = a[k]! - b[k]!; return; }
    case 'Mul': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = a[k]! * b[k]!; return; }
    case 'Div': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = a[k]! / b[k]!; return; }
    case 'Pow': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = powC(a[k]!, b[k]!); return; }
    case 'Max': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = Math.max(a[k]!, b[k]!); return; }
    case 'Min': { const a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = Math.min(a[k]!, b[k]!); return; }
    case 'Neg': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = -a[k]!; return; }
    case 'Abs': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.abs(a[k]!); return; }
    case 'Exp': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.exp(a[k]!); return; }
    case 'Log': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.log(a[k]!); return; }
    case 'Sqrt': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.sqrt(a[k]!); return; }
    case 'Reciprocal': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = 1 / a[k]!; return; }
    case 'Sigmoid': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = sigmoid(a[k]!); return; }
    case 'Tanh': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.tanh(a[k]!); return; }
    case 'Relu': { const a = get(i.x); for (let k = 0; k < n; k++) { const x = a[k]!; o[k] = x < 0 ? 0 : x; } return; }
    case 'Erf': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = erf(a[k]!); return; }
    case 'Floor': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.floor(a[k]!); return; }
    case 'Ceil': { const a = get(i.x); for (let k = 0; k < n; k++) o[k] = Math.ceil(a[k]!); return; }
    case 'HardSwish': { const a = get(i.x); for (let k = 0; k < n; k++) { const x = a[k]!; o[k] = x * Math.max(0, Math.min(1, x / 6 + 0.5)); } return; }
    case 'Clip': {
      const a = get(i.x);
      const { lo, hi } = i;
      for (let k = 0; k < n; k++) {
        let v = a[k]!;
        if (v < lo) v = lo;
        o[k] = v > hi ? hi : v;
      }
      return;
    }
    case 'HardSigmoid': { const a = get(i.x); const { alpha, beta } = i; for (let k = 0; k < n; k++) o[k] = Math.max(0, Math.min(1, alpha * a[k]! + beta)); return; }
    case 'LeakyRelu': { const a = get(i.x); const { alpha } = i; for (let k = 0; k < n; k++) { const x = a[k]!; o[k] = x < 0 ? alpha * x : x; } return; }
    case 'Gelu': {
      const a = get(i.x);
      if (i.tanh) for (let k = 0; k < n; k++) { const x = a[k]!; o[k] = 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
      else for (let k = 0; k < n; k++) { const x = a[k]!; o[k] = 0.5 * x * (1 + erf(x * Math.SQRT1_2)); }
      return;
    }
    case 'Where': { const c = get(i.cond), a = get(i.x), b = get(i.y); for (let k = 0; k < n; k++) o[k] = c[k] ? a[k]! : b[k]!; return; }
  }
}

type Compiled = (n: number, leaves: readonly Float32Array[], out: Float32Array) => void;

const lit = (v: number): string => (Object.is(v, -0) ? '-0' : String(v)); // Infinity, -Infinity and NaN are identifiers

/** The JS statement of instruction k (assigning t<k>) with operands already named. */
function instrJs(i: Instr, k: number, o: (x: Operand) => string): string {
  const x = o(i.x);
  const t = `t${k}`;
  const y = 'y' in i ? o(i.y) : '';
  const e = ((): string => {
    switch (i.op) {
      case 'Add': return `${x} + ${y}`;
      case 'Sub': return `${x} - ${y}`;
      case 'Mul': return `${x} * ${y}`;
      case 'Div': return `${x} / ${y}`;
      case 'Pow': return `powC(${x}, ${y})`;
      case 'Max': return `Math.max(${x}, ${y})`;
      case 'Min': return `Math.min(${x}, ${y})`;
      case 'Neg': return `-${x}`;
      case 'Abs': return `Math.abs(${x})`;
      case 'Exp': return `Math.exp(${x})`;
      case 'Log': return `Math.log(${x})`;
      case 'Sqrt': return `Math.sqrt(${x})`;
      case 'Reciprocal': return `1 / ${x}`;
      case 'Sigmoid': return `sigmoid(${x})`;
      case 'Tanh': return `Math.tanh(${x})`;
      case 'Relu': return `${x} < 0 ? 0 : ${x}`;
      case 'Erf': return `erf(${x})`;
      case 'Floor': return `Math.floor(${x})`;
      case 'Ceil': return `Math.ceil(${x})`;
      case 'HardSwish': return `${x} * Math.max(0, Math.min(1, ${x} / 6 + 0.5))`;
      case 'Clip': return `(${x} < ${lit(i.lo)} ? ${lit(i.lo)} : ${x}) > ${lit(i.hi)} ? ${lit(i.hi)} : (${x} < ${lit(i.lo)} ? ${lit(i.lo)} : ${x})`;
      case 'HardSigmoid': return `Math.max(0, Math.min(1, ${lit(i.alpha)} * ${x} + ${lit(i.beta)}))`;
      case 'LeakyRelu': return `${x} < 0 ? ${lit(i.alpha)} * ${x} : ${x}`;
      case 'Gelu': return i.tanh
        ? `0.5 * ${x} * (1 + Math.tanh(SQRT_2_OVER_PI * (${x} + 0.044715 * ${x} * ${x} * ${x})))`
        : `0.5 * ${x} * (1 + erf(${x} * Math.SQRT1_2))`;
      case 'Where': return `${o(i.cond)} ? ${x} : ${o(i.y)}`;
    }
  })();
  return `const ${t} = F(${e});`;
}

// One loop per program object: decodeProgram returns one object per program text, so a node's program
// is looked up without serializing it on every call. (The generated code depends on the program only.)
const compiled = new WeakMap<Program, Compiled | null>();

/** The program inputs its instructions read. */
function usedInputs(p: Program): Set<number> {
  const used = new Set<number>();
  for (const i of p.code) for (const x of operandsOf(i)) if ('in' in x) used.add(x.in);
  return used;
}

/** The program as one generated loop, or null where the platform forbids generating code. */
function compile(p: Program): Compiled | null {
  let fn = compiled.get(p);
  if (fn === undefined) compiled.set(p, (fn = generate(p)));
  return fn;
}

function generate(p: Program): Compiled | null {
  const o = (x: Operand): string => ('in' in x ? `a${x.in}` : 't' in x ? `t${x.t}` : `(${lit(x.c)})`);
  const used = usedInputs(p);
  const src = [
    ...[...used].map((i) => `const L${i} = leaves[${i}];`),
    'for (let k = 0; k < n; k++) {',
    ...[...used].map((i) => `  const a${i} = L${i}[k];`),
    ...p.code.map((i, k) => `  ${instrJs(i, k, o)}`),
    `  out[k] = t${p.code.length - 1};`,
    '}',
  ].join('\n');
  try {
    const make = new Function('F', 'powC', 'sigmoid', 'erf', 'SQRT_2_OVER_PI', `return (n, leaves, out) => {\n${src}\n};`);
    return make(Math.fround, powC, sigmoid, erf, SQRT_2_OVER_PI) as Compiled;
  } catch {
    return null; // EvalError under a Content-Security-Policy: interpret instead
  }
}

export interface EvaluateOptions {
  /**
   * Which evaluator runs: `wasm` (the default) the program's SIMD module where it has one, else the
   * generated JS loop; `js` that loop; `interpret` the instruction interpreter (tests compare all three).
   */
  readonly engine?: 'wasm' | 'js' | 'interpret';
}

/**
 * Evaluate `p` into `out` (float32, the broadcast shape `outDims`). `leaves[i]` is program input i.
 * `out` may be the data of a leaf of the same size (an epilogue applied in place): each instruction
 * reads and writes one element index at a time.
 */
export function evaluateProgram(p: Program, leaves: readonly (Leaf | undefined)[], out: Float32Array, outDims: readonly number[], opts: EvaluateOptions = {}): void {
  const engine = opts.engine ?? 'wasm';
  if (engine === 'wasm' && evaluateWasm(p, leaves, out, outDims)) return;
  const total = out.length;
  // Inputs no instruction reads (an epilogue's extra inputs a program ignores) are never gathered.
  const used = usedInputs(p);
  const readers = leaves.map((l, i) => (l && used.has(i) ? leafReader(l, outDims, total) : undefined));
  const fn = engine === 'interpret' ? null : compile(p);
  if (fn) {
    const empty = new Float32Array(0);
    for (let s = 0; s < total; s += BLOCK) {
      const n = Math.min(BLOCK, total - s);
      fn(n, readers.map((r) => (r ? r(s, n) : empty)), out.subarray(s, s + n));
    }
    return;
  }
  const consts = new Map<string, Float32Array>();
  const temps = p.code.map(() => new Float32Array(BLOCK));
  const last = p.code.length - 1;
  for (let s = 0; s < total; s += BLOCK) {
    const n = Math.min(BLOCK, total - s);
    const cache = new Map<number, Float32Array>();
    const get = (o: Operand): Float32Array => {
      if ('t' in o) return temps[o.t]!;
      if ('c' in o) {
        const key = Object.is(o.c, -0) ? '-0' : String(o.c); // a Map would merge 0 and -0
        let v = consts.get(key);
        if (!v) consts.set(key, (v = new Float32Array(BLOCK).fill(o.c)));
        return v;
      }
      let v = cache.get(o.in);
      if (!v) cache.set(o.in, (v = readers[o.in]!(s, n)));
      return v;
    };
    p.code.forEach((instr, k) => runInstr(instr, get, k === last ? out.subarray(s, s + n) : temps[k]!, n));
  }
}
