// Control flow: tg.cond and tg.whileLoop run as JS control flow in eager mode and trace into
// ONNX If and Loop (branch and body subgraphs read the enclosing trace's values by name).
import { TraceError } from '../../graph/errors.js';
import type { Graph, TensorType as IrTensorType, ValueInfo } from '../../graph/ir.js';
import { apply, apply1, attr, nameIn, toTg } from './core.js';
import { TracerOpError } from './errors.js';
import { userSourceLine } from './source.js';
import { type TensorLike, TgTensor } from './tensor.js';
import { TraceContext, currentTrace, withTrace } from './trace.js';

type Branch = TgTensor | readonly TgTensor[];

function asList(x: unknown, what: string): TgTensor[] {
  const list = Array.isArray(x) ? x : [x];
  for (const t of list) if (!(t instanceof TgTensor)) throw new TraceError(`${what} must return a tensor or an array of tensors (at ${userSourceLine() ?? '?'})`);
  return list as TgTensor[];
}

function truthy(pred: TgTensor): boolean {
  const h = pred.host('eager tg.cond / tg.whileLoop reading the predicate');
  if (h.data.length !== 1) throw new TracerOpError('cond', [`${pred.dtype}[${h.dims.join(',')}]`], 'the predicate must have one element', userSourceLine());
  return Boolean(Number((h.data as ArrayLike<number | bigint>)[0]));
}

/** Trace `body` as a subgraph of `parent` with the given formal inputs; its results become outputs. */
function subgraph(parent: TraceContext, name: string, inputs: readonly IrTensorType[], body: (args: TgTensor[]) => TgTensor[]): { graph: Graph; outs: TgTensor[] } {
  const ctx = new TraceContext(parent);
  const args = inputs.map((t) => {
    const n = ctx.freshName(`${name}_in`);
    ctx.inputs.push({ name: n, type: t });
    return TgTensor.symbolic(ctx, n, t);
  });
  const outs = withTrace(ctx, () => {
    const results = body(args);
    // Every output through an Identity: ONNX subgraph outputs must be values of the subgraph.
    return results.map((r) => apply1('Identity', [r]));
  });
  const outputs: ValueInfo[] = outs.map((o) => ({ name: o._sym!.name, type: { kind: 'tensor', dtype: o.dtype, shape: o.maybeShape ? [...o.maybeShape] : undefined } as IrTensorType }));
  return { graph: ctx.toGraph(name, outputs), outs };
}

/**
 * `pred ? thenFn() : elseFn()`. Eager: runs one branch. Traced: both branches are traced into an
 * ONNX If; they must return the same number of tensors with the same dtypes.
 */
export function cond<T extends Branch>(pred: TensorLike | boolean, thenFn: () => T, elseFn: () => T): T {
  const ctx = currentTrace();
  if (typeof pred === 'boolean') return pred ? thenFn() : elseFn();
  const p = toTg(pred, 'bool');
  if (!ctx || !p.isSymbolic) {
    if (ctx) nameIn(ctx, p); // a constant predicate inside a trace: decided now
    return truthy(p) ? thenFn() : elseFn();
  }
  let single = false;
  const run = (f: () => T) => () => {
    const r = f();
    single = !Array.isArray(r);
    return asList(r, 'a tg.cond branch');
  };
  const then = subgraph(ctx, 'then', [], run(thenFn));
  const els = subgraph(ctx, 'else', [], run(elseFn));
  if (then.outs.length !== els.outs.length) {
    throw new TracerOpError('If', [`then: ${then.outs.length} outputs`, `else: ${els.outs.length} outputs`], 'the branches of tg.cond must return the same number of tensors', userSourceLine());
  }
  then.outs.forEach((t, i) => {
    if (t.dtype !== els.outs[i]!.dtype) throw new TracerOpError('If', [t.dtype, els.outs[i]!.dtype], `output ${i} has a different dtype in each branch`, userSourceLine());
  });
  const outs = apply('If', [p.dtype === 'bool' ? p : apply1('Cast', [p], { to: attr.int(9) })], { then_branch: { kind: 'graph', value: then.graph }, else_branch: { kind: 'graph', value: els.graph } }, then.outs.length);
  return (single ? outs[0] : outs) as T;
}

export interface WhileLoopOptions {
  /** Upper bound on iterations (ONNX Loop's M). */
  maxIterations?: number;
}

/**
 * `while (cond(...vars)) vars = body(...vars)`; returns the final vars. Traced: an ONNX Loop whose
 * body computes the next vars and the next condition. The vars keep their dtypes and ranks.
 */
export function whileLoop(condFn: (...vars: TgTensor[]) => TensorLike | boolean, body: (...vars: TgTensor[]) => TgTensor[], init: readonly TensorLike[], options: WhileLoopOptions = {}): TgTensor[] {
  const ctx = currentTrace();
  const vars0 = init.map((v) => toTg(v));
  if (!ctx) {
    let vars = vars0;
    for (let i = 0; options.maxIterations === undefined || i < options.maxIterations; i++) {
      const c = condFn(...vars);
      if (!(typeof c === 'boolean' ? c : truthy(toTg(c, 'bool')))) break;
      const next = asList(body(...vars), 'the tg.whileLoop body');
      if (next.length !== vars.length) throw new TracerOpError('Loop', [`${vars.length} vars`], `the body returned ${next.length} tensors`, userSourceLine());
      vars = next;
    }
    return vars;
  }
  const types = vars0.map((v): IrTensorType => ({ kind: 'tensor', dtype: v.dtype, shape: v.maybeShape ? v.maybeShape.map((d, j) => d) : undefined }));
  const boolOf = (c: TensorLike | boolean): TgTensor => {
    const t = typeof c === 'boolean' ? toTg(c) : toTg(c, 'bool');
    return t.dtype === 'bool' ? t : apply1('Cast', [t], { to: attr.int(9) });
  };
  const cond0 = boolOf(condFn(...vars0));
  const iterType: IrTensorType = { kind: 'tensor', dtype: 'int64', shape: [] };
  const condType: IrTensorType = { kind: 'tensor', dtype: 'bool', shape: [] };
  // Loop-carried dims may change from one iteration to the next: give the body symbolic dims where
  // the body's results differ from the initial values (found by tracing the body once first).
  const probe = subgraph(ctx, 'probe', [iterType, condType, ...types], (args) => asList(body(...args.slice(2)), 'the tg.whileLoop body'));
  if (probe.outs.length !== vars0.length) throw new TracerOpError('Loop', [`${vars0.length} vars`], `the body returned ${probe.outs.length} tensors`, userSourceLine());
  const bodyTypes = types.map((t, i) => {
    const o = probe.outs[i]!;
    if (o.dtype !== t.dtype) throw new TracerOpError('Loop', [t.dtype, o.dtype], `loop var ${i} changes dtype in the body (${t.dtype} -> ${o.dtype})`, userSourceLine());
    const os = o.maybeShape;
    if (!t.shape || !os || os.length !== t.shape.length) return { kind: 'tensor', dtype: t.dtype } as IrTensorType;
    return { kind: 'tensor', dtype: t.dtype, shape: t.shape.map((d, j) => (d === os[j] ? d : `loop_v${i}_d${j}`)) } as IrTensorType;
  });
  const loop = subgraph(ctx, 'body', [iterType, condType, ...bodyTypes], (args) => {
    const next = asList(body(...args.slice(2)), 'the tg.whileLoop body');
    return [boolOf(condFn(...next)), ...next];
  });
  const m = options.maxIterations === undefined ? undefined : toTg(BigInt(options.maxIterations));
  const outs = apply('Loop', [m, cond0, ...vars0], { body: { kind: 'graph', value: loop.graph } }, vars0.length);
  return outs;
}
