// The WebAssembly SIMD row reductions (reduce-simd.ts) against the JS loops and a float64 reference:
// Softmax rows (odd lengths, NaN, ±Inf, all -Inf rows, chunk edges), float64 run sums and accumulation
// through ReduceSum/ReduceMean over last and leading axes, and GlobalAveragePool.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { setReduceSimd } from '../../kernels/cpu/reduce-simd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

function run(op: string, inputs: HostTensor[], attributes: Record<string, Attr> = {}, opset = 18): HostTensor {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes };
  const ctx = { node, opset, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>)[op]!(inputs, ctx)[0]!;
}
const f32 = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });
const i64 = (v: number[]): HostTensor => ({ kind: 'tensor', dtype: 'int64', dims: [v.length], data: BigInt64Array.from(v.map(BigInt)) });

function data(n: number, seed: number, scale = 4): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.917 + seed) * scale;
  return a;
}

/** Results with the SIMD path on and off. */
function both(f: () => HostTensor): [Float32Array, Float32Array] {
  const prev = setReduceSimd(true);
  try {
    const s = f().data as Float32Array;
    setReduceSimd(false);
    return [s, f().data as Float32Array];
  } finally {
    setReduceSimd(prev);
  }
}

const ulp = (v: number) => {
  const a = Math.abs(Math.fround(v));
  if (a === 0) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
};

/** Equal, or both NaN, or within `ulps` float32 ulps of the reference. */
function near(got: Float32Array, want: Float32Array | number[], ulps: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Number.isNaN(w) || Number.isNaN(g)) { expect([i, g]).toEqual([i, w]); continue; }
    if (g === w) continue;
    if (Math.abs(g - w) > ulps * ulp(w)) expect([i, g]).toEqual([i, w]);
  }
}

describe('SIMD Softmax rows', () => {
  for (const len of [4, 5, 12, 15, 31, 1000, 6625]) {
    it(`rows of ${len} match float64 within 3 ulps (and the JS path within 2)`, () => {
      const rows = 7;
      const x = data(rows * len, len);
      const [s, j] = both(() => run('Softmax', [f32([rows, len], x)], { axis: { kind: 'int', value: -1 } }));
      // From 32 the JS path uses the same SIMD exps and float64 product: only the sum order differs.
      if (len >= 32) near(s, j, 2);
      // float64 softmax of the float32 differences x - max (both paths round those, which alone moves
      // exp by |x - max|·2^-24): the SIMD exp adds at most 1 ulp, the product one rounding.
      const want: number[] = [];
      for (let r = 0; r < rows; r++) {
        let m = -Infinity, sum = 0;
        for (let i = 0; i < len; i++) m = Math.max(m, x[r * len + i]!);
        for (let i = 0; i < len; i++) sum += Math.exp(Math.fround(x[r * len + i]! - m));
        for (let i = 0; i < len; i++) want.push(Math.exp(Math.fround(x[r * len + i]! - m)) / sum);
      }
      near(s, want, 3);
    });
  }
  it('NaN, -Inf, +Inf and all -Inf rows give what the JS path gives', () => {
    const len = 9, rows = 5;
    const x = data(rows * len, 3, 0.5);
    x[2] = NaN; // row 0: all NaN
    x[len + 4] = -Infinity; // row 1: one -Inf (exp 0)
    x[2 * len + 1] = Infinity; // row 2: +Inf (Inf - Inf = NaN)
    x.fill(-Infinity, 3 * len, 4 * len); // row 3: all -Inf
    x[4 * len] = -0; x[4 * len + 1] = 0; // row 4: signed zeros
    const [s, j] = both(() => run('Softmax', [f32([rows, len], x)]));
    // Rows of 9 use float64 exp in JS: a few ulps apart, and the same NaNs, zeros and infinities.
    near(s, j, 3);
    expect(Number.isNaN(s[0]!)).toBe(true);
    expect(Number.isNaN(s[3 * len]!)).toBe(true);
    expect(Number.isNaN(s[2 * len + 1]!)).toBe(true);
    expect(s[len + 4]).toBe(0);
  });
  it('outputs under the float32 normals flush to 0 (exp(x - max) below 2^-126), the others stay within 3 ulps', () => {
    const len = 64;
    const x = Float32Array.from({ length: len }, (_, i) => -i * 2.5); // x - max from 0 down to -157.5
    const [s] = both(() => run('Softmax', [f32([1, len], x)]));
    let sum = 0;
    for (let i = 0; i < len; i++) sum += Math.exp(x[i]!);
    for (let i = 0; i < len; i++) {
      const w = Math.exp(x[i]!) / sum;
      if (x[i]! < -87.33654) expect(s[i]).toBe(0);
      else if (w >= 2 ** -126) near(s.subarray(i, i + 1), [w], 3);
      else expect(Math.abs(s[i]! - w)).toBeLessThan(2 ** -126);
    }
  });
  it('blocks of rows larger than one staging chunk', () => {
    const rows = 300, len = 1027;
    const x = data(rows * len, 9, 20);
    const [s, j] = both(() => run('Softmax', [f32([1, rows, len], x)]));
    near(s, j, 1);
  });
});

describe('SIMD sums', () => {
  const cases: [number[], number[]][] = [[[7, 1029], [-1]], [[3, 5, 4], [2]], [[6, 37, 9], [0]], [[4, 33, 10], [0, 2]], [[2, 3, 4, 5], [1]], [[5, 3], []]];
  for (const [dims, axes] of cases) {
    for (const op of ['ReduceSum', 'ReduceMean']) {
      it(`${op} [${dims}] axes [${axes}] matches the JS path within 1 ulp`, () => {
        const n = dims.reduce((a, b) => a * b, 1);
        const x = data(n, dims.length, 100);
        x[1] = -0;
        const [s, j] = both(() => run(op, [f32(dims, x), i64(axes)], { keepdims: { kind: 'int', value: 0 } }));
        near(s, j, 1);
      });
    }
  }
  it('ReduceSum propagates NaN and Inf as the JS path does', () => {
    const x = data(4 * 40, 1);
    x[5] = NaN; x[45] = Infinity; x[85] = -Infinity; x[86] = Infinity;
    const [s, j] = both(() => run('ReduceSum', [f32([4, 40], x), i64([1])]));
    expect([...s].map(String)).toEqual([...j].map(String));
    const [s0, j0] = both(() => run('ReduceSum', [f32([4, 40], x), i64([0])]));
    expect([...s0].map(String)).toEqual([...j0].map(String));
  });
  for (const dims of [[1, 8, 12, 96], [2, 5, 3, 3], [1, 3, 1, 1], [1, 4, 7, 5]]) {
    it(`GlobalAveragePool [${dims}] matches the float64 mean within 1 ulp`, () => {
      const n = dims.reduce((a, b) => a * b, 1);
      const x = data(n, 2);
      const [s, j] = both(() => run('GlobalAveragePool', [f32(dims, x)]));
      near(s, j, 1);
      const size = n / (dims[0]! * dims[1]!);
      const want = Array.from({ length: dims[0]! * dims[1]! }, (_, p) => {
        let t = 0;
        for (let i = 0; i < size; i++) t += x[p * size + i]!;
        return t / size;
      });
      near(s, want, 1);
    });
  }
});
