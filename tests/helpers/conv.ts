// The CPU Conv kernel called directly on float32 arrays (kernel tests compare its paths).
import { AttrReader } from '../../graph/attrs.js';
import type { Attr, Node } from '../../graph/ir.js';
import type { HostTensor } from '../../graph/tensor.js';
import { CPU_KERNELS } from '../../kernels/cpu/index.js';
import type { CpuContext } from '../../kernels/cpu/types.js';

export function runConv(x: Float32Array, xd: number[], w: Float32Array, wd: number[], attributes: Record<string, Attr>, b?: Float32Array): Float32Array {
  const node: Node = { name: 'n', opType: 'Conv', domain: '', inputs: b ? ['x', 'w', 'b'] : ['x', 'w'], outputs: ['y'], attributes };
  const ctx = { node, opset: 17, attrs: new AttrReader(node), runGraph: () => [] } as unknown as CpuContext;
  const t = (dims: number[], data: Float32Array): HostTensor => ({ kind: 'tensor', dtype: 'float32', dims, data });
  const inputs = [t(xd, x), t(wd, w)];
  if (b) inputs.push(t([b.length], b));
  return (CPU_KERNELS.Conv(inputs, ctx)[0] as HostTensor).data as Float32Array;
}
