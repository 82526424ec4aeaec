// Det: determinants of a batch of square matrices by LU decomposition with partial pivoting (in float64).
import { allocTensor } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';

/** Determinant of the n x n matrix at x[off..]; `lu` is scratch of n*n. */
export function determinant(x: ArrayLike<number>, off: number, n: number, lu: Float64Array): number {
  for (let i = 0; i < n * n; i++) lu[i] = x[off + i]!;
  let det = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    let best = Math.abs(lu[c * n + c]!);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(lu[r * n + c]!);
      if (v > best) { best = v; piv = r; }
    }
    if (best === 0) return 0;
    if (piv !== c) {
      for (let j = 0; j < n; j++) {
        const t = lu[c * n + j]!;
        lu[c * n + j] = lu[piv * n + j]!;
        lu[piv * n + j] = t;
      }
      det = -det;
    }
    const d = lu[c * n + c]!;
    det *= d;
    for (let r = c + 1; r < n; r++) {
      const f = lu[r * n + c]! / d;
      if (f === 0) continue;
      for (let j = c + 1; j < n; j++) lu[r * n + j]! -= f * lu[c * n + j]!;
    }
  }
  return det;
}

export const detKernel: CpuKernel = viaF32((inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new KernelInputError(ctx, `expects a float tensor, got ${x.dtype}`);
  const r = x.dims.length;
  if (r < 2 || x.dims[r - 1] !== x.dims[r - 2]) throw new KernelInputError(ctx, `expects [..., M, M] square matrices, got [${x.dims.join(',')}]`);
  const n = x.dims[r - 1]!;
  const y = allocTensor(x.dtype, x.dims.slice(0, -2));
  const lu = new Float64Array(n * n);
  const Y = y.data as Float64Array;
  for (let b = 0; b < Y.length; b++) Y[b] = determinant(x.data as Float64Array, b * n * n, n, lu);
  return [y];
});
