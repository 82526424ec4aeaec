// Snapshots of the WGSL emitted for canonical specs (a change in generated code shows in review),
// and the key discipline: the key is the stable JSON of the spec that the WGSL is generated from.
import { describe, expect, it } from 'vitest';
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import { findGpuKernel } from '../../kernels/webgpu/index.js';
import type { GpuInput, Program } from '../../kernels/webgpu/types.js';
import { specKey, specOf } from '../../kernels/webgpu/wgsl.js';

function programsOf(op: string, inputs: GpuInput[], attributes: Node['attributes'] = {}): Program[] {
  const node: Node = { name: 'n', opType: op, domain: '', inputs: inputs.map((_, i) => `x${i}`), outputs: ['y'], attributes };
  const plan = findGpuKernel(op)!.plan({ node, opset: 18, attrs: new AttrReader(node), inputs, outputsUsed: [true], host: () => undefined, f16: false });
  if (plan.kind !== 'run') throw new Error(`${op}: ${plan.kind}`);
  return [...plan.programs];
}

const canonical: [string, GpuInput[], Node['attributes']?][] = [
  ['Add', [{ dtype: 'float32', dims: [2, 3] }, { dtype: 'float32', dims: [3] }]],
  ['MatMul', [{ dtype: 'float32', dims: [64, 64] }, { dtype: 'float32', dims: [64, 64] }]],
  ['Conv', [{ dtype: 'float32', dims: [1, 8, 16, 16] }, { dtype: 'float32', dims: [8, 8, 3, 3] }]],
  ['Softmax', [{ dtype: 'float32', dims: [4, 10] }]],
  ['Transpose', [{ dtype: 'float32', dims: [2, 3, 4] }], { perm: { kind: 'ints', value: [0, 2, 1] } }],
];

describe('emitted WGSL', () => {
  for (const [op, inputs, attrs] of canonical) {
    it(`${op} matches its snapshot`, () => {
      const srcs = programsOf(op, inputs, attrs).map((p) => p.shader.emit(specOf(p.shader, p.params, p.uniforms)));
      expect(srcs.join('\n// ----\n')).toMatchSnapshot();
    });
  }

  it('shapes of one rank share a key; another rank does not', () => {
    const key = (dims: number[]) => {
      const [p] = programsOf('Relu', [{ dtype: 'float32', dims }]);
      return specKey(specOf(p!.shader, p!.params, p!.uniforms));
    };
    expect(key([2, 3])).toBe(key([7, 9]));
    const add = (a: number[], b: number[]) => {
      const [p] = programsOf('Add', [{ dtype: 'float32', dims: a }, { dtype: 'float32', dims: b }]);
      return specKey(specOf(p!.shader, p!.params, p!.uniforms));
    };
    expect(add([2, 3], [3])).toBe(add([5, 8], [8]));
    expect(add([2, 3], [3])).not.toBe(add([2, 3, 4], [4]));
  });

  it('one key, one source: equal keys always emit equal WGSL', () => {
    const seen = new Map<string, string>();
    for (const [op, inputs, attrs] of canonical) {
      for (const p of [...programsOf(op, inputs, attrs), ...programsOf(op, inputs, attrs)]) {
        const spec = specOf(p.shader, p.params, p.uniforms);
        const src = p.shader.emit(spec);
        const k = specKey(spec);
        expect(seen.get(k) ?? src).toBe(src);
        seen.set(k, src);
      }
    }
  });
});
