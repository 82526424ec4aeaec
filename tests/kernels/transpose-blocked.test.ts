// Transpose through the blocked inner 2-D copy (manip-util.ts transposeTiles: 4x4 register blocks over
// column tiles of 64) against a naive index map, on sizes that leave row and column remainders, batches,
// NCHW <-> NHWC perms, and 1-, 2-, 4- and 8-byte elements.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import { allocTensor, type HostTensor } from '../../graph/tensor.js';
import type { DType } from '../../graph/dtype.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

function transpose(x: HostTensor, perm: number[]): HostTensor {
  const node: Node = { name: 'n', opType: 'Transpose', domain: '', inputs: ['x'], outputs: ['y'], attributes: { perm: { kind: 'ints', value: perm } } };
  const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>).Transpose!([x], ctx)[0]!;
}

function naive(x: HostTensor, perm: number[]): unknown[] {
  const d = x.dims, r = d.length;
  const st = new Array<number>(r);
  for (let i = r - 1, a = 1; i >= 0; i--) { st[i] = a; a *= d[i]!; }
  const od = perm.map((p) => d[p]!);
  const n = od.reduce((a, b) => a * b, 1);
  const out: unknown[] = [];
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let i = 0; i < r; i++) off += idx[i]! * st[perm[i]!]!;
    out.push((x.data as ArrayLike<unknown>)[off]);
    for (let i = r - 1; i >= 0; i--) { if (++idx[i]! < od[i]!) break; idx[i] = 0; }
  }
  return out;
}

describe('blocked Transpose', () => {
  const cases: [number[], number[]][] = [
    [[2, 3, 131, 70], [0, 1, 3, 2]], [[1, 8, 128, 64], [0, 1, 3, 2]], [[2, 24, 9, 11], [0, 2, 3, 1]],
    [[1, 37, 13, 10], [0, 3, 1, 2]], [[150, 9], [1, 0]], [[9, 150], [1, 0]], [[3, 66, 67], [0, 2, 1]],
  ];
  for (const dtype of ['float32', 'uint8', 'float16', 'float64'] as DType[]) {
    for (const [dims, perm] of cases) {
      it(`${dtype} [${dims}] perm [${perm}] matches the index map`, () => {
        const x = allocTensor(dtype, dims);
        const d = x.data as unknown as { [i: number]: number; length: number };
        for (let i = 0; i < d.length; i++) d[i] = dtype === 'float32' || dtype === 'float64' ? Math.sin(i) * 100 : (i * 7919) % 251;
        const y = transpose(x, perm);
        expect(y.dims).toEqual(perm.map((p) => dims[p]!));
        expect(Array.from(y.data as unknown as ArrayLike<unknown>)).toEqual(naive(x, perm));
      });
    }
  }
});
