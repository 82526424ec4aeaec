// MatMul and Gemm on WebGPU: each thread computes a TM x TN block of the output in registers,
// loading B (and A when K allows) as vec4. Batch dims broadcast through uniform strides.
// On SwiftShader register blocks with vec4 loads beat shared-memory tiling.
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { applyEpilogue, type EpilogueArgs, type EpilogueSpec, epilogueDecls, epilogueFn, epilogueSpec } from './fused-expr.js';
import { bindingDecls, broadcastShapes, broadcastStrides, defineShader, sizeOf, stridesOf, uniformDecl } from './wgsl.js';

interface MatMulParams {
  /** Rows and columns per thread (TN a multiple of 4). */
  readonly tm: number;
  readonly tn: number;
  readonly transA: boolean;
  readonly transB: boolean;
  /** B (and the output) read and written as vec4 along N: needs !transB and N % 4 == 0. */
  readonly vecB: boolean;
  /** A read as vec4 along K, four k per step: needs !transA, K % 4 == 0 and vecB. */
  readonly vecA: boolean;
  readonly hasC: boolean;
  readonly batchRank: number;
  /** Elementwise ops applied before the store (tgraph.FusedMatMul/FusedGemm, pointwise FusedConv). */
  readonly epilogue?: EpilogueSpec;
  /** Which output index an epilogue's per-channel inputs follow. */
  readonly epilogueChannel?: 'row' | 'col';
}

const WGX = 8;
const WGY = 8;

const matmulShader = defineShader<MatMulParams>('matmul', (spec) => {
  const p = spec.params;
  const nv = p.tn / 4;
  const bType = p.vecB ? 'vec4<f32>' : 'f32';
  const aType = p.vecA ? 'vec4<f32>' : 'f32';
  const decls = [{ name: 'a', type: aType }, { name: 'b', type: bType }, ...(p.hasC ? [{ name: 'c', type: 'f32' }] : []), ...epilogueDecls(p.epilogue), { name: 'out', type: p.vecB ? 'vec4<f32>' : 'f32', write: true }];
  const L: string[] = [];
  // batch offsets
  L.push('  var rem = g.z; var aOff = 0u; var bOff = 0u;');
  for (let d = 0; d < p.batchRank; d++) {
    L.push(`  { let c = rem / u_obs(${d}u); rem = rem - c * u_obs(${d}u); aOff = aOff + c * u_abs(${d}u); bOff = bOff + c * u_bbs(${d}u); }`);
  }
  L.push('  let oOff = g.z * M * N;');
  L.push(`  let row0 = g.y * ${p.tm}u; let col0 = g.x * ${p.tn}u;`);
  L.push('  if (row0 >= M || col0 >= N) { return; }');
  for (let i = 0; i < p.tm; i++) L.push(`  let r${i} = min(row0 + ${i}u, M - 1u);`);
  for (let j = 0; j < p.tn; j++) if (!p.vecB || j % 4 === 0) L.push(`  let c${j} = min(col0 + ${j}u, N - ${p.vecB ? 4 : 1}u);`);
  // Separate variables, not an array: SwiftShader keeps arrays in memory.
  for (let q = 0; q < p.tm * nv; q++) L.push(`  var acc${q} = vec4<f32>(0.0);`);
  const loadB = (k: string, j: number): string => {
    if (p.vecB) return `b[(bOff + ${k} * N + c${j * 4}) / 4u]`;
    const s = (jj: number) => (p.transB ? `b[bOff + c${jj} * K + ${k}]` : `b[bOff + ${k} * N + c${jj}]`);
    return `vec4<f32>(${s(j * 4)}, ${s(j * 4 + 1)}, ${s(j * 4 + 2)}, ${s(j * 4 + 3)})`;
  };
  if (p.vecA) {
    L.push('  for (var k = 0u; k < K; k = k + 4u) {');
    for (let q = 0; q < 4; q++) for (let j = 0; j < nv; j++) L.push(`    let b${q}_${j} = ${loadB(`(k + ${q}u)`, j)};`);
    for (let i = 0; i < p.tm; i++) {
      L.push(`    { let av = a[(aOff + r${i} * K + k) / 4u];`);
      for (let j = 0; j < nv; j++) L.push(`      acc${i * nv + j} = acc${i * nv + j} + av.x * b0_${j} + av.y * b1_${j} + av.z * b2_${j} + av.w * b3_${j};`);
      L.push('    }');
    }
    L.push('  }');
  } else {
    L.push('  for (var k = 0u; k < K; k = k + 1u) {');
    for (let j = 0; j < nv; j++) L.push(`    let b_${j} = ${loadB('k', j)};`);
    for (let i = 0; i < p.tm; i++) {
      L.push(`    { let av = ${p.transA ? `a[aOff + k * M + r${i}]` : `a[aOff + r${i} * K + k]`};`);
      for (let j = 0; j < nv; j++) L.push(`      acc${i * nv + j} = fma(vec4<f32>(av), b_${j}, acc${i * nv + j});`);
      L.push('    }');
    }
    L.push('  }');
  }
  for (let i = 0; i < p.tm; i++) {
    L.push(`  if (row0 + ${i}u < M) {`);
    for (let j = 0; j < nv; j++) {
      const col = `col0 + ${j * 4}u`;
      let v = `acc${i * nv + j}`;
      if (p.hasC) {
        const cAt = (q: number) => `c[(row0 + ${i}u) * u_csm() + min(${col} + ${q}u, N - 1u) * u_csn()]`;
        v = `u_alpha() * ${v} + u_beta() * vec4<f32>(${cAt(0)}, ${cAt(1)}, ${cAt(2)}, ${cAt(3)})`;
      } else {
        v = `u_alpha() * ${v}`;
      }
      L.push(`    { let v = ${v};`);
      const fi = (q: number) => `oOff + (row0 + ${i}u) * N + ${col} + ${q}u`;
      const epi = (q: number) => applyEpilogue(p.epilogue, `v[${q}]`, fi(q), p.epilogueChannel === 'row' ? `row0 + ${i}u` : `${col} + ${q}u`);
      if (p.vecB) {
        const vv = p.epilogue ? `vec4<f32>(${[0, 1, 2, 3].map(epi).join(', ')})` : 'v';
        L.push(`      if (${col} < N) { out[(oOff + (row0 + ${i}u) * N + ${col}) / 4u] = ${vv}; }`);
      } else {
        for (let q = 0; q < 4; q++) L.push(`      if (${col} + ${q}u < N) { out[${fi(q)}] = ${epi(q)}; }`);
      }
      L.push('    }');
    }
    L.push('  }');
  }
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${epilogueFn(p.epilogue)}@compute @workgroup_size(${WGX}, ${WGY}, 1)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let M = u_m(); let N = u_n(); let K = u_k();
${L.join('\n')}
}`;
});

export interface MatMulArgs {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  batchDims: readonly number[];
  aBatch: readonly number[];
  bBatch: readonly number[];
  alpha: number;
  beta: number;
  c?: { input: number; strideM: number; strideN: number };
  outDims: readonly number[];
  /** The node inputs bound as A and B (default 0 and 1). */
  operands?: readonly [number, number];
  /** An epilogue before the store, its extra node inputs, and the index its per-channel inputs follow. */
  epilogue?: { spec: EpilogueSpec; inputs: readonly number[]; channel: 'row' | 'col' };
}

/** A plan of one batched matmul dispatch (also used by Conv for 1x1 kernels). */
export function matmulPlan(a: MatMulArgs): GpuPlan {
  const { m, n, k } = a;
  const vecB = !a.transB && n % 4 === 0;
  const vecA = vecB && !a.transA && k % 4 === 0;
  const tm = m >= 32 ? 8 : m >= 4 ? 4 : 1;
  const tn = n >= 32 ? 8 : 4;
  const batch = sizeOf(a.batchDims);
  const uniforms: UniformValue[] = [
    { name: 'm', type: 'u32', value: m },
    { name: 'n', type: 'u32', value: n },
    { name: 'k', type: 'u32', value: k },
    { name: 'alpha', type: 'f32', value: a.alpha },
    { name: 'beta', type: 'f32', value: a.beta },
    { name: 'obs', type: 'u32', value: stridesOf(a.batchDims) },
    { name: 'abs', type: 'u32', value: broadcastStrides(a.aBatch, a.batchDims).map((s) => s * m * k) },
    { name: 'bbs', type: 'u32', value: broadcastStrides(a.bBatch, a.batchDims).map((s) => s * k * n) },
    { name: 'csm', type: 'u32', value: a.c?.strideM ?? 0 },
    { name: 'csn', type: 'u32', value: a.c?.strideN ?? 0 },
  ];
  const params: MatMulParams = { tm, tn, transA: a.transA, transB: a.transB, vecB, vecA, hasC: !!a.c, batchRank: a.batchDims.length, epilogue: a.epilogue?.spec, epilogueChannel: a.epilogue?.channel };
  const empty = m === 0 || n === 0 || batch === 0;
  if (k === 0 && !empty) return unsupported('K = 0');
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: a.outDims }],
    programs: empty ? [] : [{
      shader: matmulShader,
      params,
      uniforms,
      bindings: [{ input: a.operands?.[0] ?? 0 }, { input: a.operands?.[1] ?? 1 }, ...(a.c ? [{ input: a.c.input }] : []), ...(a.epilogue?.inputs ?? []).map((input) => ({ input })), { output: 0 }],
      workgroups: [Math.ceil(n / tn / WGX), Math.ceil(m / tm / WGY), batch],
    }],
  };
}

/** An epilogue's args for a plan with output `outDims` (channel: the last axis), or why it cannot run. */
function withEpilogue(ctx: GpuKernelContext, epi: EpilogueArgs | undefined, outDims: readonly number[]): MatMulArgs['epilogue'] | string | undefined {
  if (!epi) return undefined;
  const spec = epilogueSpec(ctx, epi, outDims, outDims.length - 1);
  return typeof spec === 'string' ? spec : { spec, inputs: epi.inputs, channel: 'col' };
}

/** MatMul, optionally with an epilogue (tgraph.FusedMatMul). */
export function matmulGpu(ctx: GpuKernelContext, epi?: EpilogueArgs): GpuPlan {
  const A = ctx.inputs[0]!;
  const B = ctx.inputs[1]!;
  if (A.dtype !== 'float32' || B.dtype !== 'float32') return unsupported(`MatMul of ${A.dtype} runs on the CPU`);
  if (A.dims.length === 0 || B.dims.length === 0) return unsupported('scalar operand');
  const ad = A.dims.length === 1 ? [1, A.dims[0]!] : A.dims;
  const bd = B.dims.length === 1 ? [B.dims[0]!, 1] : B.dims;
  const m = ad[ad.length - 2]!;
  const k = ad[ad.length - 1]!;
  const n = bd[bd.length - 1]!;
  if (bd[bd.length - 2] !== k) return unsupported(`inner dims differ: [${A.dims.join(',')}] x [${B.dims.join(',')}]`);
  const aBatch = ad.slice(0, -2);
  const bBatch = bd.slice(0, -2);
  const batchDims = broadcastShapes([aBatch, bBatch]);
  if (!batchDims) return unsupported('batch dims do not broadcast');
  const outDims = [...batchDims, ...(A.dims.length === 1 ? [] : [m]), ...(B.dims.length === 1 ? [] : [n])];
  if (batchDims.length > 0 && sizeOf(batchDims) > 65535) return unsupported('batch too large');
  if (epi && B.dims.length === 1) return unsupported('an epilogue needs a matrix B (the last axis is then the column)');
  const epilogue = withEpilogue(ctx, epi, outDims);
  if (typeof epilogue === 'string') return unsupported(epilogue);
  return matmulPlan({ m, n, k, transA: false, transB: false, batchDims, aBatch, bBatch, alpha: 1, beta: 0, outDims, epilogue });
}

/** Gemm, optionally with an epilogue (tgraph.FusedGemm). */
export function gemmGpu(ctx: GpuKernelContext, epi?: EpilogueArgs): GpuPlan {
  const A = ctx.inputs[0]!;
  const B = ctx.inputs[1]!;
  const C = ctx.inputs[2];
  if (A.dtype !== 'float32' || B.dtype !== 'float32' || (C && C.dtype !== 'float32')) return unsupported(`Gemm of ${A.dtype} runs on the CPU`);
  if (A.dims.length !== 2 || B.dims.length !== 2) return unsupported('Gemm needs 2-D A and B');
  const transA = ctx.attrs.int('transA', 0) === 1;
  const transB = ctx.attrs.int('transB', 0) === 1;
  const m = transA ? A.dims[1]! : A.dims[0]!;
  const k = transA ? A.dims[0]! : A.dims[1]!;
  const n = transB ? B.dims[0]! : B.dims[1]!;
  if ((transB ? B.dims[1] : B.dims[0]) !== k) return unsupported('inner dims differ');
  let c: MatMulArgs['c'];
  const beta = ctx.attrs.float('beta', 1);
  if (C && sizeOf(C.dims) > 0) {
    const cd = C.dims;
    if (cd.length > 2 || !broadcastShapes([cd, [m, n]]) || broadcastShapes([cd, [m, n]])!.some((d, i) => d !== [m, n][i])) return unsupported('C does not broadcast to [M, N]');
    const s = broadcastStrides(cd, [m, n]);
    c = { input: 2, strideM: s[0]!, strideN: s[1]! };
  }
  const epilogue = withEpilogue(ctx, epi, [m, n]);
  if (typeof epilogue === 'string') return unsupported(epilogue);
  return matmulPlan({ m, n, k, transA, transB, batchDims: [], aBatch: [], bBatch: [], alpha: ctx.attrs.float('alpha', 1), beta: c ? beta : 0, c, outDims: [m, n], epilogue });
}

export const linalgGpuKernels = {
  MatMul: { plan: (ctx) => matmulGpu(ctx) },
  Gemm: { plan: (ctx) => gemmGpu(ctx) },
} satisfies Record<string, GpuKernel>;
