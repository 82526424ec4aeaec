// The optimizer's verify mode: run the graph before and after a pass on the same generated inputs
// with the CPU interpreter and describe any output that moved.
import type { Model } from '../graph/ir.js';
import { type HostTensor, type RtValue, getNumber } from '../graph/tensor.js';
import { interpret } from '../kernels/cpu/interpreter.js';
import { generateInput } from './cli/inputs.js';

/** `dims` gives concrete shapes for inputs with symbolic dims (default: 1 for each symbol). */
export function checkOutputs(before: Model, after: Model, dims: ReadonlyMap<string, number[]> = new Map(), strict = false): string | undefined {
  const g = before.graph;
  const feeds = new Map<string, RtValue>();
  let i = 0;
  for (const inp of g.inputs) {
    if (g.initializers.has(inp.name)) continue;
    const t = inp.type;
    if (!t || t.kind !== 'tensor') {
      if (strict) throw new Error(`cannot generate input '${inp.name}'`);
      return undefined; // cannot generate sequences: skip the check
    }
    const tensor = generateInput({ name: inp.name, isTensor: true, type: t.dtype, shape: t.shape }, dims.get(inp.name), 4242 + i++);
    feeds.set(inp.name, tensor.toHost());
  }
  let a: Map<string, RtValue>;
  try {
    a = interpret(before.graph, feeds, { opsets: before.opsets });
  } catch (e) {
    if (strict) throw e;
    return undefined; // the generated inputs do not fit the model (pass --input dims): nothing to compare
  }
  const b = interpret(after.graph, feeds, { opsets: after.opsets });
  for (const [name, va] of a) {
    const vb = b.get(name);
    if (!vb || va.kind !== 'tensor' || vb.kind !== 'tensor') continue;
    const d = diff(va, vb);
    if (d) return `output '${name}': ${d}`;
  }
  return undefined;
}

function diff(a: HostTensor, b: HostTensor): string | undefined {
  if (a.dtype !== b.dtype || a.dims.join() !== b.dims.join()) return `${a.dtype}[${a.dims}] became ${b.dtype}[${b.dims}]`;
  for (let i = 0; i < a.data.length; i++) {
    const x = getNumber(a, i);
    const y = getNumber(b, i);
    if (!(x === y || (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= 1e-4 * Math.abs(x) + 1e-5)) return `element ${i} moved from ${x} to ${y}`;
  }
  return undefined;
}
