// One task on a pool worker: a node, or one part of a split node, through the interpreter's
// `runNode`. A part's first output goes straight into its block of the node's shared output; what the
// kernel allocated is reported, so the main thread's run may recycle it. Shared with the tests, which
// run split parts on the calling thread through the same code.
import type { Node } from '../../graph/ir.js';
import { RunBuffers, withOutputTarget } from '../../graph/tensor-pool.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { runNode } from '../../kernels/cpu/interpreter.js';
import type { OutputTarget } from './split.js';

export interface TaskOutcome {
  readonly outputs: RtValue[];
  /** Per output: allocated by this task. */
  readonly fresh: boolean[];
  /** The first output is in `target`. */
  readonly wrote: boolean;
}

type NumArray = Exclude<HostTensor['data'], string[]>;

export function runTask(node: Node, inputs: (RtValue | undefined)[], opsets: Readonly<Record<string, number>>, target?: OutputTarget): TaskOutcome {
  const owned = new RunBuffers();
  const exec = () => owned.node(() => runNode(node, inputs, { values: new Map() }, { opsets }));
  const outs = target ? withOutputTarget(target, exec).result : exec();
  let wrote = false;
  const o = outs[0];
  if (target && o?.kind === 'tensor' && o.dtype === target.dtype && !Array.isArray(o.data)) {
    const d = o.data as NumArray;
    if (d.buffer === target.buffer && d.byteOffset === target.byteOffset && d.byteLength === target.bytes) wrote = true;
    else if (d.byteLength === target.bytes) {
      // The kernel's result is not the block it was offered (a scratch array of the same size took it): copy it there.
      const C = d.constructor as new (b: ArrayBufferLike, at: number, n: number) => NumArray;
      const into = new C(target.buffer, target.byteOffset, d.length);
      (into as unknown as { set(a: NumArray): void }).set(d);
      outs[0] = { ...o, data: into } as HostTensor;
      wrote = true;
    }
  }
  const fresh = outs.map((v, k) => !(k === 0 && wrote) && v?.kind === 'tensor' && !Array.isArray(v.data) && owned.refs.has((v.data as NumArray).buffer as ArrayBuffer));
  return { outputs: outs, fresh, wrote };
}
