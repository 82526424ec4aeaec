// Device acquisition: the adapter report (what `tgraph info` shows) and the limits requested.
import { describe, expect } from 'vitest';
import { acquireGpu, describeGpu } from '../../src/backends/webgpu/device.js';
import { gpuIt } from './helpers.js';

describe('webgpu device', () => {
  gpuIt('reports the adapter, its features and the limits the device got', async () => {
    const r = await describeGpu();
    if (!r.available) throw new Error(r.reason);
    expect(r.adapter.description || r.adapter.vendor).not.toBe('');
    expect(r.features).toEqual([...r.features].sort());
    expect(r.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(64);
    if (/SwiftShader/.test(r.source)) {
      expect(r.notes.join(' ')).toMatch(/SwiftShader/);
      // The device asks for the adapter's limits, not the defaults (128 MiB).
      expect(r.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 1024 * 1024);
    }
  });

  gpuIt('shares one device until it is lost', async () => {
    const a = await acquireGpu();
    const b = await acquireGpu();
    expect(a).toBe(b);
    expect(a.lost).toBeUndefined();
  });
});
