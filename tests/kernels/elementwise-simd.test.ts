// The WebAssembly SIMD elementwise loops must give the JS loops' results bit for bit (NaN, ±0, ±Inf,
// chunk edges, all three stride patterns), through the kernels and directly.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { setElementwiseSimd, simdBinary, simdClip } from '../../kernels/cpu/elementwise-simd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

function data(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.731 + seed) * 7 * (i % 13 === 0 ? 1e-30 : 1);
  a[3] = NaN; a[5] = -0; a[7] = 0; a[11] = Infinity; a[13] = -Infinity;
  return a;
}

function run(op: string, inputs: HostTensor[]): Float32Array {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes: {} };
  const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx)[0]!.data as Float32Array;
}
const t = (dims: number[], d: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data: d });

function bothPaths(f: () => Float32Array): [Float32Array, Float32Array] {
  const prev = setElementwiseSimd(true);
  try {
    const s = f();
    setElementwiseSimd(false);
    return [s, f()];
  } finally {
    setElementwiseSimd(prev);
  }
}

function same(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
}

describe('elementwise SIMD', () => {
  const n = 16384 * 2 + 37;
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${op}: same-shape, scalar either side and per-channel broadcast match the JS loop`, () => {
      const a = data(n, 1), b = data(n, 2);
      same(...bothPaths(() => run(op, [t([n], a), t([n], b)])));
      same(...bothPaths(() => run(op, [t([n], a), t([1], Float32Array.of(0.3))])));
      same(...bothPaths(() => run(op, [t([], Float32Array.of(-0)), t([n], b)])));
      const c = data(4 * 3 * 97, 3), ch = data(3, 4);
      same(...bothPaths(() => run(op, [t([4, 3, 97], c), t([3, 1], ch)])));
      same(...bothPaths(() => run(op, [t([3, 1], ch), t([4, 3, 97], c)])));
    });
  }
  it('Clip, Relu, Abs, Neg and Sqrt match the JS loop, including min > max and NaN bounds', () => {
    const a = data(n, 5);
    for (const [lo, hi] of [[0, 6], [-1, 1], [2, 1], [-Infinity, 0.5], [NaN, 1]] as const) {
      same(...bothPaths(() => run('Clip', [t([n], a), t([], Float32Array.of(lo)), t([], Float32Array.of(hi))])));
    }
    same(...bothPaths(() => run('Relu', [t([n], a)])));
    for (const op of ['Abs', 'Neg', 'Sqrt']) same(...bothPaths(() => run(op, [t([n], a)])));
  });
  it('Min, Max (variadic, broadcast) and LeakyRelu match the JS loop', () => {
    const a = data(n, 6), b = data(n, 7);
    for (const op of ['Min', 'Max']) {
      same(...bothPaths(() => run(op, [t([n], a), t([n], b)])));
      same(...bothPaths(() => run(op, [t([n], a), t([], Float32Array.of(-0))])));
      same(...bothPaths(() => run(op, [t([n], a), t([n], b), t([1], Float32Array.of(0.5))])));
      same(...bothPaths(() => run(op, [t([4, 3, 97], data(4 * 3 * 97, 8)), t([3, 1], data(3, 9))])));
    }
    for (const alpha of [0.01, 0.2, -3]) {
      const node: Node = { name: 'n', opType: 'LeakyRelu', domain: '', inputs: ['x'], outputs: ['y'], attributes: { alpha: { kind: 'float', value: Math.fround(alpha) } } };
      const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
      same(...bothPaths(() => (CPU_KERNELS.LeakyRelu([t([n], a)], ctx)[0] as HostTensor).data as Float32Array));
    }
  });
  it('Pow with exponent 2 equals the general pow bit for bit', () => {
    const a = data(n, 10);
    const sq = run('Pow', [t([n], a), t([], Float32Array.of(2))]);
    for (let i = 0; i < n; i++) expect(Object.is(sq[i], Math.fround(Math.pow(a[i]!, 2))) || (Number.isNaN(sq[i]) && Number.isNaN(a[i]))).toBe(true);
  });
  it('declines what it cannot do exactly', () => {
    const a = data(100, 1);
    expect(simdBinary('add', new Float64Array(100), a, a, 0, 0, 1, 0, 1, 100)).toBe(false);
    expect(simdBinary('add', new Float32Array(100), a, a, 0, 0, 2, 0, 1, 50)).toBe(false);
    expect(simdClip(a, new Float32Array(100), 0.1, 1)).toBe(false);
  });
});
