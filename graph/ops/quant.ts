// Op schemas and shape rules: quant family (linear quantization).
import { type DType, dtypeFromOnnx } from '../dtype.js';
import { dtypeOf, fail, shapeOf, tensorOut } from './shape-util.js';
import { op, type OpSchema, type ShapeRule } from './types.js';

/** Element type of QuantizeLinear's output: the zero point's, else output_dtype, else uint8. */
export function quantizeOutDType(zeroPoint: DType | undefined, outputDtypeCode: number): DType | undefined {
  if (zeroPoint) return zeroPoint;
  if (outputDtypeCode) return dtypeFromOnnx(outputDtypeCode);
  return 'uint8';
}

const quantizeRule: ShapeRule = (ctx) => {
  const hasZp = ctx.inputCount > 2 && ctx.inputs[2] !== undefined;
  const zp = hasZp ? dtypeOf(ctx, 2) : undefined;
  const code = ctx.opset >= 21 ? ctx.attrs.int('output_dtype', 0) : 0;
  if (hasZp && !zp) return [tensorOut(undefined)];
  const dt = quantizeOutDType(zp, code);
  if (!dt) fail(ctx, `output_dtype ${code} is not a supported element type`);
  if (zp && code && dtypeFromOnnx(code) !== zp) fail(ctx, `output_dtype ${code} differs from the zero point's ${zp}`);
  return [tensorOut(dt, shapeOf(ctx, 0))];
};

const dequantizeRule: ShapeRule = (ctx) => {
  const code = ctx.opset >= 23 ? ctx.attrs.int('output_dtype', 0) : 0;
  const dt = code ? dtypeFromOnnx(code) : dtypeOf(ctx, 1);
  if (code && !dt) fail(ctx, `output_dtype ${code} is not a supported element type`);
  return [tensorOut(dt, shapeOf(ctx, 0))];
};

const dynamicQuantizeRule: ShapeRule = (ctx) => [tensorOut('uint8', shapeOf(ctx, 0)), tensorOut('float32', []), tensorOut('uint8', [])];

export const quantOps = {
  QuantizeLinear: op(quantizeRule, { since: 10, doc: 'saturate(round(x / scale) + zero_point), per tensor, axis or block' }),
  DequantizeLinear: op(dequantizeRule, { since: 10, doc: '(x - zero_point) * scale, per tensor, axis or block' }),
  DynamicQuantizeLinear: op(dynamicQuantizeRule, { since: 11, doc: 'uint8 quantization with scale and zero point from the data range' }),
} satisfies Record<string, OpSchema>;
