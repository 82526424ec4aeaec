// A synchronous interpreter of a graph over the CPU kernels. It is the executable spec:
// control-flow kernels, constant folding and the conformance oracle all run graphs through it.
import { AttrReader } from '../../graph/attrs.js';
import { AbortError, GraphError, KernelError, ResourceLimitError, TgraphError, UnsupportedOpError } from '../../graph/errors.js';
import type { Graph, Node } from '../../graph/ir.js';
import { opKey } from '../../graph/ops/index.js';
import { describeValue, type RtValue } from '../../graph/tensor.js';
import { droppedInRun, storedInRun, unowned } from '../../graph/tensor-pool.js';
import { isConstant, markConstant } from './constants.js';
import { findCpuKernel } from './index.js';
import type { CpuContext, CpuKernel } from './types.js';
import { sameItems } from './util.js';

/** A scope's values by name (a Map, or a subgraph run's slot table). */
export interface ValueTable {
  get(name: string): RtValue | undefined;
}

export interface Scope {
  readonly values: ValueTable;
  /** Initializers, looked up after `values` (kept apart so a run does not copy them). */
  readonly consts?: ReadonlyMap<string, RtValue>;
  readonly parent?: Scope;
}

export interface InterpretOptions {
  /** Opset version by domain ('' = ai.onnx). */
  readonly opsets: Readonly<Record<string, number>>;
  /** Checked between nodes; a set flag aborts the run. */
  readonly signal?: { readonly aborted: boolean };
  /**
   * Profiling: called after each node's kernel with its time in ms, nodes of If/Loop/Scan bodies
   * included (a control-flow node is reported after its bodies' nodes; its time includes theirs).
   */
  readonly onNode?: (node: Node, ms: number, run: KernelRun) => void;
  /** The control-flow nodes whose bodies this graph runs in, outermost first (set for bodies when `onNode` is). */
  readonly within?: readonly Node[];
}

/** What `onNode` learns of one kernel call. */
export interface KernelRun {
  /** performance.now() when the kernel started. */
  readonly start: number;
  readonly inputs: readonly (RtValue | undefined)[];
  /** Enclosing control-flow nodes, outermost first; empty for the graph the run started with. */
  readonly within: readonly Node[];
}

const TOP: readonly Node[] = [];

/** The options for the bodies of `node`'s subgraphs: profiled runs note the enclosing node. */
function bodyOptions(opts: InterpretOptions, node: Node): InterpretOptions {
  return opts.onNode ? { ...opts, within: [...(opts.within ?? TOP), node] } : opts;
}

export function lookup(scope: Scope, name: string): RtValue | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const v = s.values.get(name) ?? s.consts?.get(name);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Index of the last node reading each value (values read by subgraphs count for the node holding them). */
function lastUses(graph: Graph): Map<string, number> {
  const last = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    for (const x of n.inputs) if (x) last.set(x, i);
    for (const a of Object.values(n.attributes)) {
      const gs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const g of gs) for (const r of readsOf(g)) last.set(r, i);
    }
  });
  return last;
}

function readsOf(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    for (const x of n.inputs) if (x) out.add(x);
    for (const a of Object.values(n.attributes)) {
      const gs = a.kind === 'graph' ? [a.value] : a.kind === 'graphs' ? a.value : [];
      for (const sg of gs) for (const r of readsOf(sg)) out.add(r);
    }
  }
  for (const o of g.outputs) out.add(o.name);
  return out;
}

// Nodes of If/Loop bodies whose inputs are all constant arrays (a model's initializers, registered by
// the CPU backend, or earlier such results): the optimizer folds none inside subgraphs, so without
// this every run re-did them (silero VAD's LSTM weights go through Unsqueeze each run). Results are
// kept per step (Step.fold) with the input values they came from, allocated outside any run's buffer pool, and
// registered as constant themselves so chains fold and kernels keep derived forms (packed weights).
const NOT_FOLDED = new Set(['RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Multinomial', 'Bernoulli', 'Dropout']);

/** Whether a node's op may be folded at all (deterministic, ai.onnx, no subgraph); its plan step keeps the answer. */
function mayFold(node: Node): boolean {
  return !NOT_FOLDED.has(node.opType) && (node.domain === '' || node.domain === 'ai.onnx') && (node.inputs.length > 0 || node.opType === 'Constant') &&
    !Object.values(node.attributes).some((a) => a.kind === 'graph' || a.kind === 'graphs');
}

/** Whether every given input is a constant array (the step's `foldable` already says the op may fold). */
function allConstant(inputs: readonly (RtValue | undefined)[]): boolean {
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i];
    if (v !== undefined && (v.kind !== 'tensor' || !isConstant(v.data))) return false;
  }
  return true;
}

/** The step's folded result for these inputs: kept from an earlier run when they are the same values. */
function runFolded(st: Step, inputs: (RtValue | undefined)[], scope: Scope, opts: InterpretOptions): RtValue[] | undefined {
  const hit = st.fold;
  if (hit && sameItems(hit.inputs, inputs)) return hit.outs;
  if (!allConstant(inputs)) return undefined;
  const outs = unowned(() => runNode(st.node, inputs, scope, opts));
  if (outs.every((v) => v.kind === 'tensor' && !Array.isArray(v.data))) {
    for (const v of outs) markConstant((v as { data: object }).data);
    st.fold = { inputs, outs };
  }
  return outs;
}


/** Run `graph` with `feeds` for its inputs; returns its outputs by name. */
export function interpret(graph: Graph, feeds: ReadonlyMap<string, RtValue>, opts: InterpretOptions, parent?: Scope): Map<string, RtValue> {
  const plan = graphPlan(graph);
  const vals = new Array<RtValue | undefined>(plan.slotCount);
  let extra: Map<string, RtValue> | undefined;
  for (const [name, v] of feeds) {
    const s = plan.slots.get(name);
    if (s !== undefined) vals[s] = v;
    else (extra ??= new Map()).set(name, v);
  }
  const scope = runPlan(graph, plan, vals, extra, opts, parent);
  const result = new Map<string, RtValue>();
  for (const o of graph.outputs) result.set(o.name, output(graph, scope, o.name));
  return result;
}

/** Run a subgraph with `args` for its inputs in order (undefined: not given); returns its outputs in order. */
export function interpretArgs(graph: Graph, args: readonly (RtValue | undefined)[], opts: InterpretOptions, parent?: Scope): RtValue[] {
  const plan = graphPlan(graph);
  const vals = new Array<RtValue | undefined>(plan.slotCount);
  const ins = plan.inputSlots;
  for (let i = 0; i < ins.length; i++) {
    const v = args[i];
    if (v !== undefined) vals[ins[i]!] = v;
  }
  const scope = runPlan(graph, plan, vals, undefined, opts, parent);
  const outs = graph.outputs;
  const result = new Array<RtValue>(outs.length);
  for (let i = 0; i < outs.length; i++) result[i] = output(graph, scope, outs[i]!.name);
  return result;
}

function output(graph: Graph, scope: Scope, name: string): RtValue {
  const v = lookup(scope, name);
  if (v === undefined) throw new GraphError(`graph '${graph.name}' output '${name}' was not produced`);
  return v;
}

/**
 * A run's values in slots numbered by the plan (graph inputs and node outputs), so steps read and write
 * them by index; nested scopes and kernels look names up through `get`. `extra`: feeds the graph does
 * not declare. (A Map per run grew and rehashed through ~100 entries in silero VAD's If bodies.)
 */
class SlotTable implements ValueTable {
  constructor(private readonly slots: ReadonlyMap<string, number>, readonly vals: (RtValue | undefined)[], private readonly extra: Map<string, RtValue> | undefined) {}
  get(name: string): RtValue | undefined {
    const s = this.slots.get(name);
    return (s !== undefined ? this.vals[s] : undefined) ?? this.extra?.get(name);
  }
}

function runPlan(graph: Graph, plan: GraphPlan, vals: (RtValue | undefined)[], extra: Map<string, RtValue> | undefined, opts: InterpretOptions, parent: Scope | undefined): Scope {
  const consts = graph.initializers;
  const scope: Scope = { values: new SlotTable(plan.slots, vals, extra), consts, parent };
  const steps = plan.steps;
  for (let i = 0; i < steps.length; i++) {
    if (opts.signal?.aborted) throw new AbortError();
    const st = steps[i]!;
    const names = st.inputs;
    const inSlots = st.inSlots;
    const inputs = new Array<RtValue | undefined>(names.length);
    for (let k = 0; k < names.length; k++) {
      const s = inSlots[k]!;
      if (s === -2) continue;
      // Not this graph's: an initializer or an outer value. A slot left empty (an omitted output)
      // falls back to the scope chain.
      const v = s >= 0 ? vals[s] ?? lookup(scope, names[k]!) : (extra?.get(names[k]!) ?? consts.get(names[k]!) ?? (parent && lookup(parent, names[k]!)));
      if (v === undefined) throw new GraphError(`node '${st.node.name}' (${st.node.opType}) reads '${names[k]}', which no node, input or initializer defines`);
      inputs[k] = v;
    }
    const outs = (parent && st.foldable ? runFolded(st, inputs, scope, opts) : undefined) ?? runStep(st, inputs, scope, opts);
    const outSlots = st.outSlots;
    for (let k = 0; k < outSlots.length; k++) {
      const v = outs[k];
      const s = outSlots[k]!;
      if (s >= 0 && v !== undefined) {
        vals[s] = v;
        storedInRun(v);
      }
    }
    // Dead values stay in their slots (nothing reads them again; the table dies with the run).
    const dead = st.recycleSlots;
    for (let d = 0; d < dead.length; d++) {
      const v = vals[dead[d]!];
      if (v !== undefined) droppedInRun(v);
    }
  }
  return scope;
}

/**
 * A node prepared to run repeatedly: its kernel found once, a context object reused by every run
 * (kernels are synchronous, so it is never in use twice at once), and the values that die after it.
 */
export interface Step {
  readonly node: Node;
  readonly kernel: CpuKernel | undefined;
  readonly ctx: StepContext;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Values of this graph (not its outputs or initializers) whose last reader is this node. */
  readonly dead: readonly string[];
  /** Slots (GraphPlan.slots) of the inputs: -1 where not this graph's (initializers, outer scopes), -2 omitted. */
  readonly inSlots: readonly number[];
  /** Slots of the outputs, -1 for omitted ones. */
  readonly outSlots: readonly number[];
  /** Slots of those of `dead` produced by a node of this graph (a run may recycle their buffers; feeds are not its to recycle). */
  readonly recycleSlots: readonly number[];
  /** May be folded when its inputs are constant (inside subgraphs): a foldable op, no graph output. */
  readonly foldable: boolean;
  /** The last folded result and the (constant) inputs it came from. */
  fold?: { readonly inputs: readonly (RtValue | undefined)[]; readonly outs: RtValue[] };
}

export interface GraphPlan {
  readonly steps: readonly Step[];
  /** A slot per graph input and node output, for subgraph runs (interpret). */
  readonly slots: ReadonlyMap<string, number>;
  readonly slotCount: number;
  /** Slots of graph.inputs, in order. */
  readonly inputSlots: readonly number[];
}

class StepContext implements CpuContext {
  opset = 1;
  readonly attrs: AttrReader;
  scope: Scope = { values: new Map() };
  opts: InterpretOptions = { opsets: {} };
  /** bodyOptions(opts) for the `opts` it was made from (a Loop runs its body once per iteration). */
  private body: InterpretOptions | undefined;
  private bodyOf: InterpretOptions | undefined;
  constructor(readonly node: Node) {
    this.attrs = new AttrReader(node);
  }
  runGraph(g: Graph, args: readonly (RtValue | undefined)[]): RtValue[] {
    if (this.bodyOf !== this.opts) {
      this.bodyOf = this.opts;
      this.body = bodyOptions(this.opts, this.node);
    }
    return interpretArgs(g, args, this.body!, this.scope);
  }
}

// Cached per node list: passes that edit a graph in place replace the list, so no plan goes stale.
const planCache = new WeakMap<readonly Node[], GraphPlan>();

/** The graph's steps in order (made once per node list). */
export function graphPlan(graph: Graph): GraphPlan {
  const hit = planCache.get(graph.nodes);
  if (hit && hit.steps.length === graph.nodes.length) return hit;
  const last = lastUses(graph);
  const keep = new Set(graph.outputs.map((o) => o.name));
  const produced = new Set(graph.nodes.flatMap((n) => n.outputs.filter(Boolean)));
  const slots = new Map<string, number>();
  for (const name of [...graph.inputs.map((i) => i.name), ...produced]) if (!slots.has(name)) slots.set(name, slots.size);
  const steps = graph.nodes.map((node, index): Step => {
    const dead = new Set<string>();
    for (const name of node.inputs) if (name && last.get(name) === index && !keep.has(name) && !graph.initializers.has(name)) dead.add(name);
    return {
      node,
      kernel: findCpuKernel(opKey(node.domain, node.opType)),
      ctx: new StepContext(node),
      inputs: node.inputs,
      outputs: node.outputs,
      dead: [...dead],
      inSlots: node.inputs.map((n) => (n ? slots.get(n) ?? -1 : -2)),
      outSlots: node.outputs.map((n) => (n ? slots.get(n)! : -1)),
      recycleSlots: [...dead].filter((d) => produced.has(d)).map((d) => slots.get(d)!),
      foldable: mayFold(node) && !node.outputs.some((o) => keep.has(o)),
    };
  });
  const plan = { steps, slots, slotCount: slots.size, inputSlots: graph.inputs.map((i) => slots.get(i.name)!) };
  planCache.set(graph.nodes, plan);
  return plan;
}

/** The step's input values from the scope chain (undefined for omitted inputs). */
export function gatherInputs(st: Step, scope: Scope): (RtValue | undefined)[] {
  const names = st.inputs;
  const inputs = new Array<RtValue | undefined>(names.length);
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (!name) continue;
    const v = lookup(scope, name);
    if (v === undefined) throw new GraphError(`node '${st.node.name}' (${st.node.opType}) reads '${name}', which no node, input or initializer defines`);
    inputs[i] = v;
  }
  return inputs;
}

/** runNode for a prepared step: the same errors and profiling, without the per-call lookups and allocations. */
export function runStep(st: Step, inputs: (RtValue | undefined)[], scope: Scope, opts: InterpretOptions): RtValue[] {
  const node = st.node;
  const opset = opts.opsets[node.domain] ?? 1;
  const kernel = st.kernel;
  if (!kernel) {
    throw new UnsupportedOpError([{ op: node.opType, domain: node.domain, opset, nodes: [node.name], reason: 'no CPU kernel' }]);
  }
  const ctx = st.ctx;
  ctx.opset = opset;
  ctx.scope = scope;
  ctx.opts = opts;
  return callKernel(kernel, ctx, inputs, opts);
}

export function runNode(node: Node, inputs: (RtValue | undefined)[], scope: Scope, opts: InterpretOptions): RtValue[] {
  const kernel = findCpuKernel(opKey(node.domain, node.opType));
  const opset = opts.opsets[node.domain] ?? 1;
  if (!kernel) {
    throw new UnsupportedOpError([{ op: node.opType, domain: node.domain, opset, nodes: [node.name], reason: 'no CPU kernel' }]);
  }
  const ctx: CpuContext = {
    node,
    opset,
    attrs: new AttrReader(node),
    runGraph(g, args) {
      const feeds = new Map<string, RtValue>();
      g.inputs.forEach((inp, i) => {
        const v = args[i];
        if (v !== undefined) feeds.set(inp.name, v);
      });
      const outs = interpret(g, feeds, bodyOptions(opts, node), scope);
      return g.outputs.map((o) => outs.get(o.name)!);
    },
  };
  return callKernel(kernel, ctx, inputs, opts);
}

/** Run a node's kernel: errors name the node, op and input shapes; `onNode` gets its time. */
function callKernel(kernel: CpuKernel, ctx: CpuContext, inputs: (RtValue | undefined)[], opts: InterpretOptions): RtValue[] {
  if (opts.onNode) return callKernelTimed(kernel, ctx, inputs, opts, opts.onNode);
  try {
    return kernel(inputs, ctx);
  } catch (e) {
    throw wrapKernelError(e, ctx.node, inputs);
  }
}

function callKernelTimed(kernel: CpuKernel, ctx: CpuContext, inputs: (RtValue | undefined)[], opts: InterpretOptions, onNode: NonNullable<InterpretOptions['onNode']>): RtValue[] {
  const start = performance.now();
  let outs: RtValue[];
  try {
    outs = kernel(inputs, ctx);
  } catch (e) {
    throw wrapKernelError(e, ctx.node, inputs);
  }
  onNode(ctx.node, performance.now() - start, { start, inputs, within: opts.within ?? TOP });
  return outs;
}

/** Give an error from inside a kernel the node's name, op and input shapes. */
export function wrapKernelError(e: unknown, node: Node, inputs: readonly (RtValue | undefined)[]): Error {
  if (e instanceof KernelError || e instanceof AbortError || e instanceof UnsupportedOpError || e instanceof GraphError) return e;
  const shapes = inputs.map((v) => (v && v.kind === 'tensor' ? v.dims : describeValue(v)));
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof ResourceLimitError) {
    return new ResourceLimitError(`node '${node.name}' (${node.opType}): ${msg}`);
  }
  if (e instanceof TgraphError || e instanceof Error) return new KernelError(node.name, node.opType, shapes, msg, { cause: e });
  return new KernelError(node.name, node.opType, shapes, msg);
}
