// The WebAssembly SIMD depthwise Conv against the JS loops (float32 accumulation: within float32 rounding),
// over strides (column stride 2 runs on even/odd column phases), dilations, pads, odd widths, bias and
// channel multiples of the batch, every rows x vectors plan, grouped convs with a channel multiplier, and
// FusedConv epilogues applied in the kernel (bit for bit the conv then the fused program).
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import { encodeProgram, type Instr, type Operand, type Program } from '../../graph/ops/fused-program.js';
import type { HostTensor } from '../../graph/tensor.js';
import { evaluateProgram } from '../../kernels/cpu/fused-eval.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { directEpilogue, setDepthwiseChunk, setDepthwisePlan, setDepthwiseSimd } from '../../kernels/cpu/nn-depthwise-simd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { runConv as conv } from '../helpers/conv.js';

const ints = (value: number[]): Attr => ({ kind: 'ints', value }) as Attr;

describe('depthwise Conv SIMD', () => {
  const cases: [number, number, number, number, number, [number, number], number, number][] = [
    // N, C, H, W, K, strides, dilation, pad
    [1, 24, 12, 80, 5, [1, 1], 1, 2],
    [2, 16, 9, 17, 3, [1, 1], 1, 1],
    [1, 8, 10, 13, 3, [1, 1], 2, 2],
    [1, 5, 11, 23, 3, [2, 1], 1, 1],
    [1, 6, 7, 9, 3, [2, 2], 1, 1],
    [1, 3, 9, 11, 5, [1, 1], 1, 0],
    [1, 4, 6, 6, 1, [1, 1], 1, 1],
    // Outputs narrower than one vector (small feature maps deep in a net; one-column images).
    [1, 7, 3, 3, 5, [1, 1], 1, 2],
    [2, 3, 2, 2, 3, [1, 1], 1, 1],
    [1, 4, 7, 1, 3, [1, 1], 1, 1],
    [1, 5, 6, 5, 3, [2, 1], 1, 0],
    // Column stride 2 (even/odd column phases): odd and even widths, narrow maps, dilation, no padding,
    // padding wider than the kernel reach, row stride 1 and 2, rows of 1-6 vectors.
    [1, 9, 12, 48, 3, [1, 2], 1, 1],
    [2, 5, 13, 17, 3, [2, 2], 1, 1],
    [1, 7, 6, 6, 5, [2, 2], 1, 2],
    [1, 3, 11, 11, 5, [2, 2], 2, 3],
    [1, 4, 9, 10, 3, [2, 2], 1, 0],
    [1, 3, 5, 7, 3, [1, 2], 1, 4],
    [1, 6, 3, 3, 3, [2, 2], 1, 1],
    [1, 2, 4, 41, 5, [1, 2], 1, 2],
    // Maps shorter than the kernel (kernel rows over padding only are skipped per output row).
    [2, 6, 2, 20, 5, [1, 1], 1, 2],
    [1, 4, 1, 9, 3, [1, 1], 1, 1],
    [1, 5, 4, 12, 5, [2, 2], 1, 2],
    [1, 3, 3, 8, 3, [1, 1], 2, 2],
    // Rows of 5 and 6 vectors (steps of 3 vectors, the last one partly past the row).
    [1, 3, 4, 19, 3, [1, 1], 1, 1],
    [1, 3, 4, 24, 5, [1, 1], 1, 2],
  ];
  for (const [N, C, H, W, K, S, D, P] of cases) {
    it(`N${N} C${C} ${H}x${W} k${K} s${S.join('x')} d${D} p${P}, with and without bias`, () => {
      const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.37));
      const w = new Float32Array(C * K * K).map((_, i) => Math.cos(i * 0.91));
      const b = new Float32Array(C).map((_, i) => 0.5 - i * 0.3);
      const attrs = { group: { kind: 'int', value: C } as Attr, kernel_shape: ints([K, K]), strides: ints(S), dilations: ints([D, D]), pads: ints([P, P, P, P]) };
      for (const bias of [undefined, b]) {
      const prev = setDepthwiseSimd(false);
      try {
        const ref = conv(x, [N, C, H, W], w, [C, 1, K, K], attrs, bias);
        setDepthwiseSimd(true);
        const got = conv(x, [N, C, H, W], w, [C, 1, K, K], attrs, bias);
        expect(got.length).toBe(ref.length);
        for (let i = 0; i < ref.length; i++) if (Math.abs(got[i]! - ref[i]!) > 1e-5 * (1 + Math.abs(ref[i]!))) expect([i, got[i]]).toEqual([i, ref[i]]);
      } finally {
        setDepthwiseSimd(prev);
      }
      }
    });
  }
});

// Every module shape (rows and vectors per step, forced), groups with a channel multiplier or a few input
// channels, and FusedConv epilogues applied inside the kernel.
describe('direct Conv SIMD: plans, groups, epilogues', () => {
  const geo = (K: number, S: [number, number], D: number, P: number, group: number) => ({
    group: { kind: 'int', value: group } as Attr, kernel_shape: ints([K, K]), strides: ints(S), dilations: ints([D, D]), pads: ints([P, P, P, P]),
  });
  const near = (got: Float32Array, ref: Float32Array) => {
    expect(got.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) if (Math.abs(got[i]! - ref[i]!) > 1e-5 * (1 + Math.abs(ref[i]!))) expect([i, got[i]]).toEqual([i, ref[i]]);
  };
  const jsConv = (...a: Parameters<typeof conv>) => {
    const prev = setDepthwiseSimd(false);
    try {
      return conv(...a);
    } finally {
      setDepthwiseSimd(prev);
    }
  };
  // N, C, H, W, K, strides, dilation, pad
  const shapes: [number, number, number, number, number, [number, number], number, number][] = [
    [2, 3, 9, 17, 3, [1, 1], 1, 1],
    [1, 4, 12, 24, 5, [1, 1], 1, 2],
    [1, 3, 11, 13, 3, [2, 2], 1, 1],
    [1, 2, 10, 19, 5, [2, 1], 2, 3],
    [1, 3, 7, 9, 3, [1, 2], 3, 2],
    [1, 2, 3, 3, 5, [1, 1], 1, 2],
    [2, 2, 5, 6, 3, [2, 2], 1, 0],
  ];
  const plans = [[1, 1], [1, 7], [2, 3], [3, 2], [4, 1], [2, 2], [5, 1]] as const;
  for (const [N, C, H, W, K, S, D, P] of shapes) {
    it(`N${N} C${C} ${H}x${W} k${K} s${S.join('x')} d${D} p${P}: every rows x vectors plan`, () => {
      const x = new Float32Array(N * C * H * W).map((_, i) => Math.sin(i * 0.37));
      const w = new Float32Array(C * K * K).map((_, i) => Math.cos(i * 0.91));
      const b = new Float32Array(C).map((_, i) => 0.5 - i * 0.3);
      const ref = jsConv(x, [N, C, H, W], w, [C, 1, K, K], geo(K, S, D, P, C), b);
      for (const [R, NV] of plans) {
        const prev = setDepthwisePlan({ R, NV });
        try {
          near(conv(x, [N, C, H, W], w, [C, 1, K, K], geo(K, S, D, P, C), b), ref);
        } finally {
          setDepthwisePlan(prev);
        }
      }
    });
  }

  // 1-D depthwise with long kernels (conformer-style convolution modules), dilated, strided
  for (const [W, K, S, D, P] of [[100, 31, 1, 1, 15], [57, 15, 2, 2, 7], [40, 9, 1, 3, 0]] as const) {
    it(`1-D depthwise W${W} k${K} s${S} d${D} p${P}, batch 2`, () => {
      const [N, C] = [2, 6];
      const x = new Float32Array(N * C * W).map((_, i) => Math.sin(i * 0.41));
      const w = new Float32Array(C * K).map((_, i) => Math.cos(i * 0.29));
      const b = new Float32Array(C).map((_, i) => 0.1 * i);
      const a = { group: { kind: 'int', value: C } as Attr, kernel_shape: ints([K]), strides: ints([S]), dilations: ints([D]), pads: ints([P, P]) };
      near(conv(x, [N, C, W], w, [C, 1, K], a, b), jsConv(x, [N, C, W], w, [C, 1, K], a, b));
    });
  }

  // Chunks of planes (a chunk may end mid-image: the next starts at a group other than 0)
  for (const floats of [1, 700, 2000]) {
    it(`chunks of ~${floats} floats: depthwise at batch 3, grouped with a multiplier at batch 2`, () => {
      const prev = setDepthwiseChunk(floats);
      try {
        const x = new Float32Array(3 * 5 * 9 * 13).map((_, i) => Math.sin(i * 0.37));
        const w = new Float32Array(5 * 9).map((_, i) => Math.cos(i * 0.91));
        const b = new Float32Array(5).map((_, i) => 0.5 - i * 0.3);
        near(conv(x, [3, 5, 9, 13], w, [5, 1, 3, 3], geo(3, [1, 1], 1, 1, 5), b), jsConv(x, [3, 5, 9, 13], w, [5, 1, 3, 3], geo(3, [1, 1], 1, 1, 5), b));
        const xg = new Float32Array(2 * 6 * 8 * 10).map((_, i) => Math.sin(i * 0.53));
        const wg = new Float32Array(9 * 2 * 9).map((_, i) => Math.cos(i * 0.71));
        const a = geo(3, [2, 2], 1, 1, 3);
        near(conv(xg, [2, 6, 8, 10], wg, [9, 2, 3, 3], a), jsConv(xg, [2, 6, 8, 10], wg, [9, 2, 3, 3], a));
      } finally {
        setDepthwiseChunk(prev);
      }
    });
  }

  // group, input channels per group, output channels per group
  for (const [G, Cg, Mg, K, S] of [[4, 1, 2, 3, [1, 1]], [3, 2, 3, 3, [2, 2]], [2, 4, 1, 5, [1, 2]], [5, 1, 3, 3, [2, 1]]] as const) {
    it(`groups: ${G} x ${Cg} -> ${Mg} channels, k${K} s${S.join('x')}, batch 2`, () => {
      const [N, H, W] = [2, 9, 14];
      const x = new Float32Array(N * G * Cg * H * W).map((_, i) => Math.sin(i * 0.53));
      const w = new Float32Array(G * Mg * Cg * K * K).map((_, i) => Math.cos(i * 0.71));
      const b = new Float32Array(G * Mg).map((_, i) => 0.25 * i - 1);
      for (const bias of [undefined, b]) {
        const a = geo(K, [...S], 1, 1, G);
        near(conv(x, [N, G * Cg, H, W], w, [G * Mg, Cg, K, K], a, bias), jsConv(x, [N, G * Cg, H, W], w, [G * Mg, Cg, K, K], a, bias));
      }
    });
  }

  const c = (v: number): Operand => ({ c: v });
  const in0: Operand = { in: 0 };
  const programs: [string, Instr[], boolean][] = [
    ['Relu', [{ op: 'Relu', x: in0 }], true],
    ['Clip 0..6', [{ op: 'Clip', x: in0, lo: 0, hi: 6 }], true],
    ['LeakyRelu', [{ op: 'LeakyRelu', x: in0, alpha: 0.125 }], true],
    ['LeakyRelu, double alpha', [{ op: 'LeakyRelu', x: in0, alpha: 0.1 }], true],
    ['HardSigmoid', [{ op: 'HardSigmoid', x: in0, alpha: 0.2, beta: 0.5 }], true],
    ['HardSwish', [{ op: 'HardSwish', x: in0 }], true],
    // PP-LCNetV3's affine + hard swish + affine (float32 constants)
    ['affine hard swish', [{ op: 'Mul', x: c(Math.fround(2.1388681)), y: in0 }, { op: 'Add', x: { t: 0 }, y: c(Math.fround(-0.45077202)) }, { op: 'Add', x: { t: 1 }, y: c(3) },
      { op: 'Clip', x: { t: 2 }, lo: 0, hi: 6 }, { op: 'Mul', x: { t: 1 }, y: { t: 3 } }, { op: 'Div', x: { t: 4 }, y: c(6) }, { op: 'Mul', x: c(Math.fround(0.11814947)), y: { t: 5 } },
      { op: 'Add', x: { t: 6 }, y: c(Math.fround(-0.0000601)) }], true],
    ['double constants, Max, Neg, Abs', [{ op: 'Mul', x: in0, y: c(0.1) }, { op: 'Max', x: { t: 0 }, y: c(-0.3) }, { op: 'Neg', x: { t: 1 } }, { op: 'Abs', x: { t: 2 } }, { op: 'Sub', x: { t: 3 }, y: in0 }], true],
    ['Pow 2, Sqrt', [{ op: 'Pow', x: in0, y: c(2) }, { op: 'Sqrt', x: { t: 0 } }], true],
    ['Sigmoid (not inlined)', [{ op: 'Sigmoid', x: in0 }, { op: 'Mul', x: in0, y: { t: 0 } }], false],
    ['Log (not inlined)', [{ op: 'Abs', x: in0 }, { op: 'Log', x: { t: 0 } }], false],
  ];
  for (const [name, code, inlined] of programs) {
    it(`FusedConv epilogue ${name}: ${inlined ? 'in the kernel' : 'after it'}, equal to Conv then the program bit for bit`, () => {
      const p: Program = { code };
      expect(!!directEpilogue(p)).toBe(inlined);
      // depthwise 2-D (stride 1, stride 2 at batch 2), grouped with a multiplier, depthwise 1-D
      const cases: [number[], number[], Record<string, Attr>][] = [
        [[1, 4, 12, 24], [4, 1, 5, 5], geo(5, [1, 1], 1, 2, 4)],
        [[2, 3, 9, 11], [3, 1, 3, 3], geo(3, [2, 2], 1, 1, 3)],
        [[1, 6, 7, 10], [6, 2, 3, 3], geo(3, [1, 1], 1, 1, 3)],
        [[2, 5, 30], [5, 1, 5], { group: { kind: 'int', value: 5 } as Attr, kernel_shape: ints([5]), pads: ints([2, 2]) }],
      ];
      for (const [xd, wd, a] of cases) {
        const x = new Float32Array(xd.reduce((u, v) => u * v)).map((_, i) => 4 * Math.sin(i * 0.37));
        x[7] = NaN;
        const w = new Float32Array(wd.reduce((u, v) => u * v)).map((_, i) => Math.cos(i * 0.91));
        const b = new Float32Array(wd[0]!).map((_, i) => 0.5 - i * 0.3);
        for (const bias of [undefined, b]) {
          const y = conv(x, xd, w, wd, a, bias);
          const want = new Float32Array(y.length);
          evaluateProgram(p, [{ data: y, dims: [y.length] }], want, [y.length]);
          const got = fusedConv(x, xd, w, wd, a, bias, p);
          expect(got.length).toBe(want.length);
          for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) expect([name, xd, i, got[i]]).toEqual([name, xd, i, want[i]]);
        }
      }
    });
  }
});

function fusedConv(x: Float32Array, xd: number[], w: Float32Array, wd: number[], attributes: Record<string, Attr>, b: Float32Array | undefined, p: Program): Float32Array {
  const node: Node = { name: 'f', opType: 'FusedConv', domain: 'tgraph', inputs: ['x', 'w', b ? 'b' : ''], outputs: ['y'], attributes: { ...attributes, epilogue: { kind: 'string', value: encodeProgram(p) } } };
  const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  const t = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });
  return (CPU_KERNELS['tgraph:FusedConv'](b ? [t(xd, x), t(wd, w), t([b.length], b)] : [t(xd, x), t(wd, w), undefined], ctx)[0] as HostTensor).data as Float32Array;
}
