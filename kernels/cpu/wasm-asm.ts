// The pieces the hand-assembled WebAssembly kernels share (nn-gemm-simd, nn-depthwise-simd,
// elementwise-simd): LEB128 encodings, sections, and the instructions they all use.

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
}
export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}
export const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];

// Value types and instructions.
export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const i32c = (v: number): number[] => [0x41, ...sleb(v)];
export const ADD = 0x6a, MUL = 0x6c, SHL = 0x74, GE_S = 0x4e;
/** A SIMD (0xfd-prefixed) instruction. */
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];

// Shared by the row, pooling and norm modules (reduce-simd, nn-pool-simd, nn-norm-simd).
export const F64 = 0x7c, LT_U = 0x49;
/** v128.load / v128.store at a byte offset (16-byte alignment hint). */
export const vload = (off = 0): number[] => [...simd(0x00), 4, ...uleb(off)];
export const vstore = (off = 0): number[] => [...simd(0x0b), 4, ...uleb(off)];
/** i8x16.shuffle of two vectors by byte lanes. */
export const shuffle = (lanes: number[]): number[] => [...simd(0x0d), ...lanes];
/** Byte lanes of f32 lanes (0-3 the first vector, 4-7 the second). */
export const f32lanes = (...l: number[]): number[] => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
export const PMIN = simd(0xea), PMAX = simd(0xeb), PROMOTE_LO = simd(0x5f), DEMOTE = simd(0x5e), D_ADD = simd(0xf0), D_SPLAT = simd(0x14);

/** `v = 0; while (v < limit) { body; v += step }` with limit a local (signed compare). */
export function stepLoop(v: number, limit: number, step: number, body: number[]): number[] {
  return [
    ...i32c(0), ...set(v),
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...get(limit), GE_S, 0x0d, 1,
    ...body,
    ...get(v), ...i32c(step), ADD, ...set(v),
    0x0c, 0, 0x0b, 0x0b,
  ];
}

/** A counted loop: `v = 0; while (v < limit) { body; v++ }`. */
export function forLoop(v: number, limit: number, body: number[]): number[] {
  return stepLoop(v, limit, 1, body);
}

/**
 * Copy the bytes from local `src` up to local `end` (a multiple of 4 away) to local `dst`, 16 at a time, then
 * 4 (a memory.copy is a call into the engine, several times a short copy's own cost); moves src and dst.
 */
export function copyRun(dst: number, src: number, end: number): number[] {
  const SUB = 0x6b, LT_S = 0x48;
  const steps = (n: number, move: number[]) => [
    0x02, 0x40, 0x03, 0x40,
    ...get(end), ...get(src), SUB, ...i32c(n), LT_S, 0x0d, 1,
    ...get(dst), ...get(src), ...move,
    ...get(src), ...i32c(n), ADD, ...set(src),
    ...get(dst), ...i32c(n), ADD, ...set(dst),
    0x0c, 0, 0x0b, 0x0b,
  ];
  return [...steps(16, [...vload(), ...vstore()]), ...steps(4, [0x2a, 2, 0, 0x38, 2, 0])];
}

/** i8x16.shuffle interleaving the low (then high) halves of two f32x4: [a0, b0, a1, b1] and [a2, b2, a3, b3]. */
export const INTERLEAVE_LO = shuffle(f32lanes(0, 4, 1, 5)), INTERLEAVE_HI = shuffle(f32lanes(2, 6, 3, 7));

/** A compiled kernel module on its own growable memory (imported as env.mem), with a float32 view of it. */
export interface WasmKernels<E> {
  readonly fns: E;
  /** All of memory as float32 (re-read after `reserve`, which may grow it). */
  f32: Float32Array;
  f64: Float64Array;
  /** Make memory at least `bytes` long; views taken before a grow are stale. */
  reserve(bytes: number): void;
}

/** Validate and instantiate `bin` (one imported memory, env.mem); undefined where the engine rejects it. */
export function instantiateKernels<E>(bin: Uint8Array<ArrayBuffer>, pages: number): WasmKernels<E> | undefined {
  if (!WebAssembly.validate(bin)) return undefined;
  const mem = new WebAssembly.Memory({ initial: pages });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
  const k: WasmKernels<E> = {
    fns: inst.exports as unknown as E,
    f32: new Float32Array(mem.buffer),
    f64: new Float64Array(mem.buffer),
    reserve(bytes) {
      const have = mem.buffer.byteLength;
      if (bytes > have) mem.grow(Math.ceil((bytes - have) / 65536));
      if (k.f32.buffer !== mem.buffer) {
        k.f32 = new Float32Array(mem.buffer);
        k.f64 = new Float64Array(mem.buffer);
      }
    },
  };
  return k;
}

/** Whether SIMD kernels may be built here (WebAssembly present, TGRAPH_NO_SIMD not set). */
export function simdAllowed(): boolean {
  return typeof WebAssembly !== 'undefined' && !(typeof process !== 'undefined' && process.env?.TGRAPH_NO_SIMD === '1');
}

// f32x4.relaxed_madd(a, b, c) in a one-function module: what relaxed SIMD validation is checked with.
const RELAXED_PROBE = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11]);
let relaxed: boolean | undefined;

/**
 * Whether the kernels may use relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add: 1.15-1.3x on the
 * GEMM). Browsers since Chrome 114 and Node 22 validate it; Node 20's V8 (11.3) has it behind
 * `--experimental-wasm-relaxed-simd`, which is turned on here, where Node lets a module read its flags
 * synchronously (process.getBuiltinModule, Node 20.16+). The flag only admits those opcodes to
 * validation: nothing else in the process changes. TGRAPH_NO_RELAXED_SIMD=1 keeps it off (plain SIMD).
 */
export function relaxedSimdAllowed(): boolean {
  if (relaxed !== undefined) return relaxed;
  relaxed = false;
  try {
    if (!simdAllowed() || (typeof process !== 'undefined' && process.env?.TGRAPH_NO_RELAXED_SIMD === '1')) return false;
    if (!WebAssembly.validate(RELAXED_PROBE)) {
      const getBuiltin = typeof process !== 'undefined' ? (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule : undefined;
      const v8 = getBuiltin?.('node:v8') as { setFlagsFromString?: (flags: string) => void } | undefined;
      v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
    }
    relaxed = WebAssembly.validate(RELAXED_PROBE);
  } catch {
    relaxed = false;
  }
  return relaxed;
}

/**
 * A kernel module assembled and instantiated on first use, where SIMD is allowed; undefined where it is
 * not, where the engine rejects it (a CSP without wasm-unsafe-eval), or while a test switched it off.
 */
export function lazyKernels<E>(assemble: () => Uint8Array<ArrayBuffer>, pages: number): {
  get(): WasmKernels<E> | undefined;
  /** Turn the path off or on (tests compare it with the JS loops); returns the previous setting. */
  setEnabled(on: boolean): boolean;
} {
  let cached: WasmKernels<E> | null | undefined;
  let enabled = true;
  return {
    get() {
      if (!enabled) return undefined;
      if (cached !== undefined) return cached ?? undefined;
      cached = null;
      try {
        if (simdAllowed()) cached = instantiateKernels<E>(assemble(), pages) ?? null;
      } catch {
        cached = null;
      }
      return cached ?? undefined;
    },
    setEnabled(on) {
      const prev = enabled;
      enabled = on;
      return prev;
    },
  };
}

/** A wasm module of functions with the given signatures: [name, param types, result types, body (locals + code + end)]. */
export function assembleModule(fns: readonly { name: string; params: number[]; results: number[]; body: number[] }[], pages: number): Uint8Array<ArrayBuffer> {
  const types = fns.map((f) => [0x60, ...uleb(f.params.length), ...f.params, ...uleb(f.results.length), ...f.results]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(fns.length), ...types.flat()]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(pages)]),
    ...section(3, [...uleb(fns.length), ...fns.map((_, i) => i)]),
    ...section(7, [...uleb(fns.length), ...fns.flatMap((f, i) => [...str(f.name), 0x00, ...uleb(i)])]),
    ...section(10, [...uleb(fns.length), ...fns.flatMap((f) => [...uleb(f.body.length), ...f.body])]),
  ]);
}
