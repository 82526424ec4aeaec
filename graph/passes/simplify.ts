// Algebraic simplification: no-op Cast/Reshape/Transpose/Pad/Slice, x*1, x+0, x-0, x/1, x^1,
// Transpose of Transpose, Reshape of Reshape, Squeeze/Unsqueeze pairs, lossless Cast chains.
import { AttrReader } from '../attrs.js';
import type { DType } from '../dtype.js';
import type { Graph, Model, Node, ValueType } from '../ir.js';
import { inferGraph } from '../infer.js';
import type { HostTensor } from '../tensor.js';
import type { Pass, PassContext } from './types.js';
import { bypass, constantOf, consumers, isGraphOutput, producers } from './util.js';

type Rule = (node: Node, env: Env) => boolean;
interface Env {
  g: Graph;
  model: Model;
  types: Map<string, ValueType>;
  constants: Map<string, HostTensor>;
  prod: Map<string, Node>;
  cons: Map<string, Node[]>;
}

function staticShape(env: Env, name: string): number[] | undefined {
  const t = env.types.get(name);
  if (!t || t.kind !== 'tensor' || !t.shape || !t.shape.every((d) => typeof d === 'number')) return undefined;
  return t.shape as number[];
}
function dtypeOf(env: Env, name: string): DType | undefined {
  const t = env.types.get(name);
  return t && t.kind === 'tensor' ? t.dtype : undefined;
}
function sameShape(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);
}
function ints(t: HostTensor | undefined): number[] | undefined {
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}
/** The only consumer of `name`, when it has exactly one and is not a graph output. */
function soleConsumer(env: Env, name: string): Node | undefined {
  const c = env.cons.get(name);
  return c && c.length === 1 && !isGraphOutput(env.g, name) ? c[0] : undefined;
}
function allEqual(t: HostTensor | undefined, v: number): boolean {
  if (!t || t.dtype === 'string' || t.dtype === 'float16' || t.dtype === 'bfloat16') return false;
  const d = t.data as ArrayLike<number | bigint>;
  for (let i = 0; i < d.length; i++) if (Number(d[i]) !== v) return false;
  return d.length > 0;
}

const opset = (env: Env) => env.model.opsets[''] ?? 1;

const rules: Record<string, Rule> = {
  'noop-cast': (n, env) => n.opType === 'Cast' && dtypeOf(env, n.inputs[0]!) !== undefined && dtypeOf(env, n.inputs[0]!) === dtypeOf(env, n.outputs[0]!) && bypass(env.g, n, n.inputs[0]!, n.outputs[0]!),
  'noop-transpose': (n, env) => {
    if (n.opType !== 'Transpose') return false;
    const perm = new AttrReader(n).ints('perm');
    const rank = staticShape(env, n.inputs[0]!)?.length ?? perm?.length;
    if (!perm || perm.length !== rank || !perm.every((p, i) => p === i)) return false;
    return bypass(env.g, n, n.inputs[0]!, n.outputs[0]!);
  },
  'noop-reshape': (n, env) => (n.opType === 'Reshape' || n.opType === 'Flatten' || n.opType === 'Squeeze' || n.opType === 'Unsqueeze' || n.opType === 'Expand') && sameShape(staticShape(env, n.inputs[0]!), staticShape(env, n.outputs[0]!)) && bypass(env.g, n, n.inputs[0]!, n.outputs[0]!),
  'noop-pad-slice-tile': (n, env) => (n.opType === 'Pad' || n.opType === 'Slice' || n.opType === 'Tile' || n.opType === 'Resize') && sameShape(staticShape(env, n.inputs[0]!), staticShape(env, n.outputs[0]!)) && isNoopData(n, env) && bypass(env.g, n, n.inputs[0]!, n.outputs[0]!),
  'identity-arithmetic': (n, env) => {
    if (n.domain !== '' || !['Add', 'Sub', 'Mul', 'Div', 'Pow'].includes(n.opType)) return false;
    const [a, b] = n.inputs as [string, string];
    const neutral = n.opType === 'Mul' || n.opType === 'Div' || n.opType === 'Pow' ? 1 : 0;
    const cands: [string, string][] = [[a, b]];
    if (n.opType === 'Add' || n.opType === 'Mul') cands.push([b, a]);
    for (const [x, c] of cands) {
      // Only when broadcasting with the constant changes neither shape nor dtype.
      const k = constantOf(env.g, c);
      if (allEqual(k, neutral) && keepsShape(env, x, k!, n.outputs[0]!) && dtypeOf(env, x) !== undefined && dtypeOf(env, x) === dtypeOf(env, n.outputs[0]!)) {
        return bypass(env.g, n, x, n.outputs[0]!);
      }
    }
    return false;
  },
  'transpose-transpose': (n, env) => {
    if (n.opType !== 'Transpose') return false;
    const inner = env.prod.get(n.inputs[0]!);
    if (!inner || inner.opType !== 'Transpose' || soleConsumer(env, inner.outputs[0]!) !== n) return false;
    const p1 = new AttrReader(inner).ints('perm');
    const p2 = new AttrReader(n).ints('perm');
    if (!p1 || !p2 || p1.length !== p2.length) return false;
    const perm = p2.map((p) => p1[p]!);
    n.inputs = [inner.inputs[0]!];
    n.attributes = { ...n.attributes, perm: { kind: 'ints', value: perm } };
    env.g.nodes.splice(env.g.nodes.indexOf(inner), 1);
    return true;
  },
  'reshape-reshape': (n, env) => {
    if (n.opType !== 'Reshape' || opset(env) < 5) return false;
    const inner = env.prod.get(n.inputs[0]!);
    if (!inner || inner.opType !== 'Reshape' || soleConsumer(env, inner.outputs[0]!) !== n) return false;
    const target = ints(constantOf(env.g, n.inputs[1]!));
    const outShape = staticShape(env, n.outputs[0]!);
    // A 0 in the outer shape copies a dim of the inner result: only safe with the final shape known.
    if (!target || (target.includes(0) && !outShape)) return false;
    if (target.includes(0)) return false;
    n.inputs = [inner.inputs[0]!, n.inputs[1]!];
    env.g.nodes.splice(env.g.nodes.indexOf(inner), 1);
    return true;
  },
  'squeeze-unsqueeze': (n, env) => {
    if (n.opType !== 'Unsqueeze' && n.opType !== 'Squeeze') return false;
    const inner = env.prod.get(n.inputs[0]!);
    const other = n.opType === 'Unsqueeze' ? 'Squeeze' : 'Unsqueeze';
    if (!inner || inner.opType !== other || soleConsumer(env, inner.outputs[0]!) !== n) return false;
    if (!sameShape(staticShape(env, inner.inputs[0]!), staticShape(env, n.outputs[0]!))) return false;
    if (!bypass(env.g, n, inner.inputs[0]!, n.outputs[0]!)) return false;
    env.g.nodes.splice(env.g.nodes.indexOf(inner), 1);
    return true;
  },
  'cast-chain': (n, env) => {
    if (n.opType !== 'Cast') return false;
    const inner = env.prod.get(n.inputs[0]!);
    if (!inner || inner.opType !== 'Cast' || soleConsumer(env, inner.outputs[0]!) !== n) return false;
    const x = dtypeOf(env, inner.inputs[0]!);
    const mid = dtypeOf(env, inner.outputs[0]!);
    if (!x || !mid || !lossless(x, mid)) return false;
    n.inputs = [inner.inputs[0]!];
    env.g.nodes.splice(env.g.nodes.indexOf(inner), 1);
    return true;
  },
};

/** Broadcasting x with constant k leaves x's shape: same static shapes, or k of one element and rank <= x's. */
function keepsShape(env: Env, x: string, k: HostTensor, out: string): boolean {
  if (sameShape(staticShape(env, x), staticShape(env, out))) return true;
  const t = env.types.get(x);
  const rank = t && t.kind === 'tensor' && t.shape ? t.shape.length : undefined;
  return k.data.length === 1 && rank !== undefined && k.dims.length <= rank;
}

/** Pad/Slice/Tile/Resize that keep the shape are no-ops only with neutral parameters. */
function isNoopData(n: Node, env: Env): boolean {
  if (n.opType === 'Tile') return true; // same shape means all repeats are 1
  if (n.opType === 'Pad') return true; // same shape means zero pads (negative pads would shrink)
  if (n.opType === 'Slice') {
    if (opset(env) < 10) return true;
    const steps = n.inputs[4] ? ints(constantOf(env.g, n.inputs[4])) : [];
    return !!steps && steps.every((s) => s === 1);
  }
  return false;
}

const WIDER: Record<string, DType[]> = {
  float16: ['float32', 'float64'], float32: ['float64'], bfloat16: ['float32', 'float64'],
  int8: ['int16', 'int32', 'int64', 'float32', 'float64'], int16: ['int32', 'int64', 'float32', 'float64'],
  int32: ['int64', 'float64'], uint8: ['int16', 'int32', 'int64', 'uint16', 'uint32', 'uint64', 'float32', 'float64'],
  uint16: ['int32', 'int64', 'uint32', 'uint64', 'float32', 'float64'], uint32: ['int64', 'uint64', 'float64'], bool: ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64'],
};
function lossless(from: DType, to: DType): boolean {
  return from === to || (WIDER[from]?.includes(to) ?? false);
}

export const simplify: Pass = {
  name: 'simplify',
  level: 'basic',
  doc: 'no-op Cast/Reshape/Transpose/Pad/Slice, x*1, x+0, Transpose∘Transpose, Reshape chains, Squeeze/Unsqueeze pairs, Cast chains',
  run(model: Model, ctx: PassContext) {
    const g = model.graph;
    const counts: Record<string, number> = {};
    for (let round = 0; round < 4; round++) {
      const { types, constants } = inferGraph(g, { opsets: model.opsets, evaluate: ctx.evaluate }, ctx.outerTypes);
      let changed = false;
      for (const node of [...g.nodes]) {
        if (!g.nodes.includes(node) || node.domain !== '') continue;
        const env: Env = { g, model, types, constants, prod: producers(g), cons: consumers(g) };
        for (const [name, rule] of Object.entries(rules)) {
          if (rule(node, env)) {
            counts[name] = (counts[name] ?? 0) + 1;
            changed = true;
            break;
          }
        }
      }
      if (!changed) break;
    }
    return counts;
  },
};
