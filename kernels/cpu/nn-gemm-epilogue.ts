// A FusedConv's epilogue applied inside the SIMD GEMM's memory: on C after the product, before it is
// copied out (nn-gemm.ts), and on the Winograd output likewise (nn-winograd.ts), so the epilogue costs one
// pass over data already in cache instead of staging the output into the fused-program module and back
// (two copies and a pass: ~0.5 ns an element, about a tenth of PP-OCRv4's and openWakeWord's conv time).
// The code is the one-input program inlined (fused-wasm-gen.ts `inlineProgram`, as the direct depthwise
// conv does), so the result equals the fused elementwise module bit for bit. Modules are built per program
// with its constants as immediates (hoisted into locals), instantiated on the GEMM's memory.
//
// convForward arms an epilogue for the GEMM paths of one conv (`armGemmEpilogue`); the paths that apply it
// count the elements they did (`applied`), so convForward applies the program itself to any region a path
// left (few output positions, the JS fallbacks).
import type { InlineConstant } from './fused-wasm-gen.js';
import type { DirectEpilogue } from './nn-depthwise-simd.js';
import { onGemmMemory, type SimdGemm } from './nn-gemm-simd.js';
import { ADD, GE_S, I32, V128, assembleModule, get, i32c, set, vload, vstore } from './wasm-asm.js';

/** The epilogue armed for the GEMM paths of one conv, and how many output elements they applied it to. */
export interface ArmedEpilogue {
  readonly epi: DirectEpilogue;
  applied: number;
}

/** Outputs the GEMM paths applied an epilogue to: tests check the path they mean to cover ran. */
export const gemmEpilogueStats = { elements: 0 };

let armed: ArmedEpilogue | undefined;
let enabled = true;

/** Turn the in-GEMM epilogue off or on (tests compare both); returns the previous setting. */
export function setGemmEpilogue(on: boolean): boolean {
  const prev = enabled;
  enabled = on;
  return prev;
}

/** Arm `epi` for the GEMM calls until `disarm` (undefined where off or there is none). */
export function armGemmEpilogue(epi: DirectEpilogue | undefined): ArmedEpilogue | undefined {
  armed = enabled && epi ? { epi, applied: 0 } : undefined;
  return armed;
}

export function disarmGemmEpilogue(): void {
  armed = undefined;
}

type Apply = (p: number, end: number) => void;

const f32Bytes = (v: number) => [...new Uint8Array(Float32Array.of(v, v, v, v).buffer)];
const f64Bytes = (v: number) => [...new Uint8Array(Float64Array.of(v, v).buffer)];

/** v[p .. end) = epilogue(v) in place, 16 bytes a step. Locals: 0 p, 1 end (i32); 2 x, then temps, constants (v128). */
function assemble(epi: DirectEpilogue): Uint8Array<ArrayBuffer> {
  const X = 2, TEMPS = 3, CONSTS = TEMPS + epi.temps;
  const prologue = epi.constants.flatMap((c: InlineConstant, k) => [0xfd, 0x0c, ...(c.f64 ? f64Bytes(c.value) : f32Bytes(c.value)), ...set(CONSTS + k)]);
  const body = [
    1, 1 + epi.temps + epi.constants.length, V128,
    ...prologue,
    0x02, 0x40, 0x03, 0x40,
    ...get(0), ...get(1), GE_S, 0x0d, 1,
    ...get(0), ...vload(), ...set(X),
    ...get(0), ...epi.code(X, TEMPS, (k) => get(CONSTS + k)), ...vstore(),
    ...get(0), ...i32c(16), ADD, ...set(0),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  return assembleModule([{ name: 'apply', params: [I32, I32], results: [], body }], 1);
}

// The code depends on the program's structure and its constants (immediates): the module key, made once per epilogue.
const keys = new WeakMap<DirectEpilogue, string>();

function applyFn(s: SimdGemm, epi: DirectEpilogue): Apply | undefined {
  let key = keys.get(epi);
  if (key === undefined) keys.set(epi, (key = `epilogue:${epi.key}|${epi.constants.map((c) => `${c.f64 ? 'd' : 'f'}${Object.is(c.value, -0) ? '-0' : c.value}`).join(',')}`));
  return onGemmMemory<{ apply: Apply }>(s, key, () => assemble(epi))?.apply;
}

/**
 * Apply the armed epilogue to the floats at byte address `ptr` of the GEMM's memory, `bytes` long (rounded
 * up to whole vectors: the caller's region has that slack), counting `elements` outputs as done. False
 * (nothing changed) where none is armed or its module cannot be built.
 */
export function applyGemmEpilogue(s: SimdGemm, ptr: number, bytes: number, elements: number): boolean {
  if (!armed) return false;
  const fn = applyFn(s, armed.epi);
  if (!fn) return false;
  fn(ptr, ptr + bytes);
  armed.applied += elements;
  gemmEpilogueStats.elements += elements;
  return true;
}
