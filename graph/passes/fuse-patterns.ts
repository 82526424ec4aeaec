// Subgraph patterns exporters write out, fused into the standard ops that express them (the result
// is still standard ONNX, so each fusion needs the opset where its op exists):
//   LayerNormalization (17): ReduceMean -> Sub -> Pow 2 -> ReduceMean -> Add eps -> Sqrt -> Div -> Mul g [-> Add b]
//                           (or the square as Mul(d, d))
//                           (pattern-match.ts; lower-patterns takes it below opset 17 and without g)
//   Gelu (20):              x * 0.5 * (1 + Erf(x / sqrt 2)), in any order of the outer products
//   HardSwish (14):         x * HardSigmoid(x, alpha 1/6, beta 0.5)
//   Softmax:                Exp(x - ReduceMax(x, a)) / ReduceSum(that, a), one axis, keepdims; any axis from
//                           opset 13, before that only the last (older Softmax flattens to 2-D at `axis`)
import { AttrReader } from '../attrs.js';
import type { Model, Node } from '../ir.js';
import { isGraphOutput } from './util.js';
import { matchLayerNorm, near, only, other, type PatternEnv, patternEnv, reduceAxes, replaceNodes, scalarOf } from './pattern-match.js';
import type { Pass } from './types.js';

type Env = PatternEnv;
const replace = (env: Env, remove: Node[], fused: Node) => replaceNodes(env.g, remove, fused);

function layerNorm(div: Node, env: Env): boolean {
  if (div.opType !== 'Div' || env.opset < 17) return false;
  const m = matchLayerNorm(div, env);
  // LayerNormalization needs a scale input (a ones tensor would need the width); the lowering takes the rest.
  if (!m?.scale) return false;
  replace(env, [...m.nodes], {
    name: `${div.name}/LayerNormalization`, opType: 'LayerNormalization', domain: '',
    inputs: m.bias ? [m.x, m.scale, m.bias] : [m.x, m.scale], outputs: [m.output],
    attributes: { axis: { kind: 'int', value: -1 }, epsilon: { kind: 'float', value: m.epsilon } },
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
    const k = scalarOf(env.constant(other(scaled, cand) ?? ''));
    if ((scaled.opType === 'Div' && cand === scaled.inputs[0] && near(k, Math.SQRT2)) || (scaled.opType === 'Mul' && near(k, Math.SQRT1_2))) x = cand;
  }
  const plus = x && (env.cons.get(erf.outputs[0]!) ?? []).length === 1 ? env.cons.get(erf.outputs[0]!)![0] : undefined;
  if (!x || !plus || plus.opType !== 'Add' || !near(scalarOf(env.constant(other(plus, erf.outputs[0]!) ?? '')), 1) || isGraphOutput(env.g, erf.outputs[0]!)) return false;
  // Then x * (1 + erf) * 0.5 in either association: (x * p) * 0.5, x * (p * 0.5), (x * 0.5) * p.
  const p = plus.outputs[0]!;
  const [m1] = env.cons.get(p) ?? [];
  if (!m1 || (env.cons.get(p) ?? []).length !== 1 || m1.opType !== 'Mul' || isGraphOutput(env.g, p)) return false;
  const o1 = other(m1, p)!;
  let last: Node | undefined;
  let extra: Node | undefined;
  if (o1 === x) {
    const [m2] = env.cons.get(m1.outputs[0]!) ?? [];
    if (m2 && m2.opType === 'Mul' && (env.cons.get(m1.outputs[0]!) ?? []).length === 1 && near(scalarOf(env.constant(other(m2, m1.outputs[0]!) ?? '')), 0.5)) last = m2;
  } else if (near(scalarOf(env.constant(o1)), 0.5)) {
    const [m2] = env.cons.get(m1.outputs[0]!) ?? [];
    if (m2 && m2.opType === 'Mul' && (env.cons.get(m1.outputs[0]!) ?? []).length === 1 && other(m2, m1.outputs[0]!) === x) last = m2;
  } else {
    const half = only(env, o1, 'Mul', m1);
    if (half && other(half, x) !== undefined && near(scalarOf(env.constant(other(half, x)!)), 0.5)) {
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
  const rank = env.rank(x) ?? env.rank(div.outputs[0]!);
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
    let env = patternEnv(model.graph, opset);
    for (const node of [...model.graph.nodes]) {
      if (!model.graph.nodes.includes(node) || node.domain !== '') continue;
      for (const [name, rule] of Object.entries(RULES)) {
        if (rule(node, env)) {
          counts[name] = (counts[name] ?? 0) + 1;
          env = patternEnv(model.graph, opset);
          break;
        }
      }
    }
    return counts;
  },
};
