// GPU feeds bound without a copy (Tensor.fromGpuBuffer: an earlier run's GPU output, or a user's
// GPUBuffer in the host layout, converted on the GPU only where the storage differs), their typed
// errors (too small, another device), tensors over the device's buffer limit (the node runs on the
// CPU, naming the tensor and the limit), and no live GPU memory once everything is released.
import { afterAll, describe, expect } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import { InputError } from '../../graph/errors.js';
import { limitGpuBuffers, type WebgpuCompiledModel } from '../../src/backends/webgpu/backend.js';
import { acquireGpu } from '../../src/backends/webgpu/device.js';
import { InferenceSession, Tensor } from '../../src/index.js';
import type { TensorDataType, TensorType } from '../../src/tensor.js';
import { buildBytes } from '../helpers/build.js';
import { gpuIt, rand } from './helpers.js';

const STORAGE = 0x80;
const COPY_DST = 0x8;

const compiledOf = (s: InferenceSession) => (s as unknown as { compiled: WebgpuCompiledModel }).compiled;

/** y = Cast(x to float32) * 2 + 1; z = x (an output of the feed's own dtype). */
function castModel(dtype: DType, dims: number[]): Uint8Array {
  return buildBytes({
    inputs: [['x', dtype, dims]],
    outputs: [['y', 'float32'], ['z', dtype]],
    nodes: [
      { op: 'Cast', inputs: ['x'], outputs: ['c'], attrs: { to: { kind: 'int', value: 1 } } },
      { op: 'Mul', inputs: ['c', 'two'], outputs: ['m'] },
      { op: 'Add', inputs: ['m', 'one'], outputs: ['y'] },
      { op: 'Identity', inputs: ['x'], outputs: ['z'] },
    ],
    initializers: {
      two: { kind: 'tensor', dtype: 'float32', dims: [], data: Float32Array.of(2) },
      one: { kind: 'tensor', dtype: 'float32', dims: [], data: Float32Array.of(1) },
    },
  });
}

function hostData(dtype: TensorType, n: number): TensorDataType {
  const v = Array.from({ length: n }, () => rand() * 200 - 100);
  switch (dtype) {
    case 'float32': return Float32Array.from(v);
    case 'int32': return Int32Array.from(v.map(Math.round));
    case 'int64': return BigInt64Array.from(v.map((x) => BigInt(Math.round(x * 1e6))));
    case 'uint8': return Uint8Array.from(v.map((x) => Math.abs(Math.round(x)) % 256));
    case 'int8': return Int8Array.from(v.map(Math.round));
    case 'int16': return Int16Array.from(v.map((x) => Math.round(x * 300)));
    case 'bool': return Uint8Array.from(v.map((x) => (x > 0 ? 1 : 0)));
    // Halves of small integers and quarters: exact.
    case 'float16': return Uint16Array.from(v.map((x) => { const h = new DataView(new ArrayBuffer(4)); h.setFloat32(0, Math.round(x * 4) / 4); const b = h.getUint32(0); return ((b >>> 16) & 0x8000) | ((((b >>> 23) & 0xff) - 112) << 10) | ((b >>> 13) & 0x3ff); }).map((h, i) => (v[i] === 0 ? 0 : h)));
    default: throw new Error(dtype);
  }
}

async function userBuffer(data: ArrayBufferView, usage = STORAGE | COPY_DST, size?: number): Promise<GPUBuffer> {
  const { device } = await acquireGpu();
  const bytes = Math.ceil(data.byteLength / 4) * 4;
  const buf = device.createBuffer({ size: size ?? Math.max(4, bytes), usage });
  const padded = new Uint8Array(Math.max(4, bytes));
  padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (usage & COPY_DST) device.queue.writeBuffer(buf, 0, padded.slice(0, Math.min(padded.byteLength, size ?? padded.byteLength)));
  return buf;
}

const toArray = (d: TensorDataType) => Array.from(d as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));

describe('webgpu feeds already on the GPU', () => {
  afterAll(() => limitGpuBuffers(undefined));

  gpuIt("binds an earlier run's GPU output without a read back or an upload", async () => {
    const bytes = castModel('float32', [3, 4]);
    const gpu = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    const cpu = await InferenceSession.create(bytes, { executionProviders: ['cpu'] });
    const x = new Tensor('float32', hostData('float32', 12), [3, 4]);
    const first = await gpu.run({ x });
    expect(first.y!.location).toBe('gpu-buffer');
    const again = await gpu.run({ x: first.y! });
    const stats = compiledOf(gpu).lastRun!;
    expect(stats.uploads, 'the GPU feed was not uploaded (initializers are already resident)').toBe(0);
    // y stays on the GPU; z is the feed itself (an alias of the caller's buffer), given back as a copy.
    expect(stats.downloaded, 'only the output that is the feed itself was read back').toEqual(['z']);
    const want1 = await cpu.run({ x });
    const want2 = await cpu.run({ x: want1.y! });
    expect(toArray(await again.y!.getData())).toEqual(toArray(want2.y!.data));
    expect(toArray(await again.z!.getData())).toEqual(toArray(want1.y!.data));
    for (const t of [...Object.values(first), ...Object.values(again)]) t.dispose();
    await gpu.release();
    await cpu.release();
  }, 120_000);

  for (const dtype of ['float32', 'int32', 'int64', 'uint8', 'int8', 'int16', 'bool', 'float16'] as const) {
    gpuIt(`binds a user's GPUBuffer of ${dtype} (host layout) and matches the CPU`, async () => {
      const dims = [5, 7];
      const bytes = castModel(dtype, dims);
      const gpu = await InferenceSession.create(bytes, { executionProviders: ['webgpu'] });
      const cpu = await InferenceSession.create(bytes, { executionProviders: ['cpu'] });
      const data = hostData(dtype, 35);
      const buf = await userBuffer(data as ArrayBufferView);
      const out = await gpu.run({ x: Tensor.fromGpuBuffer(buf, { dataType: dtype, dims }) });
      expect(compiledOf(gpu).lastRun!.uploads, 'the feed was bound, not uploaded').toBe(0);
      const want = await cpu.run({ x: new Tensor(dtype, data, dims) });
      expect(toArray(out.y!.data)).toEqual(toArray(want.y!.data));
      expect(toArray(out.z!.data)).toEqual(toArray(want.z!.data));
      expect(out.z!.type).toBe(dtype);
      buf.destroy();
      await gpu.release();
      await cpu.release();
    }, 120_000);
  }

  gpuIt('a GPU buffer too small for the feed is an InputError naming the feed and the sizes', async () => {
    const s = await InferenceSession.create(castModel('float32', [4, 4]), { executionProviders: ['webgpu'] });
    const buf = await userBuffer(new Float32Array(8));
    const err = await s.run({ x: Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [4, 4] }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/feed 'x'.*32 bytes.*needs 64/);
    buf.destroy();
    await s.release();
  }, 120_000);

  gpuIt('a GPU buffer without STORAGE usage is an InputError', async () => {
    const s = await InferenceSession.create(castModel('float32', [2, 2]), { executionProviders: ['webgpu'] });
    const buf = await userBuffer(new Float32Array(4), COPY_DST);
    const err = await s.run({ x: Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [2, 2] }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/STORAGE usage/);
    buf.destroy();
    await s.release();
  }, 120_000);

  gpuIt("a buffer of another device is an InputError, and the session still runs afterwards", async () => {
    await acquireGpu();
    // A second device from a second instance of Dawn (held for the life of the file: see webgpu-in-node.md).
    const { create } = (await import('webgpu')) as unknown as { create: (o: string[]) => GPU };
    const instance = create([]);
    (globalThis as { __tgraphSecondGpu?: GPU }).__tgraphSecondGpu = instance;
    const adapter = await instance.requestAdapter();
    expect(adapter, 'a second adapter').toBeTruthy();
    const other = await adapter!.requestDevice();
    const buf = other.createBuffer({ size: 64, usage: STORAGE | COPY_DST });
    const s = await InferenceSession.create(castModel('float32', [4, 4]), { executionProviders: ['webgpu'] });
    const err = await s.run({ x: Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims: [4, 4] }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/feed 'x'.*another device/);
    const x = new Tensor('float32', new Float32Array(16).fill(1.5), [4, 4]);
    expect(Array.from((await s.run({ x })).y!.data as Float32Array)).toEqual(new Array(16).fill(4));
    buf.destroy();
    other.destroy();
    await s.release();
  }, 120_000);

  gpuIt('a tensor over the buffer limit runs its nodes on the CPU, naming the tensor and the limit', async () => {
    const bytes = castModel('float32', [64, 64]);
    const s = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], graphOptimizationLevel: 'disabled' });
    const x = new Tensor('float32', hostData('float32', 4096), [64, 64]);
    limitGpuBuffers(8192);
    try {
      const out = await s.run({ x });
      const cpu = await InferenceSession.create(bytes, { executionProviders: ['cpu'] });
      expect(toArray(out.y!.data)).toEqual(toArray((await cpu.run({ x })).y!.data));
      await cpu.release();
      const cast = s.placements.find((p) => p.op === 'Cast')!;
      expect(cast.device).toBe('cpu');
      expect(cast.reason).toMatch(/input 0 \('x'\) needs 16384 bytes, over the device's limitGpuBuffers \(8192\)/);
    } finally {
      limitGpuBuffers(undefined);
    }
    await s.run({ x });
    expect(s.placements.find((p) => p.op === 'Cast')!.device, 'back on the GPU without the cap').toBe('gpu');
    await s.release();
  }, 120_000);

  gpuIt('no GPU memory stays live once outputs are disposed and sessions released', async () => {
    const bytes = castModel('int64', [6, 6]);
    const s = await InferenceSession.create(bytes, { executionProviders: ['webgpu'], preferredOutputLocation: 'gpu-buffer' });
    const compiled = compiledOf(s);
    const x = new Tensor('int64', hostData('int64', 36), [6, 6]);
    const a = await s.run({ x });
    const b = await s.run({ x: a.z! });
    expect(compiled.bufferStats()!.live).toBeGreaterThan(0);
    for (const t of [...Object.values(a), ...Object.values(b)]) t.dispose();
    await s.release();
    expect(compiled.bufferStats()!.live, 'live bytes after release').toBe(0);
  }, 120_000);
});
