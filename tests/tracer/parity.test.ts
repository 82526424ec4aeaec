// Each function of the parity set gives the same results eagerly, traced, as exported ONNX in
// onnxruntime-node, against a float64 reference where one is written, and on WebGPU when there is an adapter.
import { describe, expect, it } from 'vitest';
import * as tg from '../../src/index.js';
import { TgTensor } from '../../src/index.js';
import { type HostTensor, toNumbers } from '../../graph/tensor.js';
import { ort, toOrt } from '../helpers/ort.js';
import { gpuIt } from '../webgpu/helpers.js';
import { CASES, type Case, expectClose } from './cases.js';

function leaves(x: unknown): HostTensor[] {
  if (x instanceof TgTensor) return [x.host()];
  if (Array.isArray(x)) return x.flatMap(leaves);
  if (x && typeof x === 'object') return Object.values(x).flatMap(leaves);
  throw new Error(`not a tensor result: ${String(x)}`);
}
/** Outputs of a plan on WebGPU stay on the GPU until read. */
async function leavesRead(x: unknown): Promise<HostTensor[]> {
  const ts: TgTensor[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof TgTensor) ts.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(x);
  await Promise.all(ts.map((t) => t.data()));
  return ts.map((t) => t.host());
}
function tensorArgs(args: unknown[]): HostTensor[] {
  return args.filter((a): a is TgTensor => a instanceof TgTensor).map((t) => t.host());
}

async function runOrt(c: Case, args: unknown[], traced: tg.TracedFunction<never[], unknown>): Promise<HostTensor[]> {
  const cf = traced.concrete(...(args as never[]));
  const session = await ort.InferenceSession.create(cf.toOnnx());
  const feeds: Record<string, ort.Tensor> = {};
  tensorArgs(args).forEach((t, i) => (feeds[cf.inputNames[i]!] = toOrt(t)));
  const out = await session.run(feeds);
  await session.release();
  return cf.outputNames.map((n) => ({ kind: 'tensor', dtype: out[n]!.type as HostTensor['dtype'], dims: [...out[n]!.dims], data: out[n]!.data as HostTensor['data'] }) as HostTensor);
}

describe('tracer parity: eager = traced = onnxruntime-node', () => {
  it('has at least 20 functions', () => expect(CASES.length).toBeGreaterThanOrEqual(20));
  for (const c of CASES) {
    it(c.name, async () => {
      const args = c.args();
      const tol = c.tol ?? 1e-5;
      const eager = leaves(tg.tidy(() => (c.f as (...a: unknown[]) => unknown)(...args)));
      const traced = tg.fn(c.f as (...a: never[]) => unknown, { name: c.name });
      const t1 = leaves(await traced(...(args as never[])));
      const t2 = leaves(await traced(...(args as never[])));
      expect(traced.traceCount, 'a second call with the same signature does not trace again').toBe(1);
      expectClose(t1, eager, tol, 'traced vs eager');
      expectClose(t2, t1, 0, 'second traced call');
      const fromOrt = await runOrt(c, args, traced as never);
      expect(traced.traceCount).toBe(1);
      expectClose(t1, fromOrt, Math.max(tol, 1e-5), 'traced vs onnxruntime-node');
      if (c.ref) {
        const want = c.ref(...tensorArgs(args).map((h) => Float64Array.from(toNumbers(h))));
        const got = toNumbers(t1[0]!);
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!), `float64 reference [${i}]: ${v} vs ${want[i]}`).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(want[i]!))));
      }
    });
  }
});

describe('tracer parity on WebGPU', () => {
  for (const c of CASES) {
    gpuIt(`${c.name} (webgpu)`, async () => {
      const args = c.args();
      const cpu = leaves(await tg.fn(c.f as (...a: never[]) => unknown)(...(args as never[])));
      const gpuFn = tg.fn(c.f as (...a: never[]) => unknown, { device: 'webgpu' });
      const out = await gpuFn(...(args as never[]));
      const gpu = await leavesRead(out);
      expect((await gpuFn.concrete(...(args as never[])).plan()).backend).toBe('webgpu');
      const first = Array.isArray(out) ? out[0] : out instanceof TgTensor ? out : Object.values(out as object)[0];
      const controlFlow = gpuFn.concrete(...(args as never[])).optimizedModel.graph.nodes.some((n) => n.opType === 'If' || n.opType === 'Loop'); // run on the CPU
      if (first instanceof TgTensor && first.dtype === 'float32' && !controlFlow) expect(first.device, 'a float output of a WebGPU plan stays on the GPU').toBe('webgpu');
      expectClose(gpu, cpu, Math.max(c.tol ?? 0, 1e-4), 'webgpu vs cpu');
    });
  }
});
