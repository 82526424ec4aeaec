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

/** A counted loop: `v = 0; while (v < limit) { body; v++ }`. */
export function forLoop(v: number, limit: number, body: number[]): number[] {
  return [
    ...i32c(0), ...set(v),
    0x02, 0x40, 0x03, 0x40,
    ...get(v), ...get(limit), GE_S, 0x0d, 1,
    ...body,
    ...get(v), ...i32c(1), ADD, ...set(v),
    0x0c, 0, 0x0b, 0x0b,
  ];
}
