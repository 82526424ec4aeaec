// The lowering passes (tgraph's own plan, never exported): each reads the backend's
// LoweringCapabilities from the pass context and does nothing when the backend declares none.
//   lower-patterns:    exported layer norms below opset 17 -> tgraph.LayerNormalization (lower-patterns.ts).
//   lower-epilogue:    Conv/MatMul/Gemm whose output only feeds an elementwise group -> tgraph.Fused*
//                      with the group as an epilogue (bias Add, activations, residual Add...).
//   lower-elementwise: groups of two or more elementwise nodes -> one tgraph.FusedElementwise.
import { inferGraph } from '../infer.js';
import type { Dim, Graph, Model, Node } from '../ir.js';
import { channelAxisOf, EPILOGUE_BASE_INPUTS, EPILOGUE_BASE_OP, epilogueRead, type EpilogueOp, FUSED_DOMAIN } from '../ops/fused.js';
import { encodeProgram, type Instr, type Operand, type Program } from '../ops/fused-program.js';
import { broadcastDims } from '../ops/shape-util.js';
import { eachGraph, findGroups, type Group, replaceGroup, sameShape, shapeOf, type Types } from './lower-groups.js';
import { lowerLayout } from './lower-layout.js';
import { lowerPatterns } from './lower-patterns.js';
import type { LoweringCapabilities } from './lower-types.js';
import type { Pass, PassContext } from './types.js';
import { constantOf, useCounts } from './util.js';

/** The first opset of ai.onnx where each base op has the semantics its fused kernel calls. */
const BASE_SINCE: Record<string, number> = { Conv: 1, MatMul: 1, Gemm: 7 };

/** Infer types, then visit the model's graph and every subgraph in it (lowering does not cross scopes). */
function eachTypedGraph(model: Model, ctx: PassContext, f: (g: Graph, types: Types) => void): void {
  inferGraph(model.graph, { opsets: model.opsets, evaluate: ctx.evaluate });
  eachGraph(model.graph, new Map(), f);
}

function remap(p: Program, map: (input: number) => number): Program {
  const r = (o: Operand): Operand => ('in' in o ? { in: map(o.in) } : o);
  return {
    code: p.code.map((i): Instr => {
      if (i.op === 'Where') return { ...i, cond: r(i.cond), x: r(i.x), y: r(i.y) };
      if ('y' in i) return { ...i, x: r(i.x), y: r(i.y) } as Instr;
      return { ...i, x: r(i.x) } as Instr;
    }),
  };
}

/** The group as the epilogue of the producer of one of its leaves, or undefined. */
function asEpilogue(g: Graph, opset: number, group: Group, types: Types, caps: NonNullable<LoweringCapabilities['epilogue']>, uses: Map<string, number>, producer: Map<string, Node>): { fused: Node; base: Node } | undefined {
  for (const acc of group.leaves) {
    const base = producer.get(acc);
    if (!base || !caps.bases.includes(base.opType as never)) continue;
    if (base.domain === FUSED_DOMAIN ? base.opType !== 'ConvNhwc' : base.domain !== '' || opset < (BASE_SINCE[base.opType] ?? Infinity)) continue;
    const t = types.get(acc);
    if (base.outputs.length !== 1 || t?.kind !== 'tensor' || t.dtype !== 'float32') continue;
    if (!sameShape(shapeOf(types, acc), group.shape)) continue;
    // Every read of the base's output is in the group.
    let reads = 0;
    for (const n of group.nodes) for (const i of n.inputs) if (i === acc) reads++;
    if (reads !== uses.get(acc)) continue;
    const name = `Fused${base.opType}` as EpilogueOp;
    const axis = channelAxisOf(name, group.shape.length);
    const extra = group.leaves.filter((l) => l !== acc);
    if (extra.length > caps.maxInputs) continue;
    // Extra inputs: float32 (a Where condition stays a FusedElementwise input) whole tensors of the
    // output's shape, or per-channel / one-element constants.
    const fits = extra.every((l) => {
      const lt = types.get(l);
      if (lt?.kind !== 'tensor' || lt.dtype !== 'float32') return false;
      const s = shapeOf(types, l);
      const read = s && epilogueRead(s, group.shape, axis);
      return read === 'full' || ((read === 'channel' || read === 'scalar') && constantOf(g, l) !== undefined);
    });
    if (!fits) continue;
    const program = remap(group.program, (i) => (group.leaves[i] === acc ? 0 : 1 + extra.indexOf(group.leaves[i]!)));
    const n = EPILOGUE_BASE_INPUTS[name];
    const baseInputs = [...base.inputs, ...new Array<string>(Math.max(0, n - base.inputs.length)).fill('')].slice(0, n);
    if (base.inputs.length > n) continue;
    const fused: Node = {
      name: `${base.name}/${name}`, opType: name, domain: FUSED_DOMAIN,
      inputs: [...baseInputs, ...extra], outputs: [group.root.outputs[0]!],
      attributes: { ...base.attributes, epilogue: { kind: 'string', value: encodeProgram(program) } },
    };
    return { fused, base };
  }
  return undefined;
}

export const lowerEpilogue: Pass = {
  name: 'lower-epilogue',
  level: 'extended',
  doc: 'applies elementwise consumers of Conv/MatMul/Gemm (bias, activation, residual) before the store (backends that declare epilogues)',
  run(model, ctx) {
    const caps = ctx.capabilities?.epilogue;
    if (!caps) return {};
    const opset = model.opsets[''] ?? 1;
    const counts: Record<string, number> = {};
    eachTypedGraph(model, ctx, (g, types) => {
      const groups = findGroups(g, opset, types, { ops: new Set(caps.ops), maxLeaves: caps.maxInputs + 1 });
      const uses = useCounts(g);
      const producer = new Map<string, Node>();
      for (const n of g.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
      for (const group of groups) {
        const r = asEpilogue(g, opset, group, types, caps, uses, producer);
        if (!r) continue;
        const { fused, base } = r;
        replaceGroup(g, [base, ...group.nodes], fused);
        const key = EPILOGUE_BASE_OP[fused.opType as EpilogueOp];
        counts[key] = (counts[key] ?? 0) + 1;
      }
    });
    if (Object.keys(counts).length) model.opsets = { ...model.opsets, [FUSED_DOMAIN]: 1 };
    return counts;
  },
};

export const lowerElementwise: Pass = {
  name: 'lower-elementwise',
  level: 'extended',
  doc: 'fuses chains of elementwise ops into one generated kernel (backends that declare it)',
  run(model, ctx): Record<string, number> {
    const caps = ctx.capabilities?.elementwise;
    if (!caps) return {};
    const opset = model.opsets[''] ?? 1;
    let fused = 0;
    let removed = 0;
    eachTypedGraph(model, ctx, (g, types) => {
      for (const group of findGroups(g, opset, types, { ops: new Set(caps.ops), maxLeaves: caps.maxInputs })) {
        if (group.nodes.length < 2 || group.leaves.length === 0) continue;
        // The leaves alone must give the root's shape (an inlined constant must not have widened it).
        let shape: Dim[] = [];
        let known = true;
        for (const l of group.leaves) {
          const s = shapeOf(types, l);
          if (!s) known = false;
          else shape = broadcastDims(shape, s);
        }
        if (!known || !sameShape(shape, group.shape)) continue;
        replaceGroup(g, group.nodes, {
          name: `${group.root.name}/FusedElementwise`, opType: 'FusedElementwise', domain: FUSED_DOMAIN,
          inputs: group.leaves, outputs: [group.root.outputs[0]!],
          attributes: { program: { kind: 'string', value: encodeProgram(group.program) } },
        });
        fused++;
        removed += group.nodes.length;
      }
    });
    if (fused) model.opsets = { ...model.opsets, [FUSED_DOMAIN]: 1 };
    return { groups: fused, nodes: removed };
  },
};

// Layout first: it rewrites standard Convs, which the epilogue pass would otherwise have fused away.
// Patterns before the elementwise passes, which would otherwise take a layer norm's tail.
export const LOWERING_PASSES: readonly Pass[] = [lowerLayout, lowerPatterns, lowerEpilogue, lowerElementwise];
