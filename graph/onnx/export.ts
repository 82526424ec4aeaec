// IR Model -> ONNX bytes.
import { ONNX_CODE } from '../dtype.js';
import type { Attr, Graph, Model, ValueInfo, ValueType } from '../ir.js';
import { onnx, type OnnxNamespace } from './proto.js';
import { encodeTensor } from './tensor-proto.js';

const AT = onnx.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

export interface ExportOptions {
  /** Also write inferred types of intermediate values (value_info). Off by default: consumers re-infer. */
  readonly valueInfo?: boolean;
}

export function exportModel(model: Model, opts: ExportOptions = {}): Uint8Array {
  const mp: OnnxNamespace.IModelProto = {
    irVersion: Math.max(model.irVersion || 0, irVersionFor(model.opsets[''] ?? 1)),
    producerName: 'tgraph',
    producerVersion: '0.1.0',
    modelVersion: model.modelVersion ?? 0,
    docString: model.docString ?? '',
    opsetImport: Object.entries(model.opsets).map(([domain, version]) => ({ domain, version })),
    metadataProps: Object.entries(model.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: exportGraph(model.graph, opts),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(mp)).finish();
}

/** Lowest IR version that carries an opset (onnx/helper.py's table, abbreviated). */
function irVersionFor(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

export function exportGraph(g: Graph, opts: ExportOptions = {}): OnnxNamespace.IGraphProto {
  return {
    name: g.name,
    docString: g.docString ?? '',
    input: g.inputs.map(exportValueInfo),
    output: g.outputs.map(exportValueInfo),
    initializer: [...g.initializers].map(([name, t]) => encodeTensor(t, name)),
    valueInfo: !opts.valueInfo ? [] : [...g.valueInfo]
      .filter(([name]) => !g.initializers.has(name) && !g.inputs.some((i) => i.name === name) && !g.outputs.some((o) => o.name === name))
      .map(([name, type]) => exportValueInfo({ name, type })),
    node: g.nodes.map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      docString: n.docString ?? '',
      attribute: Object.entries(n.attributes).map(([name, a]) => exportAttr(name, a, opts)),
    })),
  };
}

function exportValueInfo(v: ValueInfo): OnnxNamespace.IValueInfoProto {
  return v.type ? { name: v.name, type: exportType(v.type) } : { name: v.name };
}

export function exportType(t: ValueType): OnnxNamespace.ITypeProto {
  switch (t.kind) {
    case 'tensor':
      return {
        tensorType: {
          elemType: ONNX_CODE[t.dtype],
          shape: t.shape ? { dim: t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
        },
      };
    case 'sequence':
      return { sequenceType: { elemType: t.elem ? exportType(t.elem) : undefined } };
    case 'optional':
      return { optionalType: { elemType: t.elem ? exportType(t.elem) : undefined } };
    case 'map':
      return { mapType: { keyType: ONNX_CODE[t.keyType], valueType: t.value ? exportType(t.value) : undefined } };
  }
}

function exportAttr(name: string, a: Attr, opts: ExportOptions): OnnxNamespace.IAttributeProto {
  switch (a.kind) {
    case 'int': return { name, type: AT.INT, i: a.value };
    case 'ints': return { name, type: AT.INTS, ints: a.value };
    case 'float': return { name, type: AT.FLOAT, f: a.value };
    case 'floats': return { name, type: AT.FLOATS, floats: a.value };
    case 'string': return { name, type: AT.STRING, s: utf8.encode(a.value) };
    case 'strings': return { name, type: AT.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensor': return { name, type: AT.TENSOR, t: encodeTensor(a.value) };
    case 'tensors': return { name, type: AT.TENSORS, tensors: a.value.map((t) => encodeTensor(t)) };
    case 'graph': return { name, type: AT.GRAPH, g: exportGraph(a.value, opts) };
    case 'graphs': return { name, type: AT.GRAPHS, graphs: a.value.map((g) => exportGraph(g, opts)) };
    // Sparse constants are densified at import; Constant's sparse_value becomes a dense value.
    case 'sparse': return { name: name === 'sparse_value' ? 'value' : name, type: AT.TENSOR, t: encodeTensor(a.value) };
    case 'type': return { name, type: AT.TYPE_PROTO, tp: exportType(a.value) };
    case 'types': return { name, type: AT.TYPE_PROTOS, tps: a.value.map(exportType) } as OnnxNamespace.IAttributeProto;
  }
}
