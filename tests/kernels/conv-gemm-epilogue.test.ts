// FusedConv epilogues applied in the SIMD GEMM's memory (nn-gemm-epilogue.ts) on every GEMM conv path:
// 1x1 over many and few positions, one position (GEMV), implicit im2col, Winograd 3x3 and 1x3, banded
// im2col (stride 2), 1-D, batches and groups, the JS GEMM; each bit for bit the Conv then the program.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import { encodeProgram, type Instr, type Operand, type Program } from '../../graph/ops/fused-program.js';
import type { HostTensor } from '../../graph/tensor.js';
import { evaluateProgram } from '../../kernels/cpu/fused-eval.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import { gemmEpilogueStats, setGemmEpilogue } from '../../kernels/cpu/nn-gemm-epilogue.js';
import { setGemmSimd } from '../../kernels/cpu/nn-gemm.js';
import { setWinogradConv } from '../../kernels/cpu/nn-winograd.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { runConv } from '../helpers/conv.js';

const ints = (value: number[]): Attr => ({ kind: 'ints', value }) as Attr;
const t = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });

function fusedConv(x: Float32Array, xd: number[], w: Float32Array, wd: number[], attributes: Record<string, Attr>, b: Float32Array | undefined, p: Program): Float32Array {
  const node: Node = { name: 'f', opType: 'FusedConv', domain: 'tgraph', inputs: ['x', 'w', b ? 'b' : ''], outputs: ['y'], attributes: { ...attributes, epilogue: { kind: 'string', value: encodeProgram(p) } } };
  const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS['tgraph:FusedConv'](b ? [t(xd, x), t(wd, w), t([b.length], b)] : [t(xd, x), t(wd, w), undefined], ctx)[0] as HostTensor).data as Float32Array;
}

const c = (v: number): Operand => ({ c: v });
const in0: Operand = { in: 0 };
const programs: [string, Instr[]][] = [
  ['LeakyRelu', [{ op: 'LeakyRelu', x: in0, alpha: 0.2 }]],
  // PP-LCNetV3's hard swish then affine, float32 constants
  ['hard swish, affine', [{ op: 'Add', x: in0, y: c(3) }, { op: 'Clip', x: { t: 0 }, lo: 0, hi: 6 }, { op: 'Mul', x: in0, y: { t: 1 } }, { op: 'Div', x: { t: 2 }, y: c(6) },
    { op: 'Mul', x: c(Math.fround(0.11814947)), y: { t: 3 } }, { op: 'Add', x: { t: 4 }, y: c(Math.fround(-0.0601)) }]],
  ['double constant, HardSigmoid', [{ op: 'Mul', x: in0, y: c(0.1) }, { op: 'HardSigmoid', x: { t: 0 }, alpha: 0.2, beta: 0.5 }]],
];

// [name, x dims, w dims, attributes, group]
const convs: [string, number[], number[], Record<string, Attr>][] = [
  ['1x1 over many positions', [1, 24, 9, 16], [40, 24, 1, 1], {}],
  ['1x1 over few positions (transposed product)', [1, 48, 3, 3], [36, 48, 1, 1], {}],
  ['1x1 onto one position (GEMV)', [1, 64, 1, 1], [20, 64, 1, 1], {}],
  ['3x3 implicit im2col (Winograd off)', [1, 12, 10, 13], [20, 12, 3, 3], { pads: ints([1, 1, 1, 1]) }],
  ['3x3 Winograd', [2, 16, 11, 12], [24, 16, 3, 3], { pads: ints([1, 1, 1, 1]) }],
  ['1x3 Winograd', [1, 16, 9, 20], [16, 16, 1, 3], { pads: ints([0, 1, 0, 1]) }],
  ['3x3 stride 2 (im2col)', [2, 8, 15, 14], [16, 8, 3, 3], { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }],
  ['1-D', [2, 12, 40], [16, 12, 5], { pads: ints([2, 2]) }],
  ['groups of 4 channels', [1, 16, 8, 8], [32, 4, 1, 1], { group: { kind: 'int', value: 4 } }],
  ['1x1 few positions, batch 3 (one transposed product for the batch)', [3, 40, 3, 3], [32, 40, 1, 1], {}],
];

describe('FusedConv epilogues in the GEMM memory', () => {
  for (const [cname, xd, wd, attrs] of convs) {
    for (const [pname, code] of programs) {
      it(`${cname}, ${pname}: equal to Conv then the program bit for bit`, () => {
        const p: Program = { code };
        const x = new Float32Array(xd.reduce((a, b) => a * b, 1)).map((_, i) => 3 * Math.sin(i * 0.37));
        x[5] = NaN;
        const w = new Float32Array(wd.reduce((a, b) => a * b, 1)).map((_, i) => Math.cos(i * 0.91) / 4);
        const b = new Float32Array(wd[0]!).map((_, i) => 0.5 - i * 0.1);
        const prevW = setWinogradConv(!cname.includes('Winograd off'));
        try {
          for (const bias of [undefined, b]) {
            const y = runConv(x, xd, w, wd, attrs, bias);
            const want = new Float32Array(y.length);
            evaluateProgram(p, [{ data: y, dims: [y.length] }], want, [y.length]);
            const before = gemmEpilogueStats.elements;
            const got = fusedConv(x, xd, w, wd, attrs, bias, p);
            // The GEMM paths took it (the GEMV and transposed products are settled after them instead).
            if (!cname.includes('GEMV') && !cname.includes('few positions')) expect(gemmEpilogueStats.elements - before).toBe(y.length);
            for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) expect([i, got[i]]).toEqual([i, want[i]]);
          }
        } finally {
          setWinogradConv(prevW);
        }
      });
    }
  }
  it('the same without the in-GEMM epilogue and on the JS GEMM', () => {
    const p: Program = { code: programs[1]![1] };
    const [, xd, wd, attrs] = convs[3]!;
    const x = new Float32Array(xd.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
    const w = new Float32Array(wd.reduce((a, b) => a * b, 1)).map((_, i) => Math.cos(i) / 4);
    const y = runConv(x, xd, w, wd, attrs);
    const want = new Float32Array(y.length);
    evaluateProgram(p, [{ data: y, dims: [y.length] }], want, [y.length]);
    for (const [ep, simd] of [[false, true], [true, false]] as const) {
      const prevE = setGemmEpilogue(ep), prevS = setGemmSimd(simd);
      try {
        const ref = simd ? want : (() => {
          const yj = runConv(x, xd, w, wd, attrs);
          const wj = new Float32Array(yj.length);
          evaluateProgram(p, [{ data: yj, dims: [yj.length] }], wj, [yj.length]);
          return wj;
        })();
        const got = fusedConv(x, xd, w, wd, attrs, undefined, p);
        for (let i = 0; i < ref.length; i++) if (!Object.is(got[i], ref[i])) expect([ep, simd, i, got[i]]).toEqual([ep, simd, i, ref[i]]);
      } finally {
        setGemmEpilogue(prevE);
        setGemmSimd(prevS);
      }
    }
  });
});
