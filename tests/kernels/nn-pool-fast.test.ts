// The float32 2-D MaxPool/AveragePool loops (nn-pool.ts: maxPool2d with its 2x2 stride-2 case,
// avgPool2d, globalAvgF32, and their wasm SIMD paths in nn-pool-simd.ts / reduce-simd.ts) against a naive
// float64 reference of the ONNX definition, on odd sizes, padding, dilation, ceil_mode, 1-D inputs and
// NaN/±Inf/-0 values, each with the SIMD paths on and off.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import type { CpuContext } from '../../kernels/cpu/types.js';
import { setPoolSimd } from '../../kernels/cpu/nn-pool-simd.js';
import { setReduceSimd } from '../../kernels/cpu/reduce-simd.js';

interface Geo { k: number[]; s: number[]; p: number[]; d: number[]; ceil?: boolean }

function run(op: string, x: HostTensor, g: Geo, extra: Record<string, Attr> = {}): HostTensor {
  const attributes: Record<string, Attr> = {
    kernel_shape: { kind: 'ints', value: g.k }, strides: { kind: 'ints', value: g.s }, pads: { kind: 'ints', value: g.p },
    ...(op === 'MaxPool' ? { dilations: { kind: 'ints', value: g.d } } : {}), ...(g.ceil ? { ceil_mode: { kind: 'int', value: 1 } } : {}), ...extra,
  };
  const node: Node = { name: 'n', opType: op, domain: '', inputs: ['x'], outputs: ['y'], attributes };
  const ctx = { node, opset: 19, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  return (CPU_KERNELS as unknown as Record<string, (i: HostTensor[], c: CpuContext) => HostTensor[]>)[op]!([x], ctx)[0]!;
}

/** Naive pooling over [N, C, ...spatial] (1-2 spatial dims), straight from the definition. */
function reference(kind: 'max' | 'avg', x: HostTensor, g: Geo, includePad: boolean): { dims: number[]; data: number[] } {
  const sp = x.dims.slice(2);
  const nd = sp.length;
  const H = nd === 2 ? sp[0]! : 1, W = sp[nd - 1]!;
  const two = (a: number[]): [number, number] => (nd === 2 ? [a[0]!, a[1]!] : [1, a[0]!]);
  const [kh, kw] = two(g.k);
  const [sh, sw] = two(g.s);
  const [dh, dw] = two(g.d);
  const [ph0, pw0, ph1, pw1] = nd === 2 ? [g.p[0]!, g.p[1]!, g.p[2]!, g.p[3]!] : [0, g.p[0]!, 0, g.p[1]!];
  const rnd = g.ceil ? Math.ceil : Math.floor;
  let oh = rnd((H + ph0 + ph1 - (dh * (kh - 1) + 1)) / sh) + 1;
  let ow = rnd((W + pw0 + pw1 - (dw * (kw - 1) + 1)) / sw) + 1;
  // ceil_mode: a window that would start in the tail padding is dropped.
  if (g.ceil && (oh - 1) * sh >= H + ph0) oh--;
  if (g.ceil && (ow - 1) * sw >= W + pw0) ow--;
  const planes = x.dims[0]! * x.dims[1]!;
  const v = x.data as Float32Array;
  const out: number[] = [];
  for (let pl = 0; pl < planes; pl++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let best = -Infinity, first = true, sum = 0, n = 0, padN = 0;
        for (let a = 0; a < kh; a++) {
          for (let b = 0; b < kw; b++) {
            const r = i * sh - ph0 + a * dh, c = j * sw - pw0 + b * dw;
            if (r >= -ph0 && r < H + ph1 && c >= -pw0 && c < W + pw1) padN++;
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            const e = v[pl * H * W + r * W + c]!;
            if (first || e > best) best = e;
            first = false;
            sum += e;
            n++;
          }
        }
        out.push(kind === 'max' ? best : sum / (includePad ? padN : n));
      }
    }
  }
  return { dims: [x.dims[0]!, x.dims[1]!, ...(nd === 2 ? [oh, ow] : [ow])], data: out };
}

function input(dims: number[], seed: number): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.91 + seed) * 5);
  if (n > 20) { data[3] = NaN; data[7] = Infinity; data[11] = -Infinity; data[13] = -0; data[17] = NaN; }
  return { kind: 'tensor', dtype: 'float32', dims, data };
}

const CASES: [number[], Geo][] = [
  [[1, 3, 8, 10], { k: [2, 2], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[2, 5, 7, 9], { k: [2, 2], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1] }], // odd: last row/col dropped
  [[1, 4, 9, 11], { k: [3, 3], s: [2, 2], p: [1, 1, 1, 1], d: [1, 1] }],
  [[1, 2, 6, 12], { k: [1, 2], s: [1, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[1, 3, 9, 8], { k: [3, 2], s: [3, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[1, 2, 10, 10], { k: [2, 3], s: [1, 2], p: [1, 0, 0, 2], d: [2, 1] }],
  [[1, 3, 17], { k: [2], s: [2], p: [0, 0], d: [1] }],
  [[1, 3, 17], { k: [3], s: [2], p: [1, 1], d: [2] }],
  // Wide enough for the SIMD path (groups of four interior outputs plus border and tail columns).
  [[1, 3, 10, 37], { k: [2, 2], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[2, 2, 6, 35], { k: [1, 2], s: [1, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[1, 3, 9, 50], { k: [3, 2], s: [3, 2], p: [0, 0, 0, 0], d: [1, 1] }],
  [[1, 2, 11, 41], { k: [3, 3], s: [1, 1], p: [1, 1, 1, 1], d: [1, 1] }],
  [[1, 2, 12, 43], { k: [3, 3], s: [2, 2], p: [1, 2, 1, 2], d: [1, 1] }],
  [[1, 2, 12, 45], { k: [3, 3], s: [2, 2], p: [0, 0, 0, 0], d: [1, 1], ceil: true }],
  [[1, 2, 13, 47], { k: [2, 3], s: [1, 2], p: [1, 0, 0, 2], d: [2, 2] }],
  [[1, 4, 7, 40], { k: [3, 3], s: [2, 3], p: [1, 1, 1, 1], d: [1, 1] }],
  [[1, 3, 61], { k: [4], s: [1], p: [2, 1], d: [1] }],
];

for (const simd of [true, false]) describe(`float32 pooling fast paths (SIMD ${simd ? 'on' : 'off'})`, () => {
  let prev: [boolean, boolean];
  beforeAll(() => { prev = [setPoolSimd(simd), setReduceSimd(simd)]; });
  afterAll(() => { setPoolSimd(prev[0]); setReduceSimd(prev[1]); });
  for (const [dims, g] of CASES) {
    const label = `[${dims}] k${g.k} s${g.s} p${g.p} d${g.d}${g.ceil ? ' ceil' : ''}`;
    it(`MaxPool ${label} matches the naive reference exactly`, () => {
      const x = input(dims, dims.length);
      const got = run('MaxPool', x, g);
      const want = reference('max', x, g, false);
      expect(got.dims).toEqual(want.dims);
      expect([...(got.data as Float32Array)]).toEqual(want.data.map(Math.fround));
    });
    if (g.d.every((d) => d === 1)) {
      for (const includePad of [false, true]) {
        it(`AveragePool ${label} count_include_pad=${includePad} matches the naive reference`, () => {
          const x = input(dims, 3);
          const got = run('AveragePool', x, g, { count_include_pad: { kind: 'int', value: includePad ? 1 : 0 } });
          const want = reference('avg', x, g, includePad);
          expect(got.dims).toEqual(want.dims);
          expect([...(got.data as Float32Array)]).toEqual(want.data.map(Math.fround));
        });
      }
    }
  }
  it('GlobalAveragePool matches the float64 mean', () => {
    const x = input([2, 3, 5, 7], 1);
    const got = run('GlobalAveragePool', x, { k: [], s: [], p: [], d: [] });
    const v = x.data as Float32Array;
    for (let pl = 0; pl < 6; pl++) {
      let s = 0;
      for (let i = 0; i < 35; i++) s += v[pl * 35 + i]!;
      // SIMD sums in four lanes: the float64 sum may differ in its last bits, never by a float32 ulp here.
      expect(Object.is((got.data as Float32Array)[pl], Math.fround(s / 35))).toBe(true);
    }
  });
});
