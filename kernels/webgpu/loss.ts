// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss on WebGPU (float32 input, int32 or narrowed
// int64 targets). SCE is two programs: log-softmax over the class axis (into its log_prob output or a
// temporary), then NLL over it. reduction 'none' is a thread per element; 'sum' and 'mean' are one
// workgroup that accumulates loss and weight and reduces them in shared memory.
import type { BindingRef, GpuKernel, GpuKernelContext, GpuPlan, Program, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { bindingDecls, defineShader, flit, grid, main1d, sizeOf, uniformDecl } from './wgsl.js';

interface LogSoftmaxParams {
  readonly axis1: true;
}

/** out[n, c, d] = x[n, c, d] - max_c - log(sum_c exp(x - max)), a thread per element. */
const logSoftmaxAxis1Shader = defineShader<LogSoftmaxParams>('logsoftmax-axis1', (spec) => `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${main1d(`  if (gi >= u_n()) { return; }
  let C = u_c();
  let D = u_d();
  let d = gi % D;
  let n = gi / (C * D);
  let base = n * C * D + d;
  var m = ${flit(-Infinity)};
  for (var c = 0u; c < C; c = c + 1u) { m = max(m, x[base + c * D]); }
  var s = 0.0;
  for (var c = 0u; c < C; c = c + 1u) { s = s + exp(x[base + c * D] - m); }
  out[gi] = x[gi] - m - log(s);`)}`);

interface NllParams {
  readonly reduction: 'none' | 'sum' | 'mean';
  readonly weight: boolean;
  /** The log-probabilities are a temporary or an output of an earlier program (read_write binding). */
  readonly rw: boolean;
}

const NWG = 64;

const nllShader = defineShader<NllParams>('nll', (spec) => {
  const p = spec.params;
  const decls = [{ name: 'x', type: 'f32', write: p.rw }, { name: 't', type: 'i32' }, ...(p.weight ? [{ name: 'w', type: 'f32' }] : []), { name: 'out', type: 'f32', write: true }];
  const term = `fn term(i: u32) -> vec2<f32> {
  let c = t[i];
  if (u_hasign() != 0u && c == u_ign()) { return vec2<f32>(0.0, 0.0); }
  let cc = u32(clamp(c, 0, i32(u_c()) - 1));
  let n = i / u_d();
  let d = i % u_d();
  let wt = ${p.weight ? 'w[cc]' : '1.0'};
  return vec2<f32>(-x[(n * u_c() + cc) * u_d() + d] * wt, wt);
}`;
  if (p.reduction === 'none') {
    return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${term}
${main1d(`  if (gi >= u_n()) { return; }
  out[gi] = term(gi).x;`)}`;
  }
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${term}
var<workgroup> sh: array<vec2<f32>, ${NWG}>;
@compute @workgroup_size(${NWG})
fn main(@builtin(local_invocation_index) lidx: u32) {
  var acc = vec2<f32>(0.0, 0.0);
  for (var i = lidx; i < u_n(); i = i + ${NWG}u) { acc = acc + term(i); }
  sh[lidx] = acc;
  workgroupBarrier();
  for (var s = ${NWG / 2}u; s > 0u; s = s >> 1u) {
    if (lidx < s) { sh[lidx] = sh[lidx] + sh[lidx + s]; }
    workgroupBarrier();
  }
  if (lidx == 0u) { out[0] = ${p.reduction === 'sum' ? 'sh[0].x' : 'sh[0].x / sh[0].y'}; }
}`;
});

function lossPlan(ctx: GpuKernelContext, sce: boolean): GpuPlan {
  const x = ctx.inputs[0]!;
  const tgt = ctx.inputs[1]!;
  const w = ctx.inputs[2];
  if (x.dtype !== 'float32') return unsupported(`${ctx.node.opType} of ${x.dtype} runs on the CPU`);
  if (tgt.dtype !== 'int32' && tgt.dtype !== 'int64') return unsupported(`target is ${tgt.dtype}`);
  if (x.dims.length < 2) return unsupported('rank < 2');
  const [N, C] = [x.dims[0]!, x.dims[1]!];
  const rest = x.dims.slice(2);
  const D = sizeOf(rest);
  const tdims = [N, ...rest];
  if (tgt.dims.length !== tdims.length || tgt.dims.some((d, i) => d !== tdims[i])) return unsupported('target shape does not match');
  if (w && (w.dtype !== 'float32' || w.dims.length !== 1 || w.dims[0] !== C)) return unsupported('weight must be float32 [C]');
  const reduction = ctx.attrs.string('reduction', 'mean');
  if (reduction !== 'none' && reduction !== 'sum' && reduction !== 'mean') return unsupported(`reduction '${reduction}'`);
  if (C === 0) return unsupported('no classes');
  const ign = ctx.attrs.has('ignore_index') ? ctx.attrs.int('ignore_index', 0) : undefined;
  if (ign !== undefined && (ign > 2 ** 31 - 1 || ign < -(2 ** 31))) return unsupported('ignore_index outside i32');
  const nT = N * D;
  const programs: Program[] = [];
  let logp: BindingRef = { input: 0 };
  const outputs = [{ dtype: 'float32' as const, dims: reduction === 'none' ? tdims : [] }];
  const temps: number[] = [];
  if (sce) {
    const wantLp = ctx.outputsUsed[1] === true;
    if (wantLp) outputs.push({ dtype: 'float32', dims: [...x.dims] });
    else temps.push(Math.max(1, sizeOf(x.dims)));
    logp = wantLp ? { output: 1 } : { temp: 0 };
    const n = sizeOf(x.dims);
    if (n > 0) {
      programs.push({
        shader: logSoftmaxAxis1Shader,
        params: { axis1: true } satisfies LogSoftmaxParams,
        uniforms: [{ name: 'n', type: 'u32', value: n }, { name: 'c', type: 'u32', value: C }, { name: 'd', type: 'u32', value: Math.max(1, D) }],
        bindings: [{ input: 0 }, logp],
        workgroups: grid(n),
      });
    }
  }
  const uniforms: UniformValue[] = [
    { name: 'n', type: 'u32', value: nT },
    { name: 'c', type: 'u32', value: C },
    { name: 'd', type: 'u32', value: Math.max(1, D) },
    { name: 'hasign', type: 'u32', value: ign === undefined ? 0 : 1 },
    { name: 'ign', type: 'i32', value: ign ?? 0 },
  ];
  if (reduction !== 'none' || nT > 0) {
    programs.push({
      shader: nllShader,
      params: { reduction, weight: w !== undefined, rw: sce } satisfies NllParams,
      uniforms,
      bindings: [logp, { input: 1 }, ...(w ? [{ input: 2 }] : []), { output: 0 }],
      workgroups: reduction === 'none' ? grid(nT) : [1, 1, 1],
    });
  }
  return { kind: 'run', outputs, temps, programs };
}

export const lossGpuKernels = {
  NegativeLogLikelihoodLoss: { narrowInt64: [1], plan: (ctx) => lossPlan(ctx, false) },
  SoftmaxCrossEntropyLoss: { narrowInt64: [1], plan: (ctx) => lossPlan(ctx, true) },
} satisfies Record<string, GpuKernel>;
