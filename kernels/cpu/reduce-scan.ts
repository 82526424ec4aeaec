// CumSum and CumProd: inclusive or exclusive scans along an axis, forward or reversed.
import { isBig, isFloat } from '../../graph/dtype.js';
import { allocTensor, sizeOf, toIntList } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';

function scanKernel(prod: boolean): CpuKernel {
  return viaF32((inputs, ctx) => {
    const x = tensorArg(inputs, 0, ctx);
    const at = tensorArg(inputs, 1, ctx);
    if (x.dtype === 'string' || x.dtype === 'bool') throw new KernelInputError(ctx, `${x.dtype} input is not supported`);
    if (at.data.length !== 1 || at.dims.length > 1) throw new KernelInputError(ctx, `axis must be a scalar, got shape [${at.dims.join(',')}]`);
    const rank = x.dims.length;
    const a0 = toIntList(at)[0]!;
    const axis = a0 < 0 ? a0 + rank : a0;
    if (axis < 0 || axis >= rank) throw new KernelInputError(ctx, `axis ${a0} is out of range for rank ${rank}`);
    const exclusive = ctx.attrs.int('exclusive', 0) !== 0;
    const reverse = ctx.attrs.int('reverse', 0) !== 0;
    const len = x.dims[axis]!;
    const outer = sizeOf(x.dims.slice(0, axis));
    const inner = sizeOf(x.dims.slice(axis + 1));
    const y = allocTensor(x.dtype, x.dims);
    // Walk each line from its first element in scan order, with a signed step.
    const step = reverse ? -inner : inner;
    const startOff = reverse ? (len - 1) * inner : 0;
    if (isBig(x.dtype)) {
      const src = x.data as BigInt64Array;
      const dst = y.data as BigInt64Array;
      const wrap = x.dtype === 'int64' ? (v: bigint) => BigInt.asIntN(64, v) : (v: bigint) => BigInt.asUintN(64, v);
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < inner; r++) {
          let p = o * len * inner + r + startOff;
          let acc = prod ? 1n : 0n;
          for (let i = 0; i < len; i++, p += step) {
            const v = src[p]!;
            if (exclusive) dst[p] = acc;
            acc = wrap(prod ? acc * v : acc + v);
            if (!exclusive) dst[p] = acc;
          }
        }
      }
      return [y];
    }
    const src = x.data as Float64Array;
    const dst = y.data as Float64Array;
    // int32/uint32 wrap like C: `| 0` and Math.imul keep the accumulator exact modulo 2^32.
    const intWrap = !isFloat(x.dtype);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < inner; r++) {
        let p = o * len * inner + r + startOff;
        let acc = prod ? 1 : 0;
        for (let i = 0; i < len; i++, p += step) {
          const v = src[p]!;
          if (exclusive) dst[p] = acc;
          if (intWrap) acc = prod ? Math.imul(acc, v) : (acc + v) | 0;
          else acc = prod ? acc * v : acc + v;
          if (!exclusive) dst[p] = acc;
        }
      }
    }
    return [y];
  });
}

export const scanKernels = {
  CumSum: scanKernel(false),
  CumProd: scanKernel(true),
};
