// Finding fusible elementwise groups for the lowering passes: chains and small DAGs of float32
// elementwise nodes whose intermediates are read only inside the group (not graph outputs, not
// other nodes, not subgraphs), written as one fused-program.ts program.
//
// Broadcasting commutes with elementwise ops, so a program that broadcasts every leaf to the root's
// shape computes what the ops compute one by one, whatever the shapes. Shapes only decide whether
// fusing pays: every node of a group has the root's (known) shape, so no intermediate that the
// unfused graph computes on a small tensor is recomputed for every output element.
import { AttrReader } from '../attrs.js';
import { type Dim, type Graph, type Node, subgraphsOf, type ValueType } from '../ir.js';
import type { FusedOp, Instr, Operand, Program } from '../ops/fused-program.js';
import { toNumbers, type HostTensor } from '../tensor.js';
import { constantOf, useCounts } from './util.js';

const FLT_MAX = 3.4028234663852886e38;

export type Types = ReadonlyMap<string, ValueType>;

export interface Group {
  /** In graph order; the last is the root, whose output leaves the group. */
  readonly nodes: Node[];
  readonly root: Node;
  /** Values the program reads, in program-input order. */
  readonly leaves: string[];
  readonly program: Program;
  readonly shape: readonly Dim[];
}

/** Types of a graph's values (after inferGraph), over those of its enclosing scopes. */
export function typesOf(g: Graph, outer: Types = new Map()): Map<string, ValueType> {
  const types = new Map([...outer, ...g.valueInfo]);
  for (const i of g.inputs) if (i.type) types.set(i.name, i.type);
  for (const [name, t] of g.initializers) types.set(name, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] });
  return types;
}

/** Fully known shape (numbers or symbols) of a tensor value. */
export function shapeOf(types: Types, v: string): Dim[] | undefined {
  const t = types.get(v);
  return t?.kind === 'tensor' && t.shape && t.shape.every((d) => d !== undefined) ? t.shape : undefined;
}
const dtypeOf = (types: Types, v: string) => {
  const t = types.get(v);
  return t?.kind === 'tensor' ? t.dtype : undefined;
};
export const sameShape = (a: readonly Dim[] | undefined, b: readonly Dim[] | undefined): boolean =>
  !!a && !!b && a.length === b.length && a.every((d, i) => d === b[i]);

/** A one-element float constant, as the value the unfused kernel would read. */
function scalarConst(g: Graph, v: string, anyNumeric = false): number | undefined {
  const t: HostTensor | undefined = constantOf(g, v);
  if (!t || t.data.length !== 1) return undefined;
  if (t.dtype !== 'float32' && !(anyNumeric && ['float64', 'int32', 'int64', 'int8', 'int16', 'uint8', 'uint16', 'uint32'].includes(t.dtype))) return undefined;
  return toNumbers(t)[0];
}

/**
 * How a node becomes an instruction: its value inputs (by position) and a builder of the
 * instruction from their operands; undefined when the node is not fusible as it stands.
 */
interface Lowered {
  readonly values: number[];
  readonly make: (o: Operand[]) => Instr;
  /** Input positions whose scalar constants may be of any numeric type (Pow's exponent). */
  readonly anyNumeric?: number[];
  /** Input positions that are bool (Where's condition). */
  readonly bool?: number[];
}

const UNARY: readonly string[] = ['Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Tanh', 'Relu', 'Erf', 'Floor', 'Ceil', 'HardSwish'];
const BINARY: readonly string[] = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'];

function lowerNode(node: Node, g: Graph, opset: number): Lowered | undefined {
  const op = node.opType;
  const a = new AttrReader(node);
  if (node.domain !== '' || node.outputs.length !== 1) return undefined;
  if (UNARY.includes(op)) return node.inputs.length === 1 ? { values: [0], make: ([x]) => ({ op, x: x! }) as Instr } : undefined;
  if (BINARY.includes(op)) {
    // Before opset 7 binary ops broadcast by attributes, not by NumPy rules.
    if (node.inputs.length !== 2 || (opset < 7 && op !== 'Max' && op !== 'Min') || (opset < 8 && (op === 'Max' || op === 'Min'))) return undefined;
    return { values: [0, 1], make: ([x, y]) => ({ op, x: x!, y: y! }) as Instr, anyNumeric: op === 'Pow' ? [1] : undefined };
  }
  switch (op) {
    case 'Clip': {
      let lo = -FLT_MAX;
      let hi = FLT_MAX;
      if (opset < 11) {
        lo = a.float('min', -FLT_MAX);
        hi = a.float('max', FLT_MAX);
      } else {
        lo = -Infinity;
        hi = Infinity;
        const bound = (i: number): number | undefined | null => (node.inputs[i] ? scalarConst(g, node.inputs[i]!) ?? null : undefined);
        const l = bound(1);
        const h = bound(2);
        if (l === null || h === null) return undefined; // a bound computed by the graph
        if (l !== undefined) lo = l;
        if (h !== undefined) hi = h;
      }
      return { values: [0], make: ([x]) => ({ op: 'Clip', x: x!, lo, hi }) };
    }
    case 'HardSigmoid': {
      const alpha = a.float('alpha', 0.2);
      const beta = a.float('beta', 0.5);
      return { values: [0], make: ([x]) => ({ op, x: x!, alpha, beta }) };
    }
    case 'LeakyRelu': {
      const alpha = a.float('alpha', 0.01);
      return { values: [0], make: ([x]) => ({ op, x: x!, alpha }) };
    }
    case 'Gelu': {
      const mode = a.string('approximate', 'none');
      if (mode !== 'none' && mode !== 'tanh') return undefined;
      return { values: [0], make: ([x]) => ({ op, x: x!, tanh: mode === 'tanh' }) };
    }
    case 'Where':
      return node.inputs.length === 3 ? { values: [0, 1, 2], make: ([c, x, y]) => ({ op, cond: c!, x: x!, y: y! }), bool: [0] } : undefined;
    default:
      return undefined;
  }
}

interface Candidate {
  readonly node: Node;
  readonly lowered: Lowered;
  readonly shape: Dim[];
}

export interface GroupOptions {
  readonly ops: ReadonlySet<FusedOp>;
  /** Most distinct leaves (program inputs). */
  readonly maxLeaves: number;
}

/** A node that can be an instruction of a group: allowed op, float32 output of known shape, typed inputs. */
function candidate(node: Node, g: Graph, types: Types, opset: number, opts: GroupOptions): Candidate | undefined {
  if (!opts.ops.has(node.opType as FusedOp)) return undefined;
  const lowered = lowerNode(node, g, opset);
  const out = node.outputs[0]!;
  const shape = shapeOf(types, out);
  if (!lowered || !shape || dtypeOf(types, out) !== 'float32') return undefined;
  for (const i of lowered.values) {
    const v = node.inputs[i];
    if (!v) return undefined;
    const want = lowered.bool?.includes(i) ? 'bool' : 'float32';
    const dt = dtypeOf(types, v);
    if (dt !== want && !(lowered.anyNumeric?.includes(i) && scalarConst(g, v, true) !== undefined)) return undefined;
  }
  return { node, lowered, shape };
}

/** Leaves of a set of nodes: values read that no member produces (scalar constants are inlined). */
function leavesOf(members: readonly Candidate[], g: Graph): string[] {
  const produced = new Set(members.map((m) => m.node.outputs[0]!));
  const leaves: string[] = [];
  for (const m of members) {
    for (const i of m.lowered.values) {
      const v = m.node.inputs[i]!;
      if (produced.has(v) || leaves.includes(v)) continue;
      if (!m.lowered.bool?.includes(i) && scalarConst(g, v, m.lowered.anyNumeric?.includes(i)) !== undefined) continue;
      leaves.push(v);
    }
  }
  return leaves;
}

/** Groups in `g` (a model's graph or a subgraph; `opset` of ai.onnx), rooted at the most downstream fusible nodes. */
export function findGroups(g: Graph, opset: number, types: Types, opts: GroupOptions): Group[] {
  const uses = useCounts(g);
  const order = new Map(g.nodes.map((n, i) => [n, i]));
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const cands = new Map<Node, Candidate>();
  for (const n of g.nodes) {
    const c = candidate(n, g, types, opset, opts);
    if (c) cands.set(n, c);
  }
  const assigned = new Set<Node>();
  const groups: Group[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const root = cands.get(g.nodes[k]!);
    if (!root || assigned.has(root.node)) continue;
    const members: Candidate[] = [root];
    for (let grew = true; grew; ) {
      grew = false;
      for (const v of leavesOf(members, g)) {
        const p = producer.get(v);
        const c = p ? cands.get(p) : undefined;
        if (!c || assigned.has(c.node) || members.includes(c) || !sameShape(c.shape, root.shape)) continue;
        // Every read of v must come from a member (a graph output or subgraph read counts as a use).
        let reads = 0;
        for (const m of members) for (const i of m.lowered.values) if (m.node.inputs[i] === v) reads++;
        if (reads !== uses.get(v)) continue;
        const next = [...members, c];
        if (leavesOf(next, g).length > opts.maxLeaves) continue;
        members.push(c);
        grew = true;
      }
    }
    if (leavesOf(members, g).length > opts.maxLeaves) continue;
    members.forEach((m) => assigned.add(m.node));
    members.sort((a, b) => order.get(a.node)! - order.get(b.node)!);
    groups.push(buildGroup(members, g));
  }
  return groups;
}

function buildGroup(members: Candidate[], g: Graph): Group {
  const leaves = leavesOf(members, g);
  const temp = new Map(members.map((m, k) => [m.node.outputs[0]!, k]));
  const code = members.map((m) => {
    const ops = m.lowered.values.map((i): Operand => {
      const v = m.node.inputs[i]!;
      const t = temp.get(v);
      if (t !== undefined) return { t };
      const li = leaves.indexOf(v);
      if (li >= 0) return { in: li };
      return { c: scalarConst(g, v, true)! };
    });
    return m.lowered.make(ops);
  });
  const root = members[members.length - 1]!;
  return { nodes: members.map((m) => m.node), root: root.node, leaves, program: { code }, shape: root.shape };
}

/** Replace the group's nodes by `fused` (written where the root was: every leaf is defined before it). */
export function replaceGroup(g: Graph, nodes: readonly Node[], fused: Node): void {
  const drop = new Set(nodes);
  const at = g.nodes.indexOf(nodes[nodes.length - 1]!);
  g.nodes.splice(at, 1, fused);
  g.nodes = g.nodes.filter((n) => !drop.has(n));
}

/** Call `f` on `g` and on every subgraph inside it (If branches, Loop/Scan bodies), with scope-aware types. */
export function eachGraph(g: Graph, outer: Types, f: (g: Graph, types: Types) => void): void {
  const types = typesOf(g, outer);
  f(g, types);
  for (const n of [...g.nodes]) for (const sg of subgraphsOf(n)) eachGraph(sg, types, f);
}
