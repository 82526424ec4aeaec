// Runs a fused elementwise program as WebAssembly SIMD (fused-wasm-gen.ts), one module per program
// object and input layout, all on one shared memory. The output goes in blocks: each input read by the
// program is staged into its region of the block as
//   full    (the output's size)                      TypedArray.set of the block (a memcpy)
//   scalar  (one element)                            a slot the function splats once per call
//   rows    (constant along the trailing run of R,   the wasm `fill` writes each row's value,
//            e.g. a [C,1,1] bias on [N,C,H,W])        from a table of one value per row
//   periodic (the same P values over and over,      one TypedArray.set from the values repeated
//            e.g. a [C] bias on [M,C] or [N,H,W,C])   once per call (kept for initializers)
//   tile    (contiguous along a trailing run of P,   TypedArray.set per run
//            e.g. [N,1,W] on [N,H,W])
//   gather  (anything else)                          fused-eval's broadcast reader
// then run(n) computes the block into the output region, copied out with one set. Returns false (and
// writes nothing) where the program has no SIMD code or the platform cannot compile wasm; the caller
// then runs the JS loop.
import { type Program, programInputs } from '../../graph/ops/fused-program.js';
import { fillModule, fusedModule, type InputMode, type Layout, programKey, programParams } from './fused-wasm-gen.js';
import { isConstant } from './constants.js';
import { type Leaf, leafReader, READER_BLOCK } from './fused-leaves.js';
import { simdAllowed } from './wasm-asm.js';

/** Output elements per block. */
export const WASM_BLOCK = 8192;
const BLOCK = WASM_BLOCK;
/** Shortest trailing run worth a row fill (`rows`) or per-run copies (`tile`); shorter ones gather. */
const ROW_MIN = 4, TILE_MIN = 32;
/** Outputs shorter than this stay on the JS loop (and the unfused SIMD kernels also start at 32). */
const MIN_TOTAL = 32;
const MAX_INPUTS = 16;
// Regions padded by 16 floats: the last vector of a block and the row fill may write past n.
const REGION_BYTES = (BLOCK + 16) * 4;
const SCALARS = (MAX_INPUTS + 1) * REGION_BYTES;
const TABLE = SCALARS + MAX_INPUTS * 4;
const TABLE_FLOATS = Math.ceil(BLOCK / ROW_MIN) + 16;
const MAX_PARAMS = 256;
const PARAMS = TABLE + TABLE_FLOATS * 4; // a multiple of 8
const PAGES = Math.ceil((PARAMS + MAX_PARAMS * 8) / 65536);

const LAYOUT: Layout = {
  region: (k) => k * REGION_BYTES,
  outRegion: MAX_INPUTS * REGION_BYTES,
  scalar: (k) => SCALARS + k * 4,
  params: PARAMS,
  maxParams: MAX_PARAMS,
  maxInputs: MAX_INPUTS,
  pages: PAGES,
};

type Run = (nBytes: number) => void;
type Fill = (dst: number, table: number, first: number, rowLength: number, n: number) => void;

interface Shared {
  readonly mem: WebAssembly.Memory;
  readonly regions: Float32Array[];
  readonly out: Float32Array;
  readonly scalars: Float32Array;
  readonly table: Float32Array;
  readonly params: Float64Array;
  readonly fill: Fill;
}

let shared: Shared | null | undefined;
let enabled = true;

/** Turn the wasm path of fused programs off or on (tests compare it with the JS loop); returns the previous setting. */
export function setFusedWasm(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

function sharedState(): Shared | undefined {
  if (shared !== undefined) return shared ?? undefined;
  shared = null;
  try {
    if (!simdAllowed()) return undefined;
    const mem = new WebAssembly.Memory({ initial: PAGES });
    const bin = fillModule(PAGES);
    if (!WebAssembly.validate(bin)) return undefined;
    const fill = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem } }).exports.fill as unknown as Fill;
    shared = {
      mem,
      regions: Array.from({ length: MAX_INPUTS }, (_, k) => new Float32Array(mem.buffer, LAYOUT.region(k), BLOCK + 16)),
      out: new Float32Array(mem.buffer, LAYOUT.outRegion, BLOCK),
      scalars: new Float32Array(mem.buffer, SCALARS, MAX_INPUTS),
      table: new Float32Array(mem.buffer, TABLE, TABLE_FLOATS),
      params: new Float64Array(mem.buffer, PARAMS, MAX_PARAMS),
      fill,
    };
  } catch {
    shared = null; // no SIMD, or a CSP without wasm-unsafe-eval
  }
  return shared ?? undefined;
}

// Modules by program key and input layout ('r'/'s' per input read, in order): programs that differ only in
// their constants share one. Each program object (decodeProgram returns one per program text) keeps its key
// and parameter values.
const modules = new Map<string, Run | null>();
/** Per program object: its key, parameters, inputs read, and its module per input layout (no key built per call). */
const keys = new WeakMap<Program, { key: string; params: Float64Array; used: number[]; runs: Map<string, Run | null> }>();

function moduleFor(p: Program, modes: readonly (InputMode | undefined)[], s: Shared, key: string, layout: string): Run | null {
  const k = `${key}|${layout}`;
  let run = modules.get(k);
  if (run === undefined) {
    run = null;
    try {
      const bin = fusedModule(p, modes, LAYOUT);
      run = new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { mem: s.mem } }).exports.run as unknown as Run;
    } catch {
      // Unsupported (Pow other than a square, ...) or refused by the platform: the JS loop runs it. The tests check
      // that every supported instruction does compile.
    }
    modules.set(k, run);
  }
  return run;
}

/** Modules compiled so far (tests check that programs differing only in constants share one). */
export function fusedWasmModules(): number {
  return modules.size;
}

type Stage = (region: Float32Array, dst: number, s: Shared, start: number, n: number) => void;

/** Leaf dims right-aligned to the output's rank (1 in front). */
function aligned(leaf: Leaf, outDims: readonly number[]): number[] {
  return [...new Array<number>(outDims.length - leaf.dims.length).fill(1), ...leaf.dims];
}

/** The leaf's flat offset at each index of the output's leading dims [0, j) (broadcast dims read offset 0). */
function prefixOffsets(ld: readonly number[], outDims: readonly number[], j: number): Int32Array {
  const strides = new Array<number>(j).fill(0);
  let s = ld.slice(j).reduce((a, b) => a * b, 1);
  for (let d = j - 1; d >= 0; d--) {
    strides[d] = ld[d] === 1 ? 0 : s;
    s *= ld[d]!;
  }
  const rows = outDims.slice(0, j).reduce((a, b) => a * b, 1);
  const offs = new Int32Array(rows);
  const idx = new Array<number>(j).fill(0);
  let pos = 0;
  for (let q = 0; q < rows; q++) {
    offs[q] = pos;
    for (let d = j - 1; d >= 0; d--) {
      idx[d]!++;
      pos += strides[d]!;
      if (idx[d]! < outDims[d]!) break;
      pos -= idx[d]! * strides[d]!;
      idx[d] = 0;
    }
  }
  return offs;
}

const repeats = new WeakMap<object, Float32Array>();

/** data[0, P) repeated to at least `len` elements (whole periods from 0); kept for initializers. */
function repeated(data: Float32Array | Uint8Array, P: number, len: number): Float32Array {
  const constant = isConstant(data);
  const hit = constant ? repeats.get(data) : undefined;
  if (hit && hit.length >= len) return hit;
  const e = new Float32Array(len);
  e.set(data.subarray(0, P));
  for (let k = P; k < len; k *= 2) e.copyWithin(k, 0, Math.min(k, len - k));
  if (constant) repeats.set(data, e);
  return e;
}

/** How leaf's block is staged (see the top of the file). */
function stageOf(leaf: Leaf, outDims: readonly number[], total: number): Stage {
  const { data } = leaf;
  if (data.length === total) return (r, _dst, _s, start, n) => r.set(data.subarray(start, start + n));
  const ld = aligned(leaf, outDims);
  const rank = outDims.length;
  // The longest trailing run along which the leaf is constant, and along which it is contiguous.
  let jr = rank;
  while (jr > 0 && ld[jr - 1] === 1) jr--;
  let jt = rank;
  while (jt > 0 && ld[jt - 1] === outDims[jt - 1]) jt--;
  const R = outDims.slice(jr).reduce((a, b) => a * b, 1);
  const P = outDims.slice(jt).reduce((a, b) => a * b, 1);
  if (R >= ROW_MIN) {
    const offs = prefixOffsets(ld, outDims, jr);
    const values = Float32Array.from(offs, (o) => data[o]!);
    return (_r, dst, s, start, n) => {
      const q0 = Math.floor(start / R);
      const q1 = Math.floor((start + n - 1) / R);
      s.table.set(values.subarray(q0, q1 + 1));
      s.fill(dst, TABLE, start - q0 * R, R, n);
    };
  }
  if (P > 1 && P <= BLOCK && ld.slice(0, jt).every((d) => d === 1)) {
    const e = repeated(data, P, Math.min(total, BLOCK) + P);
    return (r, _dst, _s, start, n) => {
      const off = start % P;
      r.set(e.subarray(off, off + n));
    };
  }
  if (P >= TILE_MIN) {
    const offs = prefixOffsets(ld, outDims, jt);
    return (r, _dst, _s, start, n) => {
      let q = Math.floor(start / P);
      let off = start - q * P;
      for (let pos = 0; pos < n; q++, off = 0) {
        const len = Math.min(P - off, n - pos);
        const b = offs[q]! + off;
        r.set(data.subarray(b, b + len), pos);
        pos += len;
      }
    };
  }
  const read = leafReader(leaf, outDims, total);
  return (r, _dst, _s, start, n) => {
    for (let k = 0; k < n; k += READER_BLOCK) r.set(read(start + k, Math.min(READER_BLOCK, n - k)), k);
  };
}

/**
 * Evaluate `p` into `out` (see evaluateProgram) with the program's SIMD module; false, with nothing
 * written, where it has none (Log, Pow, constants float32 cannot hold in selecting ops, no wasm).
 */
export function evaluateWasm(p: Program, leaves: readonly (Leaf | undefined)[], out: Float32Array, outDims: readonly number[]): boolean {
  const total = out.length;
  if (!enabled || total < MIN_TOTAL) return false;
  const s = sharedState();
  if (!s) return false;
  let info = keys.get(p);
  if (!info) keys.set(p, (info = { key: programKey(p), params: programParams(p), used: programInputs(p), runs: new Map() }));
  const used = info.used;
  if (used.some((i) => i >= MAX_INPUTS || !leaves[i])) return false;
  const modes: (InputMode | undefined)[] = [];
  let layout = '';
  for (const i of used) {
    modes[i] = leaves[i]!.data.length === 1 && total !== 1 ? 'scalar' : 'region';
    layout += modes[i] === 'scalar' ? 's' : 'r';
  }
  let run = info.runs.get(layout);
  if (run === undefined) info.runs.set(layout, (run = moduleFor(p, modes, s, info.key, layout)));
  if (!run) return false;
  s.params.set(info.params);
  const stages: [number, Stage][] = [];
  for (const i of used) {
    const leaf = leaves[i]!;
    if (modes[i] === 'scalar') s.scalars[i] = leaf.data[0]!;
    else stages.push([i, stageOf(leaf, outDims, total)]);
  }
  for (let start = 0; start < total; start += BLOCK) {
    const n = Math.min(BLOCK, total - start);
    for (const [i, stage] of stages) stage(s.regions[i]!, LAYOUT.region(i), s, start, n);
    run(((n + 3) >> 2) << 4);
    out.set(n === BLOCK ? s.out : s.out.subarray(0, n), start);
  }
  return true;
}
