// Convolution and pooling on WebGPU (1-D and 2-D, NCHW). Conv is direct: each thread computes
// four output channels of four pixels when the channels per group are a multiple of 4 (grouped and depthwise convolutions included).
import type { GpuKernel, GpuKernelContext, GpuPlan, UniformValue } from './types.js';
import { unsupported } from './types.js';
import { matmulPlan } from './linalg.js';
import { applyEpilogue, type EpilogueArgs, type EpilogueSpec, epilogueDecls, epilogueFn, epilogueSpec } from './fused-expr.js';
import { bindingDecls, defineShader, flit, grid, mainTotal, sizeOf, uniformDecl } from './wgsl.js';

interface Geometry {
  outDims: number[];
  padBegin: number[];
}

/** Output sizes and leading pads of a window op over spatial dims `inDims`. */
function geometry(ctx: GpuKernelContext, inDims: readonly number[], kernel: readonly number[], opts: { ceil?: boolean } = {}): Geometry | string {
  const n = inDims.length;
  const strides = ctx.attrs.ints('strides', new Array<number>(n).fill(1));
  const dil = ctx.attrs.ints('dilations', new Array<number>(n).fill(1));
  const pads = ctx.attrs.ints('pads', new Array<number>(2 * n).fill(0));
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  const outDims: number[] = [];
  const padBegin: number[] = [];
  for (let i = 0; i < n; i++) {
    const inD = inDims[i]!;
    const s = strides[i]!;
    const ek = (kernel[i]! - 1) * dil[i]! + 1;
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const o = Math.ceil(inD / s);
      const total = Math.max(0, (o - 1) * s + ek - inD);
      outDims.push(o);
      padBegin.push(autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2));
    } else if (autoPad === 'VALID') {
      outDims.push(Math.floor((inD - ek) / s) + 1);
      padBegin.push(0);
    } else if (autoPad === 'NOTSET') {
      const span = inD + pads[i]! + pads[i + n]! - ek;
      let o = (opts.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (opts.ceil && (o - 1) * s >= inD + pads[i]!) o--;
      outDims.push(o);
      padBegin.push(pads[i]!);
    } else {
      return `auto_pad ${autoPad}`;
    }
  }
  if (outDims.some((d) => d <= 0)) return 'empty output';
  return { outDims, padBegin };
}

interface ConvParams {
  readonly bias: boolean;
  /** Output channels per thread (1 or 4). */
  readonly ocv: number;
  /** Elementwise ops applied before the store (tgraph.FusedConv). */
  readonly epilogue?: EpilogueSpec;
}

/** Output pixels along W per thread. */
const OWV = 4;

const convShader = defineShader<ConvParams>('conv2d', (spec) => {
  const p = spec.params;
  const decls = [{ name: 'x', type: 'f32' }, { name: 'w', type: 'f32' }, ...(p.bias ? [{ name: 'b', type: 'f32' }] : []), ...epilogueDecls(p.epilogue), { name: 'out', type: 'f32', write: true }];
  const V = p.ocv;
  const accT = V === 4 ? 'vec4<f32>' : 'f32';
  const wLoad = V === 4 ? 'vec4<f32>(w[wi], w[wi + wStride], w[wi + 2u * wStride], w[wi + 3u * wStride])' : 'w[wi]';
  const biasInit = p.bias ? (V === 4 ? 'vec4<f32>(b[oc0], b[oc0 + 1u], b[oc0 + 2u], b[oc0 + 3u])' : 'b[oc0]') : `${accT}(0.0)`;
  const P = [...Array(OWV).keys()];
  const writes: string[] = [];
  for (const q of P) {
    const ow = `ow0 + ${q}u`;
    const st = (c: string, v: string) => {
      const fi = `((n * OC + ${c}) * OH + oh) * OW + ${ow}`;
      return `  if (${ow} < OW) { out[${fi}] = ${applyEpilogue(p.epilogue, v, fi, c)}; }`;
    };
    if (V === 4) for (let c = 0; c < 4; c++) writes.push(st(`oc0 + ${c}u`, `acc${q}[${c}]`));
    else writes.push(st('oc0', `acc${q}`));
  }
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${epilogueFn(p.epilogue)}${mainTotal(`  let C = u_c(); let H = u_h(); let W = u_w(); let OC = u_oc(); let OH = u_oh(); let OW = u_ow();
  let KH = u_kh(); let KW = u_kw(); let cpg = u_cpg(); let ocpg = u_ocpg();
  let sw = u_sw(); let dh = u_dh(); let dw = u_dw();
  let owBlocks = (OW + ${OWV - 1}u) / ${OWV}u;
  let ow0 = (gi % owBlocks) * ${OWV}u; var t = gi / owBlocks; let oh = t % OH; t = t / OH;
  let ocBlocks = (OC + ${V - 1}u) / ${V}u;
  let oc0 = (t % ocBlocks) * ${V}u; let n = t / ocBlocks;
  let g = oc0 / ocpg;
  let wStride = cpg * KH * KW;
${P.map((q) => `  var acc${q}: ${accT} = ${biasInit};`).join('\n')}
  let ih0 = i32(oh * u_sh()) - u_ph();
  let iw0 = i32(ow0 * sw) - u_pw();
  for (var icg = 0u; icg < cpg; icg = icg + 1u) {
    let xc = (n * C + g * cpg + icg) * H;
    for (var kh = 0u; kh < KH; kh = kh + 1u) {
      let ih = ih0 + i32(kh * dh);
      if (ih < 0 || ih >= i32(H)) { continue; }
      let xr = (xc + u32(ih)) * W;
      for (var kw = 0u; kw < KW; kw = kw + 1u) {
        let wi = ((oc0 * cpg + icg) * KH + kh) * KW + kw;
        let wv = ${wLoad};
        let iwk = iw0 + i32(kw * dw);
${P.map((q) => `        { let iw = iwk + ${q} * i32(sw); let xv = select(0.0, x[xr + u32(clamp(iw, 0, i32(W) - 1))], iw >= 0 && iw < i32(W)); acc${q} = acc${q} + xv * wv; }`).join('\n')}
      }
    }
  }
${writes.join('\n')}`)}`;
});

interface DepthwiseParams {
  readonly bias: boolean;
  /** Kernel width and W stride, fixed so that each input row segment is loaded once into registers. */
  readonly kw: number;
  readonly sw: number;
  readonly epilogue?: EpilogueSpec;
}

/** Output pixels along W per thread of the depthwise kernel. */
const DWV = 8;

/**
 * Depthwise conv (one input channel per output channel, W dilation 1): each thread computes DWV
 * pixels of one output row; per kernel row it loads the (DWV-1)*sw+kw input values once and
 * reuses them for every tap (the direct kernel loads one value per tap and pixel).
 */
const depthwiseShader = defineShader<DepthwiseParams>('conv2d_depthwise', (spec) => {
  const { bias, kw: KW, sw: SW, epilogue } = spec.params;
  const WIN = (DWV - 1) * SW + KW;
  const decls = [{ name: 'x', type: 'f32' }, { name: 'w', type: 'f32' }, ...(bias ? [{ name: 'b', type: 'f32' }] : []), ...epilogueDecls(epilogue), { name: 'out', type: 'f32', write: true }];
  const L: string[] = [];
  for (let t = 0; t < WIN; t++) L.push(`      let x${t} = select(0.0, x[xr + u32(clamp(iw0 + ${t}, 0, iW - 1))], iw0 + ${t} >= 0 && iw0 + ${t} < iW);`);
  for (let k = 0; k < KW; k++) L.push(`      let w${k} = w[wr + ${k}u];`);
  for (let q = 0; q < DWV; q++) L.push(`      acc${q} = acc${q}${[...Array(KW).keys()].map((k) => ` + x${q * SW + k} * w${k}`).join('')};`);
  return `${uniformDecl(spec.uniforms)}
${bindingDecls(decls)}
${epilogueFn(epilogue)}${mainTotal(`  let C = u_c(); let H = u_h(); let W = u_w(); let OH = u_oh(); let OW = u_ow(); let KH = u_kh();
  let iW = i32(W);
  let owBlocks = (OW + ${DWV - 1}u) / ${DWV}u;
  let ow0 = (gi % owBlocks) * ${DWV}u; var t = gi / owBlocks; let oh = t % OH; let nc = t / OH;
  let c = nc % C;
${[...Array(DWV).keys()].map((q) => `  var acc${q}: f32 = ${bias ? 'b[c]' : '0.0'};`).join('\n')}
  let ih0 = i32(oh * u_sh()) - u_ph();
  let iw0 = i32(ow0 * ${SW}u) - u_pw();
  for (var kh = 0u; kh < KH; kh = kh + 1u) {
    let ih = ih0 + i32(kh * u_dh());
    if (ih >= 0 && ih < i32(H)) {
      let xr = (nc * H + u32(ih)) * W;
      let wr = (c * KH + kh) * ${KW}u;
${L.join('\n')}
    }
  }
  let orow = (nc * OH + oh) * OW;
${[...Array(DWV).keys()].map((q) => `  if (ow0 + ${q}u < OW) { out[orow + ow0 + ${q}u] = ${applyEpilogue(epilogue, `acc${q}`, `orow + ow0 + ${q}u`, 'c')}; }`).join('\n')}`)}`;
});

/** Conv, optionally with an epilogue before the store (tgraph.FusedConv). */
export function convGpu(ctx: GpuKernelContext, epi?: EpilogueArgs): GpuPlan {
  const X = ctx.inputs[0]!;
  const Wt = ctx.inputs[1]!;
  const B = ctx.inputs[2];
  if (X.dtype !== 'float32' || Wt.dtype !== 'float32') return unsupported(`Conv of ${X.dtype} runs on the CPU`);
  const r = X.dims.length;
  if (r !== 3 && r !== 4) return unsupported(`Conv of rank ${r} runs on the CPU`);
  const spatial = r === 3 ? [1, X.dims[2]!] : [X.dims[2]!, X.dims[3]!];
  const kernel = r === 3 ? [1, Wt.dims[2]!] : [Wt.dims[2]!, Wt.dims[3]!];
  const group = ctx.attrs.int('group', 1);
  const [N, C] = [X.dims[0]!, X.dims[1]!];
  const OC = Wt.dims[0]!;
  const cpg = Wt.dims[1]!;
  if (cpg * group !== C || OC % group !== 0) return unsupported('channels do not match groups');
  const geo1 = geometry(ctx, X.dims.slice(2), Wt.dims.slice(2));
  if (typeof geo1 === 'string') return unsupported(geo1);
  const strides = ctx.attrs.ints('strides', new Array<number>(r - 2).fill(1));
  const dil = ctx.attrs.ints('dilations', new Array<number>(r - 2).fill(1));
  const [oh, ow] = r === 3 ? [1, geo1.outDims[0]!] : [geo1.outDims[0]!, geo1.outDims[1]!];
  const [ph, pw] = r === 3 ? [0, geo1.padBegin[0]!] : [geo1.padBegin[0]!, geo1.padBegin[1]!];
  const [sh, sw] = r === 3 ? [1, strides[0]!] : [strides[0]!, strides[1]!];
  const [dh, dw] = r === 3 ? [1, dil[0]!] : [dil[0]!, dil[1]!];
  const outDims = [N, OC, ...geo1.outDims];
  const espec = epi ? epilogueSpec(ctx, epi, outDims, 1) : undefined;
  if (typeof espec === 'string') return unsupported(espec);
  const ebind = (epi?.inputs ?? []).map((input) => ({ input }));
  if (group === 1 && kernel[0] === 1 && kernel[1] === 1 && sh === 1 && sw === 1 && ph === 0 && pw === 0 && oh === spatial[0] && ow === spatial[1] && N <= 65535) {
    // A pointwise conv is a matmul per image: out[n] (OC x HW) = W (OC x C) . x[n] (C x HW), bias per row.
    const hw = oh * ow;
    return matmulPlan({
      m: OC, n: hw, k: C, transA: false, transB: false,
      batchDims: [N], aBatch: [], bBatch: [N], alpha: 1, beta: 1,
      ...(B ? { c: { input: 2, strideM: 1, strideN: 0 } } : {}),
      outDims, operands: [1, 0],
      ...(espec ? { epilogue: { spec: espec, inputs: epi!.inputs, channel: 'row' as const } } : {}),
    });
  }
  if (group === C && OC === C && cpg === 1 && dw === 1 && kernel[1]! <= 7 && sw <= 2) {
    const total = N * C * oh * Math.ceil(ow / DWV);
    return {
      kind: 'run',
      outputs: [{ dtype: 'float32', dims: outDims }],
      programs: total === 0 ? [] : [{
        shader: depthwiseShader,
        params: { bias: !!B, kw: kernel[1]!, sw, epilogue: espec } satisfies DepthwiseParams,
        uniforms: [
          { name: 'total', type: 'u32', value: total },
          { name: 'c', type: 'u32', value: C }, { name: 'h', type: 'u32', value: spatial[0]! }, { name: 'w', type: 'u32', value: spatial[1]! },
          { name: 'oh', type: 'u32', value: oh }, { name: 'ow', type: 'u32', value: ow },
          { name: 'kh', type: 'u32', value: kernel[0]! }, { name: 'sh', type: 'u32', value: sh }, { name: 'dh', type: 'u32', value: dh },
          { name: 'ph', type: 'i32', value: ph }, { name: 'pw', type: 'i32', value: pw },
        ],
        bindings: [{ input: 0 }, { input: 1 }, ...(B ? [{ input: 2 }] : []), ...ebind, { output: 0 }],
        workgroups: grid(total),
      }],
    };
  }
  const ocpg = OC / group;
  const ocv = ocpg % 4 === 0 ? 4 : 1;
  const total = N * Math.ceil(OC / ocv) * oh * Math.ceil(ow / OWV);
  const uniforms: UniformValue[] = [
    { name: 'total', type: 'u32', value: total },
    { name: 'c', type: 'u32', value: C }, { name: 'h', type: 'u32', value: spatial[0]! }, { name: 'w', type: 'u32', value: spatial[1]! },
    { name: 'oc', type: 'u32', value: OC }, { name: 'oh', type: 'u32', value: oh }, { name: 'ow', type: 'u32', value: ow },
    { name: 'kh', type: 'u32', value: kernel[0]! }, { name: 'kw', type: 'u32', value: kernel[1]! },
    { name: 'cpg', type: 'u32', value: cpg }, { name: 'ocpg', type: 'u32', value: ocpg },
    { name: 'sh', type: 'u32', value: sh }, { name: 'sw', type: 'u32', value: sw },
    { name: 'ph', type: 'i32', value: ph }, { name: 'pw', type: 'i32', value: pw },
    { name: 'dh', type: 'u32', value: dh }, { name: 'dw', type: 'u32', value: dw },
  ];
  return {
    kind: 'run',
    outputs: [{ dtype: 'float32', dims: outDims }],
    programs: sizeOf(outDims) === 0 ? [] : [{
      shader: convShader,
      params: { bias: !!B, ocv, epilogue: espec } satisfies ConvParams,
      uniforms,
      bindings: [{ input: 0 }, { input: 1 }, ...(B ? [{ input: 2 }] : []), ...ebind, { output: 0 }],
      workgroups: grid(total),
    }],
  };
}

interface PoolParams {
  readonly op: 'max' | 'avg';
  readonly countPad: boolean;
}

const poolShader = defineShader<PoolParams>('pool2d', (spec) => {
  const p = spec.params;
  return `${uniformDecl(spec.uniforms)}
${bindingDecls([{ name: 'x', type: 'f32' }, { name: 'out', type: 'f32', write: true }])}
${mainTotal(`  let H = u_h(); let W = u_w(); let OH = u_oh(); let OW = u_ow();
  let ow = gi % OW; var t = gi / OW; let oh = t % OH; let nc = t / OH;
  let ih0 = i32(oh * u_sh()) - u_ph();
  let iw0 = i32(ow * u_sw()) - u_pw();
  var acc = ${p.op === 'max' ? flit(-Infinity) : '0.0'};
  var cnt = 0u;
  for (var kh = 0u; kh < u_kh(); kh = kh + 1u) {
    let ih = ih0 + i32(kh * u_dh());
    if (${p.countPad ? 'ih >= i32(H + u32(u_pe_h()))' : 'ih < 0 || ih >= i32(H)'}) { continue; }
    for (var kw = 0u; kw < u_kw(); kw = kw + 1u) {
      let iw = iw0 + i32(kw * u_dw());
      if (${p.countPad ? 'iw >= i32(W + u32(u_pe_w()))' : 'iw < 0 || iw >= i32(W)'}) { continue; }
      cnt = cnt + 1u;
      if (ih < 0 || ih >= i32(H) || iw < 0 || iw >= i32(W)) { continue; }
      let v = x[(nc * H + u32(ih)) * W + u32(iw)];
      acc = ${p.op === 'max' ? 'max(acc, v)' : 'acc + v'};
    }
  }
  out[gi] = ${p.op === 'max' ? 'acc' : 'acc / f32(max(cnt, 1u))'};`)}`;
});

function pool(op: 'max' | 'avg'): GpuKernel {
  return {
    plan(ctx) {
      const X = ctx.inputs[0]!;
      if (X.dtype !== 'float32') return unsupported(`pooling of ${X.dtype} runs on the CPU`);
      if (op === 'max' && ctx.outputsUsed[1]) return unsupported('Indices output runs on the CPU');
      const r = X.dims.length;
      if (r !== 3 && r !== 4) return unsupported(`pooling of rank ${r} runs on the CPU`);
      const k = ctx.attrs.ints('kernel_shape', []);
      if (k.length !== r - 2) return unsupported('kernel_shape');
      const ceil = ctx.attrs.int('ceil_mode', 0) === 1;
      const geo = geometry(ctx, X.dims.slice(2), k, { ceil });
      if (typeof geo === 'string') return unsupported(geo);
      const n = r - 2;
      const strides = ctx.attrs.ints('strides', new Array<number>(n).fill(1));
      const dil = ctx.attrs.ints('dilations', new Array<number>(n).fill(1));
      const pads = ctx.attrs.ints('pads', new Array<number>(2 * n).fill(0));
      const countPad = op === 'avg' && ctx.attrs.int('count_include_pad', 0) === 1;
      if (countPad && ctx.attrs.string('auto_pad', 'NOTSET') !== 'NOTSET') return unsupported('count_include_pad with auto_pad');
      const two = <T>(v: T[], d: T): [T, T] => (n === 1 ? [d, v[0]!] : [v[0]!, v[1]!]);
      const [H, W] = two(X.dims.slice(2), 1);
      const [oh, ow] = two(geo.outDims, 1);
      const [kh, kw] = two(k, 1);
      const [sh, sw] = two(strides, 1);
      const [dh, dw] = two(dil, 1);
      const [ph, pw] = two(geo.padBegin, 0);
      const [peh, pew] = two(pads.slice(n), 0);
      const outDims = [X.dims[0]!, X.dims[1]!, ...geo.outDims];
      const total = sizeOf(outDims);
      const uniforms: UniformValue[] = [
        { name: 'total', type: 'u32', value: total },
        { name: 'h', type: 'u32', value: H }, { name: 'w', type: 'u32', value: W },
        { name: 'oh', type: 'u32', value: oh }, { name: 'ow', type: 'u32', value: ow },
        { name: 'kh', type: 'u32', value: kh }, { name: 'kw', type: 'u32', value: kw },
        { name: 'sh', type: 'u32', value: sh }, { name: 'sw', type: 'u32', value: sw },
        { name: 'dh', type: 'u32', value: dh }, { name: 'dw', type: 'u32', value: dw },
        { name: 'ph', type: 'i32', value: ph }, { name: 'pw', type: 'i32', value: pw },
        { name: 'pe_h', type: 'i32', value: peh }, { name: 'pe_w', type: 'i32', value: pew },
      ];
      return {
        kind: 'run',
        outputs: [{ dtype: 'float32', dims: outDims }],
        programs: total === 0 ? [] : [{ shader: poolShader, params: { op, countPad } satisfies PoolParams, uniforms, bindings: [{ input: 0 }, { output: 0 }], workgroups: grid(total) }],
      };
    },
  };
}

export const nnGpuKernels = {
  Conv: { plan: (ctx) => convGpu(ctx) },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
} satisfies Record<string, GpuKernel>;
