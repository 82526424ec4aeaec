// Matching exported subgraph patterns, shared by fuse-patterns (into standard ops, where the opset has
// them) and lower-patterns (into tgraph's own ops below that opset). A matched node may go away only
// when its output is read once: by the next node of the pattern (not by another node, a subgraph or
// as a graph output).
import { AttrReader } from '../attrs.js';
import type { Graph, Node } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import { constantOf, consumers, producers, useCounts } from './util.js';

export interface PatternEnv {
  readonly g: Graph;
  readonly opset: number;
  readonly prod: Map<string, Node>;
  readonly cons: Map<string, Node[]>;
  /** Reads of each value: by nodes, by subgraphs, as a graph output (util.ts useCounts). */
  readonly uses: Map<string, number>;
  /** A constant visible here (an initializer no feed overrides; the lowering adds enclosing scopes'). */
  readonly constant: (name: string) => HostTensor | undefined;
  /** Rank of a value where known. */
  readonly rank: (name: string) => number | undefined;
}

export function patternEnv(g: Graph, opset: number, scope: Partial<Pick<PatternEnv, 'constant' | 'rank'>> = {}): PatternEnv {
  return { g, opset, prod: producers(g), cons: consumers(g), uses: useCounts(g), constant: scope.constant ?? ((v) => constantOf(g, v)), rank: scope.rank ?? ((v) => declaredRank(g, v)) };
}

/** Rank of a value when its type is declared (graph inputs and outputs, value_info, initializers). */
function declaredRank(g: Graph, v: string): number | undefined {
  const t = g.valueInfo.get(v) ?? g.inputs.find((i) => i.name === v)?.type ?? g.outputs.find((o) => o.name === v)?.type;
  if (t?.kind === 'tensor' && t.shape) return t.shape.length;
  return g.initializers.get(v)?.dims.length;
}

export function scalarOf(t: HostTensor | undefined): number | undefined {
  if (!t || t.data.length !== 1 || t.dtype === 'string' || t.dtype === 'float16' || t.dtype === 'bfloat16') return undefined;
  return Number((t.data as ArrayLike<number | bigint>)[0]);
}
export const isVector = (t: HostTensor | undefined) => !!t && t.dims.length === 1 && t.dims[0]! > 1 && t.dtype === 'float32';
export const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

/** `v` is read exactly `n` times, all by nodes (no subgraph, not a graph output). */
export const readOnlyByNodes = (env: PatternEnv, v: string, n: number) => (env.cons.get(v) ?? []).length === n && env.uses.get(v) === n;

/** The node producing `v` if it has op `op` and `v` is read only by `reader` (so it can be folded away). */
export function only(env: PatternEnv, v: string, op: string, reader: Node): Node | undefined {
  const p = env.prod.get(v);
  return p && p.opType === op && p.domain === '' && readOnlyByNodes(env, v, 1) && env.cons.get(v)![0] === reader ? p : undefined;
}

/** The sole reader of `v` when it has one and is a node. */
export function soleReader(env: PatternEnv, v: string): Node | undefined {
  return readOnlyByNodes(env, v, 1) ? env.cons.get(v)![0] : undefined;
}

/** The other input of a binary node, when one input is `x`. */
export function other(n: Node, x: string): string | undefined {
  return n.inputs[0] === x ? n.inputs[1] : n.inputs[1] === x ? n.inputs[0] : undefined;
}

/** Reduction axes of a keepdims reduction (an attribute before opset `inputSince`, then an input; ReduceMean/Max: 18). */
export function reduceAxes(env: PatternEnv, n: Node, inputSince = 18): number[] | undefined {
  if (new AttrReader(n).int('keepdims', 1) !== 1) return undefined;
  if (env.opset < inputSince) return new AttrReader(n).ints('axes');
  const t = n.inputs[1] ? env.constant(n.inputs[1]) : undefined;
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

/** Put `fused` where the last of `remove` was, and drop `remove`. */
export function replaceNodes(g: Graph, remove: readonly Node[], fused: Node): void {
  const at = Math.max(...remove.map((n) => g.nodes.indexOf(n)));
  g.nodes.splice(at + 1, 0, fused);
  g.nodes = g.nodes.filter((n) => !remove.includes(n));
}

/** An exported layer norm over the last axis, as LayerNormalization's inputs and attributes. */
export interface LayerNormMatch {
  readonly x: string;
  /** The constant [C] vectors applied right after, when there are. */
  readonly scale?: string;
  readonly bias?: string;
  readonly epsilon: number;
  readonly output: string;
  /** The matched nodes, which the fused node replaces. */
  readonly nodes: readonly Node[];
}

/**
 * ReduceMean -> Sub -> Pow 2 (or Mul by itself) -> ReduceMean -> Add eps -> Sqrt -> Div [-> Mul g] [-> Add b],
 * found from its Div. Only the last axis: LayerNormalization normalizes from `axis` to the end.
 */
export function matchLayerNorm(div: Node, env: PatternEnv): LayerNormMatch | undefined {
  if (div.opType !== 'Div' || div.domain !== '') return undefined;
  const [d, sd] = div.inputs as [string, string];
  const sqrt = only(env, sd, 'Sqrt', div);
  const add = sqrt && only(env, sqrt.inputs[0]!, 'Add', sqrt);
  if (!add) return undefined;
  const varName = add.inputs.find((i) => env.prod.get(i)?.opType === 'ReduceMean');
  const eps = scalarOf(env.constant(other(add, varName ?? '') ?? ''));
  const rm2 = varName ? only(env, varName, 'ReduceMean', add) : undefined;
  // The square: Pow(d, 2), or Mul(d, d) (tgraph.fn's layerNorm without weight, some exporters).
  const sq = rm2 && (only(env, rm2.inputs[0]!, 'Pow', rm2) ?? only(env, rm2.inputs[0]!, 'Mul', rm2));
  const isSquare = sq && (sq.opType === 'Pow' ? sq.inputs[0] === d && near(scalarOf(env.constant(sq.inputs[1]!)), 2) : sq.inputs[0] === d && sq.inputs[1] === d);
  if (!sq || !isSquare || eps === undefined) return undefined;
  const sub = env.prod.get(d);
  // d is read by the square (once or twice) and the Div.
  if (!sub || sub.opType !== 'Sub' || sub.domain !== '' || !readOnlyByNodes(env, d, sq.opType === 'Pow' ? 2 : 3)) return undefined;
  const [x, mean] = sub.inputs as [string, string];
  const rm1 = only(env, mean, 'ReduceMean', sub);
  if (!rm1 || rm1.inputs[0] !== x) return undefined;
  const a1 = reduceAxes(env, rm1);
  const a2 = reduceAxes(env, rm2);
  const rank = env.rank(x);
  const last = (a: number[] | undefined) => a?.length === 1 && (a[0] === -1 || (rank !== undefined && a[0] === rank - 1));
  if (!last(a1) || !last(a2)) return undefined;
  // Optional scale and bias, folded when they are constants applied right after.
  let output = div.outputs[0]!;
  const nodes = [rm1, sub, sq, rm2, add, sqrt, div];
  // A [C] vector (C > 1) can only broadcast onto the last axis as LayerNormalization's scale and bias do.
  const next = (op: string) => {
    const n = soleReader(env, output);
    const c = n && n.opType === op && n.domain === '' ? other(n, output) : undefined;
    if (!n || c === undefined || !isVector(env.constant(c))) return undefined;
    output = n.outputs[0]!;
    nodes.push(n);
    return c;
  };
  const scale = next('Mul');
  const bias = next('Add');
  return { x, scale, bias, epsilon: eps, output, nodes };
}
