// Test-data protos that onnx-proto lacks (onnx-data.proto: SequenceProto, OptionalProto),
// decoded by hand; tensors inside go through onnx.TensorProto.
import { ModelLoadError } from '../errors.js';
import type { HostTensor, RtValue } from '../tensor.js';
import { onnx } from './proto.js';
import { decodeTensor } from './tensor-proto.js';

interface Field { no: number; wire: number; bytes?: Uint8Array; varint?: number }

function* fields(buf: Uint8Array): Generator<Field> {
  let p = 0;
  const varint = () => {
    let r = 0;
    let mul = 1;
    for (;;) {
      if (p >= buf.length) throw new ModelLoadError('truncated protobuf');
      const b = buf[p++]!;
      r += (b & 0x7f) * mul;
      if (!(b & 0x80)) return r;
      mul *= 128;
    }
  };
  while (p < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) yield { no, wire, varint: varint() };
    else if (wire === 2) {
      const len = varint();
      yield { no, wire, bytes: buf.subarray(p, p + len) };
      p += len;
    } else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else throw new ModelLoadError(`unsupported protobuf wire type ${wire}`);
  }
}

const ELEM = { tensor: 1, sparse: 2, sequence: 3, map: 4, optional: 5 } as const;

export function decodeSequence(buf: Uint8Array): RtValue {
  const items: HostTensor[] = [];
  let elemType = 0;
  for (const f of fields(buf)) {
    if (f.no === 2) elemType = f.varint!;
    else if (f.no === 3) items.push(decodeTensor(onnx.TensorProto.decode(f.bytes!)));
    else if (f.no === 5) throw new ModelLoadError('sequences of sequences are not supported');
  }
  if (elemType && elemType !== ELEM.tensor) throw new ModelLoadError(`sequence element kind ${elemType} is not supported`);
  return { kind: 'sequence', items, elemType: items[0]?.dtype };
}

export function decodeOptional(buf: Uint8Array): RtValue {
  let value: HostTensor | RtValue | null = null;
  let elemType = 0;
  for (const f of fields(buf)) {
    if (f.no === 2) elemType = f.varint!;
    else if (f.no === 3) value = decodeTensor(onnx.TensorProto.decode(f.bytes!));
    else if (f.no === 5) value = decodeSequence(f.bytes!);
  }
  const kind = elemType === ELEM.sequence ? 'sequence' : 'tensor';
  return { kind: 'optional', value: value as HostTensor | null, elem: { kind } };
}

/** Decode a test-data file whose proto kind follows from the value's declared type. */
export function decodeValue(buf: Uint8Array, kind: 'tensor' | 'sequence' | 'optional' | 'map'): RtValue {
  if (kind === 'sequence') return decodeSequence(buf);
  if (kind === 'optional') return decodeOptional(buf);
  if (kind === 'map') throw new ModelLoadError('map values are not supported');
  return decodeTensor(onnx.TensorProto.decode(buf));
}
