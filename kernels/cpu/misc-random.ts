// Random generators on CPU: RandomNormal(Like), RandomUniform(Like), Bernoulli, Multinomial.
// With a `seed` attribute the stream is deterministic (same seed, same values); without one it is seeded
// from Math.random. Values cannot match other runtimes' generators, only their distributions.
import { type DType, dtypeFromOnnx, isFloat, onnxTypeName } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, getNumber, setElement } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';

/** sfc32 seeded through splitmix32: small, fast, good enough statistically. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    for (let i = 0; i < 12; i++) this.uniform();
  }
  /** Uniform in [0, 1). */
  uniform(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

function rngFor(ctx: CpuContext): Rng {
  const seed = ctx.attrs.float('seed');
  if (seed === undefined) return new Rng((Math.random() * 4294967296) >>> 0);
  // The seed is a float: mix its bits so nearby seeds give unrelated streams.
  const f = new Float64Array([seed]);
  const u = new Uint32Array(f.buffer);
  return new Rng((u[0]! ^ Math.imul(u[1]!, 0x9e3779b1)) >>> 0);
}

function dtypeAttr(ctx: CpuContext, dflt: DType, allowed: (d: DType) => boolean): DType {
  const code = ctx.attrs.int('dtype');
  if (code === undefined) return dflt;
  const d = dtypeFromOnnx(code);
  if (!d || !allowed(d)) throw new KernelInputError(ctx, `dtype ${onnxTypeName(code)} is not allowed here`);
  return d;
}

function fill(dt: DType, dims: readonly number[], gen: () => number): HostTensor {
  const out = allocTensor(dt, dims);
  if (dt === 'float32' || dt === 'float64') {
    const d = out.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = gen();
  } else for (let i = 0; i < out.data.length; i++) setElement(out, i, gen());
  return out;
}

function shapeAttr(ctx: CpuContext): number[] {
  const s = ctx.attrs.ints('shape');
  if (!s) throw new KernelInputError(ctx, "attribute 'shape' is required");
  return s;
}

const normalGen = (ctx: CpuContext) => {
  const rng = rngFor(ctx);
  const mean = ctx.attrs.float('mean', 0);
  const scale = ctx.attrs.float('scale', 1);
  return () => mean + scale * rng.normal();
};
const uniformGen = (ctx: CpuContext) => {
  const rng = rngFor(ctx);
  const low = ctx.attrs.float('low', 0);
  const high = ctx.attrs.float('high', 1);
  if (!(high >= low)) throw new KernelInputError(ctx, `high (${high}) must not be below low (${low})`);
  return () => low + (high - low) * rng.uniform();
};

const randomNormal: CpuKernel = (_inputs, ctx) => [fill(dtypeAttr(ctx, 'float32', isFloat), shapeAttr(ctx), normalGen(ctx))];
const randomUniform: CpuKernel = (_inputs, ctx) => [fill(dtypeAttr(ctx, 'float32', isFloat), shapeAttr(ctx), uniformGen(ctx))];
const randomNormalLike: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  return [fill(dtypeAttr(ctx, x.dtype, isFloat), x.dims, normalGen(ctx))];
};
const randomUniformLike: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  return [fill(dtypeAttr(ctx, x.dtype, isFloat), x.dims, uniformGen(ctx))];
};

const bernoulli: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (!isFloat(x.dtype)) throw new KernelInputError(ctx, `input must hold probabilities (a float type), got ${x.dtype}`);
  const dt = dtypeAttr(ctx, x.dtype, (d) => d !== 'string');
  const rng = rngFor(ctx);
  let i = 0;
  return [fill(dt, x.dims, () => (rng.uniform() < getNumber(x, i++) ? 1 : 0))];
};

const multinomial: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  if (x.dims.length !== 2) throw new KernelInputError(ctx, `input must be [batch, classes], got [${x.dims.join(',')}]`);
  const [B, K] = [x.dims[0]!, x.dims[1]!];
  const samples = ctx.attrs.int('sample_size', 1);
  const dt = dtypeAttr(ctx, 'int32', (d) => d === 'int32' || d === 'int64');
  const rng = rngFor(ctx);
  const out = allocTensor(dt, [B, samples]);
  const cdf = new Float64Array(K);
  for (let b = 0; b < B; b++) {
    // Inputs are unnormalized log-probabilities: a max-shifted exp gives the weights.
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, getNumber(x, b * K + k));
    let s = 0;
    for (let k = 0; k < K; k++) cdf[k] = s += Math.exp(getNumber(x, b * K + k) - m);
    for (let j = 0; j < samples; j++) {
      const u = rng.uniform() * s;
      let k = 0;
      while (k < K - 1 && cdf[k]! <= u) k++;
      setElement(out, b * samples + j, k);
    }
  }
  return [out];
};

export const randomKernels = {
  RandomNormal: randomNormal,
  RandomUniform: randomUniform,
  RandomNormalLike: randomNormalLike,
  RandomUniformLike: randomUniformLike,
  Bernoulli: bernoulli,
  Multinomial: multinomial,
};
