// WebAssembly SIMD for per-channel affine maps y = x·a + b of float32 planes (inference BatchNormalization)
// with a and b float64, computed as the JS loop does: the product and the sum in float64 (f64x2), rounded
// to float32 once, so the results are bit for bit the JS loop's (`setNormSimd(false)` selects it).
import { ADD, DEMOTE, D_ADD, D_SPLAT, F64, I32, LT_U, MUL, PROMOTE_LO, V128, assembleModule, f32lanes, get, i32c, lazyKernels, set, shuffle, simd, tee, vload, vstore } from './wasm-asm.js';

const D_MUL = simd(0xf2);

// affine(p, n4, a, b): 4·n4 floats at p replaced by f32(x·a + b). Locals: 4 end (i32), 5 A, 6 B, 7 V (v128).
function affineFn(): number[] {
  const [P, N4, AP, BP, END, A, B, V] = [0, 1, 2, 3, 4, 5, 6, 7];
  const half = (v: number[]) => [...v, ...PROMOTE_LO, ...get(A), ...D_MUL, ...get(B), ...D_ADD, ...DEMOTE];
  return [
    2, 1, I32, 3, V128,
    ...get(AP), ...D_SPLAT, ...set(A), ...get(BP), ...D_SPLAT, ...set(B),
    ...get(P), ...get(N4), ...i32c(16), MUL, ADD, ...set(END),
    ...get(P), ...get(END), LT_U, 0x04, 0x40,
    0x03, 0x40,
    ...get(P), ...vload(), ...set(V),
    ...get(P),
    ...half(get(V)),
    ...half([...get(V), ...get(V), ...shuffle(f32lanes(2, 3, 2, 3))]),
    ...shuffle(f32lanes(0, 1, 4, 5)),
    ...vstore(),
    ...get(P), ...i32c(16), ADD, ...tee(P), ...get(END), LT_U, 0x0d, 0,
    0x0b,
    0x0b,
    0x0b,
  ];
}

interface Fns { affine(p: number, n4: number, a: number, b: number): void }

const lazy = lazyKernels<Fns>(() => assembleModule([{ name: 'affine', params: [I32, I32, F64, F64], results: [], body: affineFn() }], 1), 1);
const kernels = lazy.get;

/** Turn the SIMD path off or on (tests compare both); returns the previous setting. */
export const setNormSimd = lazy.setEnabled;

const MAX_STAGE_BYTES = 256 << 20;

/**
 * y = x·a[c] + b[c] over [N, C, inner] float32 data (float64 arithmetic, rounded once); false (y untouched)
 * where the SIMD path does not apply.
 */
export function simdChannelAffine(x: Float32Array, y: Float32Array, N: number, C: number, inner: number, a: Float64Array, b: Float64Array): boolean {
  if (inner < 16 || x.length * 4 > MAX_STAGE_BYTES) return false;
  const k = kernels();
  if (!k) return false;
  k.reserve(x.length * 4 + 16);
  const m = k.f32;
  m.set(x);
  const n4 = inner >> 2, affine = k.fns.affine;
  for (let n = 0, o = 0; n < N; n++) {
    for (let c = 0; c < C; c++, o += inner) {
      const av = a[c]!, bv = b[c]!;
      affine(o * 4, n4, av, bv);
      for (let i = o + 4 * n4, e = o + inner; i < e; i++) m[i] = m[i]! * av + bv;
    }
  }
  y.set(m.subarray(0, x.length));
  return true;
}
