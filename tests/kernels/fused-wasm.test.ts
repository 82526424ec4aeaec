// Fused programs compiled to WebAssembly SIMD (kernels/cpu/fused-wasm*.ts) must give what the
// generated JS loop gives bit for bit (NaN, ±0, ±Inf, subnormals, block edges, every instruction, every
// way of staging an input), and what the unfused kernels give bit for bit, the SIMD exp/sigmoid/tanh/erf
// included (both use the same approximations on runs of 32 or more).
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import { type Instr, type Operand, type Program } from '../../graph/ops/fused-program.js';
import type { HostTensor } from '../../graph/tensor.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { evaluateProgram, type Leaf } from '../../kernels/cpu/fused-eval.js';
import { evaluateWasm, fusedWasmModules, setFusedWasm, WASM_BLOCK } from '../../kernels/cpu/fused-wasm.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Values over a wide range with the IEEE specials sprinkled in. */
function data(n: number, seed: number, scale = 7): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.731 + seed * 1.7) * scale * (i % 13 === 0 ? 1e-39 : i % 17 === 0 ? 1e5 : 1);
  const specials = [NaN, -0, 0, Infinity, -Infinity, 6, -3, 3, 1e-45, -1e-45];
  for (let i = seed % 5; i < n; i += 29) a[i] = specials[(i + seed) % specials.length]!;
  return a;
}
const bools = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 3 === 0 ? 1 : 0));

function same(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) if (!Object.is(got[i], want[i])) expect([what, i, got[i]]).toEqual([what, i, want[i]]);
}

/** The program through wasm (asserting it ran there) and through the JS loop; returns the wasm result. */
function bothEngines(p: Program, leaves: Leaf[], dims: number[], what: string): Float32Array {
  const w = new Float32Array(size(dims));
  const j = new Float32Array(size(dims));
  expect(evaluateWasm(p, leaves, w, dims), `${what}: runs as wasm`).toBe(true);
  evaluateProgram(p, leaves, j, dims, { engine: 'js' });
  return (same(w, j, what), w);
}

function unfused(op: string, inputs: HostTensor[], attrs: Record<string, Attr> = {}): Float32Array {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes: attrs };
  const ctx = { node, opset: 20, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx)[0]!.data as Float32Array;
}
const t = (dims: number[], d: Float32Array | Uint8Array): HostTensor => ({ kind: 'tensor', dtype: d instanceof Uint8Array ? 'bool' : 'float32', dims, data: d });
const f = (v: number): Attr => ({ kind: 'float', value: v });

const N = WASM_BLOCK * 2 + 37; // three blocks, the last not a whole vector
const X: Operand = { in: 0 };
const Y: Operand = { in: 1 };

describe('fused programs as WebAssembly SIMD', () => {
  const x = data(N, 1);
  const y = data(N, 2);
  const leaves = [{ data: x, dims: [N] }, { data: y, dims: [N] }];

  const binary = ['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'] as const;
  it.each(binary)('%s equals the JS loop and the unfused kernel bit for bit', (op) => {
    const w = bothEngines({ code: [{ op, x: X, y: Y }] }, leaves, [N], op);
    same(w, unfused(op, [t([N], x), t([N], y)]), `${op} unfused`);
  });

  const unary = ['Neg', 'Abs', 'Sqrt', 'Floor', 'Ceil', 'Reciprocal', 'Relu', 'HardSwish', 'Exp', 'Log', 'Sigmoid', 'Tanh', 'Erf'] as const;
  it.each(unary)('%s equals the unfused kernel bit for bit', (op) => {
    const w = new Float32Array(N);
    expect(evaluateWasm({ code: [{ op, x: X }] }, leaves, w, [N])).toBe(true);
    same(w, unfused(op, [t([N], x)]), op);
    // The JS loop computes the transcendentals in double; the rest it matches exactly.
    if (!['Exp', 'Log', 'Sigmoid', 'Tanh', 'Erf'].includes(op)) bothEngines({ code: [{ op, x: X }] }, leaves, [N], op);
  });

  it('computes HardSwish as the JS loop over a sweep of every float32 bit pattern', () => {
    // The wasm code multiplies by 1/6 where the JS divides by 6 (equal after rounding to float32).
    const bits = Uint32Array.from({ length: 1 << 20 }, (_, i) => (i * 4099 + (i >> 7)) >>> 0);
    const xs = new Float32Array(bits.buffer);
    bothEngines({ code: [{ op: 'HardSwish', x: X }] }, [{ data: xs, dims: [xs.length] }], [xs.length], 'HardSwish sweep');
  });

  it('takes attributes float32 cannot hold through double (Clip, LeakyRelu, HardSigmoid, constants)', () => {
    const cases: [Instr, string, HostTensor[], Record<string, Attr>][] = [
      [{ op: 'Clip', x: X, lo: -1, hi: 6 }, 'Clip', [t([N], x), t([], Float32Array.of(-1)), t([], Float32Array.of(6))], {}],
      [{ op: 'LeakyRelu', x: X, alpha: Math.fround(0.1) }, 'LeakyRelu', [t([N], x)], { alpha: f(Math.fround(0.1)) }],
      [{ op: 'LeakyRelu', x: X, alpha: 0.1 }, 'LeakyRelu', [t([N], x)], { alpha: f(0.1) }],
      [{ op: 'HardSigmoid', x: X, alpha: Math.fround(1 / 6), beta: 0.5 }, 'HardSigmoid', [t([N], x)], { alpha: f(Math.fround(1 / 6)), beta: f(0.5) }],
      [{ op: 'HardSigmoid', x: X, alpha: 0.2, beta: 0.3 }, 'HardSigmoid', [t([N], x)], { alpha: f(0.2), beta: f(0.3) }],
      // alpha·x + beta is -0 at x = ±0 here, which Math.max(0, ·) makes +0.
      [{ op: 'HardSigmoid', x: X, alpha: -0.5, beta: -0 }, 'HardSigmoid', [t([N], x)], { alpha: f(-0.5), beta: f(-0) }],
    ];
    for (const [instr, op, inputs, attrs] of cases) {
      const w = bothEngines({ code: [instr] }, leaves, [N], `${op} ${JSON.stringify(instr)}`);
      same(w, unfused(op, inputs, attrs), `${op} unfused`);
    }
    // Bounds and constants float32 cannot hold: only the JS loop is the reference (no unfused op takes them).
    bothEngines({ code: [{ op: 'Clip', x: X, lo: -0.1, hi: 0.3 }] }, leaves, [N], 'Clip double bounds');
    bothEngines({ code: [{ op: 'Clip', x: X, lo: NaN, hi: 2 }] }, leaves, [N], 'Clip NaN bound');
    bothEngines({ code: [{ op: 'Clip', x: X, lo: 3, hi: -3 }] }, leaves, [N], 'Clip lo > hi');
    for (const op of binary) {
      bothEngines({ code: [{ op, x: X, y: { c: 0.1 } }] }, leaves, [N], `${op}(x, 0.1)`);
      bothEngines({ code: [{ op, x: { c: -0 }, y: X }] }, leaves, [N], `${op}(-0, x)`);
    }
  });

  it('computes Gelu as the unfused kernel does (double around the SIMD tanh/erf)', () => {
    for (const tanh of [false, true]) {
      const w = new Float32Array(N);
      expect(evaluateWasm({ code: [{ op: 'Gelu', x: X, tanh }] }, leaves, w, [N])).toBe(true);
      same(w, unfused('Gelu', [t([N], x)], tanh ? { approximate: { kind: 'string', value: 'tanh' } } : {}), `Gelu tanh=${tanh}`);
    }
  });

  it('selects with Where on a bool input and on a computed condition (NaN and -0 are false)', () => {
    const c = bools(N, 3);
    const w = bothEngines({ code: [{ op: 'Where', cond: { in: 2 }, x: X, y: Y }] }, [...leaves, { data: c, dims: [N] }], [N], 'Where');
    same(w, unfused('Where', [t([N], c), t([N], x), t([N], y)]), 'Where unfused');
    bothEngines({ code: [{ op: 'Sub', x: X, y: Y }, { op: 'Where', cond: { t: 0 }, x: X, y: { c: 2 } }] }, leaves, [N], 'Where on a float');
  });

  it('runs a chain reading inputs and temporaries several times, in place as an epilogue does', () => {
    const p: Program = { code: [
      { op: 'Add', x: X, y: Y }, { op: 'HardSwish', x: { t: 0 } }, { op: 'Mul', x: { t: 1 }, y: X },
      { op: 'Sigmoid', x: { t: 2 } }, { op: 'Clip', x: { t: 0 }, lo: 0, hi: 6 }, { op: 'Sub', x: { t: 4 }, y: { t: 3 } },
      { op: 'LeakyRelu', x: { t: 5 }, alpha: 0.01 }, { op: 'Max', x: { t: 6 }, y: { c: -1 } },
    ] };
    const want = new Float32Array(N);
    evaluateProgram(p, leaves, want, [N], { engine: 'js' });
    const inPlace = Float32Array.from(x);
    expect(evaluateWasm(p, [{ data: inPlace, dims: [N] }, leaves[1]!], inPlace, [N])).toBe(true);
    // Sigmoid is the SIMD approximation in wasm: compare with it applied alone by the unfused kernel.
    const t2 = new Float32Array(N);
    evaluateProgram({ code: p.code.slice(0, 3) }, leaves, t2, [N], { engine: 'js' });
    const sig = unfused('Sigmoid', [t([N], t2)]);
    const rest = new Float32Array(N);
    const q: Program = { code: [{ op: 'Add', x: X, y: Y }, { op: 'HardSwish', x: { t: 0 } }, { op: 'Clip', x: { t: 0 }, lo: 0, hi: 6 }, { op: 'Sub', x: { t: 2 }, y: { in: 2 } }, { op: 'LeakyRelu', x: { t: 3 }, alpha: 0.01 }, { op: 'Max', x: { t: 4 }, y: { c: -1 } }] };
    evaluateProgram(q, [...leaves, { data: sig, dims: [N] }], rest, [N], { engine: 'js' });
    same(inPlace, rest, 'chain in place');
  });

  // Each leaf shape exercises one staging: rows ([C,1,1], rows of 7x7 = 49 not a whole vector; a
  // [1,C,1,1] over batch 3), periodic ([W] bias, [H,W] over the batch, a short [3]), tile (a middle
  // broadcast), gather (a short trailing run over a broadcast one), scalar.
  const shapes: [string, number[], number[]][] = [
    ['per-channel rows', [2, 24, 9, 40], [24, 1, 1]],
    ['rows of 49', [6, 40, 7, 7], [1, 40, 1, 1]],
    ['rows of one-element inner dims', [5, 200, 1, 1], [200, 1, 1]],
    ['a trailing vector', [300, 64], [64]],
    ['a trailing plane over the batch', [8, 37, 41], [37, 41]],
    ['a middle broadcast', [6, 33, 48], [6, 1, 48]],
    ['short rows, gathered', [80, 50, 3], [50, 1]],
    ['a short vector', [4000, 3], [3]],
    ['a scalar', [9, 1000], [1]],
    ['both ways', [6, 1, 48], [1, 33, 1]],
  ];
  it.each(shapes)('stages a broadcast leaf: %s', (_what, outDims, leafDims) => {
    const dims = broadcastOf(outDims, leafDims);
    if (_what !== 'rows of one-element inner dims') expect(size(dims), 'crosses a block edge').toBeGreaterThan(WASM_BLOCK);
    const a = data(size(dims), 4);
    const b = data(size(leafDims), 5);
    const al = { data: a, dims };
    const bl = { data: b, dims: leafDims };
    for (const op of ['Add', 'Sub', 'Mul', 'Max'] as const) {
      const w = bothEngines({ code: [{ op, x: X, y: Y }] }, [al, bl], dims, `${op} [${dims}] with [${leafDims}]`);
      same(w, unfused(op, [t(dims, a), t(leafDims, b)]), `${op} unfused`);
      bothEngines({ code: [{ op, x: Y, y: X }, { op: 'Where', cond: { in: 2 }, x: { t: 0 }, y: Y }] }, [al, bl, { data: bools(size(leafDims), 1), dims: leafDims }], dims, `${op} Where [${leafDims}]`);
    }
  });

  it('shares one module among programs that differ only in constants, each with its own values', () => {
    const affine = (s: number, b: number, lo: number, hi: number): Program => ({ code: [
      { op: 'Mul', x: { c: s }, y: X }, { op: 'Add', x: { t: 0 }, y: { c: b } }, { op: 'Clip', x: { t: 1 }, lo, hi },
      { op: 'HardSigmoid', x: { t: 2 }, alpha: s, beta: b }, { op: 'LeakyRelu', x: { t: 3 }, alpha: b },
    ] });
    const first = affine(0.5, 1.25, -1, 6);
    bothEngines(first, leaves, [N], 'first');
    const before = fusedWasmModules();
    for (const [s, b, lo, hi] of [[3, -2, 0, 1], [Math.fround(0.1), Math.fround(-0.7), -Infinity, 2], [1, -0, NaN, 4]] as const) {
      bothEngines(affine(s, b, lo, hi), leaves, [N], `affine ${s} ${b}`);
    }
    bothEngines(first, leaves, [N], 'first again');
    // The first three share a module; a -0 shift makes another (HardSigmoid then needs Math.max's order of zeros).
    expect(fusedWasmModules()).toBe(before + 1);
    // A constant float32 cannot hold takes the double path: another module.
    bothEngines(affine(0.1, 1.25, -1, 6), leaves, [N], 'double scale');
    expect(fusedWasmModules()).toBe(before + 2);
  });

  it('repeats a periodic input per call, and keeps the repetition only for initializers', () => {
    const dims = [700, 24];
    const a = data(size(dims), 6);
    const b = data(24, 7);
    const p: Program = { code: [{ op: 'Mul', x: X, y: Y }] };
    const run = () => bothEngines(p, [{ data: a, dims }, { data: b, dims: [24] }], dims, 'periodic');
    run();
    b[0] = 123; // a feed or a pooled buffer may change between calls
    expect(run()[24]).toBe(Math.fround(a[24]! * 123));
    const c = data(24, 8);
    markConstant(c);
    const q = () => bothEngines(p, [{ data: a, dims }, { data: c, dims: [24] }], dims, 'periodic constant');
    same(q(), q(), 'constant, again');
  });

  it('computes Pow by a constant 2 as a product, equal to the JS loop and the unfused Pow bit for bit', () => {
    const sq = { code: [{ op: 'Add', x: X, y: Y }, { op: 'Pow', x: { t: 0 }, y: { c: 2 } }] } as const;
    expect(evaluateWasm(sq, leaves, new Float32Array(N), [N])).toBe(true);
    const w = bothEngines(sq, leaves, [N], 'Pow 2');
    same(w, unfused('Pow', [t([N], unfused('Add', [t([N], x), t([N], y)])), t([], Float32Array.of(2))]), 'Pow 2 unfused');
  });

  it('leaves programs with other Pows, and short outputs, to the JS loop', () => {
    const w = new Float32Array(N);
    const pow = { code: [{ op: 'Add', x: X, y: Y }, { op: 'Pow', x: { t: 0 }, y: { c: 3 } }] } as const;
    expect(evaluateWasm(pow, leaves, w, [N])).toBe(false);
    expect(evaluateWasm({ code: [{ op: 'Add', x: X, y: Y }] }, [{ data: x.subarray(0, 8), dims: [8] }, { data: y.subarray(0, 8), dims: [8] }], w.subarray(0, 8), [8])).toBe(false);
    expect(w.every((v) => v === 0)).toBe(true);
    // evaluateProgram falls back to the JS loop: the result is still the ops'.
    evaluateProgram(pow, leaves, w, [N]);
    const sum = unfused('Add', [t([N], x), t([N], y)]);
    same(w, unfused('Pow', [t([N], sum), t([], Float32Array.of(3))]), 'Pow');
  });

  it('can be switched off (the JS loop runs)', () => {
    const prev = setFusedWasm(false);
    try {
      expect(evaluateWasm({ code: [{ op: 'Add', x: X, y: Y }] }, leaves, new Float32Array(N), [N])).toBe(false);
    } finally {
      setFusedWasm(prev);
    }
  });
});

function broadcastOf(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    return x === 1 ? y : x;
  });
}
