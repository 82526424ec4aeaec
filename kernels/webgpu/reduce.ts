// Reductions on WebGPU: Reduce* (a workgroup per output with a shared-memory tree, or a thread per
// output when the reduced extent is small), GlobalAveragePool/GlobalMaxPool, and the row kernels
// Softmax, LogSoftmax, LayerNormalization and RMSNormalization (one workgroup per row).
import { toIntList } from '../../graph/tensor.js';
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, flit, grid, sizeOf, stridedOffsetFn, stridesOf, uniformDecl } from './wgsl.js';

type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'sumsquare' | 'l1' | 'l2' | 'logsum' | 'logsumexp';

const OPS: Record<ReduceOp, { init: string; acc: (a: string, v: string) => string; comb: (a: string, b: string) => string; fin: (a: string) => string }> = {
  sum: { init: '0.0', acc: (a, v) => `${a} + ${v}`, comb: (a, b) => `${a} + ${b}`, fin: (a) => a },
  mean: { init: '0.0', acc: (a, v) => `${a} + ${v}`, comb: (a, b) => `${a} + ${b}`, fin: (a) => `${a} / f32(u_r())` },
  max: { init: flit(-Infinity), acc: (a, v) => `max(${a}, ${v})`, comb: (a, b) => `max(${a}, ${b})`, fin: (a) => a },
  min: { init: flit(Infinity), acc: (a, v) => `min(${a}, ${v})`, comb: (a, b) => `min(${a}, ${b})`, fin: (a) => a },
  prod: { init: '1.0', acc: (a, v) => `${a} * ${v}`, comb: (a, b) => `${a} * ${b}`, fin: (a) => a },
  sumsquare: { init: '0.0', acc: (a, v) => `${a} + ${v} * ${v}`, comb: (a, b) => `${a} + ${b}`, fin: (a) => a },
  l1: { init: '0.0', acc: (a, v) => `${a} + abs(${v})`, comb: (a, b) => `${a} + ${b}`, fin: (a) => a },
  l2: { init: '0.0', acc: (a, v) => `${a} + ${v} * ${v}`, comb: (a, b) => `${a} + ${b}`, fin: (a) => `sqrt(${a})` },
  // log(0) is -inf (SwiftShader's log gives about -88 there).
  logsum: { init: '0.0', acc: (a, v) => `${a} + ${v}`, comb: (a, b) => `${a} + ${b}`, fin: (a) => `select(log(${a}), ${flit(-Infinity)}, ${a} == 0.0)` },
  logsumexp: { init: '0.0', acc: (a, v) => `${a} + exp(${v})`, comb: (a, b) => `${a} + ${b}`, fin: (a) => `select(log(${a}), ${flit(-Infinity)}, ${a} == 0.0)` },
};

interface ReduceParams {
  readonly op: ReduceOp;
  readonly keptRank: number;
  readonly redRank: number;
  /** 'workgroup': 64 threads per output; 'thread': one thread per output. */
  readonly mode: 'workgroup' | 'thread';
}

const RWG = 64;

const reduceShader = defineShader<ReduceParams>('reduce', (spec) => {
  const p = spec.params;
  const o = OPS[p.op];
  const head = `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${stridedOffsetFn('keptOff', p.keptRank, 'ko', 'ki')}
${stridedOffsetFn('redOff', p.redRank, 'ro', 'ri')}`;
  if (p.mode === 'thread') {
    return `${head}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let gi = (wid.y * nwg.x + wid.x) * 64u + lidx;
  if (gi >= u_nout()) { return; }
  let base = keptOff(gi);
  var acc = ${o.init};
  for (var r = 0u; r < u_r(); r = r + 1u) { let v = x[base + redOff(r)]; acc = ${o.acc('acc', 'v')}; }
  out[gi] = ${o.fin('acc')};
}`;
  }
  return `${head}
var<workgroup> sh: array<f32, ${RWG}>;
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= u_nout()) { return; }
  let base = keptOff(o);
  var acc = ${o.init};
  for (var r = lidx; r < u_r(); r = r + ${RWG}u) { let v = x[base + redOff(r)]; acc = ${o.acc('acc', 'v')}; }
  sh[lidx] = acc;
  workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    if (lidx < s) { sh[lidx] = ${o.comb('sh[lidx]', 'sh[lidx + s]')}; }
    workgroupBarrier();
  }
  if (lidx == 0u) { out[o] = ${o.fin('sh[0]')}; }
}`;
});

/** Reduce float32 input 0 over `axes` (sorted, normalized). */
export function reducePlan(ctx: GpuKernelContext, op: ReduceOp, axes: readonly number[], keepdims: boolean): GpuPlan {
  const x = ctx.inputs[0]!;
  if (x.dtype !== 'float32') return unsupported(`reductions of ${x.dtype} run on the CPU`);
  const dims = x.dims;
  const inStrides = stridesOf(dims);
  const red = new Set(axes);
  const kept = dims.map((_, i) => i).filter((i) => !red.has(i));
  const keptDims = kept.map((i) => dims[i]!);
  const redAxes = [...red].sort((a, b) => a - b);
  const redDims = redAxes.map((i) => dims[i]!);
  const nOut = sizeOf(keptDims);
  const r = sizeOf(redDims);
  // An empty reduction (r = 0) is the op's identity through its finish: 0, NaN (mean), -inf, 1...
  const outDims = keepdims ? dims.map((d, i) => (red.has(i) ? 1 : d)) : keptDims;
  const mode: ReduceParams['mode'] = r > 0 && (r >= 128 || nOut < 64) ? 'workgroup' : 'thread';
  const uniforms: UniformValue[] = [
    { name: 'nout', type: 'u32', value: nOut },
    { name: 'r', type: 'u32', value: r },
    { name: 'ko', type: 'u32', value: stridesOf(keptDims) },
    { name: 'ki', type: 'u32', value: kept.map((i) => inStrides[i]!) },
    { name: 'ro', type: 'u32', value: stridesOf(redDims) },
    { name: 'ri', type: 'u32', value: redAxes.map((i) => inStrides[i]!) },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: nOut === 0 ? [] : [{
      shader: reduceShader,
      params: { op, keptRank: kept.length, redRank: redAxes.length, mode } satisfies ReduceParams,
      uniforms,
      bindings: [{ input: 0 }, { output: 0 }],
      workgroups: mode === 'workgroup' ? grid(nOut, 1) : grid(nOut, 64),
    }],
  };
}

function reduceKernel(op: ReduceOp, axesInputSince: number): GpuKernel {
  return {
    hostInputs: (_n, opset) => (opset >= axesInputSince ? [1] : []),
    plan(ctx) {
      const r = ctx.inputs[0]!.dims.length;
      let axes: number[] | undefined;
      if (ctx.opset >= axesInputSince) {
        const t = ctx.host(1);
        axes = t && t.data.length ? toIntList(t) : undefined;
      } else {
        axes = ctx.attrs.ints('axes');
        if (axes && axes.length === 0) axes = undefined;
      }
      if (!axes) {
        if (ctx.attrs.int('noop_with_empty_axes', 0) === 1) return unsupported('noop reduction runs on the CPU');
        axes = [...Array(r).keys()];
      }
      return reducePlan(ctx, op, axes.map((a) => (a < 0 ? a + r : a)), ctx.attrs.int('keepdims', 1) === 1);
    },
  };
}

/** instancenorm: layernorm whose scale and bias are per row (channel = row % u_ch()). */
/** groupnorm: layernorm over a group's rows with per-channel scale and bias (channel = group * cpg + j / sp). */
type RowOp = 'softmax' | 'logsoftmax' | 'layernorm' | 'instancenorm' | 'rmsnorm' | 'groupnorm';

interface RowParams {
  readonly op: RowOp;
  readonly scale: boolean;
  readonly bias: boolean;
  /** layernorm: also write each row's mean and 1/stddev (LayerNormalization's outputs 1 and 2). */
  readonly stats?: boolean;
}

const rowShader = defineShader<RowParams>('row', (spec) => {
  const p = spec.params;
  const decls = [{ name: 'x', type: 'f32' }, ...(p.scale ? [{ name: 'sc', type: 'f32' }] : []), ...(p.bias ? [{ name: 'bi', type: 'f32' }] : []), { name: 'out', type: 'f32', write: true }, ...(p.stats ? [{ name: 'mo', type: 'f32', write: true }, { name: 'io', type: 'f32', write: true }] : [])];
  const tree = (comb: (a: string, b: string) => string) => `  workgroupBarrier();
  for (var s = ${RWG / 2}u; s > 0u; s = s >> 1u) {
    if (lidx < s) { sh[lidx] = ${comb('sh[lidx]', 'sh[lidx + s]')}; }
    workgroupBarrier();
  }`;
  let body: string;
  const perRow = p.op === 'instancenorm' || p.op === 'groupnorm';
  const sIdx = p.op === 'groupnorm' ? '(row % u_ch()) * u_cpg() + j / u_sp()' : perRow ? 'row % u_ch()' : 'j';
  if (p.op === 'rmsnorm') {
    body = `  var s2 = 0.0;
  for (var j = lidx; j < L; j = j + ${RWG}u) { let d = x[at(j)]; s2 = s2 + d * d; }
  sh[lidx] = s2;
${tree((a, b) => `${a} + ${b}`)}
  let inv = 1.0 / sqrt(sh[0] / f32(L) + u_eps());
  for (var j = lidx; j < L; j = j + ${RWG}u) {
    out[at(j)] = x[at(j)] * inv${p.scale ? ' * sc[j]' : ''};
  }`;
  } else if (p.op === 'layernorm' || perRow) {
    body = `  var s1 = 0.0;
  for (var j = lidx; j < L; j = j + ${RWG}u) { s1 = s1 + x[at(j)]; }
  sh[lidx] = s1;
${tree((a, b) => `${a} + ${b}`)}
  let mean = sh[0] / f32(L);
  workgroupBarrier();
  var s2 = 0.0;
  for (var j = lidx; j < L; j = j + ${RWG}u) { let d = x[at(j)] - mean; s2 = s2 + d * d; }
  sh[lidx] = s2;
${tree((a, b) => `${a} + ${b}`)}
  let inv = 1.0 / sqrt(sh[0] / f32(L) + u_eps());
${p.stats ? '  if (lidx == 0u) { mo[row] = mean; io[row] = inv; }\n' : ''}  for (var j = lidx; j < L; j = j + ${RWG}u) {
    out[at(j)] = (x[at(j)] - mean) * inv${p.scale ? ` * sc[${sIdx}]` : ''}${p.bias ? ` + bi[${sIdx}]` : ''};
  }`;
  } else {
    body = `  var m = ${flit(-Infinity)};
  for (var j = lidx; j < L; j = j + ${RWG}u) { m = max(m, x[at(j)]); }
  sh[lidx] = m;
${tree((a, b) => `max(${a}, ${b})`)}
  let mx = sh[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lidx; j < L; j = j + ${RWG}u) { s = s + exp(x[at(j)] - mx); }
  sh[lidx] = s;
${tree((a, b) => `${a} + ${b}`)}
  let total = sh[0];
  for (var j = lidx; j < L; j = j + ${RWG}u) {
    out[at(j)] = ${p.op === 'logsoftmax' ? '(x[at(j)] - mx) - log(total)' : 'exp(x[at(j)] - mx) / total'};
  }`;
  }
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
var<workgroup> sh: array<f32, ${RWG}>;
var<private> rowBase: u32;
fn at(j: u32) -> u32 { return rowBase + j * u_inner(); }
@compute @workgroup_size(${RWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= u_rows()) { return; }
  let L = u_l();
  rowBase = (row / u_inner()) * L * u_inner() + row % u_inner();
${body}
}`;
});

function rowPlan(ctx: GpuKernelContext, op: RowOp, rows: number, l: number, inner: number, scaleBias: { scale?: number; bias?: number } = {}, eps = 0, ch = 1, statDims?: readonly number[], extra: readonly UniformValue[] = []): GpuPlan {
  const x = ctx.inputs[0]!;
  if (x.dtype !== 'float32') return unsupported(`${ctx.node.opType} of ${x.dtype} runs on the CPU`);
  const uniforms: UniformValue[] = [
    { name: 'rows', type: 'u32', value: rows },
    { name: 'l', type: 'u32', value: l },
    { name: 'inner', type: 'u32', value: inner },
    { name: 'eps', type: 'f32', value: eps },
    { name: 'ch', type: 'u32', value: ch },
    ...extra,
  ];
  const stats = statDims !== undefined;
  const bindings = [{ input: 0 }, ...(scaleBias.scale !== undefined ? [{ input: scaleBias.scale }] : []), ...(scaleBias.bias !== undefined ? [{ input: scaleBias.bias }] : []), { output: 0 }, ...(stats ? [{ output: 1 }, { output: 2 }] : [])];
  const params: RowParams = { op, scale: scaleBias.scale !== undefined, bias: scaleBias.bias !== undefined, ...(stats ? { stats } : {}) };
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: x.dims }, ...(stats ? [{ dtype: 'float32' as const, dims: statDims }, { dtype: 'float32' as const, dims: statDims }] : [])],
    programs: rows * l === 0 ? [] : [{ shader: rowShader, params, uniforms, bindings, workgroups: grid(rows, 1) }],
  };
}

function softmaxKernel(op: 'softmax' | 'logsoftmax'): GpuKernel {
  return {
    plan(ctx) {
      const d = ctx.inputs[0]!.dims;
      const r = d.length;
      if (r === 0) return unsupported('scalar');
      const dflt = ctx.opset >= 13 ? -1 : 1;
      let axis = ctx.attrs.int('axis', dflt);
      if (axis < 0) axis += r;
      if (ctx.opset >= 13) return rowPlan(ctx, op, sizeOf(d) / Math.max(1, d[axis]!), d[axis]!, sizeOf(d.slice(axis + 1)));
      const l = sizeOf(d.slice(axis));
      return rowPlan(ctx, op, l === 0 ? 0 : sizeOf(d) / l, l, 1);
    },
  };
}

/** ai.onnx LayerNormalization; `optionalScale`: a missing scale is 1 (tgraph:LayerNormalization). */
export function layerNorm(ctx: GpuKernelContext, optionalScale = false): GpuPlan {
  const stats = ctx.outputsUsed.slice(1).some(Boolean);
  if (stats && ctx.attrs.int('stash_type', 1) !== 1) return unsupported('Mean / InvStdDev of stash_type float64 run on the CPU');
  const d = ctx.inputs[0]!.dims;
  let axis = ctx.attrs.int('axis', -1);
  if (axis < 0) axis += d.length;
  if (axis < 0 || axis >= d.length) return unsupported('axis out of range');
  const l = sizeOf(d.slice(axis));
  const rows = l === 0 ? 0 : sizeOf(d) / l;
  const sc = ctx.inputs[1];
  const bi = ctx.inputs[2];
  if (sc ? sizeOf(sc.dims) !== l || sc.dtype !== 'float32' : !optionalScale) return unsupported('scale does not cover the normalized dims');
  if (bi && (sizeOf(bi.dims) !== l || bi.dtype !== 'float32')) return unsupported('bias does not cover the normalized dims');
  return rowPlan(ctx, 'layernorm', rows, l, 1, { scale: sc ? 1 : undefined, bias: bi ? 2 : undefined }, ctx.attrs.float('epsilon', 1e-5), 1, stats ? d.map((v, i) => (i < axis ? v : 1)) : undefined);
}

function rmsNorm(ctx: GpuKernelContext): GpuPlan {
  const d = ctx.inputs[0]!.dims;
  let axis = ctx.attrs.int('axis', -1);
  if (axis < 0) axis += d.length;
  if (axis < 0 || axis >= d.length) return unsupported('axis out of range');
  const l = sizeOf(d.slice(axis));
  const rows = l === 0 ? 0 : sizeOf(d) / l;
  const sc = ctx.inputs[1];
  if (!sc || sizeOf(sc.dims) !== l || sc.dtype !== 'float32') return unsupported('scale does not cover the normalized dims');
  return rowPlan(ctx, 'rmsnorm', rows, l, 1, { scale: 1 }, ctx.attrs.float('epsilon', 1e-5));
}

function instanceNorm(ctx: GpuKernelContext): GpuPlan {
  const d = ctx.inputs[0]!.dims;
  if (d.length < 3) return unsupported('rank < 3');
  const c = d[1]!;
  const sc = ctx.inputs[1];
  const bi = ctx.inputs[2];
  if (!sc || !bi || sizeOf(sc.dims) !== c || sizeOf(bi.dims) !== c || sc.dtype !== 'float32' || bi.dtype !== 'float32') return unsupported('scale and B must have C float32 elements');
  const l = sizeOf(d.slice(2));
  return rowPlan(ctx, 'instancenorm', d[0]! * c, l, 1, { scale: 1, bias: 2 }, ctx.attrs.float('epsilon', 1e-5), c);
}

function groupNorm(ctx: GpuKernelContext): GpuPlan {
  const d = ctx.inputs[0]!.dims;
  if (d.length < 2) return unsupported('rank < 2');
  const c = d[1]!;
  const g = ctx.attrs.int('num_groups', 0);
  if (!(g >= 1) || c % g !== 0) return unsupported('num_groups does not divide the channels');
  const sc = ctx.inputs[1];
  const bi = ctx.inputs[2];
  if (!sc || !bi || sc.dtype !== 'float32' || bi.dtype !== 'float32') return unsupported('scale and bias must be float32');
  const sp = sizeOf(d.slice(2));
  const cpg = c / g;
  const eps = ctx.attrs.float('epsilon', 1e-5);
  // Opset 18 has one scale/bias per group (as the CPU kernel decides), opset 21 one per channel.
  const perGroup = ctx.opset < 21 && sizeOf(sc.dims) === g && g !== c;
  const want = perGroup ? g : c;
  if (sizeOf(sc.dims) !== want || sizeOf(bi.dims) !== want) return unsupported('scale and bias sizes');
  if (perGroup) return rowPlan(ctx, 'instancenorm', d[0]! * g, cpg * sp, 1, { scale: 1, bias: 2 }, eps, g);
  return rowPlan(ctx, 'groupnorm', d[0]! * g, cpg * sp, 1, { scale: 1, bias: 2 }, eps, g, undefined, [{ name: 'cpg', type: 'u32', value: cpg }, { name: 'sp', type: 'u32', value: Math.max(1, sp) }]);
}

interface GlobalPoolParams {
  readonly op: 'mean' | 'max';
}

/** Rows per workgroup of the global pool: small, so that a few hundred channels still spread over several workgroups. */
const GPWG = 16;

/** One thread per (n, c) row over its contiguous spatial extent, four accumulators (no barriers: SwiftShader pays for them). */
const globalPoolShader = defineShader<GlobalPoolParams>('global_pool', (spec) => {
  const o = OPS[spec.params.op];
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
@compute @workgroup_size(${GPWG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lidx: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = (wid.y * nwg.x + wid.x) * ${GPWG}u + lidx;
  if (row >= u_nout()) { return; }
  let R = u_r(); let base = row * R;
  var a0 = ${o.init}; var a1 = ${o.init}; var a2 = ${o.init}; var a3 = ${o.init};
  var i = 0u;
  for (; i + 4u <= R; i = i + 4u) {
    let p = base + i;
    a0 = ${o.acc('a0', 'x[p]')}; a1 = ${o.acc('a1', 'x[p + 1u]')}; a2 = ${o.acc('a2', 'x[p + 2u]')}; a3 = ${o.acc('a3', 'x[p + 3u]')};
  }
  for (; i < R; i = i + 1u) { a0 = ${o.acc('a0', 'x[base + i]')}; }
  let acc = ${o.comb(o.comb('a0', 'a1'), o.comb('a2', 'a3'))};
  out[row] = ${o.fin('acc')};
}`;
});

function globalPool(op: 'mean' | 'max'): GpuKernel {
  return {
    plan(ctx) {
      const x = ctx.inputs[0]!;
      const r = x.dims.length;
      if (r < 3) return unsupported('rank < 3');
      const nOut = x.dims[0]! * x.dims[1]!;
      const red = sizeOf(x.dims.slice(2));
      // Few long rows: the workgroup-per-output tree reduction spreads each row over 64 threads.
      if (x.dtype !== 'float32' || red === 0 || nOut * 16 < red) return reducePlan(ctx, op, [...Array(r - 2).keys()].map((i) => i + 2), true);
      const outDims = [x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)];
      return {
        kind: 'run',
        outputs: [{ dtype: 'float32', dims: outDims }],
        programs: nOut === 0 ? [] : [{
          shader: globalPoolShader,
          params: { op } satisfies GlobalPoolParams,
          uniforms: [{ name: 'nout', type: 'u32', value: nOut }, { name: 'r', type: 'u32', value: red }],
          bindings: [{ input: 0 }, { output: 0 }],
          workgroups: grid(nOut, GPWG),
        }],
      };
    },
  };
}

export const reduceGpuKernels = {
  ReduceSum: reduceKernel('sum', 13),
  ReduceMean: reduceKernel('mean', 18),
  ReduceMax: reduceKernel('max', 18),
  ReduceMin: reduceKernel('min', 18),
  ReduceProd: reduceKernel('prod', 18),
  ReduceSumSquare: reduceKernel('sumsquare', 18),
  ReduceL1: reduceKernel('l1', 18),
  ReduceL2: reduceKernel('l2', 18),
  ReduceLogSum: reduceKernel('logsum', 18),
  ReduceLogSumExp: reduceKernel('logsumexp', 18),
  Softmax: softmaxKernel('softmax'),
  LogSoftmax: softmaxKernel('logsoftmax'),
  LayerNormalization: { plan: (ctx) => layerNorm(ctx) },
  RMSNormalization: { plan: rmsNorm },
  InstanceNormalization: { plan: instanceNorm },
  GroupNormalization: { plan: groupNorm },
  GlobalAveragePool: globalPool('mean'),
  GlobalMaxPool: globalPool('max'),
} satisfies Record<string, GpuKernel>;
