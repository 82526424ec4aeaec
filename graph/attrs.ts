// Typed reading of node attributes with ONNX defaults.
import type { Attr, Graph, Node, ValueType } from './ir.js';
import type { HostTensor } from './tensor.js';
import { ShapeError } from './errors.js';

export class AttrReader {
  constructor(private readonly node: Node) {}

  has(name: string): boolean {
    return name in this.node.attributes;
  }
  private get<K extends Attr['kind']>(name: string, kind: K): Extract<Attr, { kind: K }>['value'] | undefined {
    const a = this.node.attributes[name];
    if (a === undefined) return undefined;
    if (a.kind !== kind) {
      // ONNX producers sometimes write an int where a float is expected and vice versa.
      if (kind === 'float' && a.kind === 'int') return a.value as never;
      if (kind === 'int' && a.kind === 'float') return a.value as never;
      if (kind === 'floats' && a.kind === 'ints') return a.value as never;
      if (kind === 'ints' && a.kind === 'floats') return a.value as never;
      throw new ShapeError(`attribute '${name}' should be ${kind}, got ${a.kind}`, this.node.name, this.node.opType);
    }
    return a.value as never;
  }
  int(name: string): number | undefined;
  int(name: string, dflt: number): number;
  int(name: string, dflt?: number): number | undefined {
    return this.get(name, 'int') ?? dflt;
  }
  float(name: string): number | undefined;
  float(name: string, dflt: number): number;
  float(name: string, dflt?: number): number | undefined {
    return this.get(name, 'float') ?? dflt;
  }
  string(name: string): string | undefined;
  string(name: string, dflt: string): string;
  string(name: string, dflt?: string): string | undefined {
    return this.get(name, 'string') ?? dflt;
  }
  ints(name: string): number[] | undefined;
  ints(name: string, dflt: number[]): number[];
  ints(name: string, dflt?: number[]): number[] | undefined {
    return this.get(name, 'ints') ?? dflt;
  }
  floats(name: string): number[] | undefined;
  floats(name: string, dflt: number[]): number[];
  floats(name: string, dflt?: number[]): number[] | undefined {
    return this.get(name, 'floats') ?? dflt;
  }
  strings(name: string): string[] | undefined;
  strings(name: string, dflt: string[]): string[];
  strings(name: string, dflt?: string[]): string[] | undefined {
    return this.get(name, 'strings') ?? dflt;
  }
  tensor(name: string): HostTensor | undefined {
    return this.get(name, 'tensor');
  }
  tensors(name: string): HostTensor[] | undefined {
    return this.get(name, 'tensors');
  }
  graph(name: string): Graph | undefined {
    return this.get(name, 'graph');
  }
  type(name: string): ValueType | undefined {
    return this.get(name, 'type');
  }
  /** The attribute, or a typed error naming the node when it is required and absent. */
  required<K extends 'int' | 'ints' | 'float' | 'floats' | 'string' | 'strings' | 'tensor' | 'graph'>(name: string, kind: K): Extract<Attr, { kind: K }>['value'] {
    const v = this.get(name, kind);
    if (v === undefined) throw new ShapeError(`required attribute '${name}' is missing`, this.node.name, this.node.opType);
    return v as never;
  }
}
