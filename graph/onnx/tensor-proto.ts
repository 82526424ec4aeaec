// TensorProto <-> HostTensor, for initializers, Constant attributes and test data.
import { type DType, BYTES, dtypeFromOnnx, newArray, onnxTypeName, ONNX_CODE } from '../dtype.js';
import { ExternalDataError, ModelLoadError } from '../errors.js';
import { type HostTensor, checkedSize } from '../tensor.js';
import { type OnnxNamespace, toBig, toNum } from './proto.js';

type ITensorProto = OnnxNamespace.ITensorProto;

/** Reads the bytes of an external-data file; the caller has already checked the path is allowed. */
export type ExternalDataReader = (location: string, offset: number, length: number | undefined) => Uint8Array;

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

export function decodeTensor(p: ITensorProto, opts: { external?: ExternalDataReader; where?: string } = {}): HostTensor {
  const name = p.name || '(unnamed)';
  const where = opts.where ? `${opts.where}: ` : '';
  const code = p.dataType ?? 0;
  const dtype = dtypeFromOnnx(code);
  if (!dtype) throw new ModelLoadError(`${where}tensor '${name}' has element type ${onnxTypeName(code)}, which tgraph does not support`);
  const dims = (p.dims ?? []).map((d) => toNum(d));
  const n = checkedSize(dims, `tensor '${name}'`);
  let raw = p.rawData && p.rawData.length ? p.rawData : undefined;
  if (p.dataLocation === 1) {
    if (!opts.external) throw new ExternalDataError(`${where}tensor '${name}' uses external data, but the model was not loaded from a file`);
    const kv = new Map((p.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
    const location = kv.get('location');
    if (!location) throw new ExternalDataError(`${where}tensor '${name}' has external data without a location`);
    const offset = Number(kv.get('offset') ?? 0);
    const length = kv.has('length') ? Number(kv.get('length')) : undefined;
    raw = opts.external(location, offset, length ?? n * BYTES[dtype]);
  }
  if (dtype === 'string') {
    const strs = (p.stringData ?? []).map((b) => utf8.decode(b));
    if (strs.length !== n) throw new ModelLoadError(`${where}tensor '${name}' has ${strs.length} strings for shape [${dims.join(',')}]`);
    return { kind: 'tensor', dtype, dims, data: strs };
  }
  if (raw) {
    const need = n * BYTES[dtype];
    if (raw.length < need) throw new ModelLoadError(`${where}tensor '${name}' has ${raw.length} bytes of data, shape [${dims.join(',')}] of ${dtype} needs ${need}`);
    const copy = new Uint8Array(need);
    copy.set(raw.subarray(0, need));
    return { kind: 'tensor', dtype, dims, data: viewOf(dtype, copy.buffer, n) };
  }
  const data = newArray(dtype, n) as unknown as Record<number, number | bigint>;
  const fill = (src: ArrayLike<unknown> | null | undefined, conv: (v: never) => number | bigint) => {
    const s = src ?? [];
    if (s.length !== n && !(n === 0 && s.length === 0)) throw new ModelLoadError(`${where}tensor '${name}' has ${s.length} values for shape [${dims.join(',')}] (${n} elements)`);
    for (let i = 0; i < n; i++) data[i] = conv(s[i] as never);
  };
  switch (dtype) {
    case 'float32': fill(p.floatData, (v: number) => v); break;
    case 'float64': fill(p.doubleData, (v: number) => v); break;
    case 'int64': fill(p.int64Data, (v: number) => toBig(v)); break;
    case 'uint64': fill(p.uint64Data, (v: number) => toBig(v, true)); break;
    case 'uint32': fill(p.uint64Data, (v: number) => toNum(v)); break;
    default: fill(p.int32Data, (v: number) => v); break; // int8/16/32, uint8/16, bool, float16/bfloat16 bits
  }
  return { kind: 'tensor', dtype, dims, data: data as unknown as HostTensor['data'] };
}

function viewOf(dtype: DType, buf: ArrayBufferLike, n: number): HostTensor['data'] {
  switch (dtype) {
    case 'float32': return new Float32Array(buf, 0, n);
    case 'float64': return new Float64Array(buf, 0, n);
    case 'float16': case 'bfloat16': case 'uint16': return new Uint16Array(buf, 0, n);
    case 'int8': return new Int8Array(buf, 0, n);
    case 'int16': return new Int16Array(buf, 0, n);
    case 'int32': return new Int32Array(buf, 0, n);
    case 'int64': return new BigInt64Array(buf, 0, n);
    case 'uint8': case 'bool': return new Uint8Array(buf, 0, n);
    case 'uint32': return new Uint32Array(buf, 0, n);
    case 'uint64': return new BigUint64Array(buf, 0, n);
    case 'string': throw new Error('strings have no raw view');
  }
}

/** HostTensor -> TensorProto (numbers as raw_data, strings as string_data). */
export function encodeTensor(t: HostTensor, name = ''): ITensorProto {
  const p: ITensorProto = { name, dataType: ONNX_CODE[t.dtype], dims: [...t.dims] };
  if (t.dtype === 'string') {
    p.stringData = (t.data as string[]).map((s) => utf8enc.encode(s));
  } else {
    const d = t.data as Exclude<HostTensor['data'], string[]>;
    p.rawData = new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
  }
  return p;
}
