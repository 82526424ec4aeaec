// CPU kernels: RoiAlign and MaxRoiPool (region-of-interest pooling over NCHW feature maps).
import { allocTensor, type HostTensor, toIntList } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuKernel } from './types.js';
import { tensorArg, viaF32 } from './util.js';
import { floatData } from './nn-conv.js';

const roiAlign: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const R = tensorArg(inputs, 1, ctx);
  const BI = tensorArg(inputs, 2, ctx);
  if (X.dims.length !== 4) throw new KernelInputError(ctx, `input should be NCHW, got [${X.dims.join(',')}]`);
  if (R.dims.length !== 2 || R.dims[1] !== 4) throw new KernelInputError(ctx, `rois should have shape [num_rois, 4], got [${R.dims.join(',')}]`);
  const nR = R.dims[0]!;
  if (BI.data.length !== nR) throw new KernelInputError(ctx, `batch_indices has ${BI.data.length} values for ${nR} rois`);
  const [N, C, H, W] = X.dims as [number, number, number, number];
  const x = floatData(X, ctx, 'input');
  const rois = floatData(R, ctx, 'rois');
  const bidx = toIntList(BI);
  const PH = ctx.attrs.int('output_height', 1), PW = ctx.attrs.int('output_width', 1);
  const sr = ctx.attrs.int('sampling_ratio', 0);
  const scale = ctx.attrs.float('spatial_scale', 1);
  const isMax = ctx.attrs.string('mode', 'avg') === 'max';
  // Opset 16 made half_pixel the default; opset 10 behaves as output_half_pixel.
  const halfPixel = ctx.opset >= 16 && ctx.attrs.string('coordinate_transformation_mode', 'half_pixel') === 'half_pixel';
  const Y = allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', [nR, C, PH, PW]);
  const y = Y.data;
  const off = halfPixel ? 0.5 : 0;
  for (let r = 0; r < nR; r++) {
    const b = bidx[r]!;
    if (!(b >= 0 && b < N)) throw new KernelInputError(ctx, `batch index ${b} of roi ${r} is outside [0, ${N})`);
    const sw = rois[r * 4]! * scale - off, sh = rois[r * 4 + 1]! * scale - off;
    let rw = rois[r * 4 + 2]! * scale - off - sw, rh = rois[r * 4 + 3]! * scale - off - sh;
    if (!halfPixel) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
    const bh = rh / PH, bw = rw / PW;
    const gh = sr > 0 ? sr : Math.ceil(rh / PH), gw = sr > 0 ? sr : Math.ceil(rw / PW);
    const count = Math.max(gh * gw, 1);
    // Bilinear taps (4 positions and weights) for every sample of every bin, shared by all channels.
    const nS = PH * PW * gh * gw;
    const pos = new Int32Array(nS * 4), wts = new Float64Array(nS * 4);
    let s = 0;
    for (let ph = 0; ph < PH; ph++) for (let pw = 0; pw < PW; pw++) for (let iy = 0; iy < gh; iy++) {
      const yy0 = sh + ph * bh + ((iy + 0.5) * bh) / gh;
      for (let ix = 0; ix < gw; ix++, s++) {
        let yy = yy0;
        let xx = sw + pw * bw + ((ix + 0.5) * bw) / gw;
        if (yy < -1 || yy > H || xx < -1 || xx > W) continue; // all weights stay 0
        if (yy <= 0) yy = 0;
        if (xx <= 0) xx = 0;
        let yl = Math.floor(yy), xl = Math.floor(xx), yh: number, xh: number;
        if (yl >= H - 1) { yh = yl = H - 1; yy = yl; } else yh = yl + 1;
        if (xl >= W - 1) { xh = xl = W - 1; xx = xl; } else xh = xl + 1;
        const ly = yy - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
        pos[s * 4] = yl * W + xl; pos[s * 4 + 1] = yl * W + xh; pos[s * 4 + 2] = yh * W + xl; pos[s * 4 + 3] = yh * W + xh;
        wts[s * 4] = hy * hx; wts[s * 4 + 1] = hy * lx; wts[s * 4 + 2] = ly * hx; wts[s * 4 + 3] = ly * lx;
      }
    }
    const per = gh * gw;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * H * W;
      const yo = (r * C + c) * PH * PW;
      for (let bin = 0; bin < PH * PW; bin++) {
        let acc = 0;
        for (let k = bin * per; k < (bin + 1) * per; k++) {
          const q = k * 4;
          if (isMax) {
            // As onnxruntime: the max over samples of the largest weighted corner.
            const v = Math.max(wts[q]! * x[xo + pos[q]!]!, wts[q + 1]! * x[xo + pos[q + 1]!]!, wts[q + 2]! * x[xo + pos[q + 2]!]!, wts[q + 3]! * x[xo + pos[q + 3]!]!);
            acc = k === bin * per ? v : Math.max(acc, v);
          } else {
            acc += wts[q]! * x[xo + pos[q]!]! + wts[q + 1]! * x[xo + pos[q + 1]!]! + wts[q + 2]! * x[xo + pos[q + 2]!]! + wts[q + 3]! * x[xo + pos[q + 3]!]!;
          }
        }
        y[yo + bin] = isMax ? acc : acc / count;
      }
    }
  }
  return [{ ...Y, dtype: X.dtype } as HostTensor];
};

function roundAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}

const maxRoiPool: CpuKernel = (inputs, ctx) => {
  const X = tensorArg(inputs, 0, ctx);
  const R = tensorArg(inputs, 1, ctx);
  if (X.dims.length !== 4) throw new KernelInputError(ctx, `input should be NCHW, got [${X.dims.join(',')}]`);
  if (R.dims.length !== 2 || R.dims[1] !== 5) throw new KernelInputError(ctx, `rois should have shape [num_rois, 5], got [${R.dims.join(',')}]`);
  const ps = ctx.attrs.required('pooled_shape', 'ints');
  if (ps.length !== 2) throw new KernelInputError(ctx, `pooled_shape should hold 2 values, got [${ps.join(',')}]`);
  const [PH, PW] = ps as [number, number];
  const scale = ctx.attrs.float('spatial_scale', 1);
  const [N, C, H, W] = X.dims as [number, number, number, number];
  const x = floatData(X, ctx, 'input');
  const rois = floatData(R, ctx, 'rois');
  const nR = R.dims[0]!;
  const Y = allocTensor(X.dtype === 'float64' ? 'float64' : 'float32', [nR, C, PH, PW]);
  const y = Y.data;
  for (let r = 0; r < nR; r++) {
    const b = rois[r * 5]!;
    if (!(Number.isInteger(b) && b >= 0 && b < N)) throw new KernelInputError(ctx, `batch index ${b} of roi ${r} is outside [0, ${N})`);
    const x1 = roundAway(rois[r * 5 + 1]! * scale), y1 = roundAway(rois[r * 5 + 2]! * scale);
    const x2 = roundAway(rois[r * 5 + 3]! * scale), y2 = roundAway(rois[r * 5 + 4]! * scale);
    const bh = Math.max(y2 - y1 + 1, 1) / PH, bw = Math.max(x2 - x1 + 1, 1) / PW;
    for (let c = 0; c < C; c++) {
      const xo = (b * C + c) * H * W;
      for (let ph = 0; ph < PH; ph++) {
        const hs = Math.min(Math.max(Math.floor(ph * bh) + y1, 0), H), he = Math.min(Math.max(Math.ceil((ph + 1) * bh) + y1, 0), H);
        for (let pw = 0; pw < PW; pw++) {
          const ws = Math.min(Math.max(Math.floor(pw * bw) + x1, 0), W), we = Math.min(Math.max(Math.ceil((pw + 1) * bw) + x1, 0), W);
          let m = -Infinity;
          for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) if (x[xo + h * W + w]! > m) m = x[xo + h * W + w]!;
          y[((r * C + c) * PH + ph) * PW + pw] = he <= hs || we <= ws ? 0 : m;
        }
      }
    }
  }
  return [{ ...Y, dtype: X.dtype } as HostTensor];
};

export const roiKernels = {
  RoiAlign: viaF32(roiAlign),
  MaxRoiPool: viaF32(maxRoiPool),
} satisfies Record<string, CpuKernel>;
