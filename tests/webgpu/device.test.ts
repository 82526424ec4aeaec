import { describe, expect, it } from 'vitest';
import { describeGpu } from '../../src/backends/webgpu/device.js';

describe('webgpu device', () => {
  it('reports the adapter', async () => {
    const r = await describeGpu();
    console.log(JSON.stringify(r).slice(0, 800));
    expect(r).toBeDefined();
  });
});
