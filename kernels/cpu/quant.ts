// CPU kernels: quant family. Keys match graph/ops/quant.ts; TypeScript checks none is missing.
import type { quantOps } from '../../graph/ops/quant.js';
import { quantizeOutDType } from '../../graph/ops/quant.js';
import { type DType, dtypeFromOnnx, onnxTypeName } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, setElement, toNumbers } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { optTensorArg, tensorArg } from './util.js';

/** Saturation range of each integer type quantization writes. */
const QRANGE: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
};

/**
 * Round half to even, the rounding of ONNX quantization: adding and removing 1.5 * 2^52 leaves the
 * FPU's round-to-nearest-even result (exact for |v| < 2^51; larger values are already integers).
 */
const MAGIC = 6755399441055744;
function roundEven(v: number): number {
  return v < 2251799813685248 && v > -2251799813685248 ? v + MAGIC - MAGIC : v;
}

/**
 * How scale/zero point map onto x: for x viewed as [outer, len (the axis), inner], the parameter
 * index of element (o, a, j). Per tensor: 0; per axis: a; blocked: (o * blocks + a / block) * inner + j.
 */
interface ParamLayout {
  outer: number;
  len: number;
  inner: number;
  kind: 'tensor' | 'axis' | 'block';
  block: number;
  blocks: number;
}

function paramLayout(ctx: CpuContext, x: HostTensor, scale: HostTensor, zp: HostTensor | undefined): ParamLayout {
  const rank = x.dims.length;
  const blockSize = ctx.opset >= 21 ? ctx.attrs.int('block_size', 0) : 0;
  if (zp && (zp.dims.length !== scale.dims.length || zp.dims.some((d, i) => d !== scale.dims[i]))) {
    throw new KernelInputError(ctx, `zero point shape [${zp.dims.join(',')}] differs from scale shape [${scale.dims.join(',')}]`);
  }
  const whole = { outer: 1, len: x.data.length, inner: 1, block: 0, blocks: 0 };
  if (scale.dims.length === 0 || (scale.data.length === 1 && blockSize === 0 && (scale.dims.length <= 1))) {
    return { ...whole, kind: 'tensor' };
  }
  const axisAttr = ctx.opset >= 13 ? ctx.attrs.int('axis', 1) : 1;
  const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
  if (axis < 0 || axis >= rank) throw new KernelInputError(ctx, `axis ${axisAttr} is out of range for rank ${rank}`);
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.dims[i]!;
  let inner = 1;
  for (let i = axis + 1; i < rank; i++) inner *= x.dims[i]!;
  const len = x.dims[axis]!;
  if (blockSize <= 0) {
    if (scale.dims.length !== 1 || scale.dims[0] !== len) {
      throw new KernelInputError(ctx, `per-axis scale must be 1-D of length ${len} (axis ${axis}), got [${scale.dims.join(',')}]`);
    }
    return { outer, len, inner, kind: 'axis', block: 0, blocks: 0 };
  }
  const blocks = Math.ceil(len / blockSize);
  const ok = scale.dims.length === rank && scale.dims.every((d, i) => (i === axis ? d === blocks : d === x.dims[i]));
  if (!ok) throw new KernelInputError(ctx, `blocked scale must be x's shape with axis ${axis} = ceil(${len} / ${blockSize}) = ${blocks}, got [${scale.dims.join(',')}]`);
  return { outer, len, inner, kind: 'block', block: blockSize, blocks };
}

/**
 * Calls f(start, count, p, step) for contiguous runs of x: elements start..start+count-1 use parameter
 * p + k * step (step 0 or 1). Runs are as long as the layout allows, so per-run overhead stays small.
 */
function forEachRun(l: ParamLayout, f: (start: number, count: number, p: number, step: number) => void): void {
  if (l.kind === 'tensor') {
    f(0, l.len, 0, 0);
    return;
  }
  let i = 0;
  for (let o = 0; o < l.outer; o++) {
    if (l.kind === 'axis') {
      if (l.inner === 1) {
        f(i, l.len, 0, 1);
        i += l.len;
      } else for (let a = 0; a < l.len; a++, i += l.inner) f(i, l.inner, a, 0);
    } else if (l.inner === 1) {
      for (let a = 0; a < l.len; a += l.block) {
        const count = Math.min(l.block, l.len - a);
        f(i, count, o * l.blocks + a / l.block, 0);
        i += count;
      }
    } else {
      for (let a = 0; a < l.len; a++, i += l.inner) f(i, l.inner, (o * l.blocks + Math.floor(a / l.block)) * l.inner, 1);
    }
  }
}

const quantizeLinear: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const scale = tensorArg(inputs, 1, ctx);
  const zp = optTensorArg(inputs, 2, ctx);
  const code = ctx.opset >= 21 ? ctx.attrs.int('output_dtype', 0) : 0;
  if (code && !dtypeFromOnnx(code)) throw new KernelInputError(ctx, `output_dtype ${onnxTypeName(code)} is not supported`);
  if (zp && code && dtypeFromOnnx(code) !== zp.dtype) throw new KernelInputError(ctx, `output_dtype ${onnxTypeName(code)} differs from the zero point's ${zp.dtype}`);
  const outType = quantizeOutDType(zp?.dtype, code)!;
  const range = QRANGE[outType];
  if (!range) throw new KernelInputError(ctx, `cannot quantize to ${outType}`);
  const layout = paramLayout(ctx, x, scale, zp);
  const out = allocTensor(outType, x.dims);
  const xs = x.dtype === 'float32' || x.dtype === 'float64' ? (x.data as Float32Array) : Float64Array.from(toNumbers(x));
  const ss = toNumbers(scale);
  const zs = zp ? toNumbers(zp) : undefined;
  // float32 division is x / scale rounded to float32; the double quotient rounded once gives exactly that.
  const f32 = x.dtype !== 'float64';
  const [lo, hi] = range;
  const d = out.data as Int32Array;
  forEachRun(layout, (start, count, p0, step) => {
    if (step === 0) {
      const sc = ss[p0]!;
      const z = zs ? zs[p0]! : 0;
      for (let i = start; i < start + count; i++) {
        const v = roundEven(f32 ? Math.fround(xs[i]! / sc) : xs[i]! / sc) + z;
        // NaN fails both comparisons and is written as 0 by the typed array.
        d[i] = v < lo ? lo : v > hi ? hi : v;
      }
      return;
    }
    for (let k = 0, p = p0; k < count; k++, p++) {
      const i = start + k;
      const v = roundEven(f32 ? Math.fround(xs[i]! / ss[p]!) : xs[i]! / ss[p]!) + (zs ? zs[p]! : 0);
      d[i] = v < lo ? lo : v > hi ? hi : v;
    }
  });
  return [out];
};

const dequantizeLinear: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const scale = tensorArg(inputs, 1, ctx);
  const zp = optTensorArg(inputs, 2, ctx);
  if (zp && zp.dtype !== x.dtype) throw new KernelInputError(ctx, `zero point type ${zp.dtype} differs from x's ${x.dtype}`);
  if (!QRANGE[x.dtype]) throw new KernelInputError(ctx, `cannot dequantize ${x.dtype}`);
  const code = ctx.opset >= 23 ? ctx.attrs.int('output_dtype', 0) : 0;
  const outType = code ? dtypeFromOnnx(code) : scale.dtype;
  if (outType !== 'float32' && outType !== 'float16' && outType !== 'bfloat16' && outType !== 'float64') {
    throw new KernelInputError(ctx, `output type must be a float type, got ${code ? onnxTypeName(code) : scale.dtype}`);
  }
  const layout = paramLayout(ctx, x, scale, zp);
  const out = allocTensor(outType, x.dims);
  const xs = x.data as Int32Array;
  const ss = toNumbers(scale);
  const zs = zp ? toNumbers(zp) : undefined;
  if (outType === 'float32' || outType === 'float64') {
    const d = out.data as Float32Array;
    forEachRun(layout, (start, count, p0, step) => {
      if (step === 0) {
        const sc = ss[p0]!;
        const z = zs ? zs[p0]! : 0;
        for (let i = start; i < start + count; i++) d[i] = (xs[i]! - z) * sc;
      } else for (let k = 0, p = p0; k < count; k++, p++) d[start + k] = (xs[start + k]! - (zs ? zs[p]! : 0)) * ss[p]!;
    });
  } else {
    // Half outputs: the product rounded through float32, as the reference computes in the scale's type.
    forEachRun(layout, (start, count, p0, step) => {
      for (let k = 0, p = p0; k < count; k++, p += step) setElement(out, start + k, Math.fround((xs[start + k]! - (zs ? zs[p]! : 0)) * ss[p]!));
    });
  }
  return [out];
};

const dynamicQuantizeLinear: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (x.dtype !== 'float32') throw new KernelInputError(ctx, `x must be float32, got ${x.dtype}`);
  const xs = x.data as Float32Array;
  // The range always includes 0 so that 0 is exactly representable.
  let min = 0;
  let max = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // An all-zero input gets scale 1 (as onnxruntime), which quantizes everything to zero point 0.
  const scale = max === min ? 1 : Math.fround((max - min) / 255);
  const zpv = Math.min(255, Math.max(0, roundEven(Math.fround(0 - min / scale))));
  const y = allocTensor('uint8', x.dims);
  const d = y.data as Uint8Array;
  for (let i = 0; i < xs.length; i++) {
    const v = roundEven(Math.fround(xs[i]! / scale)) + zpv;
    d[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const s = allocTensor('float32', []);
  (s.data as Float32Array)[0] = scale;
  const z = allocTensor('uint8', []);
  (z.data as Uint8Array)[0] = zpv;
  return [y, s, z];
};

export const quantKernels = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
} satisfies Record<keyof typeof quantOps, CpuKernel>;


