// Subgraph patterns exporters write out, fused into the standard ops that express them (the result
// is still standard ONNX, so each fusion needs the opset where its op exists):
//   LayerNormalization (17): ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div [-> Mul g] [-> Add b]
//   Gelu (20):              x * 0.5 * (1 + Erf(x / sqrt 2)), in any order of the outer products
//   HardSwish (14):         x * HardSigmoid(x, alpha 1/6, beta 0.5)
//   Softmax:                Exp(x - ReduceMax(x, a)) / ReduceSum(that, a), one axis, keepdims; any axis from
//                           opset 13, before that only the last (older Softmax flattens to 2-D at `axis`)
import { AttrReader } from '../attrs.js';
import type { Graph, Model, Node } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import type { Pass } from './types.js';
import { constantOf, consumers, isGraphOutput, producers } from './util.js';

interface Env { g: Graph; opset: number; prod: Map<string, Node>; cons: Map<string, Node[]> }

function scalarOf(t: HostTensor | undefined): number | undefined {
  if (!t || t.data.length !== 1 || t.dtype === 'string' || t.dtype === 'float16' || t.dtype === 'bfloat16') return undefined;
  return Number((t.data as ArrayLike<number | bigint>)[0]);
}
const isVector = (t: HostTensor | undefined) => !!t && t.dims.length === 1 && t.dims[0]! > 1 && t.dtype === 'float32';
const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** The node producing `v` if it has op `op` and `v` is read only by `reader` (so it can be folded away). */
function only(env: Env, v: string, op: string, reader: Node): Node | undefined {
  const p = env.prod.get(v);
  const c = env.cons.get(v) ?? [];
  return p && p.opType === op && p.domain === '' && c.length === 1 && c[0] === reader && !isGraphOutput(env.g, v) ? p : undefined;
}

/** The other input of a binary node, when one input is `x`. */
function other(n: Node, x: string): string | undefined {
  return n.inputs[0] === x ? n.inputs[1] : n.inputs[1] === x ? n.inputs[0] : undefined;
}

/** Reduction axes of a keepdims reduction (an attribute before opset `inputSince`, then an input; ReduceMean/Max: 18). */
function reduceAxes(env: Env, n: Node, inputSince = 18): number[] | undefined {
  if (new AttrReader(n).int('keepdims', 1) !== 1) return undefined;
  if (env.opset < inputSince) return new AttrReader(n).ints('axes');
  const t = n.inputs[1] ? constantOf(env.g, n.inputs[1]) : undefined;
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

function replace(env: Env, remove: Node[], fused: Node): void {
  const at = Math.max(...remove.map((n) => env.g.nodes.indexOf(n)));
  env.g.nodes.splice(at + 1, 0, fused);
  env.g.nodes = env.g.nodes.filter((n) => !remove.includes(n));
}

function layerNorm(div: Node, env: Env): boolean {
  if (div.opType !== 'Div' || env.opset < 17) return false;
  const [d, sd] = div.inputs as [string, string];
  const sqrt = only(env, sd, 'Sqrt', div);
  const add = sqrt && only(env, sqrt.inputs[0]!, 'Add', sqrt);
  if (!add) return false;
  const varName = add.inputs.find((i) => env.prod.get(i)?.opType === 'ReduceMean');
  const eps = scalarOf(constantOf(env.g, other(add, varName ?? '') ?? ''));
  const rm2 = varName ? only(env, varName, 'ReduceMean', add) : undefined;
  const pow = rm2 && only(env, rm2.inputs[0]!, 'Pow', rm2);
  if (!pow || eps === undefined || pow.inputs[0] !== d || !near(scalarOf(constantOf(env.g, pow.inputs[1]!)), 2)) return false;
  const sub = env.prod.get(d);
  const dReaders = env.cons.get(d) ?? [];
  if (!sub || sub.opType !== 'Sub' || dReaders.length !== 2 || !dReaders.includes(pow) || isGraphOutput(env.g, d)) return false;
  const [x, mean] = sub.inputs as [string, string];
  const rm1 = only(env, mean, 'ReduceMean', sub);
  if (!rm1 || rm1.inputs[0] !== x) return false;
  const a1 = reduceAxes(env, rm1);
  const a2 = reduceAxes(env, rm2);
  // Only the last axis: LayerNormalization normalizes from `axis` to the end.
  if (!a1 || !a2 || a1.length !== 1 || a2.length !== 1 || a1[0] !== -1 || a2[0] !== -1) return false;
  // Optional scale and bias, folded when they are constants applied right after.
  let out = div.outputs[0]!;
  const removed = [rm1, sub, pow, rm2, add, sqrt, div];
  let scale: string | undefined;
  let bias: string | undefined;
  const mul = (env.cons.get(out) ?? []).length === 1 && !isGraphOutput(env.g, out) ? env.cons.get(out)![0] : undefined;
  // A [C] vector (C > 1) can only broadcast onto the last axis as LayerNormalization's scale does.
  if (mul && mul.opType === 'Mul' && isVector(constantOf(env.g, other(mul, out) ?? ''))) {
    scale = other(mul, out)!;
    out = mul.outputs[0]!;
    removed.push(mul);
    const badd = (env.cons.get(out) ?? []).length === 1 && !isGraphOutput(env.g, out) ? env.cons.get(out)![0] : undefined;
    if (badd && badd.opType === 'Add' && isVector(constantOf(env.g, other(badd, out) ?? ''))) {
      bias = other(badd, out)!;
      out = badd.outputs[0]!;
      removed.push(badd);
    }
  }
  if (!scale) return false; // LayerNormalization needs a scale input; a ones tensor would need the width
  replace(env, removed, {
    name: `${div.name}/LayerNormalization`, opType: 'LayerNormalization', domain: '',
    inputs: bias ? [x, scale, bias] : [x, scale], outputs: [out],
    attributes: { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: eps } },
  });
  return true;
}

function gelu(erf: Node, env: Env): boolean {
  if (erf.opType !== 'Erf' || env.opset < 20) return false;
  // x / sqrt(2) or x * (1 / sqrt(2))
  const scaled = env.prod.get(erf.inputs[0]!);
  if (!scaled || !only(env, erf.inputs[0]!, scaled.opType, erf)) return false;
  let x: string | undefined;
  for (const cand of scaled.inputs) {
    const k = scalarOf(constantOf(env.g, other(scaled, cand) ?? ''));
    if ((scaled.opType === 'Div' && cand === scaled.inputs[0] && near(k, Math.SQRT2)) || (scaled.opType === 'Mul' && near(k, Math.SQRT1_2))) x = cand;
  }
  const plus = x && (env.cons.get(erf.outputs[0]!) ?? []).length === 1 ? env.cons.get(erf.outputs[0]!)![0] : undefined;
  if (!x || !plus || plus.opType !== 'Add' || !near(scalarOf(constantOf(env.g, other(plus, erf.outputs[0]!) ?? '')), 1) || isGraphOutput(env.g, erf.outputs[0]!)) return false;
  // Then x * (1 + erf) * 0.5 in either association: (x * p) * 0.5, x * (p * 0.5), (x * 0.5) * p.
  const p = plus.outputs[0]!;
  const [m1] = env.cons.get(p) ?? [];
  if (!m1 || (env.cons.get(p) ?? []).length !== 1 || m1.opType !== 'Mul' || isGraphOutput(env.g, p)) return false;
  const o1 = other(m1, p)!;
  let last: Node | undefined;
  let extra: Node | undefined;
  if (o1 === x) {
    const [m2] = env.cons.get(m1.outputs[0]!) ?? [];
    if (m2 && m2.opType === 'Mul' && (env.cons.get(m1.outputs[0]!) ?? []).length === 1 && near(scalarOf(constantOf(env.g, other(m2, m1.outputs[0]!) ?? '')), 0.5)) last = m2;
  } else if (near(scalarOf(constantOf(env.g, o1)), 0.5)) {
    const [m2] = env.cons.get(m1.outputs[0]!) ?? [];
    if (m2 && m2.opType === 'Mul' && (env.cons.get(m1.outputs[0]!) ?? []).length === 1 && other(m2, m1.outputs[0]!) === x) last = m2;
  } else {
    const half = only(env, o1, 'Mul', m1);
    if (half && other(half, x) !== undefined && near(scalarOf(constantOf(env.g, other(half, x)!)), 0.5)) {
      last = m1;
      extra = half;
    }
  }
  if (!last || isGraphOutput(env.g, m1.outputs[0]!) && last !== m1) return false;
  const removed = [scaled, erf, plus, m1, last, ...(extra ? [extra] : [])];
  replace(env, [...new Set(removed)], { name: `${erf.name}/Gelu`, opType: 'Gelu', domain: '', inputs: [x], outputs: [last.outputs[0]!], attributes: {} });
  return true;
}

function hardSwish(hs: Node, env: Env): boolean {
  if (hs.opType !== 'HardSigmoid' || env.opset < 14) return false;
  const a = new AttrReader(hs);
  if (!near(a.float('alpha', 0.2), 1 / 6) || !near(a.float('beta', 0.5), 0.5)) return false;
  const x = hs.inputs[0]!;
  const [mul] = env.cons.get(hs.outputs[0]!) ?? [];
  if (!mul || (env.cons.get(hs.outputs[0]!) ?? []).length !== 1 || mul.opType !== 'Mul' || other(mul, hs.outputs[0]!) !== x || isGraphOutput(env.g, hs.outputs[0]!)) return false;
  replace(env, [hs, mul], { name: `${hs.name}/HardSwish`, opType: 'HardSwish', domain: '', inputs: [x], outputs: [mul.outputs[0]!], attributes: {} });
  return true;
}

/** Rank of a value when its type is known (graph inputs and outputs, value_info, initializers). */
function rankOf(g: Graph, v: string): number | undefined {
  const t = g.valueInfo.get(v) ?? g.inputs.find((i) => i.name === v)?.type ?? g.outputs.find((o) => o.name === v)?.type;
  if (t?.kind === 'tensor' && t.shape) return t.shape.length;
  return g.initializers.get(v)?.dims.length;
}

function softmax(div: Node, env: Env): boolean {
  if (div.opType !== 'Div') return false;
  const [e, s] = div.inputs as [string, string];
  const sum = only(env, s, 'ReduceSum', div);
  const exp = env.prod.get(e);
  if (!sum || !exp || exp.opType !== 'Exp' || exp.domain !== '' || sum.inputs[0] !== e || e === s) return false;
  // exp(...) is read exactly by the sum and the division.
  const eReaders = env.cons.get(e) ?? [];
  if (eReaders.length !== 2 || !eReaders.includes(sum) || isGraphOutput(env.g, e)) return false;
  const sub = only(env, exp.inputs[0]!, 'Sub', exp);
  const max = sub && only(env, sub.inputs[1]!, 'ReduceMax', sub);
  if (!sub || !max || max.inputs[0] !== sub.inputs[0]) return false;
  const x = sub.inputs[0]!;
  const aMax = reduceAxes(env, max);
  const aSum = reduceAxes(env, sum, 13);
  if (!aMax || !aSum || aMax.length !== 1 || aSum.length !== 1) return false;
  const rank = rankOf(env.g, x) ?? rankOf(env.g, div.outputs[0]!);
  const norm = (a: number) => (a < 0 && rank !== undefined ? a + rank : a);
  const axis = norm(aMax[0]!);
  if (axis !== norm(aSum[0]!)) return false;
  // Before opset 13 Softmax normalizes over all dims from `axis` on: the same only for the last axis.
  const last = axis === -1 || (rank !== undefined && axis === rank - 1);
  if (env.opset < 13 && !last) return false;
  // Negative axes exist from opset 11.
  if (env.opset < 11 && rank === undefined) return false;
  const at = env.opset >= 13 ? axis : env.opset >= 11 ? -1 : rank! - 1;
  replace(env, [max, sub, exp, sum, div], {
    name: `${div.name}/Softmax`, opType: 'Softmax', domain: '', inputs: [x], outputs: [div.outputs[0]!],
    attributes: { axis: { kind: 'int', value: at } },
  });
  return true;
}

const RULES: Record<string, (n: Node, env: Env) => boolean> = { LayerNormalization: layerNorm, Gelu: gelu, HardSwish: hardSwish, Softmax: softmax };

export const fusePatterns: Pass = {
  name: 'fuse-patterns',
  level: 'extended',
  doc: 'fuses exported subgraphs into LayerNormalization (opset 17), Gelu (20), HardSwish (14) and Softmax',
  run(model: Model) {
    const counts: Record<string, number> = {};
    const opset = model.opsets[''] ?? 1;
    for (const node of [...model.graph.nodes]) {
      if (!model.graph.nodes.includes(node) || node.domain !== '') continue;
      const env: Env = { g: model.graph, opset, prod: producers(model.graph), cons: consumers(model.graph) };
      for (const [name, rule] of Object.entries(RULES)) {
        if (rule(node, env)) {
          counts[name] = (counts[name] ?? 0) + 1;
          break;
        }
      }
    }
    return counts;
  },
};
