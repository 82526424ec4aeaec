// The WebAssembly SIMD transcendentals (exp, log, sigmoid, tanh, erf; elementwise-simd-math.ts) against
// float64 over the whole float32 range: every exponent from 2^-40 to 2^7 both signs, a dense sweep of
// [-110, 110], subnormals, ±0, ±Inf, NaN. Measured worst cases (documented in the source): exp 0.97 ulp, log under 1 ulp,
// sigmoid 2.2 ulp, tanh 1.2 ulp, erf 6.2 ulp near ±1 (3.7e-7 absolute); the bounds below leave a margin.
// Also through the kernels (Exp, Sigmoid, Tanh, Erf, Gelu, Swish-like HardSwish is exact elsewhere, Softmax)
// against the JS reference path with the SIMD path turned off.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { erf } from '../../kernels/cpu/elementwise-scalar.js';
import { setElementwiseSimd, simdExpShifted, simdUnary } from '../../kernels/cpu/elementwise-simd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

const REF: Record<string, (x: number) => number> = { exp: Math.exp, log: Math.log, sigmoid: (x) => 1 / (1 + Math.exp(-x)), tanh: Math.tanh, erf };
const MAX_ULP: Record<string, number> = { exp: 2, log: 2, sigmoid: 4, tanh: 3, erf: 8 };
const FLT_MIN = 1.1754943508222875e-38;

function inputs(op: string): Float32Array {
  const xs: number[] = [];
  for (let e = -40; e <= 7; e++) for (let m = 0; m < 400; m++) { const v = (1 + m / 400) * 2 ** e; xs.push(v, -v); }
  for (let v = -110; v <= 110; v += 0.0031) xs.push(v);
  xs.push(0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-39, 88.7, 88.73, 89.5, -87.3, -103, -104.5, 3.4e38, -3.4e38);
  // log: around 1 (where the result is tiny), large values, the subnormals.
  if (op === 'log') for (let m = -400; m <= 400; m++) xs.push(1 + m * 2 ** -20, 1 + m / 512);
  if (op === 'log') for (let e = 8; e <= 127; e += 7) xs.push(1.37 * 2 ** e);
  if (op === 'log') for (let e = -149; e <= -126; e++) xs.push(2 ** e, 1.5 * 2 ** e);
  return Float32Array.from(xs);
}

function ulpOf(v: number): number {
  return 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
}

describe('SIMD transcendentals', () => {
  for (const op of ['exp', 'log', 'sigmoid', 'tanh', 'erf'] as const) {
    it(`${op} is within ${MAX_ULP[op]} float32 ulps of float64, with exact special values`, () => {
      const a = inputs(op);
      const out = new Float32Array(a.length);
      expect(simdUnary(op, a, out)).toBe(true);
      let worst = 0;
      for (let i = 0; i < a.length; i++) {
        const want = REF[op]!(a[i]!);
        const wf = Math.fround(want);
        const got = out[i]!;
        if (Number.isNaN(want)) { expect(got).toBeNaN(); continue; }
        if (!Number.isFinite(wf)) { expect(got, `${op}(${a[i]})`).toBe(wf); continue; }
        // Saturation at ±1 (erf reaches it at |x| ≈ 3.9): within the absolute error bound.
        if (Math.abs(wf) === 1) { expect(Math.abs(got - wf), `${op}(${a[i]})`).toBeLessThan(4e-7); continue; }
        // Results below the normal range (exp, sigmoid far left) may flush: absolute error under FLT_MIN.
        if (Math.abs(want) < FLT_MIN) { expect(Math.abs(got - want), `${op}(${a[i]})`).toBeLessThan(FLT_MIN); continue; }
        const u = Math.abs(got - want) / ulpOf(wf);
        if (u > worst) worst = u;
        if (u > MAX_ULP[op]!) expect(`${op}(${a[i]}) = ${got}, want ${want}: ${u} ulp`).toBe('');
      }
      expect(worst).toBeGreaterThan(0); // the check ran on real differences
    });
  }
  it('exp(x - shift) for softmax rows, including an unaligned start', () => {
    const x = Float32Array.from({ length: 203 }, (_, i) => Math.sin(i) * 20);
    const out = new Float32Array(203);
    expect(simdExpShifted(x, 3, out, 5, 150, 7.5)).toBe(true);
    for (let i = 0; i < 150; i++) expect(Math.abs(out[5 + i]! - Math.exp(Math.fround(x[3 + i]! - 7.5))) / Math.exp(x[3 + i]! - 7.5)).toBeLessThan(3e-7);
    expect(out[4]).toBe(0);
    expect(out[155]).toBe(0);
  });
});

function kernel(op: string, inputs: HostTensor[], attributes: Node['attributes'] = {}): Float32Array {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes };
  const ctx = { node, opset: 20, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx)[0]!.data as Float32Array;
}

function close(got: Float32Array, want: Float32Array, rtol: number, atol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w)) { expect(g).toBeNaN(); continue; }
    if (g === w) continue;
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) expect(`[${i}] ${g} vs ${w}`).toBe('');
  }
}

describe('kernels on the SIMD transcendentals', () => {
  const n = 16384 + 4099; // past a chunk, odd tail
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (i % 7 === 0 ? 40 : 6));
  x[1] = NaN; x[2] = Infinity; x[3] = -Infinity; x[4] = -0;
  const t = (dims: number[], d: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data: d });
  const both = (f: () => Float32Array): [Float32Array, Float32Array] => {
    const prev = setElementwiseSimd(true);
    try {
      const s = f();
      setElementwiseSimd(false);
      return [s, f()];
    } finally {
      setElementwiseSimd(prev);
    }
  };
  for (const op of ['Exp', 'Sigmoid', 'Tanh', 'Erf']) {
    it(`${op} matches the float64-based reference to 1e-6 relative`, () => close(...both(() => kernel(op, [t([n], x)])), 1e-6, 1e-30));
  }
  it('Gelu (erf and tanh forms) matches the reference to 1e-5 relative / 1e-6 absolute', () => {
    close(...both(() => kernel('Gelu', [t([n], x)])), 1e-5, 1e-6);
    close(...both(() => kernel('Gelu', [t([n], x)], { approximate: { kind: 'string', value: 'tanh' } })), 1e-5, 1e-6);
  });
  it('Softmax over rows (odd lengths, -Inf entries) matches the reference to 1e-6', () => {
    const rows = 7, len = 1031;
    const s = Float32Array.from({ length: rows * len }, (_, i) => Math.cos(i * 0.11) * 30);
    s[5] = -Infinity;
    close(...both(() => kernel('Softmax', [t([rows, len], s)], { axis: { kind: 'int', value: -1 } })), 1e-6, 1e-12);
  });
});
