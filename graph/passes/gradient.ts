// Lowering of ai.onnx.preview.training's Gradient op into explicit backward nodes (reverse mode),
// for the elementwise ops the ONNX tests differentiate. It runs before support checks: a model with
// a Gradient node needs it to run at all.
import { AttrReader } from '../attrs.js';
import { GraphError } from '../errors.js';
import type { Graph, Model, Node, ValueType } from '../ir.js';
import { inferGraph, type ConstantEvaluator } from '../infer.js';
import type { HostTensor } from '../tensor.js';
import { uniqueValueName } from './util.js';

const DOMAIN = 'ai.onnx.preview.training';

export function expandGradients(model: Model, evaluate: ConstantEvaluator): number {
  const g = model.graph;
  let count = 0;
  for (const node of [...g.nodes]) {
    if (node.domain !== DOMAIN || node.opType !== 'Gradient') continue;
    const { types } = inferGraph(g, { opsets: model.opsets, evaluate });
    const backward = buildBackward(g, node, types);
    g.nodes.splice(g.nodes.indexOf(node), 1, ...backward);
    count++;
  }
  if (count && !Object.keys(model.opsets).some((d) => d !== DOMAIN && model.graph.nodes.some((n) => n.domain === DOMAIN))) delete model.opsets[DOMAIN];
  return count;
}

function buildBackward(g: Graph, grad: Node, types: Map<string, ValueType>): Node[] {
  const a = new AttrReader(grad);
  const xs = a.strings('xs', []);
  const y = a.string('y', '');
  const out: Node[] = [];
  let k = 0;
  const fresh = (base: string) => {
    const name = uniqueValueName(g, `${grad.name}/${base}_${k++}`);
    g.valueInfo.delete(name);
    return name;
  };
  const emit = (opType: string, inputs: string[], attributes: Node['attributes'] = {}): string => {
    const o = fresh(opType.toLowerCase());
    out.push({ name: o, opType, domain: '', inputs, outputs: [o], attributes });
    // Reserve the name so later fresh() calls do not reuse it.
    g.valueInfo.set(o, { kind: 'tensor', dtype: 'float32' });
    return o;
  };
  const shapeOf = (v: string): number[] | undefined => {
    const t = types.get(v);
    return t && t.kind === 'tensor' && t.shape?.every((d) => typeof d === 'number') ? (t.shape as number[]) : undefined;
  };
  /** Sum a gradient of the broadcast output shape back to the shape of input `x`. */
  const unbroadcast = (gv: string, x: string, outName: string): string => {
    const xs = shapeOf(x);
    const os = shapeOf(outName);
    if (!xs || !os) throw new GraphError(`Gradient '${grad.name}': shapes of '${x}' and '${outName}' must be static to differentiate through broadcasting`);
    if (xs.length === os.length && xs.every((d, i) => d === os[i])) return gv;
    const axes: number[] = [];
    os.forEach((d, i) => {
      const j = i - (os.length - xs.length);
      if (j < 0 || (xs[j] === 1 && d !== 1)) axes.push(i);
    });
    const shape = uniqueValueName(g, `${grad.name}/shape_${k++}`);
    g.initializers.set(shape, { kind: 'tensor', dtype: 'int64', dims: [xs.length], data: BigInt64Array.from(xs.map(BigInt)) });
    const axesName = uniqueValueName(g, `${grad.name}/axes_${k++}`);
    g.initializers.set(axesName, { kind: 'tensor', dtype: 'int64', dims: [axes.length], data: BigInt64Array.from(axes.map(BigInt)) });
    return emit('Reshape', [emit('ReduceSum', [gv, axesName], { keepdims: { kind: 'int', value: 1 } }), shape]);
  };

  // Nodes on a path from xs to y, in order.
  const reach = new Set(xs);
  const path: Node[] = [];
  for (const n of g.nodes) {
    if (n === grad) break;
    if (n.inputs.some((i) => reach.has(i))) {
      path.push(n);
      n.outputs.forEach((o) => reach.add(o));
    }
  }
  if (!reach.has(y)) throw new GraphError(`Gradient '${grad.name}': '${y}' does not depend on ${xs.join(', ')}`);
  const grads = new Map<string, string>();
  const yType = types.get(y);
  const dtype = yType && yType.kind === 'tensor' ? yType.dtype : 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new GraphError(`Gradient '${grad.name}': '${y}' is ${dtype}; only float32 and float64 are differentiated`);
  const one: HostTensor = dtype === 'float64' ? { kind: 'tensor', dtype, dims: [1], data: new Float64Array([1]) } : { kind: 'tensor', dtype, dims: [1], data: new Float32Array([1]) };
  grads.set(y, emit('ConstantOfShape', [emit('Shape', [y])], { value: { kind: 'tensor', value: one } }));
  const accumulate = (v: string, gv: string) => {
    const prev = grads.get(v);
    grads.set(v, prev ? emit('Add', [prev, gv]) : gv);
  };
  for (const n of [...path].reverse()) {
    const gy = grads.get(n.outputs[0]!);
    if (!gy) continue;
    const [p, q] = n.inputs as [string, string];
    const o = n.outputs[0]!;
    switch (n.opType) {
      case 'Add': accumulate(p, unbroadcast(gy, p, o)); accumulate(q, unbroadcast(gy, q, o)); break;
      case 'Sub': accumulate(p, unbroadcast(gy, p, o)); accumulate(q, unbroadcast(emit('Neg', [gy]), q, o)); break;
      case 'Mul': accumulate(p, unbroadcast(emit('Mul', [gy, q]), p, o)); accumulate(q, unbroadcast(emit('Mul', [gy, p]), q, o)); break;
      case 'Div': {
        accumulate(p, unbroadcast(emit('Div', [gy, q]), p, o));
        accumulate(q, unbroadcast(emit('Neg', [emit('Div', [emit('Mul', [gy, o]), q])]), q, o));
        break;
      }
      case 'Neg': accumulate(p, emit('Neg', [gy])); break;
      case 'Identity': accumulate(p, gy); break;
      default: throw new GraphError(`Gradient '${grad.name}': cannot differentiate through ${n.opType} ('${n.name}')`);
    }
  }
  xs.forEach((x, i) => {
    const target = grad.outputs[i];
    if (!target) return;
    const gv = grads.get(x);
    if (!gv) throw new GraphError(`Gradient '${grad.name}': no gradient reaches '${x}'`);
    out.push({ name: `${grad.name}/out_${i}`, opType: 'Identity', domain: '', inputs: [gv], outputs: [target], attributes: {} });
  });
  for (const n of out) g.valueInfo.delete(n.outputs[0]!);
  return out;
}
