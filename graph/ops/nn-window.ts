// Sliding-window geometry shared by the nn shape rules and CPU kernels (Conv, pools, ConvTranspose, Col2Im):
// output sizes and effective pads from kernel_shape, strides, dilations, pads, auto_pad and ceil_mode.

export interface WindowAttrs {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [head_0..head_n-1, tail_0..tail_n-1] as given (before auto_pad). */
  pads: number[];
  autoPad: string;
  ceilMode: boolean;
}

export interface WindowGeom {
  out: number[];
  padHead: number[];
  padTail: number[];
}

/** Attributes of a windowed op with ONNX defaults; `kernel` falls back to the weight's spatial dims. */
export function readWindowAttrs(
  attrs: { ints(name: string): number[] | undefined; string(name: string): string | undefined; int(name: string): number | undefined },
  nSpatial: number,
  kernelFallback?: readonly number[],
): WindowAttrs {
  const kernel = attrs.ints('kernel_shape') ?? (kernelFallback ? [...kernelFallback] : undefined);
  if (!kernel || kernel.length !== nSpatial) {
    throw new Error(`kernel_shape ${kernel ? `[${kernel.join(',')}]` : 'is missing and'} does not give ${nSpatial} spatial dims`);
  }
  const strides = attrs.ints('strides') ?? new Array<number>(nSpatial).fill(1);
  const dilations = attrs.ints('dilations') ?? new Array<number>(nSpatial).fill(1);
  const pads = attrs.ints('pads') ?? new Array<number>(2 * nSpatial).fill(0);
  if (strides.length !== nSpatial) throw new Error(`strides has ${strides.length} values for ${nSpatial} spatial dims`);
  if (dilations.length !== nSpatial) throw new Error(`dilations has ${dilations.length} values for ${nSpatial} spatial dims`);
  if (pads.length !== 2 * nSpatial) throw new Error(`pads has ${pads.length} values, expected ${2 * nSpatial}`);
  for (let i = 0; i < nSpatial; i++) {
    if (!(kernel[i]! >= 1)) throw new Error(`kernel_shape[${i}] = ${kernel[i]} should be >= 1`);
    if (!(strides[i]! >= 1)) throw new Error(`strides[${i}] = ${strides[i]} should be >= 1`);
    if (!(dilations[i]! >= 1)) throw new Error(`dilations[${i}] = ${dilations[i]} should be >= 1`);
  }
  for (const p of pads) if (p < 0) throw new Error(`pads [${pads.join(',')}] should not be negative`);
  const autoPad = attrs.string('auto_pad') ?? 'NOTSET';
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) throw new Error(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  return { kernel, strides, dilations, pads, autoPad, ceilMode: (attrs.int('ceil_mode') ?? 0) !== 0 };
}

/** Output size and pads of a forward window op (Conv, pools) over the given input spatial dims. */
export function windowGeometry(input: readonly number[], a: WindowAttrs): WindowGeom {
  const n = input.length;
  const out: number[] = [];
  const padHead: number[] = [];
  const padTail: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = input[i]!;
    const s = a.strides[i]!;
    const ek = (a.kernel[i]! - 1) * a.dilations[i]! + 1;
    let o: number;
    let h: number;
    let t: number;
    if (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER') {
      o = Math.ceil(x / s);
      const total = Math.max(0, (o - 1) * s + ek - x);
      h = a.autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2);
      t = total - h;
    } else if (a.autoPad === 'VALID') {
      h = 0;
      t = 0;
      o = Math.floor((x - ek) / s) + 1;
      if (a.ceilMode) o = Math.ceil((x - ek) / s) + 1;
    } else {
      h = a.pads[i]!;
      t = a.pads[i + n]!;
      const span = x + h + t - ek;
      o = (a.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      // ceil_mode: a last window starting in the tail padding is dropped (as PyTorch and onnxruntime do).
      if (a.ceilMode && (o - 1) * s >= x + h) o--;
    }
    out.push(Math.max(0, o));
    padHead.push(h);
    padTail.push(t);
  }
  return { out, padHead, padTail };
}

export interface TransposeGeom extends WindowGeom {
  outputPadding: number[];
}

/** Output size and pads of ConvTranspose: from output_shape when given, else from pads/auto_pad. */
export function convTransposeGeometry(input: readonly number[], a: WindowAttrs, outputPadding: number[] | undefined, outputShape: number[] | undefined): TransposeGeom {
  const n = input.length;
  const op = outputPadding ?? new Array<number>(n).fill(0);
  if (op.length !== n) throw new Error(`output_padding has ${op.length} values for ${n} spatial dims`);
  let os = outputShape;
  if (os && os.length === n + 2) os = os.slice(2);
  if (os && os.length !== n) throw new Error(`output_shape has ${os.length} values for ${n} spatial dims`);
  const out: number[] = [];
  const padHead: number[] = [];
  const padTail: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = a.strides[i]!;
    const ek = (a.kernel[i]! - 1) * a.dilations[i]! + 1;
    const full = s * (input[i]! - 1) + op[i]! + ek;
    let target: number | undefined = os?.[i];
    if (target === undefined && (a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER')) target = input[i]! * s;
    if (target !== undefined) {
      const total = full - target;
      // Per the ONNX spec: SAME_UPPER puts the odd pad at the end, otherwise at the start.
      const small = Math.floor(total / 2);
      if (a.autoPad === 'SAME_UPPER') { padHead.push(small); padTail.push(total - small); }
      else { padHead.push(total - small); padTail.push(small); }
      out.push(target);
    } else {
      const h = a.autoPad === 'VALID' ? 0 : a.pads[i]!;
      const t = a.autoPad === 'VALID' ? 0 : a.pads[i + n]!;
      padHead.push(h);
      padTail.push(t);
      out.push(full - h - t);
    }
  }
  return { out, padHead, padTail, outputPadding: op };
}
