// Einsum. Two-operand contractions without diagonals (batch matmuls, bilinear forms, outer products;
// labels only one operand has are summed out first) are transposed into a batched GEMM; everything else (traces, diagonals, sums,
// three or more operands, integer types) runs a general loop over all label values.
import { isBig, type DType } from '../../graph/dtype.js';
import { allocTensor, sizeOf, stridesOf, type HostTensor } from '../../graph/tensor.js';
import { parseEinsum, type EinsumSpec } from '../../graph/ops/linalg.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { dgemm, sgemm } from './linalg-gemm.js';
import { reduceTensor } from './reduce-axes.js';
import { tensorArg, viaF32 } from './util.js';

/** Copy of row-major `data` with its axes permuted: output axis i is input axis perm[i]. */
export function permuteData<T extends Float32Array | Float64Array>(data: T, dims: readonly number[], perm: readonly number[]): T {
  if (perm.every((p, i) => p === i)) return data;
  const n = data.length;
  const out = new (data.constructor as new (n: number) => T)(n);
  const inStrides = stridesOf(dims);
  const oDims = perm.map((p) => dims[p]!);
  const oStrides = perm.map((p) => inStrides[p]!);
  const r = oDims.length;
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = data[src]!;
    for (let d = r - 1; d >= 0; d--) {
      idx[d]!++;
      src += oStrides[d]!;
      if (idx[d]! < oDims[d]!) break;
      src -= oStrides[d]! * oDims[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

/** Size of each label; size-1 ellipsis dims broadcast, letters must agree. */
function labelSizes(ts: readonly HostTensor[], spec: EinsumSpec, ctx: CpuContext): Map<string, number> {
  const sizes = new Map<string, number>();
  spec.inputs.forEach((labels, k) => {
    labels.forEach((l, ax) => {
      const d = ts[k]!.dims[ax]!;
      const prev = sizes.get(l);
      if (prev === undefined || (prev === 1 && l.startsWith('.'))) sizes.set(l, d);
      else if (d !== prev && !(d === 1 && l.startsWith('.'))) {
        throw new KernelInputError(ctx, `label '${l.startsWith('.') ? '...' : l}' has sizes ${prev} and ${d}`);
      }
    });
  });
  return sizes;
}

/** The batched-GEMM route, or undefined when the equation does not have that form. */
function einsumAsMatmul(a0: HostTensor, b0: HostTensor, spec: EinsumSpec, sizes: Map<string, number>, ctx: CpuContext): HostTensor | undefined {
  const out = spec.output;
  let [la, lb] = spec.inputs as [string[], string[]];
  if (new Set(la).size !== la.length || new Set(lb).size !== lb.length) return undefined;
  // Labels only one operand has and the output lacks are summed out of that operand first.
  const sumOut = (t: HostTensor, own: string[], other: string[]): [HostTensor, string[]] => {
    const axes = own.flatMap((l, i) => (!other.includes(l) && !out.includes(l) ? [i] : []));
    if (axes.length === 0) return [t, own];
    return [reduceTensor('sum', t, axes, false, ctx), own.filter((_, i) => !axes.includes(i))];
  };
  const [a, la2] = sumOut(a0, la, lb);
  const [b, lb2] = sumOut(b0, lb, la);
  la = la2;
  lb = lb2;
  // Every label must be in two of {A, B, output} with one size (no broadcasting, no lone sums).
  for (const [labels, t] of [[la, a], [lb, b]] as const) {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i]!;
      if (t.dims[i] !== sizes.get(l)) return undefined;
      const inOther = (labels === la ? lb : la).includes(l);
      if (!inOther && !out.includes(l)) return undefined;
    }
  }
  const batch = out.filter((l) => la.includes(l) && lb.includes(l));
  const m = out.filter((l) => la.includes(l) && !lb.includes(l));
  const n = out.filter((l) => lb.includes(l) && !la.includes(l));
  const k = la.filter((l) => lb.includes(l) && !out.includes(l));
  const size = (ls: string[]) => sizeOf(ls.map((l) => sizes.get(l)!));
  const Bt = size(batch);
  const M = size(m);
  const N = size(n);
  const K = size(k);
  const A = permuteData(a.data as Float32Array, a.dims, [...batch, ...m, ...k].map((l) => la.indexOf(l)));
  const B = permuteData(b.data as Float32Array, b.dims, [...batch, ...k, ...n].map((l) => lb.indexOf(l)));
  const y = allocTensor(a.dtype, [...batch, ...m, ...n].map((l) => sizes.get(l)!));
  const Y = y.data as Float32Array;
  const gemm = (a.dtype === 'float32' ? sgemm : dgemm) as typeof sgemm;
  for (let i = 0; i < Bt; i++) gemm(false, false, M, N, K, 1, A, i * M * K, K, B, i * K * N, N, 0, Y, i * M * N, N);
  const yl = [...batch, ...m, ...n];
  const data = permuteData(Y, y.dims, out.map((l) => yl.indexOf(l)));
  return { kind: 'tensor', dtype: a.dtype, dims: out.map((l) => sizes.get(l)!), data };
}

/** The general loop: for each output element, sum over the contracted labels the product of operands. */
function einsumGeneral(ts: readonly HostTensor[], spec: EinsumSpec, sizes: Map<string, number>, dtype: DType): HostTensor {
  const outLabels = spec.output;
  const sumLabels = [...new Set(spec.inputs.flat())].filter((l) => !outLabels.includes(l));
  const y = allocTensor(dtype, outLabels.map((l) => sizes.get(l)!));
  // Stride of each label in each operand: repeated labels add up (diagonals), broadcast dims are 0.
  const strideOf = (labels: readonly string[]) => ts.map((t, k) => {
    const st = stridesOf(t.dims);
    return labels.map((l) => spec.inputs[k]!.reduce((s, x, ax) => (x === l && t.dims[ax] !== 1 ? s + st[ax]! : s), 0));
  });
  const oStr = strideOf(outLabels);
  const sStr = strideOf(sumLabels);
  const oDims = outLabels.map((l) => sizes.get(l)!);
  const sDims = sumLabels.map((l) => sizes.get(l)!);
  const nOps = ts.length;
  const datas = ts.map((t) => t.data as Float64Array);
  const big = isBig(dtype);
  const outTotal = y.data.length;
  const sumTotal = sizeOf(sDims);
  const base = new Array<number>(nOps).fill(0);
  const off = new Array<number>(nOps).fill(0);
  const oIdx = new Array<number>(oDims.length).fill(0);
  const sIdx = new Array<number>(sDims.length).fill(0);
  const advance = (idx: number[], dims: number[], str: number[][], offs: number[]) => {
    for (let d = dims.length - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < nOps; k++) offs[k]! += str[k]![d]!;
      if (idx[d]! < dims[d]!) return;
      for (let k = 0; k < nOps; k++) offs[k]! -= str[k]![d]! * dims[d]!;
      idx[d] = 0;
    }
  };
  for (let o = 0; o < outTotal; o++) {
    for (let k = 0; k < nOps; k++) off[k] = base[k]!;
    let acc = 0;
    let bacc = 0n;
    for (let s = 0; s < sumTotal; s++) {
      if (big) {
        let p = 1n;
        for (let k = 0; k < nOps; k++) p *= (datas[k] as unknown as BigInt64Array)[off[k]!]!;
        bacc += p;
      } else {
        let p = 1;
        for (let k = 0; k < nOps; k++) p *= datas[k]![off[k]!]!;
        acc += p;
      }
      advance(sIdx, sDims, sStr, off);
    }
    if (big) (y.data as BigInt64Array)[o] = bacc;
    else (y.data as Float64Array)[o] = acc;
    advance(oIdx, oDims, oStr, base);
  }
  return y;
}

export const einsumKernel: CpuKernel = viaF32((inputs, ctx) => {
  const ts = inputs.map((_, i) => tensorArg(inputs, i, ctx));
  if (ts.length === 0) throw new KernelInputError(ctx, 'Einsum needs at least one input');
  const dtype = ts[0]!.dtype;
  if (dtype === 'string' || dtype === 'bool') throw new KernelInputError(ctx, `${dtype} inputs are not supported`);
  if (ts.some((t) => t.dtype !== dtype)) throw new KernelInputError(ctx, `inputs have different dtypes: ${ts.map((t) => t.dtype).join(', ')}`);
  let spec: EinsumSpec;
  try {
    spec = parseEinsum(ctx.attrs.required('equation', 'string'), ts.map((t) => t.dims.length));
  } catch (e) {
    throw new KernelInputError(ctx, (e as Error).message);
  }
  const sizes = labelSizes(ts, spec, ctx);
  if (ts.length === 2 && (dtype === 'float32' || dtype === 'float64')) {
    const r = einsumAsMatmul(ts[0]!, ts[1]!, spec, sizes, ctx);
    if (r) return [r];
  }
  return [einsumGeneral(ts, spec, sizes, dtype)];
});
