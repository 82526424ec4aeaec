/// <reference types="@webgpu/types" />
// Acquires the WebGPU device: navigator.gpu in browsers, Dawn's `webgpu` package in Node
// (with SwiftShader found by itself on Linux machines without a GPU). One device is shared by
// every session; when it is lost, runs in flight reject with DeviceLostError and the next
// acquire makes a new one.
import { DeviceError, DeviceLostError } from '../../../graph/errors.js';

export interface GpuFeatures {
  readonly f16: boolean;
  readonly timestampQuery: boolean;
  readonly subgroups: boolean;
}

export interface GpuAdapterReport {
  readonly available: true;
  /** Where the device came from: 'navigator.gpu', 'webgpu package', or 'webgpu package (SwiftShader)'. */
  readonly source: string;
  readonly adapter: { vendor: string; architecture: string; device: string; description: string };
  readonly isFallbackAdapter: boolean;
  readonly features: string[];
  readonly limits: Record<string, number>;
  /** What was tried and decided on the way (e.g. "no adapter with the default Vulkan drivers; using SwiftShader"). */
  readonly notes: string[];
}

export interface GpuUnavailableReport {
  readonly available: false;
  readonly reason: string;
  readonly notes: string[];
}

export type GpuReport = GpuAdapterReport | GpuUnavailableReport;

export interface GpuContext {
  readonly device: GPUDevice;
  readonly features: GpuFeatures;
  readonly report: GpuAdapterReport;
  /** Set once the device is lost; a lost context is never handed out again. */
  lost: DeviceLostError | undefined;
  /** Called with the loss (runs in flight register here and reject). */
  readonly onLost: Set<(e: DeviceLostError) => void>;
  /** Validation errors nobody captured (kept for reports; the most recent last). */
  readonly uncaptured: string[];
}

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

// The object returned by the `webgpu` package's create() must outlive every adapter and device made
// from it, or the process dies: hold each one here, at module level, for the life of the process.
const dawnInstances: GPU[] = [];
const instanceOfDevice = new WeakMap<GPUDevice, GPU>();

let current: GpuContext | undefined;
let pending: Promise<GpuContext> | undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === 'undefined';
}

interface AdapterFound {
  adapter: GPUAdapter;
  gpu: GPU;
  source: string;
}

async function findAdapter(notes: string[]): Promise<AdapterFound | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!isNode()) {
    if (!nav?.gpu) {
      notes.push('navigator.gpu is not available in this environment');
      return undefined;
    }
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      notes.push('navigator.gpu.requestAdapter() gave no adapter');
      return undefined;
    }
    return { adapter, gpu: nav.gpu, source: 'navigator.gpu' };
  }
  let mod: { create(opts: string[]): GPU };
  try {
    // A variable specifier keeps browser bundlers from pulling Dawn in.
    const pkg = 'webgpu';
    mod = (await import(/* @vite-ignore */ pkg)) as { create(opts: string[]): GPU };
  } catch (e) {
    notes.push(`the 'webgpu' package could not be loaded: ${(e as Error).message}`);
    return undefined;
  }
  const env = process.env;
  const tryCreate = async (label: string): Promise<AdapterFound | undefined> => {
    let gpu: GPU;
    try {
      // TGRAPH_DAWN_FLAGS: Dawn options for create(), e.g. 'enable-dawn-features=disable_robustness'.
      gpu = mod.create((env.TGRAPH_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean));
    } catch (e) {
      notes.push(`${label}: create() failed: ${(e as Error).message}`);
      return undefined;
    }
    dawnInstances.push(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      notes.push(`${label}: no adapter`);
      return undefined;
    }
    return { adapter, gpu, source: label };
  };
  if (!env.XDG_RUNTIME_DIR && process.platform === 'linux') {
    // Dawn's Vulkan loader prints an error per call without it; any writable folder will do.
    const os = 'node:os';
    env.XDG_RUNTIME_DIR = ((await import(/* @vite-ignore */ os)) as typeof import('node:os')).tmpdir();
  }
  const found = await tryCreate(env.VK_ICD_FILENAMES ? `webgpu package (VK_ICD_FILENAMES=${env.VK_ICD_FILENAMES})` : 'webgpu package');
  if (found) return found;
  if (process.platform === 'linux' && !env.VK_ICD_FILENAMES && env.TGRAPH_NO_SWIFTSHADER !== '1') {
    const fsName = 'node:fs';
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
    if (fs.existsSync(SWIFTSHADER_ICD)) {
      env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      notes.push(`no GPU adapter with the default Vulkan drivers; trying SwiftShader (${SWIFTSHADER_ICD}), a CPU implementation of Vulkan: expect it to be slow`);
      const sw = await tryCreate('webgpu package (SwiftShader)');
      if (sw) return sw;
    } else {
      notes.push(`SwiftShader not found at ${SWIFTSHADER_ICD} (Debian's chromium package ships it)`);
    }
  }
  return undefined;
}

function pickLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, number>;
  for (const k in lim) {
    const v = lim[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

async function createContext(): Promise<GpuContext> {
  const notes: string[] = [];
  const found = await findAdapter(notes);
  if (!found) throw new DeviceError(`no WebGPU adapter: ${notes.join('; ')}`);
  const { adapter, gpu, source } = found;
  const wanted: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups' as GPUFeatureName];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const limits = pickLimits(adapter);
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits: limits, label: 'tgraph' });
  } catch (e) {
    notes.push(`requestDevice with the adapter's limits failed (${(e as Error).message}); retrying with defaults`);
    device = await adapter.requestDevice({ requiredFeatures, label: 'tgraph' });
  }
  instanceOfDevice.set(device, gpu);
  const info = (adapter as { info?: GPUAdapterInfo }).info;
  const report: GpuAdapterReport = {
    available: true,
    source,
    adapter: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    features: [...device.features].map(String).sort(),
    limits: pickLimits(device as unknown as GPUAdapter),
    notes,
  };
  const ctx: GpuContext = {
    device,
    features: {
      f16: device.features.has('shader-f16'),
      timestampQuery: device.features.has('timestamp-query'),
      subgroups: device.features.has('subgroups' as GPUFeatureName),
    },
    report,
    lost: undefined,
    onLost: new Set(),
    uncaptured: [],
  };
  device.addEventListener('uncapturederror', (ev) => {
    // Without preventDefault Dawn also prints the error to stdout, which breaks JSON output.
    ev.preventDefault();
    const msg = (ev as GPUUncapturedErrorEvent).error?.message ?? String(ev);
    ctx.uncaptured.push(msg);
    if (ctx.uncaptured.length > 20) ctx.uncaptured.shift();
  });
  void device.lost.then((li) => {
    const err = new DeviceLostError(`the WebGPU device was lost (${li.reason}${li.message ? `: ${li.message}` : ''})`);
    ctx.lost = err;
    if (current === ctx) current = undefined;
    for (const f of [...ctx.onLost]) f(err);
    ctx.onLost.clear();
  });
  return ctx;
}

/** The shared device, made on first use and again after a loss. Throws DeviceError when there is none. */
export async function acquireGpu(): Promise<GpuContext> {
  if (current && !current.lost) return current;
  if (!pending) {
    pending = createContext().then(
      (c) => {
        current = c;
        pending = undefined;
        return c;
      },
      (e) => {
        pending = undefined;
        throw e;
      },
    );
  }
  return pending;
}

/** The adapter, its features and limits, or why there is none: for `tgraph info` and the API. */
export async function describeGpu(): Promise<GpuReport> {
  try {
    const c = await acquireGpu();
    return c.report;
  } catch (e) {
    const msg = (e as Error).message;
    return { available: false, reason: msg, notes: [] };
  }
}

/** Destroy the shared device (tests of device loss; freeing the GPU). The next acquire makes a new one. */
export async function destroyGpu(): Promise<void> {
  const c = current;
  if (!c) return;
  current = undefined;
  c.device.destroy();
  await c.device.lost;
}
