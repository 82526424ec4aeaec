// image kernels on what the ONNX node tests miss: Resize-10/11/13 semantics, antialias with sizes,
// integer inputs, Upsample, GridSample over out-of-range grids in every mode/padding, 3-D sampling,
// NonMaxSuppression on random boxes; onnxruntime-node is the oracle.
import { describe, expect, it } from 'vitest';
import { I, R, T, flt, int, ints, runNode, str, vsOrt } from './image-oracle.js';

const f32 = (v: number[]) => T('float32', [v.length], v);
const i64 = (v: number[]) => T('int64', [v.length], v);

describe('Resize', () => {
  it('opset 10: nearest and linear, up and down', async () => {
    const x = R([1, 2, 4, 6]);
    for (const mode of ['nearest', 'linear']) {
      await vsOrt('Resize', [x, f32([1, 1, 2, 1.5])], { mode: str(mode) }, { opset: 10 });
      await vsOrt('Resize', [x, f32([1, 1, 0.5, 0.5])], { mode: str(mode) }, { opset: 10 });
    }
  });
  // Scales whose products with the dims are exact: for align_corners the ONNX reference divides by
  // scale * in, onnxruntime by the integer output length, and the two differ otherwise.
  it('opset 11: roi input, tf_half_pixel_for_nn, every nearest_mode', async () => {
    const x = R([1, 1, 6, 8]);
    const roi = f32([]);
    for (const nm of ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']) {
      for (const ctm of ['half_pixel', 'asymmetric', 'align_corners', 'tf_half_pixel_for_nn', 'pytorch_half_pixel']) {
        await vsOrt('Resize', [x, roi, f32([1, 1, 1.5, 0.75])], { mode: str('nearest'), nearest_mode: str(nm), coordinate_transformation_mode: str(ctm) }, { opset: 11 });
      }
    }
  });
  it('opset 13: linear and cubic with sizes on every coordinate mode', async () => {
    const x = R([2, 3, 6, 5]);
    for (const mode of ['linear', 'cubic']) {
      for (const ctm of ['half_pixel', 'asymmetric', 'align_corners', 'pytorch_half_pixel']) {
        await vsOrt('Resize', [x, undefined, undefined, i64([2, 3, 9, 3])], { mode: str(mode), coordinate_transformation_mode: str(ctm) }, { opset: 13 });
      }
    }
    await vsOrt('Resize', [x, undefined, undefined, i64([2, 3, 4, 11])], { mode: str('cubic'), exclude_outside: int(1), cubic_coeff_a: flt(-0.5) }, { opset: 13 });
  });
  it('opset 13: tf_crop_and_resize with extrapolation', async () => {
    const x = R([1, 2, 5, 5]);
    const roi = f32([0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3]);
    await vsOrt('Resize', [x, roi, undefined, i64([1, 2, 4, 6])], { mode: str('linear'), coordinate_transformation_mode: str('tf_crop_and_resize'), extrapolation_value: flt(-3) }, { opset: 13 });
  });
  it('opset 18: antialias when downscaling with sizes and scales', async () => {
    const x = R([1, 2, 16, 13]);
    for (const mode of ['linear', 'cubic']) {
      await vsOrt('Resize', [x, undefined, undefined, i64([5, 4])], { mode: str(mode), antialias: int(1), axes: ints([2, 3]) }, { opset: 18 });
      await vsOrt('Resize', [x, undefined, f32([1, 1, 0.3, 0.45])], { mode: str(mode), antialias: int(1) }, { opset: 18 });
    }
  });
  it('nearest 2x upsampling of float32 planes (the detector FPN), short and long rows, and a non-image axis', async () => {
    const nn = { mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor') };
    await vsOrt('Resize', [R([2, 5, 6, 6]), T('float32', [0], []), f32([1, 1, 2, 2])], nn, { opset: 11 });
    await vsOrt('Resize', [R([1, 3, 4, 70]), T('float32', [0], []), f32([1, 1, 2, 2])], nn, { opset: 11 });
    await vsOrt('Resize', [R([1, 3, 5, 7]), T('float32', [0], []), f32([1, 1, 1.5, 0.6])], nn, { opset: 11 });
    await vsOrt('Resize', [R([2, 3, 4, 5]), T('float32', [0], []), f32([1, 2, 2, 1])], nn, { opset: 11 });
    // Integer scales other than 2 (the detector's 4x and 8x), unequal per axis, and one axis kept.
    await vsOrt('Resize', [R([2, 3, 3, 3]), T('float32', [0], []), f32([1, 1, 8, 8])], nn, { opset: 11 });
    await vsOrt('Resize', [R([1, 2, 3, 5]), T('float32', [0], []), f32([1, 1, 3, 4])], nn, { opset: 11 });
    await vsOrt('Resize', [R([1, 2, 3, 5]), T('float32', [0], []), f32([1, 1, 1, 4])], nn, { opset: 11 });
  });
  it('nearest on integer inputs is exact; int64 too', async () => {
    await vsOrt('Resize', [I([1, 1, 3, 4], -100, 100, 'int8'), undefined, f32([1, 1, 2.5, 1.5])], { mode: str('nearest') }, { opset: 19 });
    const out = runNode('Resize', [T('int64', [1, 3], [1, 2, 3]), undefined, f32([1, 2])], { mode: str('nearest') }, { opset: 19 })[0]!;
    expect(Array.from(out.data as BigInt64Array, Number)).toEqual([1, 1, 2, 2, 3, 3]);
  });
  it('3-D (trilinear) inputs; float64 matches float32', async () => {
    const x = R([1, 1, 3, 4, 5]);
    const [y] = await vsOrt('Resize', [x, undefined, f32([1, 1, 2, 1.5, 0.6])], { mode: str('linear') }, { opset: 19 });
    const x64 = T('float64', [...x.dims], Array.from(x.data as Float32Array));
    const y64 = runNode('Resize', [x64, undefined, f32([1, 1, 2, 1.5, 0.6])], { mode: str('linear') }, { opset: 19 })[0]!;
    expect(y64.dtype).toBe('float64');
    Array.from(y64.data as Float64Array).forEach((v, i) => expect(v).toBeCloseTo((y!.data as Float32Array)[i]!, 5));
  });
  it('rejects bad scales and sizes', () => {
    const x = R([1, 1, 2, 2]);
    expect(() => runNode('Resize', [x, undefined, f32([1, 1, 2])], {}, { opset: 19 })).toThrow(/scales has 3 values/);
    expect(() => runNode('Resize', [x, undefined, f32([1, 1, -2, 2])], {}, { opset: 19 })).toThrow(/positive/);
    expect(() => runNode('Resize', [x, undefined, f32([1, 1, 2, 2]), i64([1, 1, 4, 4])], {}, { opset: 19 })).toThrow(/only one of/);
    expect(() => runNode('Resize', [x, undefined, undefined], {}, { opset: 19 })).toThrow(/one of scales and sizes/);
    expect(() => runNode('Resize', [x, undefined, f32([2, 2])], { mode: str('bogus') }, { opset: 19 })).toThrow(/mode must be/);
  });
});

describe('Upsample', () => {
  it('opset 9 nearest and linear; opset 7 scales attribute', async () => {
    const x = R([1, 2, 3, 4]);
    await vsOrt('Upsample', [x, f32([1, 1, 2, 3])], { mode: str('nearest') }, { opset: 9 });
    await vsOrt('Upsample', [x, f32([1, 1, 2, 2.5])], { mode: str('linear') }, { opset: 9 });
    await vsOrt('Upsample', [x], { mode: str('nearest'), scales: { kind: 'floats', value: [1, 1, 3, 2] } }, { opset: 7 });
  });
});

describe('GridSample', () => {
  const x = R([2, 3, 5, 6]);
  const grid = R([2, 4, 7, 2], -1.3, 1.3);
  for (const [mode16, mode20] of [['bilinear', 'linear'], ['nearest', 'nearest'], ['bicubic', 'cubic']]) {
    for (const padding of ['zeros', 'border', 'reflection']) {
      for (const align of [0, 1]) {
        it(`2-D ${mode20} ${padding} align_corners=${align} (opsets 16 and 20)`, async () => {
          const attrs = { padding_mode: str(padding), align_corners: int(align) };
          await vsOrt('GridSample', [x, grid], { ...attrs, mode: str(mode16!) }, { opset: 16 });
          await vsOrt('GridSample', [x, grid], { ...attrs, mode: str(mode20!) }, { opset: 20 });
        });
      }
    }
  }
  it('3-D linear and nearest', async () => {
    const x3 = R([1, 2, 3, 4, 5]);
    const g3 = R([1, 2, 3, 4, 3], -1.2, 1.2);
    for (const mode of ['linear', 'nearest']) for (const padding of ['zeros', 'border', 'reflection']) {
      await vsOrt('GridSample', [x3, g3], { mode: str(mode), padding_mode: str(padding), align_corners: int(0) }, { opset: 20 });
    }
  });
  it('rejects a grid that does not fit X', () => {
    expect(() => runNode('GridSample', [x, R([2, 4, 7, 3])], {}, { opset: 20 })).toThrow(/grid must be/);
    expect(() => runNode('GridSample', [R([1, 1, 2, 2, 2]), R([1, 2, 2, 2, 3])], { mode: str('cubic') }, { opset: 20 })).toThrow(/2-D/);
  });
});

describe('AffineGrid', () => {
  it('2-D and 3-D, both align_corners', async () => {
    for (const align of [0, 1]) {
      await vsOrt('AffineGrid', [R([2, 2, 3]), i64([2, 3, 5, 7])], { align_corners: int(align) }, { opset: 20 });
      await vsOrt('AffineGrid', [R([1, 3, 4]), i64([1, 1, 3, 4, 5])], { align_corners: int(align) }, { opset: 20 });
    }
  });
});

describe('NonMaxSuppression', () => {
  it('random boxes in both box formats, with and without score threshold', async () => {
    const boxes = R([2, 30, 4], 0, 10);
    const scores = R([2, 3, 30], 0, 1);
    for (const center of [0, 1]) {
      await vsOrt('NonMaxSuppression', [boxes, scores, i64([5]), f32([0.3]), f32([0.4])], { center_point_box: int(center) }, { opset: 11 });
      await vsOrt('NonMaxSuppression', [boxes, scores, i64([100]), f32([0.1])], { center_point_box: int(center) }, { opset: 11 });
    }
  });
  it('no max_output_boxes_per_class selects nothing', () => {
    const out = runNode('NonMaxSuppression', [R([1, 3, 4]), R([1, 1, 3])], {}, { opset: 11 })[0]!;
    expect(out.dims).toEqual([0, 3]);
  });
});
