// Inference BatchNormalization through the wasm SIMD affine map (nn-norm-simd.ts) must equal the JS loop
// bit for bit (float64 product and sum, one rounding), on odd plane sizes, batches and NaN/±Inf/-0 inputs.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { setNormSimd } from '../../kernels/cpu/nn-norm-simd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

const f32 = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });
const seq = (n: number, seed: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.77 + seed) * scale);

function bn(x: HostTensor, C: number): Float32Array {
  const node: Node = { name: 'n', opType: 'BatchNormalization', domain: '', inputs: ['x', 's', 'b', 'm', 'v'], outputs: ['y'], attributes: { epsilon: { kind: 'float', value: 1e-5 } } };
  const ctx = { node, opset: 15, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  const p = (seed: number, s: number, off = 0) => f32([C], seq(C, seed, s).map((v) => v + off));
  const ins = [x, p(1, 2), p(2, 1), p(3, 0.5), p(4, 0.5, 1)];
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>).BatchNormalization!(ins, ctx)[0]!.data as Float32Array;
}

describe('BatchNormalization SIMD', () => {
  for (const dims of [[1, 24, 48, 48], [2, 3, 5, 7], [3, 4, 17], [1, 5, 4, 4]]) {
    it(`[${dims}] equals the JS loop bit for bit`, () => {
      const n = dims.reduce((a, b) => a * b, 1);
      const x = seq(n, 5, 30);
      x[0] = NaN; x[1] = Infinity; x[2] = -Infinity; x[3] = -0; x[n - 1] = 1e-40;
      const prev = setNormSimd(true);
      try {
        const s = bn(f32(dims, x), dims[1]!);
        setNormSimd(false);
        const j = bn(f32(dims, x), dims[1]!);
        expect(s.length).toBe(j.length);
        for (let i = 0; i < s.length; i++) if (!Object.is(s[i], j[i])) expect([i, s[i]]).toEqual([i, j[i]]);
      } finally {
        setNormSimd(prev);
      }
    });
  }
});
