// Folding of shape arithmetic where the shapes it reads are known, even when other dims are
// symbolic: Shape(x) of x[N,3,48,W] is [?,3,48,?], and Gather/Slice/Cast/Concat/Unsqueeze of its
// known part become constants (the chains exporters write before Reshape).
import { AttrReader } from '../attrs.js';
import { type DType, newArray, dtypeFromOnnx, isBig } from '../dtype.js';
import { inferGraph } from '../infer.js';
import type { Node } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import type { Pass } from './types.js';
import { constantOf, isGraphOutput, uniqueValueName } from './util.js';

/** A small integer tensor some of whose elements are known; a string is a symbolic dim's name. */
interface Partial { dtype: DType; dims: number[]; vals: (number | string | null)[] }

function fromConst(t: HostTensor | undefined): Partial | undefined {
  if (!t || t.dtype === 'string' || t.data.length > 64) return undefined;
  return { dtype: t.dtype, dims: [...t.dims], vals: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

function toTensor(p: Partial): HostTensor {
  const data = newArray(p.dtype, p.vals.length) as unknown as Record<number, number | bigint>;
  p.vals.forEach((v, i) => (data[i] = isBig(p.dtype) ? BigInt(v as number) : (v as number)));
  return { kind: 'tensor', dtype: p.dtype, dims: p.dims, data: data as unknown as HostTensor['data'] };
}

function clampIndex(i: number, n: number, isEnd: boolean): number {
  const j = i < 0 ? i + n : i;
  return Math.max(isEnd ? -1 : 0, Math.min(j, isEnd ? n : n - 1));
}

function evalPartial(node: Node, get: (name: string) => Partial | undefined, opset: number, shapeOf: (name: string) => (number | string)[] | undefined): Partial | undefined {
  const a = new AttrReader(node);
  const x = node.inputs[0] ? get(node.inputs[0]) : undefined;
  switch (node.opType) {
    case 'Shape': {
      const s = shapeOf(node.inputs[0]!);
      if (!s) return undefined;
      const r = s.length;
      const start = clampIndex(a.int('start', 0), r, false);
      const end = a.has('end') ? clampIndex(a.int('end')!, r, true) : r;
      const vals = s.slice(start, Math.max(start, end));
      return { dtype: 'int64', dims: [vals.length], vals };
    }
    case 'Cast': {
      const to = dtypeFromOnnx(a.int('to', 0));
      return x && to && to !== 'string' && to !== 'bool' ? { ...x, dtype: to, vals: to.startsWith('float') ? x.vals : x.vals.map((v) => (typeof v === 'number' ? Math.trunc(v) : v)) } : undefined;
    }
    case 'Gather': {
      const idx = fromConst(constantOf0(node, 1, get));
      if (!x || !idx || x.dims.length !== 1 || a.int('axis', 0) !== 0 || idx.vals.some((v) => typeof v !== 'number')) return undefined;
      const n = x.vals.length;
      return { dtype: x.dtype, dims: idx.dims, vals: (idx.vals as number[]).map((i) => x.vals[i < 0 ? i + n : i] ?? null) };
    }
    case 'Slice': {
      if (!x || x.dims.length !== 1) return undefined;
      const n = x.vals.length;
      let starts: (number | string | null)[] | undefined;
      let ends: (number | string | null)[] | undefined;
      let steps: (number | string | null)[] = [1];
      if (opset < 10) {
        starts = a.ints('starts');
        ends = a.ints('ends');
      } else {
        starts = get(node.inputs[1]!)?.vals;
        ends = get(node.inputs[2]!)?.vals;
        if (node.inputs[4]) steps = get(node.inputs[4])?.vals ?? [null];
      }
      const st = starts?.[0];
      const en = ends?.[0];
      if (starts?.length !== 1 || ends?.length !== 1 || typeof st !== 'number' || typeof en !== 'number' || steps[0] !== 1) return undefined;
      const s = clampIndex(st, n, false);
      const e = clampIndex(Math.min(en, n), n, true);
      const vals = x.vals.slice(s, Math.max(s, e));
      return { dtype: x.dtype, dims: [vals.length], vals };
    }
    case 'Concat': {
      const parts = node.inputs.map((i) => get(i));
      if (parts.some((p) => !p || p.dims.length !== 1)) return undefined;
      const vals = parts.flatMap((p) => p!.vals);
      return { dtype: parts[0]!.dtype, dims: [vals.length], vals };
    }
    case 'Unsqueeze': {
      if (!x || x.dims.length !== 0) return undefined;
      return { dtype: x.dtype, dims: [1], vals: x.vals };
    }
    case 'Squeeze': {
      if (!x || x.dims.length !== 1 || x.vals.length !== 1) return undefined;
      return { dtype: x.dtype, dims: [], vals: x.vals };
    }
    default:
      return undefined;
  }
}

function constantOf0(node: Node, i: number, get: (n: string) => Partial | undefined): HostTensor | undefined {
  const p = node.inputs[i] ? get(node.inputs[i]!) : undefined;
  return p && p.vals.every((v) => typeof v === 'number') ? toTensor(p) : undefined;
}

export const foldShapeArithmetic: Pass = {
  name: 'fold-shape-arithmetic',
  level: 'basic',
  doc: 'folds Shape -> Gather/Slice/Cast/Concat/Unsqueeze chains whose selected dims are known',
  run(model, ctx) {
    const g = model.graph;
    const { types } = inferGraph(g, { opsets: model.opsets, evaluate: ctx.evaluate }, ctx.outerTypes);
    const partial = new Map<string, Partial>();
    const get = (name: string) => partial.get(name) ?? fromConst(constantOf(g, name));
    const shapeOf = (name: string) => {
      const t = types.get(name);
      return t && t.kind === 'tensor' ? t.shape : undefined;
    };
    let folded = 0;
    let reshapes = 0;
    const opset = model.opsets[''] ?? 1;
    // Reshape(x, [N, 200]) where N is x's own dim 0 becomes Reshape(x, [0, 200]) (0 copies the dim),
    // and a single other unknown becomes -1: the shape input is then constant. That is exact whatever
    // the unknown holds at run time: the original Reshape succeeds only when x has as many elements as
    // the target, so -1 recomputes the same value (the other dims, literal 0s included, being fixed).
    // Not on an empty x: there -1 is undefined and onnxruntime rejects it, as it does after its own
    // ReshapeFusion (the same rewrite, at its basic level).
    const reshapeWithCopiedDims = (node: Node): boolean => {
      const target = get(node.inputs[1]!);
      const ds = shapeOf(node.inputs[0]!);
      if (!target || target.dims.length !== 1 || target.vals.every((v) => typeof v === 'number') || new AttrReader(node).int('allowzero', 0) !== 0) return false;
      let inferred = 0;
      const vals: number[] = [];
      for (let i = 0; i < target.vals.length; i++) {
        const v = target.vals[i];
        if (typeof v === 'number') {
          // A literal 0 already copies the input's dim; a literal -1 is the one inferred dim.
          if (v === -1) inferred++;
          vals.push(v);
        } else if (typeof v === 'string' && ds && ds[i] === v) vals.push(0);
        else {
          inferred++;
          vals.push(-1);
        }
      }
      if (inferred > 1) return false;
      const name = uniqueValueName(g, `${node.name}_shape`);
      g.initializers.set(name, toTensor({ dtype: 'int64', dims: [vals.length], vals }));
      node.inputs = [node.inputs[0]!, name];
      return true;
    };
    g.nodes = g.nodes.filter((node) => {
      if (node.domain !== '' || node.outputs.length !== 1) return true;
      if (node.opType === 'Reshape' && opset >= 5 && reshapeWithCopiedDims(node)) {
        reshapes++;
        return true;
      }
      const p = evalPartial(node, get, opset, shapeOf);
      if (!p) return true;
      const out = node.outputs[0]!;
      partial.set(out, p);
      if (p.vals.some((v) => typeof v !== 'number') || isGraphOutput(g, out)) return true;
      g.initializers.set(out, toTensor(p));
      folded++;
      return false;
    });
    return { folded, 'reshape-copied-dims': reshapes };
  },
};
