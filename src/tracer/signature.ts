// Call signatures of traced functions: the tensors of the arguments (found anywhere in arrays and
// plain objects), a cache key, and the description used to explain a retrace.
import type { DType } from '../../graph/dtype.js';
import { Tensor } from '../tensor.js';
import { TgTensor } from './tensor.js';

/** One leaf of the arguments: a tensor (dtype, dims) or any other value (its printed form). */
export type Leaf = { path: string; kind: 'tensor'; dtype: DType; dims: readonly number[] } | { path: string; kind: 'value'; repr: string };

export interface CallSignature {
  /** Exact key: dtypes, dims and values. */
  readonly key: string;
  /** Key with every tensor as 'T' (what must match exactly when dims are symbolic). */
  readonly valueKey: string;
  readonly tensors: (TgTensor | Tensor)[];
  readonly argCount: number;
}

function tensorDims(t: TgTensor | Tensor): readonly number[] {
  return t instanceof Tensor ? t.dims : (t.shape as readonly number[]);
}
function tensorDtype(t: TgTensor | Tensor): DType {
  return t instanceof Tensor ? t.type : t.dtype;
}

/** The fast part of every call: the key and the tensors, in one walk. */
export function callSignature(args: readonly unknown[]): CallSignature {
  const tensors: (TgTensor | Tensor)[] = [];
  let key = '';
  let valueKey = '';
  const walk = (x: unknown, depth: number): void => {
    if (x instanceof TgTensor || x instanceof Tensor) {
      tensors.push(x);
      key += `T${tensorDtype(x)}[${tensorDims(x).join(',')}]`;
      valueKey += 'T';
      return;
    }
    if (Array.isArray(x) && depth < 8) {
      key += '[';
      valueKey += '[';
      for (const v of x) walk(v, depth + 1);
      key += ']';
      valueKey += ']';
      return;
    }
    if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype && depth < 8) {
      key += '{';
      valueKey += '{';
      for (const k of Object.keys(x)) {
        key += k + ':';
        valueKey += k + ':';
        walk((x as Record<string, unknown>)[k], depth + 1);
      }
      key += '}';
      valueKey += '}';
      return;
    }
    const s = valueRepr(x);
    key += s + ';';
    valueKey += s + ';';
  };
  for (const a of args) walk(a, 0);
  return { key: `${args.length}|${key}`, valueKey: `${args.length}|${valueKey}`, tensors, argCount: args.length };
}

function valueRepr(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x);
  if (typeof x === 'function') return `fn:${x.name || 'anonymous'}`;
  if (typeof x === 'bigint') return `${x}n`;
  if (x !== null && typeof x === 'object') {
    try {
      return JSON.stringify(x);
    } catch {
      return Object.prototype.toString.call(x);
    }
  }
  return String(x);
}

/** Every leaf with its path, for explanations and input names. */
export function leavesOf(args: readonly unknown[], names: readonly string[]): Leaf[] {
  const out: Leaf[] = [];
  const walk = (x: unknown, path: string, depth: number): void => {
    if (x instanceof TgTensor || x instanceof Tensor) out.push({ path, kind: 'tensor', dtype: tensorDtype(x), dims: tensorDims(x) });
    else if (Array.isArray(x) && depth < 8) x.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1));
    else if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype && depth < 8) {
      for (const [k, v] of Object.entries(x)) walk(v, `${path}.${k}`, depth + 1);
    } else out.push({ path, kind: 'value', repr: valueRepr(x) });
  };
  args.forEach((a, i) => walk(a, names[i] ?? `arg${i}`, 0));
  return out;
}

export function describeLeaf(l: Leaf | undefined): string {
  if (!l) return '(absent)';
  return l.kind === 'tensor' ? `tensor ${l.dtype}[${l.dims.join(',')}]` : `value ${l.repr}`;
}

/** What changed between the leaves of two calls. */
export function diffLeaves(before: readonly Leaf[], after: readonly Leaf[]): { path: string; from: string; to: string }[] {
  const a = new Map(before.map((l) => [l.path, l]));
  const b = new Map(after.map((l) => [l.path, l]));
  const out: { path: string; from: string; to: string }[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const from = describeLeaf(a.get(path));
    const to = describeLeaf(b.get(path));
    if (from !== to) out.push({ path, from, to });
  }
  return out;
}

/** Parameter names of a function, best effort from its source. */
export function paramNames(f: (...a: never[]) => unknown): string[] {
  const src = Function.prototype.toString.call(f);
  const m = /^(?:async\s*)?(?:function\s*\*?\s*[\w$]*\s*)?\(([^)]*)\)/.exec(src) ?? /^(?:async\s*)?([\w$]+)\s*=>/.exec(src);
  if (!m) return [];
  return m[1]!.split(',').map((p) => p.trim().replace(/[=:].*$/s, '').replace(/^\.\.\./, '').trim()).map((p) => (/^[\w$]+$/.test(p) ? p : ''));
}
