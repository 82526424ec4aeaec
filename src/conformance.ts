// Runs ONNX backend test folders (model.onnx + test_data_set_N/{input,output}_K.pb) and compares
// outputs as the ONNX backend tests do: |got - want| <= atol + rtol * |want|, NaN equal to NaN.
import { TgraphError } from '../graph/errors.js';
import { onnxTypeName } from '../graph/dtype.js';
import type { Model } from '../graph/ir.js';
import { decodeValue } from '../graph/onnx/data-proto.js';
import { allNodes } from '../graph/support.js';
import { type HostTensor, type RtValue, describeValue, getNumber } from '../graph/tensor.js';
import type { BackendName } from './backends/types.js';
import { loadModel } from './model-loader.js';
import { InferenceSession } from './session.js';

export type CaseStatus = 'pass' | 'fail' | 'unsupported' | 'error';

export interface CaseResult {
  name: string;
  suite: string;
  status: CaseStatus;
  /** Why it did not pass (first line). */
  reason?: string;
  ops: string[];
  ms: number;
  /** Backends that place nodes: whether every node ran there ('gpu'), some did ('mixed'), or none. */
  placement?: 'gpu' | 'mixed' | 'cpu';
}

export interface ConformanceOptions {
  backend?: BackendName;
  /** A run taking longer than this is stopped between nodes and counted as an error. */
  timeoutMs?: number;
  rtol?: number;
  atol?: number;
}

export async function listCases(root: string): Promise<string[]> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  if (fs.existsSync(path.join(root, 'model.onnx'))) return [root];
  return fs.readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, d.name, 'model.onnx')))
    .map((d) => path.join(root, d.name))
    .sort();
}

function opsOf(model: Model): string[] {
  const s = new Set<string>();
  for (const { node } of allNodes(model.graph)) s.add(node.domain ? `${node.domain}:${node.opType}` : node.opType);
  return [...s].sort();
}

export async function runCase(dir: string, opts: ConformanceOptions = {}): Promise<CaseResult> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const name = path.basename(dir);
  const suite = path.basename(path.dirname(dir));
  const t0 = performance.now();
  let ops: string[] = [];
  let placement: CaseResult['placement'];
  const done = (status: CaseStatus, reason?: string): CaseResult => ({ name, suite, status, reason: reason?.split('\n')[0]?.slice(0, 300), ops, ms: Math.round(performance.now() - t0), ...(placement ? { placement } : {}) });
  let model: Model;
  try {
    model = await loadModel(path.join(dir, 'model.onnx'));
    ops = opsOf(model);
  } catch (e) {
    return done('unsupported', `load: ${(e as Error).message}`);
  }
  let session: InferenceSession;
  try {
    session = await InferenceSession.fromModel(model, { executionProviders: [opts.backend ?? 'cpu'] });
  } catch (e) {
    return done((e as TgraphError).code === 'UNSUPPORTED_OP' ? 'unsupported' : 'error', `create: ${(e as Error).message}`);
  }
  try {
    const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
    const g = model.graph;
    const feedInputs = g.inputs.filter((i) => !g.initializers.has(i.name));
    for (const set of sets) {
      const sdir = path.join(dir, set);
      const files = fs.readdirSync(sdir);
      const feeds = new Map<string, RtValue>();
      for (let k = 0; files.includes(`input_${k}.pb`); k++) {
        const info = feedInputs[k];
        if (!info) return done('error', `test data has more inputs than the model's ${feedInputs.length}`);
        const kind = info.type?.kind ?? 'tensor';
        feeds.set(info.name, decodeValue(fs.readFileSync(path.join(sdir, `input_${k}.pb`)), kind));
      }
      const outs = await session.runValues(feeds, g.outputs.map((o) => o.name), { timeoutMs: opts.timeoutMs ?? 60_000 });
      for (let k = 0; files.includes(`output_${k}.pb`); k++) {
        const info = g.outputs[k]!;
        const want = decodeValue(fs.readFileSync(path.join(sdir, `output_${k}.pb`)), info.type?.kind ?? 'tensor');
        const got = outs.get(info.name);
        const diff = compareValues(got, want, opts.rtol ?? 1e-3, opts.atol ?? 1e-7);
        if (diff) return done('fail', `${set} output '${info.name}': ${diff}`);
      }
    }
    const pl = session.placements;
    if (pl.length) placement = pl.every((p) => p.device === 'gpu') ? 'gpu' : pl.some((p) => p.device === 'gpu') ? 'mixed' : 'cpu';
    return done('pass');
  } catch (e) {
    const code = (e as TgraphError).code;
    return done(code === 'UNSUPPORTED_OP' ? 'unsupported' : 'error', `run: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
}

/** A description of the first difference, or undefined when equal within tolerance. */
export function compareValues(got: RtValue | undefined, want: RtValue, rtol: number, atol: number): string | undefined {
  if (!got) return 'missing';
  if (want.kind === 'optional') {
    const g = got.kind === 'optional' ? got.value : got;
    if (want.value === null) return g === null ? undefined : `expected an empty optional, got ${describeValue(g ?? undefined)}`;
    if (g === null) return 'expected a value, got an empty optional';
    return compareValues(g, want.value, rtol, atol);
  }
  if (got.kind === 'optional') return got.value === null ? 'got an empty optional' : compareValues(got.value, want, rtol, atol);
  if (want.kind === 'sequence') {
    if (got.kind !== 'sequence') return `expected a sequence, got ${describeValue(got)}`;
    if (got.items.length !== want.items.length) return `sequence length ${got.items.length}, expected ${want.items.length}`;
    for (let i = 0; i < want.items.length; i++) {
      const d = compareTensors(got.items[i]!, want.items[i]!, rtol, atol);
      if (d) return `item ${i}: ${d}`;
    }
    return undefined;
  }
  if (got.kind !== 'tensor') return `expected a tensor, got ${describeValue(got)}`;
  return compareTensors(got, want, rtol, atol);
}

export function compareTensors(got: HostTensor, want: HostTensor, rtol: number, atol: number): string | undefined {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.dims.length !== want.dims.length || got.dims.some((d, i) => d !== want.dims[i])) return `shape [${got.dims.join(',')}], expected [${want.dims.join(',')}]`;
  const n = want.data.length;
  const floaty = want.dtype === 'float32' || want.dtype === 'float64' || want.dtype === 'float16' || want.dtype === 'bfloat16';
  for (let i = 0; i < n; i++) {
    if (floaty) {
      const a = getNumber(got, i);
      const b = getNumber(want, i);
      if (Number.isNaN(b) ? !Number.isNaN(a) : !(a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b))) return `element ${i}: ${a}, expected ${b}`;
    } else {
      const a = (got.data as ArrayLike<unknown>)[i];
      const b = (want.data as ArrayLike<unknown>)[i];
      if (a !== b) return `element ${i}: ${String(a)}, expected ${String(b)}`;
    }
  }
  return undefined;
}

export interface Summary {
  total: number;
  pass: number;
  byOp: Record<string, { pass: number; total: number }>;
  byStatus: Record<CaseStatus, number>;
  /** Passing cases by where their nodes ran (backends that place nodes). */
  passByPlacement: Record<'gpu' | 'mixed' | 'cpu', number>;
}

export function summarize(results: readonly CaseResult[]): Summary {
  const byOp: Summary['byOp'] = {};
  const byStatus: Record<CaseStatus, number> = { pass: 0, fail: 0, unsupported: 0, error: 0 };
  const passByPlacement = { gpu: 0, mixed: 0, cpu: 0 };
  for (const r of results) {
    byStatus[r.status]++;
    if (r.status === 'pass' && r.placement) passByPlacement[r.placement]++;
    for (const op of r.ops) {
      const e = (byOp[op] ??= { pass: 0, total: 0 });
      e.total++;
      if (r.status === 'pass') e.pass++;
    }
  }
  return { total: results.length, pass: byStatus.pass, byOp, byStatus, passByPlacement };
}

export { onnxTypeName };
