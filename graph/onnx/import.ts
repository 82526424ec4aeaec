// ONNX bytes -> IR Model: graphs, initializers (typed fields, raw_data, external data), attributes,
// subgraphs, symbolic dims; model-local functions are inlined.
import { dtypeFromOnnx, onnxTypeName } from '../dtype.js';
import { ModelLoadError, TgraphError } from '../errors.js';
import { type Attr, type FunctionDef, type Graph, type Model, type Node, type ValueInfo, type ValueType, normalizeDomain } from '../ir.js';
import type { HostTensor } from '../tensor.js';
import { onnx, type OnnxNamespace, toNum } from './proto.js';
import { type ExternalDataReader, decodeTensor } from './tensor-proto.js';

export interface ImportOptions {
  /** Shown in errors (the model's path). */
  readonly source?: string;
  /** Reads external tensor data; given by loaders that know the model's folder. */
  readonly external?: ExternalDataReader;
}

const utf8 = new TextDecoder('utf-8');

export function decodeModelProto(bytes: Uint8Array, source?: string): OnnxNamespace.ModelProto {
  if (bytes.length === 0) throw new ModelLoadError('the file is empty, not an ONNX model', source);
  let m: OnnxNamespace.ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelLoadError(`not a valid ONNX model (truncated or not protobuf): ${(e as Error).message}`, source, { cause: e });
  }
  if (!m.graph) throw new ModelLoadError('not an ONNX model: it has no graph', source);
  if (!toNum(m.irVersion) && !(m.opsetImport?.length)) throw new ModelLoadError('not an ONNX model: no IR version and no opset imports', source);
  return m;
}

export function importModel(bytes: Uint8Array, opts: ImportOptions = {}): Model {
  const mp = decodeModelProto(bytes, opts.source);
  try {
    return convertModel(mp, opts);
  } catch (e) {
    if (e instanceof TgraphError) throw e;
    throw new ModelLoadError(`could not read the model: ${(e as Error).message}`, opts.source, { cause: e });
  }
}

export function convertModel(mp: OnnxNamespace.IModelProto, opts: ImportOptions = {}): Model {
  const opsets: Record<string, number> = {};
  for (const o of mp.opsetImport ?? []) opsets[normalizeDomain(o.domain)] = toNum(o.version);
  if (!('' in opsets) && toNum(mp.irVersion) < 3) opsets[''] = 1;
  const functions = new Map<string, FunctionDef>();
  for (const f of mp.functions ?? []) {
    const fd = convertFunction(f, opts);
    functions.set(`${fd.domain}:${fd.name}`, fd);
  }
  const cx: ConvertCtx = { opts, functions, unnamed: 0, inlineCount: 0 };
  const graph = convertGraph(mp.graph!, cx);
  const metadata: Record<string, string> = {};
  for (const kv of mp.metadataProps ?? []) metadata[kv.key ?? ''] = kv.value ?? '';
  return {
    graph,
    opsets,
    irVersion: toNum(mp.irVersion),
    producerName: mp.producerName ?? undefined,
    producerVersion: mp.producerVersion ?? undefined,
    modelVersion: toNum(mp.modelVersion),
    docString: mp.docString ?? undefined,
    metadata,
    source: opts.source,
  };
}

interface ConvertCtx {
  opts: ImportOptions;
  functions: Map<string, FunctionDef>;
  unnamed: number;
  inlineCount: number;
}

export function convertType(tp: OnnxNamespace.ITypeProto | null | undefined, where: string): ValueType | undefined {
  if (!tp) return undefined;
  if (tp.tensorType) {
    const code = tp.tensorType.elemType ?? 0;
    const dtype = dtypeFromOnnx(code);
    if (!dtype) {
      if (code === 0) return undefined;
      throw new ModelLoadError(`${where} has element type ${onnxTypeName(code)}, which tgraph does not support`);
    }
    const shape = tp.tensorType.shape?.dim?.map((d, i) => {
      // protobufjs exposes which member of the oneof is set as `value`.
      const which = (d as { value?: string }).value;
      if (which === 'dimValue') return toNum(d.dimValue);
      if (which === 'dimParam' && d.dimParam) return d.dimParam;
      return `${where}_d${i}`;
    });
    return tp.tensorType.shape ? { kind: 'tensor', dtype, shape } : { kind: 'tensor', dtype };
  }
  if (tp.sequenceType) return { kind: 'sequence', elem: convertType(tp.sequenceType.elemType, where) };
  if (tp.optionalType) return { kind: 'optional', elem: convertType(tp.optionalType.elemType, where) };
  if (tp.mapType) {
    const k = dtypeFromOnnx(tp.mapType.keyType ?? 0);
    if (!k) throw new ModelLoadError(`${where} is a map with an unsupported key type`);
    return { kind: 'map', keyType: k, value: convertType(tp.mapType.valueType, where) };
  }
  if (tp.sparseTensorType) throw new ModelLoadError(`${where} is a sparse tensor, which tgraph does not support`);
  return undefined;
}

function convertValueInfo(v: OnnxNamespace.IValueInfoProto, graphName: string): ValueInfo {
  const name = v.name ?? '';
  const type = convertType(v.type, `value '${name}' of graph '${graphName}'`);
  return type ? { name, type } : { name };
}

function convertGraph(gp: OnnxNamespace.IGraphProto, cx: ConvertCtx): Graph {
  const name = gp.name || 'graph';
  const initializers = new Map<string, HostTensor>();
  for (const t of gp.initializer ?? []) {
    initializers.set(t.name ?? '', decodeTensor(t, { external: cx.opts.external, where: cx.opts.source }));
  }
  for (const st of gp.sparseInitializer ?? []) {
    const dense = densifySparse(st, cx);
    initializers.set(dense.name, dense.tensor);
  }
  const valueInfo = new Map<string, ValueType>();
  for (const v of gp.valueInfo ?? []) {
    const vi = convertValueInfo(v, name);
    if (vi.type) valueInfo.set(vi.name, vi.type);
  }
  const nodes: Node[] = [];
  const usedNames = new Set<string>();
  for (const np of gp.node ?? []) {
    const node = convertNode(np, cx, usedNames);
    expandFunctions(node, cx, nodes, usedNames);
  }
  return {
    name,
    inputs: (gp.input ?? []).map((v) => convertValueInfo(v, name)),
    outputs: (gp.output ?? []).map((v) => convertValueInfo(v, name)),
    initializers,
    nodes,
    valueInfo,
    docString: gp.docString ?? undefined,
  };
}

function uniqueName(base: string, used: Set<string>): string {
  let n = base;
  for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
  used.add(n);
  return n;
}

function convertNode(np: OnnxNamespace.INodeProto, cx: ConvertCtx, used: Set<string>): Node {
  const opType = np.opType ?? '';
  const attributes: Record<string, Attr> = {};
  for (const a of np.attribute ?? []) {
    const attr = convertAttr(a, cx, `node '${np.name ?? opType}'`);
    if (attr) attributes[a.name ?? ''] = attr;
    else if (a.refAttrName) attributes[a.name ?? ''] = { kind: 'string', value: `\u0000ref:${a.refAttrName}` };
  }
  const name = uniqueName(np.name || `${opType}_${cx.unnamed++}`, used);
  return {
    name,
    opType,
    domain: normalizeDomain(np.domain),
    inputs: [...(np.input ?? [])],
    outputs: [...(np.output ?? [])],
    attributes,
    docString: np.docString || undefined,
  };
}

const AT = onnx.AttributeProto.AttributeType;

function convertAttr(a: OnnxNamespace.IAttributeProto, cx: ConvertCtx, where: string): Attr | undefined {
  if (a.refAttrName) return undefined;
  let type = a.type ?? 0;
  if (!type) {
    // Old models omit the type: infer it from the field that is set.
    if (a.g) type = AT.GRAPH;
    else if (a.t) type = AT.TENSOR;
    else if (a.s && a.s.length) type = AT.STRING;
    else if (a.floats?.length) type = AT.FLOATS;
    else if (a.ints?.length) type = AT.INTS;
    else if (a.strings?.length) type = AT.STRINGS;
    else if (a.graphs?.length) type = AT.GRAPHS;
    else if (a.tensors?.length) type = AT.TENSORS;
    else if (a.f !== undefined && a.f !== 0) type = AT.FLOAT;
    else type = AT.INT;
  }
  const w = `${where} attribute '${a.name}'`;
  switch (type) {
    case AT.FLOAT: return { kind: 'float', value: a.f ?? 0 };
    case AT.INT: return { kind: 'int', value: toNum(a.i) };
    case AT.STRING: return { kind: 'string', value: utf8.decode(a.s ?? new Uint8Array()) };
    case AT.TENSOR: return { kind: 'tensor', value: decodeTensor(a.t ?? {}, { external: cx.opts.external, where: w }) };
    case AT.GRAPH: return { kind: 'graph', value: convertGraph(a.g ?? {}, cx) };
    case AT.FLOATS: return { kind: 'floats', value: [...(a.floats ?? [])] };
    case AT.INTS: return { kind: 'ints', value: (a.ints ?? []).map((x) => toNum(x)) };
    case AT.STRINGS: return { kind: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case AT.TENSORS: return { kind: 'tensors', value: (a.tensors ?? []).map((t) => decodeTensor(t, { external: cx.opts.external, where: w })) };
    case AT.GRAPHS: return { kind: 'graphs', value: (a.graphs ?? []).map((g) => convertGraph(g, cx)) };
    case AT.SPARSE_TENSOR: return { kind: 'sparse', value: densifySparse(a.sparseTensor ?? {}, cx).tensor };
    case AT.TYPE_PROTO: { const t = convertType(a.tp, w); return t ? { kind: 'type', value: t } : undefined; }
    case AT.TYPE_PROTOS: return { kind: 'types', value: ((a as { tps?: OnnxNamespace.ITypeProto[] }).tps ?? []).map((t) => convertType(t, w)).filter((t): t is ValueType => !!t) };
    default: throw new ModelLoadError(`${w} has unknown attribute type ${type}`);
  }
}

function densifySparse(st: OnnxNamespace.ISparseTensorProto, cx: ConvertCtx): { name: string; tensor: HostTensor } {
  const values = decodeTensor(st.values ?? {}, { external: cx.opts.external });
  const indices = decodeTensor(st.indices ?? {}, { external: cx.opts.external });
  const dims = (st.dims ?? []).map((d) => toNum(d));
  const n = dims.reduce((a, b) => a * b, 1);
  const out = { kind: 'tensor', dtype: values.dtype, dims, data: new (values.data.constructor as new (n: number) => HostTensor['data'])(n) } as HostTensor;
  const nnz = values.data.length;
  const idx = indices.data as BigInt64Array;
  const strides: number[] = [];
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { strides[i] = acc; acc *= dims[i]!; }
  for (let k = 0; k < nnz; k++) {
    let off = 0;
    if (indices.dims.length === 1) off = Number(idx[k]);
    else for (let d = 0; d < dims.length; d++) off += Number(idx[k * dims.length + d]) * strides[d]!;
    (out.data as unknown as unknown[])[off] = (values.data as unknown as unknown[])[k];
  }
  return { name: values.dims ? (st.values?.name ?? '') : '', tensor: out };
}

// ---- model-local functions ----

function convertFunction(f: OnnxNamespace.IFunctionProto, opts: ImportOptions): FunctionDef {
  const cx: ConvertCtx = { opts, functions: new Map(), unnamed: 0, inlineCount: 0 };
  const used = new Set<string>();
  const opsets: Record<string, number> = {};
  for (const o of f.opsetImport ?? []) opsets[normalizeDomain(o.domain)] = toNum(o.version);
  return {
    name: f.name ?? '',
    domain: normalizeDomain(f.domain),
    inputs: [...(f.input ?? [])],
    outputs: [...(f.output ?? [])],
    attributes: [...(f.attribute ?? [])],
    attributeDefaults: {},
    nodes: (f.node ?? []).map((n) => convertNode(n, cx, used)),
    opsets,
  };
}

/** Push `node`, or the body of the model-local function it calls with names made unique. */
function expandFunctions(node: Node, cx: ConvertCtx, out: Node[], used: Set<string>, depth = 0): void {
  const fn = cx.functions.get(`${node.domain}:${node.opType}`);
  if (!fn) {
    out.push(node);
    return;
  }
  if (depth > 32) throw new ModelLoadError(`function ${node.opType} is recursive`, cx.opts.source);
  const prefix = `${node.name}/`;
  const rename = new Map<string, string>();
  fn.inputs.forEach((n, i) => rename.set(n, node.inputs[i] ?? ''));
  fn.outputs.forEach((n, i) => rename.set(n, node.outputs[i] ?? ''));
  const mapName = (n: string) => (n === '' ? '' : rename.get(n) ?? `${prefix}${n}`);
  for (const inner of fn.nodes) {
    const attributes: Record<string, Attr> = {};
    for (const [k, a] of Object.entries(inner.attributes)) {
      if (a.kind === 'string' && a.value.startsWith('\u0000ref:')) {
        const ref = a.value.slice(5);
        const v = node.attributes[ref] ?? fn.attributeDefaults[ref];
        if (v) attributes[k] = v;
      } else {
        attributes[k] = a.kind === 'graph' ? { kind: 'graph', value: renameGraphRefs(a.value, mapName) } : a;
      }
    }
    const copy: Node = {
      ...inner,
      name: uniqueName(`${prefix}${inner.name}`, used),
      inputs: inner.inputs.map(mapName),
      outputs: inner.outputs.map(mapName),
      attributes,
    };
    expandFunctions(copy, cx, out, used, depth + 1);
  }
  cx.inlineCount++;
}

/** A subgraph inside an inlined function reads outer names that must be renamed too. */
function renameGraphRefs(g: Graph, mapName: (n: string) => string): Graph {
  const local = new Set<string>([...g.inputs.map((i) => i.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) local.add(o);
  const m = (n: string) => (n === '' || local.has(n) ? n : mapName(n));
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.map(m) })),
    outputs: g.outputs.map((o) => ({ ...o, name: m(o.name) })),
  };
}
