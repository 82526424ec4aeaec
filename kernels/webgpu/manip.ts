// Data movement on WebGPU. Reshape, Flatten, Squeeze, Unsqueeze, Identity and Dropout (inference)
// are no-copy aliases; Transpose, Expand, Slice and Concat are one strided-copy shader; Pad and
// Gather have their own.
import type { DType } from '../../graph/dtype.js';
import { toIntList } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, Program, UniformValue, WgslType } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, broadcastShapes, broadcastStrides, defineShader, enables, grid, main1d, sizeOf, stridedOffsetFn, stridesOf, uniformDecl, storageType } from './wgsl.js';

interface CopyParams {
  readonly rank: number;
  readonly t: WgslType;
}

/** out[dstBase + sum c_d dst_d] = in[srcBase + sum c_d src_d] over an iteration shape (i32 strides). */
const copyShader = defineShader<CopyParams>('strided-copy', (spec) => {
  const p = spec.params;
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'src', type: p.t }, { name: 'dst', type: p.t, write: true }])}
${stridedOffsetFn('srcOff', p.rank, 'it', 'ss', { signed: true, base: 'sb' })}
${stridedOffsetFn('dstOff', p.rank, 'it', 'ds', { signed: true, base: 'db' })}
${main1d(`  if (gi >= u_n()) { return; }
  dst[dstOff(gi)] = src[srcOff(gi)];`)}`;
});

export function copyProgram(t: WgslType, input: number, iter: readonly number[], src: { base: number; strides: readonly number[] }, dst: { base: number; strides: readonly number[] }, output = 0): Program {
  const n = sizeOf(iter);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'it', type: 'u32', value: stridesOf(iter) },
    { name: 'ss', type: 'i32', value: src.strides },
    { name: 'sb', type: 'i32', value: src.base },
    { name: 'ds', type: 'i32', value: dst.strides },
    { name: 'db', type: 'i32', value: dst.base },
  ];
  return { shader: copyShader, params: { rank: iter.length, t } satisfies CopyParams, uniforms, bindings: [{ input }, { output }], workgroups: grid(n) };
}

/** Storage of input i; the copy kernels move every storable dtype, 8-byte ones included. */
function storage(ctx: GpuKernelContext, i: number): WgslType | undefined {
  const x = ctx.inputs[i];
  return x ? storageType(x.dtype, ctx.f16, true) : undefined;
}

function run(dtype: DType, dims: readonly number[], programs: Program[]): GpuPlan {
  return { kind: 'run', outputs: [{ dtype, dims }], programs: sizeOf(dims) === 0 ? [] : programs };
}

const normAxis = (a: number, r: number) => (a < 0 ? a + r : a);

function reshapeDims(ctx: GpuKernelContext): number[] | string {
  const shape = ctx.opset >= 5 ? ctx.host(1) : undefined;
  const want = shape ? toIntList(shape) : ctx.attrs.ints('shape', []);
  const inDims = ctx.inputs[0]!.dims;
  const allowZero = ctx.attrs.int('allowzero', 0) === 1;
  const out = want.map((d, i) => (d === 0 && !allowZero ? inDims[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(inDims);
  const neg = out.indexOf(-1);
  if (neg >= 0) {
    if (known === 0 || total % known !== 0) return `cannot reshape [${inDims.join(',')}] to [${want.join(',')}]`;
    out[neg] = total / known;
  }
  if (sizeOf(out) !== total) return `cannot reshape [${inDims.join(',')}] to [${want.join(',')}]`;
  return out;
}

function axesOf(ctx: GpuKernelContext, inputIndex: number, sinceOpset: number): number[] | undefined {
  if (ctx.opset >= sinceOpset) {
    const t = ctx.host(inputIndex);
    return t ? toIntList(t) : undefined;
  }
  return ctx.attrs.ints('axes');
}

const alias = (dims: number[] | string): GpuPlan => (typeof dims === 'string' ? unsupported(dims) : { kind: 'alias', input: 0, dims });

function transposePlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  const perm = ctx.attrs.ints('perm', [...Array(r).keys()].reverse());
  const inStrides = stridesOf(x.dims);
  const outDims = perm.map((p) => x.dims[p]!);
  return run(x.dtype, outDims, [copyProgram(t, 0, outDims, { base: 0, strides: perm.map((p) => inStrides[p]!) }, { base: 0, strides: stridesOf(outDims) })]);
}

function expandPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const shape = toIntList(ctx.host(1)!);
  const outDims = broadcastShapes([x.dims, shape]);
  if (!outDims) return unsupported(`[${x.dims.join(',')}] does not expand to [${shape.join(',')}]`);
  return run(x.dtype, outDims, [copyProgram(t, 0, outDims, { base: 0, strides: broadcastStrides(x.dims, outDims) }, { base: 0, strides: stridesOf(outDims) })]);
}

function slicePlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  let starts: number[];
  let ends: number[];
  let axes: number[];
  let steps: number[];
  if (ctx.opset < 10) {
    starts = ctx.attrs.ints('starts', []);
    ends = ctx.attrs.ints('ends', []);
    axes = ctx.attrs.ints('axes', starts.map((_, i) => i));
    steps = starts.map(() => 1);
  } else {
    starts = toIntList(ctx.host(1)!);
    ends = toIntList(ctx.host(2)!);
    axes = ctx.host(3) ? toIntList(ctx.host(3)!) : starts.map((_, i) => i);
    steps = ctx.host(4) ? toIntList(ctx.host(4)!) : starts.map(() => 1);
  }
  const begin = new Array<number>(r).fill(0);
  const count = [...x.dims];
  const step = new Array<number>(r).fill(1);
  for (let k = 0; k < starts.length; k++) {
    const a = normAxis(axes[k]!, r);
    const d = x.dims[a]!;
    const s = steps[k]!;
    if (s === 0) return unsupported('slice step 0');
    let st = starts[k]!;
    let en = ends[k]!;
    if (st < 0) st += d;
    if (en < 0) en += d;
    if (s > 0) {
      st = Math.min(Math.max(st, 0), d);
      en = Math.min(Math.max(en, 0), d);
      count[a] = Math.max(0, Math.ceil((en - st) / s));
    } else {
      st = Math.min(Math.max(st, -1), d - 1);
      en = Math.min(Math.max(en, -1), d - 1);
      count[a] = Math.max(0, Math.ceil((st - en) / -s));
    }
    begin[a] = st;
    step[a] = s;
  }
  const inStrides = stridesOf(x.dims);
  const base = begin.reduce((acc, b, d) => acc + b * inStrides[d]!, 0);
  return run(x.dtype, count, [copyProgram(t, 0, count, { base, strides: inStrides.map((s, d) => s * step[d]!) }, { base: 0, strides: stridesOf(count) })]);
}

function concatPlan(ctx: GpuKernelContext): GpuPlan {
  const present = ctx.inputs.map((x, i) => (x ? i : -1)).filter((i) => i >= 0);
  const first = ctx.inputs[present[0]!]!;
  const t = storage(ctx, present[0]!);
  if (!t) return unsupported(`${first.dtype} runs on the CPU`);
  const r = first.dims.length;
  const axis = normAxis(ctx.attrs.int('axis', 0), r);
  const outDims = [...first.dims];
  outDims[axis] = present.reduce((a, i) => a + ctx.inputs[i]!.dims[axis]!, 0);
  const outStrides = stridesOf(outDims);
  const programs: Program[] = [];
  let at = 0;
  for (const i of present) {
    const x = ctx.inputs[i]!;
    if (sizeOf(x.dims) > 0) programs.push(copyProgram(t, i, x.dims, { base: 0, strides: stridesOf(x.dims) }, { base: at * outStrides[axis]!, strides: outStrides }));
    at += x.dims[axis]!;
  }
  return run(first.dtype, outDims, programs);
}

function splitPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  const axis = normAxis(ctx.attrs.int('axis', 0), r);
  const d = x.dims[axis]!;
  const nOut = ctx.outputsUsed.length;
  let parts: number[];
  const splitT = ctx.opset >= 13 ? ctx.host(1) : undefined;
  if (splitT) parts = toIntList(splitT);
  else if (ctx.opset < 13 && ctx.attrs.has('split')) parts = ctx.attrs.ints('split', []);
  else {
    const k = ctx.opset >= 18 ? ctx.attrs.int('num_outputs', nOut) : nOut;
    const chunk = Math.ceil(d / k);
    parts = Array.from({ length: k }, (_, i) => Math.max(0, Math.min(chunk, d - i * chunk)));
  }
  if (parts.length !== nOut || parts.reduce((a, b) => a + b, 0) !== d) return unsupported('split sizes do not add up');
  const inStrides = stridesOf(x.dims);
  const outputs = parts.map((p) => ({ dtype: x.dtype, dims: x.dims.map((v, i) => (i === axis ? p : v)) }));
  const programs: Program[] = [];
  let at = 0;
  parts.forEach((p, i) => {
    const dims = outputs[i]!.dims;
    if (sizeOf(dims) > 0 && ctx.outputsUsed[i]) programs.push(copyProgram(t, 0, dims, { base: at * inStrides[axis]!, strides: inStrides }, { base: 0, strides: stridesOf(dims) }, i));
    at += p;
  });
  return { kind: 'run', outputs, programs };
}

interface TileParams {
  readonly rank: number;
  readonly t: WgslType;
}

/** out[o] = x[sum_d (c_d mod inDims_d) * inStrides_d]. */
const tileShader = defineShader<TileParams>('tile', (spec) => {
  const p = spec.params;
  const lines = [...Array(p.rank).keys()].map((d) => `  { let c = rem / u_os(${d}u); rem = rem - c * u_os(${d}u); src = src + (c % u_dims(${d}u)) * u_is(${d}u); }`);
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  var rem = gi; var src = 0u;
${lines.join('\n')}
  out[gi] = x[src];`)}`;
});

function tilePlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  const reps = toIntList(ctx.host(1)!);
  if (reps.length !== x.dims.length) return unsupported('repeats length is not the rank');
  const outDims = x.dims.map((d, i) => d * reps[i]!);
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'os', type: 'u32', value: stridesOf(outDims) },
    { name: 'dims', type: 'u32', value: x.dims },
    { name: 'is', type: 'u32', value: stridesOf(x.dims) },
  ];
  return run(x.dtype, outDims, [{ shader: tileShader, params: { rank: x.dims.length, t } satisfies TileParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }]);
}

interface PadParams {
  readonly rank: number;
  readonly t: WgslType;
  readonly mode: 'constant' | 'reflect' | 'edge' | 'wrap';
}

const padShader = defineShader<PadParams>('pad', (spec) => {
  const p = spec.params;
  const lines: string[] = [];
  for (let d = 0; d < p.rank; d++) {
    lines.push(`  { let c = i32(rem / u_os(${d}u)); rem = rem % u_os(${d}u); var k = c - u_pb(${d}u); let n = u_dims(${d}u);`);
    if (p.mode === 'constant') lines.push('    if (k < 0 || k >= n) { inside = false; }');
    else if (p.mode === 'edge') lines.push('    k = clamp(k, 0, n - 1);');
    else if (p.mode === 'wrap') lines.push('    k = ((k % n) + n) % n;');
    else lines.push('    if (n > 1) { let period = 2 * (n - 1); k = ((k % period) + period) % period; if (k >= n) { k = period - k; } } else { k = 0; }');
    lines.push(`    src = src + k * u_is(${d}u); }`);
  }
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  var rem = gi; var src = 0; var inside = true;
${lines.join('\n')}
  if (inside) { out[gi] = x[src]; } else { out[gi] = bitcast<${p.t}>(u_value()); }`)}`;
});

function padPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const t = storage(ctx, 0);
  if (!t || t === 'f16' || t === 'vec2<u32>') return unsupported(`${x.dtype} runs on the CPU`);
  const r = x.dims.length;
  const mode = ctx.attrs.string('mode', 'constant') as PadParams['mode'];
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) return unsupported(`mode ${mode}`);
  let pads: number[];
  let value = 0;
  if (ctx.opset < 11) {
    pads = ctx.attrs.ints(ctx.opset < 2 ? 'paddings' : 'pads', []);
    value = ctx.attrs.float('value', 0);
  } else {
    pads = toIntList(ctx.host(1)!);
    const v = ctx.host(2);
    if (v && v.data.length) value = Number((v.data as ArrayLike<number | bigint>)[0]);
    const axesT = ctx.host(3);
    if (axesT) {
      const axes = toIntList(axesT).map((a) => normAxis(a, r));
      const full = new Array<number>(2 * r).fill(0);
      axes.forEach((a, k) => {
        full[a] = pads[k]!;
        full[a + r] = pads[k + axes.length]!;
      });
      pads = full;
    }
  }
  if (pads.length !== 2 * r) return unsupported('pads length is not 2 * rank');
  const outDims = x.dims.map((d, i) => d + pads[i]! + pads[i + r]!);
  if (outDims.some((d) => d < 0)) return unsupported('negative output dim');
  if (mode !== 'constant' && x.dims.some((d, i) => d === 0 && outDims[i]! > 0)) return unsupported('padding an empty axis');
  const bits = new DataView(new ArrayBuffer(4));
  if (t === 'f32') bits.setFloat32(0, value, true);
  else bits.setInt32(0, value | 0, true);
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'os', type: 'u32', value: stridesOf(outDims) },
    { name: 'pb', type: 'i32', value: pads.slice(0, r) },
    { name: 'dims', type: 'i32', value: x.dims },
    { name: 'is', type: 'i32', value: stridesOf(x.dims) },
    { name: 'value', type: 'u32', value: bits.getUint32(0, true) },
  ];
  return run(x.dtype, outDims, [{ shader: padShader, params: { rank: r, t, mode } satisfies PadParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(n) }]);
}

interface GatherParams {
  readonly t: WgslType;
}

const gatherShader = defineShader<GatherParams>('gather', (spec) => {
  const p = spec.params;
  return `${enables([p.t])}${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: p.t }, { name: 'idx', type: 'i32' }, { name: 'out', type: p.t, write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let inner = u_inner(); let ni = u_ni(); let d = u_d();
  let io = gi % inner; let rest = gi / inner; let i = rest % ni; let outer = rest / ni;
  var k = idx[i]; if (k < 0) { k = k + i32(d); }
  k = clamp(k, 0, i32(d) - 1);
  out[gi] = x[(outer * d + u32(k)) * inner + io];`)}`;
});

function gatherPlan(ctx: GpuKernelContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const ind = ctx.inputs[1]!;
  const t = storage(ctx, 0);
  if (!t) return unsupported(`${x.dtype} runs on the CPU`);
  if (ind.dtype !== 'int32' && ind.dtype !== 'int64') return unsupported(`indices are ${ind.dtype}`);
  const r = x.dims.length;
  const axis = normAxis(ctx.attrs.int('axis', 0), r);
  const outDims = [...x.dims.slice(0, axis), ...ind.dims, ...x.dims.slice(axis + 1)];
  const n = sizeOf(outDims);
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: n },
    { name: 'inner', type: 'u32', value: sizeOf(x.dims.slice(axis + 1)) },
    { name: 'ni', type: 'u32', value: Math.max(1, sizeOf(ind.dims)) },
    { name: 'd', type: 'u32', value: x.dims[axis]! },
  ];
  return run(x.dtype, outDims, [{ shader: gatherShader, params: { t } satisfies GatherParams, uniforms, bindings: [{ input: 0 }, { input: 1 }, { output: 0 }], workgroups: grid(n) }]);
}

export const manipGpuKernels = {
  Reshape: { hostInputs: (_n, opset) => (opset >= 5 ? [1] : []), plan: (ctx) => alias(reshapeDims(ctx)) },
  Flatten: {
    plan(ctx) {
      const d = ctx.inputs[0]!.dims;
      const axis = normAxis(ctx.attrs.int('axis', 1), d.length);
      return alias([sizeOf(d.slice(0, axis)), sizeOf(d.slice(axis))]);
    },
  },
  Squeeze: {
    hostInputs: (_n, opset) => (opset >= 13 ? [1] : []),
    plan(ctx) {
      const d = ctx.inputs[0]!.dims;
      const axes = axesOf(ctx, 1, 13)?.map((a) => normAxis(a, d.length));
      if (axes && axes.some((a) => d[a] !== 1)) return unsupported('squeezing an axis that is not 1');
      return alias(d.filter((x, i) => (axes ? !axes.includes(i) : x !== 1)));
    },
  },
  Unsqueeze: {
    hostInputs: (_n, opset) => (opset >= 13 ? [1] : []),
    plan(ctx) {
      const d = ctx.inputs[0]!.dims;
      const axes = axesOf(ctx, 1, 13) ?? [];
      const r = d.length + axes.length;
      const set = new Set(axes.map((a) => normAxis(a, r)));
      const out: number[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) out.push(set.has(i) ? 1 : d[k++]!);
      return alias(out);
    },
  },
  Identity: { plan: (ctx) => alias([...ctx.inputs[0]!.dims]) },
  Dropout: {
    hostInputs: (_n, opset) => (opset >= 12 ? [2] : []),
    plan(ctx) {
      const training = ctx.opset >= 12 ? ctx.host(2) && Number(ctx.host(2)!.data[0]) !== 0 : ctx.attrs.int('is_test', 0) === 0 && ctx.opset < 7;
      if (training || ctx.outputsUsed[1]) return unsupported('training mode or mask output');
      return alias([...ctx.inputs[0]!.dims]);
    },
  },
  Transpose: { allDtypes: true, exact: true, plan: transposePlan },
  Expand: { hostInputs: () => [1], allDtypes: true, exact: true, plan: expandPlan },
  Slice: { hostInputs: (_n, opset) => (opset >= 10 ? [1, 2, 3, 4] : []), allDtypes: true, exact: true, plan: slicePlan },
  Concat: { allDtypes: true, exact: true, plan: concatPlan },
  Pad: { hostInputs: (_n, opset) => (opset >= 11 ? [1, 2, 3] : []), allDtypes: true, plan: padPlan },
  Gather: { allDtypes: true, exact: true, narrowInt64: [1], plan: gatherPlan },
  Split: { hostInputs: (_n, opset) => (opset >= 13 ? [1] : []), allDtypes: true, exact: true, plan: splitPlan },
  Tile: { hostInputs: () => [1], allDtypes: true, exact: true, plan: tilePlan },
} satisfies Record<string, GpuKernel>;
