// The device of eager ops and new tg.fn plans. GPU acquisition is asynchronous and ops are not, so
// the device changes only when an acquisition has finished: `await tg.setDevice('webgpu')` or
// `await tg.ready()`. Until then (and in every environment without WebGPU) ops run on the CPU.
// The default ('auto', or TGRAPH_DEVICE=webgpu|cpu|auto) takes WebGPU only on a hardware adapter: a
// software adapter (SwiftShader, llvmpipe) runs our kernels far slower than the CPU kernels, so it
// is used only when asked for by name (setDevice or TGRAPH_DEVICE=webgpu).
import type { GpuAdapterReport } from '../backends/webgpu/device.js';
import type { EagerGpu } from '../backends/webgpu/eager.js';

export type Device = 'cpu' | 'webgpu';

export interface DeviceInfo {
  /** Where eager ops and new tg.fn plans run now. */
  readonly device: Device;
  /** What was asked for ('auto': WebGPU on a hardware adapter, else the CPU). */
  readonly requested: Device | 'auto';
  /** Whether the choice has settled (ready() or setDevice() resolved). */
  readonly settled: boolean;
  /** Why this device: the adapter, or why not the GPU. */
  readonly reason: string;
  readonly adapter?: GpuAdapterReport['adapter'] & { readonly source: string; readonly software: boolean };
}

function envDevice(): Device | 'auto' {
  const v = typeof process !== 'undefined' ? process.env?.TGRAPH_DEVICE : undefined;
  return v === 'webgpu' || v === 'cpu' ? v : 'auto';
}

let active: Device = 'cpu';
let requested: Device | 'auto' = envDevice();
let settling: Promise<Device> | undefined;
let settled = false;
let reason = 'not chosen yet: await tg.ready() picks the default device (eager ops run on the CPU until then)';
let adapter: DeviceInfo['adapter'];
let runner: EagerGpu | undefined;
let generation = 0;

/** A lost device: back to the CPU until setDevice/ready acquires a new one (tensors on the lost one throw DeviceLostError when read). */
function checkLost(): void {
  if (!runner?.lost) return;
  runner = undefined;
  if (active === 'webgpu') {
    active = 'cpu';
    settling = undefined;
    reason = "the WebGPU device was lost; running on the CPU (await tg.setDevice('webgpu') acquires a new one)";
  }
}

/** Where eager ops and new tg.fn plans run now. */
export function getDevice(): Device {
  checkLost();
  return active;
}

export function deviceInfo(): DeviceInfo {
  checkLost();
  return { device: active, requested, settled, reason, ...(adapter ? { adapter } : {}) };
}

/** The eager GPU runner once a device has been acquired (GPU-resident tensors keep needing it after a switch to the CPU). */
export function eagerGpu(): EagerGpu | undefined {
  checkLost();
  return runner;
}

/** The runner of the shared device, acquired now if needed (tg.fn plans on WebGPU adopt their outputs through it). */
export async function gpuRunner(): Promise<EagerGpu> {
  const r = await (await import('../backends/webgpu/eager.js')).eagerGpuRunner();
  runner = r;
  return r;
}

function isSoftware(r: GpuAdapterReport): boolean {
  const a = r.adapter;
  return r.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|software/i.test(`${r.source} ${a.vendor} ${a.architecture} ${a.device} ${a.description}`);
}

async function acquire(explicit: boolean, gen: number): Promise<Device> {
  let r: EagerGpu;
  try {
    r = await gpuRunner();
  } catch (e) {
    if (gen === generation) {
      active = 'cpu';
      settled = true;
      reason = `no WebGPU device (${(e as Error).message}); running on the CPU`;
    }
    if (explicit) throw e;
    return 'cpu';
  }
  const rep = r.gpu.report;
  const software = isSoftware(rep);
  if (gen !== generation) return active;
  adapter = { ...rep.adapter, source: rep.source, software };
  settled = true;
  if (software && !explicit) {
    active = 'cpu';
    reason = `the only WebGPU adapter is a software one (${rep.source}), slower than the CPU kernels; tg.setDevice('webgpu') or TGRAPH_DEVICE=webgpu uses it anyway`;
    return 'cpu';
  }
  active = 'webgpu';
  reason = `WebGPU adapter: ${rep.source}${rep.adapter.description ? ` (${rep.adapter.description})` : ''}${software ? ', a software adapter, asked for by name' : ''}`;
  return 'webgpu';
}

/**
 * Use `device` for eager ops and new tg.fn plans, once it is ready (resolves to it). 'webgpu'
 * rejects with a DeviceError when there is no adapter, and the CPU stays in use.
 */
export function setDevice(device: Device): Promise<Device> {
  const gen = ++generation;
  requested = device;
  if (device === 'cpu') {
    active = 'cpu';
    settled = true;
    reason = 'set by tg.setDevice';
    settling = Promise.resolve<Device>('cpu');
  } else {
    settled = false;
    settling = acquire(true, gen);
  }
  return settling;
}

/** Settle the default device (see the top of this file); resolves to the device in use. Never rejects. */
export function ready(): Promise<Device> {
  if (!settling) {
    if (requested === 'cpu') return setDevice('cpu');
    settling = acquire(requested === 'webgpu', ++generation).catch(() => 'cpu' as const);
  }
  return settling.catch(() => active);
}
