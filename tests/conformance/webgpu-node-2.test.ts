// WebGPU conformance on the ONNX node tests, shard 3/4. Without an adapter: fails under CI, else skipped loudly.
import { it } from 'vitest';
import { describeGpu } from '../../src/backends/webgpu/device.js';
import { defineShard } from './shard.js';

const gpu = await describeGpu();
if (gpu.available || process.env.CI) {
  defineShard('webgpu', 'node', 2, 4);
} else {
  console.warn(`\n*** WebGPU conformance SKIPPED: no WebGPU adapter (${gpu.reason}) ***\n`);
  it.skip(`webgpu conformance node [3/4] [skipped: no WebGPU adapter: ${gpu.reason}]`, () => {});
}
