// Matrix-vector products with the weights kept in WebAssembly memory: C[M,N] (+)= A[M,K] * W, M small
// (a batch of 1-4 rows through a linear layer, an RNN step's h . R^T). The SIMD GEMM (nn-gemm-simd.ts)
// pads such products to 4x8 tiles and copies the weight into its memory on every call; for one row
// against a 1536x128 weight that copy and the padded work were 150 us of openWakeWord's 0.6 ms.
// Here a constant weight (a registered initializer, constants.ts) is laid out once as panels of 32
// output columns ([panel][k][32], zero-padded) in this module's own memory and stays there; a call
// copies only the M rows of A in and the M rows of C out. Each output is one float32 sum over k in
// order (eight f32x4 accumulators per panel, relaxed fused multiply-add where the engine validates it).
// Weights that are not registered constants are laid out per call into a temporary region.
import { ADD, I32, MUL, V128, forLoop, get, i32c, section, set, relaxedSimdAllowed, simd, simdAllowed, str, uleb } from './wasm-asm.js';
import { isConstant } from './constants.js';
import { F_ADD, F_MUL, SCRATCH_V128, hoistConstants, sigmoidOf, tanhOf } from './elementwise-simd-math.js';

/** Output columns per panel (eight f32x4 accumulators). */
export const PANEL = 32;
const PANEL_BYTES = PANEL * 4;
const SUB = 0x6b, SPLAT = 0x13, FADD = 0xe4, FMUL = 0xe6, RELAXED_MADD = 0x105;
const v128load = (off: number) => [...simd(0x00), 4, ...uleb(off)];
const v128store = (off: number) => [...simd(0x0b), 4, ...uleb(off)];
const f32load = [0x2a, 2, 0];

function assemble(relaxed: boolean): Uint8Array<ArrayBuffer> {
  // gemv params: 0 pw, 1 px, 2 py, 3 np (panels), 4 K, 5 M, 6 ldx (bytes), 7 ldy (bytes)
  // locals: 8 p, 9 m, 10 k, 11 pwT, 12 pxT, 13 pyT, 14 pwP (i32); 15..22 acc, 23 s (v128)
  // y[m, p*32 + c] += sum_k x[m, k] * w[p][k][c], y read and written in place.
  const [PW, PX, PY, NP, K, M, LDX, LDY, P, MI, KI, PWT, PXT, PYT, PWP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const acc = (h: number) => 15 + h;
  const S = 23;
  const hs = [...Array(8).keys()];
  const fma = (h: number) => relaxed
    ? [...get(S), ...get(PWT), ...v128load(16 * h), ...get(acc(h)), ...simd(RELAXED_MADD), ...set(acc(h))]
    : [...get(acc(h)), ...get(S), ...get(PWT), ...v128load(16 * h), ...simd(FMUL), ...simd(FADD), ...set(acc(h))];
  const kLoop = [
    0x03, 0x40,
    ...get(PXT), ...f32load, ...simd(SPLAT), ...set(S),
    ...hs.flatMap(fma),
    ...get(PWT), ...i32c(PANEL_BYTES), ADD, ...set(PWT),
    ...get(PXT), ...i32c(4), ADD, ...set(PXT),
    ...get(KI), ...i32c(1), SUB, ...set(KI), ...get(KI), 0x0d, 0,
    0x0b,
  ];
  const row = [
    // pyT = py + m*ldy + p*128; accumulators start from y
    ...get(PY), ...get(MI), ...get(LDY), MUL, ADD, ...get(P), ...i32c(PANEL_BYTES), MUL, ADD, ...set(PYT),
    ...hs.flatMap((h) => [...get(PYT), ...v128load(16 * h), ...set(acc(h))]),
    ...get(PWP), ...set(PWT),
    ...get(PX), ...get(MI), ...get(LDX), MUL, ADD, ...set(PXT),
    ...get(K), ...set(KI),
    ...kLoop,
    ...hs.flatMap((h) => [...get(PYT), ...get(acc(h)), ...v128store(16 * h)]),
  ];
  const panel = [
    // pwP = pw + p*K*128
    ...get(PW), ...get(P), ...get(K), MUL, ...i32c(PANEL_BYTES), MUL, ADD, ...set(PWP),
    ...forLoop(MI, M, row),
  ];
  const body = [2, 7, I32, 9, V128, ...forLoop(P, NP, panel), 0x0b];
  const gates = lstmGates();
  const code = [2, ...uleb(body.length), ...body, ...uleb(gates.length), ...gates];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 8, ...new Array<number>(8).fill(I32), 0, 0x60, 4, ...new Array<number>(4).fill(I32), 0]),
    ...section(2, [1, ...str('env'), ...str('mem'), 0x02, 0x00, ...uleb(1)]),
    ...section(3, [2, 0, 1]),
    ...section(7, [2, ...str('gemv'), 0x00, 0, ...str('lstm_gates'), 0x00, 1]),
    ...section(10, code),
  ]);
}

/**
 * lstm_gates(pg, pc, ph, hb): one LSTM step's cell from its gate pre-activations g = [i, o, f, c~] (each hb
 * bytes, H floats): c = sigmoid(f) * c + sigmoid(i) * tanh(c~) in place, h = sigmoid(o) * tanh(c), four lanes
 * at a time (lanes past H read the next gate and write scratch past c's and h's H floats).
 * Locals follow elementwise-simd-math's layout: 4 i (i32), 5 fc (v128), 6.. its scratch, then constants.
 */
function lstmGates(): number[] {
  const [PG, PC, PH, HB, I, FC] = [0, 1, 2, 3, 4, 5];
  const gate = (k: number) => [...get(PG), ...(k ? [...get(HB), ...i32c(k), MUL, ADD] : []), ...get(I), ADD, ...v128load(0)];
  const at = (base: number) => [...get(base), ...get(I), ADD];
  const { body: step, prologue, count } = hoistConstants(() => [
    ...sigmoidOf(gate(2)), ...at(PC), ...v128load(0), ...F_MUL, ...set(FC),
    ...get(FC), ...sigmoidOf(gate(0)), ...tanhOf(gate(3)), ...F_MUL, ...F_ADD, ...set(FC),
    ...at(PC), ...get(FC), ...v128store(0),
    ...at(PH), ...sigmoidOf(gate(1)), ...tanhOf(get(FC)), ...F_MUL, ...v128store(0),
  ]);
  const body = [
    2, 1, I32, 1 + SCRATCH_V128 + count, V128,
    ...prologue,
    0x02, 0x40, 0x03, 0x40,
    ...get(I), ...get(HB), 0x4e, 0x0d, 1,
    ...step,
    ...get(I), ...i32c(16), ADD, ...set(I),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  return body;
}

interface Module {
  mem: WebAssembly.Memory;
  f32: Float32Array;
  gemv: (pw: number, px: number, py: number, np: number, K: number, M: number, ldx: number, ldy: number) => void;
  lstmGates: (pg: number, pc: number, ph: number, hb: number) => void;
}

let mod: Module | null | undefined;
let enabled = true;

/** Turn the GEMV path off or on (tests compare it with the GEMM paths); returns the previous setting. */
export function setGemvSimd(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function build(relaxed: boolean): Module | undefined {
  const bin = assemble(relaxed);
  if (!WebAssembly.validate(bin)) return undefined;
  const mem = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } });
  return { mem, f32: new Float32Array(mem.buffer), gemv: inst.exports.gemv as Module['gemv'], lstmGates: inst.exports.lstm_gates as Module['lstmGates'] };
}

function module(): Module | undefined {
  if (!enabled) return undefined;
  if (mod !== undefined) return mod ?? undefined;
  mod = null;
  try {
    if (!simdAllowed()) return undefined;
    mod = (relaxedSimdAllowed() ? build(true) : undefined) ?? build(false) ?? null;
  } catch {
    mod = null;
  }
  return mod ?? undefined;
}

function reserve(m: Module, bytes: number): Float32Array {
  const have = m.mem.buffer.byteLength;
  if (bytes > have) m.mem.grow(Math.ceil((bytes - have) / 65536));
  if (m.f32.buffer !== m.mem.buffer) m.f32 = new Float32Array(m.mem.buffer);
  return m.f32;
}

const align = (bytes: number) => (bytes + 63) & ~63;

/**
 * Resident weights take at most this many bytes; past it the region is emptied and refilled (a model whose
 * thin-product weights exceed it re-lays them out per call, as the GEMM copies them).
 */
const RESIDENT_BYTES = 128 * 1024 * 1024;
/** End of the resident weights; the temporary weights and the call's rows follow. */
let residentEnd = 0;
/** Bumped when the resident region is emptied: handles of an older generation are stale. */
let generation = 0;
/** Bumped on every temporary layout: a temporary handle is good until the next one. */
let tempSeq = 0;
let tempEnd = 0;

/** Weights laid out in the GEMV module's memory for `gemvF32`. */
export interface GemvWeights {
  readonly addr: number;
  readonly N: number;
  readonly K: number;
  /** Panels of PANEL columns. */
  readonly np: number;
  readonly gen: number;
  /** Temporary layouts are good until the next `gemvWeights` call; resident ones until the region is emptied. */
  readonly temp: number;
  /** The source, to lay it out again when the layout was replaced. */
  readonly src: readonly [B: Float32Array, bOff: number, ldb: number, transB: boolean];
}

// Per source array, its layouts (usually one), matched on their fields: a string key per call cost
// about as much as a small conv's product.
const resident = new WeakMap<Float32Array, GemvWeights[]>();

/**
 * W for `gemvF32`: the [K, N] operand B, row-major (element (k, n) at B[bOff + k*ldb + n]), or with `transB`
 * stored [N, K] (element (k, n) at B[bOff + n*ldb + k], a linear layer's weight). Kept resident when B is a
 * registered constant; undefined when the SIMD path is unavailable or off.
 */
export function gemvWeights(B: Float32Array, bOff: number, ldb: number, N: number, K: number, transB: boolean): GemvWeights | undefined {
  const m = module();
  if (!m || N === 0 || K === 0) return undefined;
  const np = Math.ceil(N / PANEL);
  const bytes = np * K * PANEL_BYTES;
  const keep = isConstant(B) && bytes <= RESIDENT_BYTES / 4;
  let at = -1;
  if (keep) {
    const list = resident.get(B);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        const w = list[i]!;
        if (w.N === N && w.K === K && w.src[1] === bOff && w.src[2] === ldb && w.src[3] === transB) {
          if (w.gen === generation) return w;
          at = i;
          break;
        }
      }
    }
    if (residentEnd + bytes > RESIDENT_BYTES) {
      generation++;
      residentEnd = 0;
    }
  }
  const addr = residentEnd;
  const f = reserve(m, addr + bytes);
  layOut(f, addr >> 2, B, bOff, ldb, N, K, np, transB);
  // Any new layout may cover the previous temporary one.
  tempSeq++;
  const w: GemvWeights = { addr, N, K, np, gen: generation, temp: keep ? 0 : tempSeq, src: [B, bOff, ldb, transB] };
  if (keep) {
    residentEnd = align(addr + bytes);
    let list = resident.get(B);
    if (!list) resident.set(B, (list = []));
    if (at >= 0) list[at] = w;
    else list.push(w);
    tempEnd = residentEnd;
  } else tempEnd = align(addr + bytes);
  return w;
}

/** w[p][k][c] = op(B)(k, p*PANEL + c), zero past N. */
function layOut(f: Float32Array, base: number, B: Float32Array, bOff: number, ldb: number, N: number, K: number, np: number, transB: boolean): void {
  for (let p = 0; p < np; p++) {
    const n0 = p * PANEL;
    const w = Math.min(PANEL, N - n0);
    const pb = base + p * K * PANEL;
    if (w < PANEL) f.fill(0, pb, pb + K * PANEL);
    if (transB) {
      for (let c = 0; c < w; c++) {
        const src = bOff + (n0 + c) * ldb;
        for (let k = 0, d = pb + c; k < K; k++, d += PANEL) f[d] = B[src + k]!;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const src = bOff + k * ldb + n0;
        const d = pb + k * PANEL;
        for (let c = 0; c < w; c++) f[d + c] = B[src + c]!;
      }
    }
  }
}

/**
 * C[M, N] = (accumulate ? C : bias or 0) + A[M, K] * W, with W from `gemvWeights` (laid out again when
 * a later call replaced it). A element (i, k) is A[aOff + i*aRow + k*aCol]; C row i starts at cOff + i*ldc.
 * `bias` (per output column, from biasOff) is added when not accumulating.
 */
export function gemvF32(
  w: GemvWeights, M: number,
  A: ArrayLike<number>, aOff: number, aRow: number, aCol: number,
  C: Float32Array | Float64Array, cOff: number, ldc: number,
  accumulate: boolean, bias?: ArrayLike<number>, biasOff = 0,
): void {
  const m = module()!;
  if (w.gen !== generation || (w.temp && w.temp !== tempSeq)) w = gemvWeights(w.src[0], w.src[1], w.src[2], w.N, w.K, w.src[3])!;
  const { N, K, np } = w;
  const ldy = np * PANEL;
  const px = tempEnd >> 2;
  const py = align(tempEnd + M * K * 4) >> 2;
  const f = reserve(m, (py + M * ldy) * 4);
  for (let i = 0; i < M; i++) {
    const a = aOff + i * aRow;
    const x = px + i * K;
    if (aCol === 1 && A instanceof Float32Array) f.set(A.subarray(a, a + K), x);
    else for (let k = 0; k < K; k++) f[x + k] = A[a + k * aCol]!;
    const y = py + i * ldy;
    const c = cOff + i * ldc;
    if (accumulate) for (let j = 0; j < N; j++) f[y + j] = C[c + j]!;
    else if (bias) for (let j = 0; j < N; j++) f[y + j] = bias[biasOff + j]!;
    else f.fill(0, y, y + N);
    f.fill(0, y + N, y + ldy);
  }
  m.gemv(w.addr, px * 4, py * 4, np, K, M, K * 4, ldy * 4);
  for (let i = 0; i < M; i++) {
    const y = py + i * ldy;
    const c = cOff + i * ldc;
    if (C instanceof Float32Array && N >= 16) C.set(f.subarray(y, y + N), c);
    else for (let j = 0; j < N; j++) C[c + j] = f[y + j]!;
  }
}

/**
 * An LSTM recurrence with its state in the GEMV module's memory (default activations, no peepholes, clip
 * or input_forget): per batch row, h and c of H floats; `gates` is where a step's 4H pre-activations go.
 * Float offsets into `f32()`, good while no other gemv call runs (rnn.ts runs one direction's steps
 * back to back).
 */
export interface LstmState {
  readonly H: number;
  /** Float offsets of row b's h and c: h + b*stride, c + b*stride. */
  readonly h: number;
  readonly c: number;
  readonly stride: number;
  readonly gates: number;
  f32(): Float32Array;
  /** gates (pre-set to the input projection and biases) += h[b] . R^T, then the cell update of row b. */
  step(b: number): void;
}

export function lstmState(R: GemvWeights, batch: number): LstmState | undefined {
  const m = module();
  if (!m) return undefined;
  if (R.gen !== generation || (R.temp && R.temp !== tempSeq)) R = gemvWeights(R.src[0], R.src[1], R.src[2], R.N, R.K, R.src[3])!;
  const H = R.K;
  if (R.N !== 4 * H) return undefined;
  // One step's rows: h and c with a vector of slack each (the last lanes past H), the gate row padded to panels.
  const stride = Math.ceil(H / 4) * 4 + 4;
  const h = tempEnd >> 2;
  const c = h + batch * stride;
  const gates = align((c + batch * stride) * 4) >> 2;
  reserve(m, (gates + R.np * PANEL + 8) * 4);
  const ldy = R.np * PANEL * 4;
  return {
    H, h, c, stride, gates,
    f32: () => m.f32,
    step(b) {
      const hb = (h + b * stride) * 4;
      m.gemv(R.addr, hb, gates * 4, R.np, H, 1, H * 4, ldy);
      m.lstmGates(gates * 4, (c + b * stride) * 4, hb, H * 4);
    },
  };
}
