// The WebGPU kernel table against the op registry, and snapshots of emitted WGSL.
import { describe, expect, it } from 'vitest';
import { isOpType } from '../../graph/ops/index.js';
import { GPU_KERNEL_KEYS } from '../../kernels/webgpu/index.js';
import { stableJson } from '../../kernels/webgpu/wgsl.js';

describe('webgpu kernel table', () => {
  it('every WebGPU kernel is keyed by a registry op', () => {
    expect(GPU_KERNEL_KEYS.filter((k) => !isOpType(k))).toEqual([]);
  });
  it('stable JSON sorts keys and keeps arrays', () => {
    expect(stableJson({ b: [2, { d: 1, c: 0 }], a: 'x', u: undefined })).toBe('{"a":"x","b":[2,{"c":0,"d":1}]}');
  });
});
