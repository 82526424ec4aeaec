// Elementwise kernels on what the ONNX node tests miss: general broadcasting, integer edge cases
// (truncating division, Mod signs, wrapping, shifts past the width, exact int64), legacy attributes,
// Cast to and from strings, float64 → float16 rounding, erf accuracy; checked against onnxruntime-node
// where it runs the case, else against hand-computed values.
import { describe, expect, it } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { AttrReader } from '../../graph/attrs.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { KernelInputError } from '../../kernels/cpu/errors.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { erf, roundEven } from '../../kernels/cpu/elementwise-scalar.js';
import { f64ToF16Bits, formatNumber } from '../../kernels/cpu/elementwise-cast.js';
import { broadcastPlan } from '../../kernels/cpu/elementwise-loops.js';
import { f16BitsToNumber } from '../../graph/dtype.js';
import { oneNodeVsOrt } from '../helpers/ort.js';
import { T } from '../helpers/tensor.js';

const range = <R = number>(n: number, f: (i: number) => R): R[] => Array.from({ length: n }, (_, i) => f(i));

function ctxOf(op: string, attributes: Record<string, Attr> = {}, opset = 21): CpuContext {
  const node: Node = { name: `${op}_node`, opType: op, domain: '', inputs: [], outputs: [], attributes };
  return { node, opset, attrs: new AttrReader(node), runGraph: () => [] };
}

function run(op: string, inputs: (HostTensor | undefined)[], attributes: Record<string, Attr> = {}, opset = 21): HostTensor {
  const k = (CPU_KERNELS as Record<string, (i: typeof inputs, c: CpuContext) => HostTensor[]>)[op]!;
  return k(inputs, ctxOf(op, attributes, opset))[0]!;
}

const values = (t: HostTensor): (number | bigint | string)[] => Array.from(t.data as ArrayLike<number | bigint | string>);

/** Run one node on tgraph and on onnxruntime-node; outputs must agree (floats to rtol * |want| + 1e-7, others exactly). */
async function vsOrt(op: string, inputs: HostTensor[], attributes: Record<string, Attr> = {}, opset = 21, rtol = 1e-6): Promise<HostTensor> {
  return (await oneNodeVsOrt(op, inputs, attributes, { opset, tol: { rtol, atol: 1e-7, float16: 'bits' } }))[0]!;
}

describe('broadcasting', () => {
  it('collapses dims where operands stay contiguous', () => {
    const p = broadcastPlan([2, 3, 4, 5], [[2, 3, 4, 5], [1, 1, 4, 5]]);
    expect(p.dims).toEqual([6, 20]);
    expect(p.strides).toEqual([[20, 1], [0, 1]]);
  });
  const shapes: [number[], number[]][] = [
    [[2, 1, 3], [1, 4, 1]], [[3, 1, 5], [5]], [[2, 3, 4, 5], [1, 3, 1, 5]], [[1], [2, 3]], [[4, 1], [1, 1, 6]], [[2, 3], [2, 3]], [[0, 3], [1, 3]],
    // Long enough for the one-instruction fused program (wasm): per-channel, periodic, tiled and gathered operands.
    [[2, 24, 9, 8], [1, 24, 1, 1]], [[1, 7, 2, 96], [1, 7, 1, 1]], [[3, 5, 64], [64]], [[4, 1, 48], [4, 33, 1]], [[2, 33, 40], [2, 1, 40]], [[1, 9, 1, 1], [2, 9, 5, 7]],
  ];
  for (const [sa, sb] of shapes) {
    it(`Add/Sub/Mul/Div float32 [${sa}] with [${sb}]`, async () => {
      const na = sa.reduce((x, y) => x * y, 1);
      const nb = sb.reduce((x, y) => x * y, 1);
      const a = T('float32', sa, range(na, (i) => i * 0.5 - 3));
      const b = T('float32', sb, range(nb, (i) => i + 1.25));
      for (const op of ['Add', 'Sub', 'Mul', 'Div']) await vsOrt(op, [a, b]);
    });
  }
  it('Where broadcasts three operands, strings included', () => {
    const c = T('bool', [2, 1], [1, 0]);
    const x = T('string', [1, 3], ['a', 'b', 'c']);
    const y = T('string', [], ['z']);
    const out = run('Where', [c, x, y]);
    expect(out.dims).toEqual([2, 3]);
    expect(values(out)).toEqual(['a', 'b', 'c', 'z', 'z', 'z']);
  });
  it('rejects shapes that do not broadcast', () => {
    expect(() => run('Add', [T('float32', [2, 3], range(6, (i) => i)), T('float32', [4], range(4, (i) => i))])).toThrow(KernelInputError);
  });
  it('honours broadcast/axis before opset 7', () => {
    const a = T('float32', [2, 3, 2], range(12, (i) => i));
    const b = T('float32', [3], [100, 200, 300]);
    const out = run('Add', [a, b], { broadcast: { kind: 'int', value: 1 }, axis: { kind: 'int', value: 1 } }, 6);
    expect(values(out)).toEqual([100, 101, 202, 203, 304, 305, 106, 107, 208, 209, 310, 311]);
    const p = run('Pow', [T('float32', [2, 2], [2, 2, 3, 3]), T('float32', [2], [2, 3])], { broadcast: { kind: 'int', value: 1 }, axis: { kind: 'int', value: 0 } }, 6);
    expect(values(p)).toEqual([4, 4, 27, 27]);
  });
});

describe('integer semantics', () => {
  it('Div truncates toward zero; int32, int64 agree with onnxruntime', async () => {
    const a = [7, -7, 7, -7, 1, -1, 2147483647];
    const b = [2, 2, -2, -2, 3, 3, -1];
    await vsOrt('Div', [T('int32', [7], a), T('int32', [7], b)]);
    await vsOrt('Div', [T('int64', [7], a), T('int64', [7], b)]);
  });
  it('integer division by zero is an input error', () => {
    expect(() => run('Div', [T('int32', [1], [1]), T('int32', [1], [0])])).toThrow(KernelInputError);
    expect(() => run('Div', [T('int64', [1], [1]), T('int64', [1], [0])])).toThrow(KernelInputError);
    expect(() => run('Mod', [T('int32', [1], [1]), T('int32', [1], [0])])).toThrow(KernelInputError);
  });
  it('Mod takes the sign of the divisor, or of the dividend with fmod=1', async () => {
    const a = [-4, 7, 5, -4, 0, -9];
    const b = [3, -3, 2, -7, 5, 4];
    for (const dt of ['int32', 'int64', 'int8'] as const) {
      await vsOrt('Mod', [T(dt, [6], a), T(dt, [6], b)]);
      await vsOrt('Mod', [T(dt, [6], a), T(dt, [6], b)], { fmod: { kind: 'int', value: 1 } });
    }
    expect(values(run('Mod', [T('float32', [3], [-4.5, 4.5, 5]), T('float32', [3], [2, -2, 2.5])]))).toEqual([1.5, -1.5, 0]);
  });
  it('Mul wraps like C for int32 and exactly for int64', async () => {
    await vsOrt('Mul', [T('int32', [3], [65537, -2147483648, 123456789]), T('int32', [3], [65537, -1, 987654321])]);
    const big = run('Mul', [T('int64', [1], [3037000500n]), T('int64', [1], [3037000500n])]);
    expect(values(big)).toEqual([BigInt.asIntN(64, 3037000500n * 3037000500n)]);
    const sum = run('Add', [T('int64', [1], [9007199254740993n]), T('int64', [1], [1n])]);
    expect(values(sum)).toEqual([9007199254740994n]);
    const u = run('Add', [T('uint64', [1], [18446744073709551615n]), T('uint64', [1], [2n])]);
    expect(values(u)).toEqual([1n]);
  });
  it('BitShift by the width or more gives 0', () => {
    const left = { direction: { kind: 'string', value: 'LEFT' } } as Record<string, Attr>;
    const right = { direction: { kind: 'string', value: 'RIGHT' } } as Record<string, Attr>;
    expect(values(run('BitShift', [T('uint32', [3], [1, 1, 0xffffffff]), T('uint32', [3], [31, 32, 4])], left))).toEqual([2147483648, 0, 0xfffffff0]);
    expect(values(run('BitShift', [T('uint32', [2], [0x80000000, 5]), T('uint32', [2], [31, 40])], right))).toEqual([1, 0]);
    expect(values(run('BitShift', [T('uint64', [2], [1n, 1n]), T('uint64', [2], [63n, 64n])], left))).toEqual([2n ** 63n, 0n]);
  });
  it('Abs and Neg of the most negative int wrap', () => {
    expect(values(run('Abs', [T('int8', [2], [-128, -5])]))).toEqual([-128, 5]);
    expect(values(run('Neg', [T('int64', [1], [-(2n ** 63n)])]))).toEqual([-(2n ** 63n)]);
  });
  it('Pow with integer and mixed types', async () => {
    await vsOrt('Pow', [T('int64', [4], [2, -3, 5, 7]), T('int64', [4], [10, 3, 0, 2])]);
    await vsOrt('Pow', [T('float32', [3], [2, 4, 9]), T('int64', [3], [3, -1, 0])]);
    await vsOrt('Pow', [T('int32', [3], [2, 3, 4]), T('float32', [3], [0.5, 2, 1.5])]);
    // pow(1, NaN) = 1 and pow(-1, ±Inf) = 1 in C.
    expect(values(run('Pow', [T('float32', [3], [1, -1, -1]), T('float32', [3], [NaN, Infinity, -Infinity])]))).toEqual([1, 1, 1]);
    // 3^64 wraps modulo 2^64 instead of growing a huge bigint.
    expect(values(run('Pow', [T('int64', [1], [3]), T('int64', [1], [64])]))).toEqual([BigInt.asIntN(64, 3n ** 64n)]);
  });
  it('Min/Max/Sum/Mean over several broadcast inputs', async () => {
    const a = T('float32', [2, 3], [1, 5, -2, 8, NaN, 0]);
    const b = T('float32', [3], [4, 4, 4]);
    const c = T('float32', [2, 1], [-1, 10]);
    for (const op of ['Min', 'Max', 'Sum', 'Mean']) await vsOrt(op, [a, b, c]);
    await vsOrt('Max', [T('int64', [2], [-(2n ** 62n), 5]), T('int64', [1], [3])]);
  });
});

describe('every integer and float type against onnxruntime', () => {
  const dtypes: DType[] = ['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float32', 'float64'];
  const ops = ['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Max', 'Min', 'Greater', 'Less', 'Equal', 'LessOrEqual', 'BitwiseAnd', 'BitwiseXor'];
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const sample = (dt: DType, n: number, nonzero: boolean): (number | bigint)[] => range(n, () => {
    const signed = !dt.startsWith('u');
    const bits = dt.endsWith('8') ? 8 : dt.endsWith('16') ? 16 : dt.endsWith('32') ? 32 : 64;
    if (dt.startsWith('float')) return Math.round((rnd() - 0.5) * 2000) / 8 || 1.5;
    // Mostly small values (so products stay exact in ORT too), some near the type's limits.
    const span = rnd() < 0.8 ? 200 : 2 ** (bits - 1);
    let v = Math.floor(rnd() * span) - (signed ? Math.floor(span / 2) : 0);
    if (nonzero && v === 0) v = 3;
    return bits === 64 ? BigInt(v) : v;
  });
  for (const op of ops) {
    it(op, async () => {
      let compared = 0;
      for (const dt of dtypes) {
        if (op.startsWith('Bitwise') && dt.startsWith('float')) continue;
        const a = T(dt, [3, 4], sample(dt, 12, false));
        const b = T(dt, [4], sample(dt, 4, op === 'Div' || op === 'Mod'));
        const attrs: Record<string, Attr> = op === 'Mod' && dt.startsWith('float') ? { fmod: { kind: 'int', value: 1 } } : {};
        try {
          await vsOrt(op, [a, b], attrs, 18);
          compared++;
        } catch (e) {
          // onnxruntime does not implement every type for every op; anything else is a real failure.
          if (!/NOT_IMPLEMENTED|Could not find an implementation|type \(tensor\(/i.test(String(e))) throw e;
        }
      }
      expect(compared).toBeGreaterThan(0);
    });
  }
});

describe('Clip', () => {
  it('reads min/max attributes before opset 11', () => {
    const x = T('float32', [4], [-5, 0.5, 3, NaN]);
    const out = run('Clip', [x], { min: { kind: 'float', value: -1 }, max: { kind: 'float', value: 1 } }, 6);
    expect(values(out)).toEqual([-1, 0.5, 1, NaN]);
  });
  it('reads optional inputs from opset 11, for ints too', async () => {
    await vsOrt('Clip', [T('int64', [4], [-5, 1, 3, 9]), T('int64', [], [0]), T('int64', [], [4])], {}, 13);
    await vsOrt('Clip', [T('int32', [3], [-5, 1, 9]), T('int32', [], [0])], {}, 13);
  });
  it('refuses non-scalar bounds', () => {
    expect(() => run('Clip', [T('float32', [2], [1, 2]), T('float32', [2], [0, 0])], {}, 13)).toThrow(KernelInputError);
  });
});

describe('Cast', () => {
  const to = (code: number): Record<string, Attr> => ({ to: { kind: 'int', value: code } });
  it('string to numbers and back agree with onnxruntime', async () => {
    await vsOrt('Cast', [T('string', [6], ['1.5', '-2e3', 'INF', '-inf', 'NaN', ' 7 '])], to(1));
    await vsOrt('Cast', [T('string', [3], ['12', '-9223372036854775808', '42'])], to(7));
    await vsOrt('Cast', [T('int32', [3], [1, -20, 300])], to(8));
  });
  it('writes floats as onnxruntime does (%.8g)', async () => {
    await vsOrt('Cast', [T('float32', [11], [0.1, 1e20, -2.5, 1 / 3, 1e-7, 123456789, 0.0001, Infinity, -Infinity, NaN, -0])], to(8));
    await vsOrt('Cast', [T('float64', [4], [0.1, 1 / 3, 1e21, 12345678.9])], to(8));
    await vsOrt('Cast', [T('bool', [2], [1, 0])], to(8));
    expect(formatNumber(100, 'float32')).toBe('100');
  });
  it('float to int truncates and wraps; int64 keeps exact values', async () => {
    await vsOrt('Cast', [T('float32', [5], [1.9, -1.9, 0, 250.5, -0.5])], to(6));
    await vsOrt('Cast', [T('float64', [3], [2 ** 60, -(2 ** 53) - 2, 3.99])], to(7));
    await vsOrt('Cast', [T('int64', [3], [2n ** 40n + 7n, -1n, 255n])], to(6));
    await vsOrt('Cast', [T('int64', [2], [2n ** 40n + 7n, -1n])], to(13));
    await vsOrt('Cast', [T('float32', [4], [0, -0, NaN, 2])], to(9));
  });
  it('rounds float64 to float16 once (no double rounding through float32)', () => {
    // 1 + 2^-11 + 2^-40: just above the halfway point between float16 1 and 1 + 2^-10, but float32 rounds it onto the tie.
    const v = 1 + 2 ** -11 + 2 ** -40;
    expect(f16BitsToNumber(f64ToF16Bits(v))).toBe(1 + 2 ** -10);
    expect(f16BitsToNumber(f64ToF16Bits(1 + 2 ** -11))).toBe(1); // a true tie goes to even
    expect(f16BitsToNumber(f64ToF16Bits(65520))).toBe(Infinity);
  });
  it('refuses element types tgraph does not hold', () => {
    expect(() => run('Cast', [T('float32', [1], [1])], to(17))).toThrow(/float8e4m3fn/);
  });
  it('BitCast reinterprets bytes and refuses different widths', () => {
    expect(values(run('BitCast', [T('float32', [2], [1, -2])], to(6)))).toEqual([0x3f800000, -0x40000000]);
    expect(() => run('BitCast', [T('float32', [1], [1])], to(7))).toThrow(KernelInputError);
  });
});

describe('scalar semantics', () => {
  it('erf to near double precision', () => {
    // Reference values of erf (Abramowitz & Stegun table, extended precision).
    const ref: [number, number][] = [
      [0, 0], [1e-10, 1.1283791670955126e-10], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465],
      [1, 0.8427007929497149], [1.5, 0.9661051464753108], [2, 0.9953222650189527], [2.5, 0.9995930479825550],
      [3, 0.9999779095030014], [4, 0.9999999845827421], [-0.7, -0.6778011938374184], [Infinity, 1], [-Infinity, -1],
    ];
    for (const [x, y] of ref) expect(Math.abs(erf(x) - y), `erf(${x})`).toBeLessThanOrEqual(4e-16 * Math.max(1, Math.abs(y)) + (y === 0 ? 0 : 1e-16 * Math.abs(y)));
    expect(erf(NaN)).toBeNaN();
  });
  it('Round is half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6, 1e300].map(roundEven)).toEqual([0, 2, 2, -0, -2, -2, 2, -3, 1e300]);
  });
  // onnxruntime evaluates tanh/exp with float32 approximations (relative error ~1e-5); ours are computed in double.
  it('activations agree with onnxruntime', async () => {
    const x = T('float32', [9], [-30, -3, -1, -0.25, 0, 0.25, 1, 3, 30]);
    for (const op of ['Sigmoid', 'Softplus', 'Softsign', 'Elu', 'Selu', 'Celu', 'HardSigmoid', 'HardSwish', 'Mish', 'Relu', 'Tanh', 'Erf']) await vsOrt(op, [x], {}, 18, 1e-4);
    await vsOrt('Gelu', [x], { approximate: { kind: 'string', value: 'tanh' } }, 20, 1e-4);
    await vsOrt('Gelu', [x], {}, 20, 1e-4);
    await vsOrt('LeakyRelu', [x], { alpha: { kind: 'float', value: 0.3 } }, 18);
    await vsOrt('ThresholdedRelu', [x], { alpha: { kind: 'float', value: 0.5 } }, 18);
    await vsOrt('Shrink', [x], { lambd: { kind: 'float', value: 1 }, bias: { kind: 'float', value: 0.5 } }, 18);
    await vsOrt('PRelu', [T('float32', [2, 3, 2], range(12, (i) => i - 6)), T('float32', [3, 1], [0.1, 0.2, 0.3])], {}, 18);
  });
  it('refuses inputs of the wrong element type', () => {
    expect(() => run('Sqrt', [T('int32', [1], [4])])).toThrow(KernelInputError);
    expect(() => run('Add', [T('int32', [1], [4]), T('float32', [1], [4])])).toThrow(KernelInputError);
    expect(() => run('And', [T('int32', [1], [4]), T('int32', [1], [4])])).toThrow(KernelInputError);
  });
});
