// Shape rules of the manip family with symbolic dims and constant shape inputs (the ONNX test data
// only has concrete shapes).
import { describe, expect, it } from 'vitest';
import type { DType } from '../../graph/dtype.js';
import type { Attr, Dim, Graph, ValueType } from '../../graph/ir.js';
import { inferGraph } from '../../graph/infer.js';
import type { HostTensor } from '../../graph/tensor.js';
import { int, ints, t } from './manip-helpers.js';
import { AttrReader } from '../../graph/attrs.js';
import { manipOps } from '../../graph/ops/manip.js';
import { manipValueRules } from '../../graph/ops/manip-values.js';
import type { InferContext } from '../../graph/ops/types.js';

function infer(opType: string, x: { dtype: DType; shape?: Dim[] }, consts: (HostTensor | undefined)[], attrs: Record<string, Attr> = {}, opset = 18, outputs = ['y']): (ValueType | undefined)[] {
  const names = ['x', ...consts.map((c, i) => (c ? `c${i}` : ''))];
  const g: Graph = {
    name: 'g',
    inputs: [{ name: 'x', type: { kind: 'tensor', ...x } }],
    outputs: outputs.map((name) => ({ name })),
    initializers: new Map(consts.flatMap((c, i) => (c ? [[`c${i}`, c] as const] : []))),
    nodes: [{ name: 'n', opType, domain: '', inputs: names, outputs, attributes: attrs }],
    valueInfo: new Map(),
  };
  const r = inferGraph(g, { opsets: { '': opset }, strict: true });
  return outputs.map((o) => r.types.get(o));
}
const shape = (v: ValueType | undefined) => (v?.kind === 'tensor' ? v.shape : undefined);
const i64 = (v: number[]) => t('int64', [v.length], v);

describe('manip shape rules with symbolic dims', () => {
  it('Reshape copies dims (0), solves -1 by cancelling symbols', () => {
    expect(shape(infer('Reshape', { dtype: 'float32', shape: ['N', 3, 4] }, [i64([0, -1])])[0])).toEqual(['N', 12]);
    expect(shape(infer('Reshape', { dtype: 'float32', shape: ['N', 12] }, [i64([-1, 3, 4])])[0])).toEqual(['N', 3, 4]);
    expect(shape(infer('Reshape', { dtype: 'float32', shape: ['B', 'S', 64] }, [i64([0, 0, 8, 8])])[0])).toEqual(['B', 'S', 8, 8]);
    const [y] = infer('Reshape', { dtype: 'float32', shape: ['N', 3, 4] }, [i64([-1, 4])]);
    expect(shape(y)![1]).toBe(4);
    expect(typeof shape(y)![0]).toBe('string');
    expect(() => infer('Reshape', { dtype: 'float32', shape: [2, 3] }, [i64([4, -1])])).toThrow(/cannot reshape/);
  });

  it('Squeeze, Unsqueeze (attribute and input forms), Flatten', () => {
    expect(shape(infer('Squeeze', { dtype: 'int64', shape: ['N', 1, 3] }, [i64([1])])[0])).toEqual(['N', 3]);
    expect(shape(infer('Squeeze', { dtype: 'int64', shape: ['N', 1, 3] }, [], { axes: ints([-2]) }, 11)[0])).toEqual(['N', 3]);
    expect(shape(infer('Squeeze', { dtype: 'int64', shape: ['N', 1, 3] }, [])[0])).toBeUndefined();
    expect(shape(infer('Unsqueeze', { dtype: 'int64', shape: ['N', 3] }, [i64([0, -1])])[0])).toEqual([1, 'N', 3, 1]);
    expect(shape(infer('Flatten', { dtype: 'int64', shape: ['N', 3, 4] }, [], { axis: int(1) })[0])).toEqual(['N', 12]);
  });

  it('Slice keeps untouched and full-range symbolic dims', () => {
    const [y] = infer('Slice', { dtype: 'float32', shape: ['N', 10] }, [i64([0, 2]), i64([2 ** 62, -1])]);
    expect(shape(y)).toEqual(['N', 7]);
    const [z] = infer('Slice', { dtype: 'float32', shape: ['N', 10] }, [i64([1]), i64([3])]);
    expect(shape(z)![1]).toBe(10);
    expect(typeof shape(z)![0]).toBe('string');
  });

  it('Concat, Split, Gather, Transpose, Expand, Pad, Tile', () => {
    expect(shape(infer('Concat', { dtype: 'float32', shape: ['N', 3] }, [t('float32', [1, 5], [1, 2, 3, 4, 5])], { axis: int(1) })[0])).toEqual([1, 8]); // a concrete dim pins the symbol
    const parts = infer('Split', { dtype: 'float32', shape: ['N', 10] }, [i64([3, 7])], { axis: int(1) }, 18, ['a', 'b']);
    expect(parts.map(shape)).toEqual([['N', 3], ['N', 7]]);
    expect(shape(infer('Gather', { dtype: 'float32', shape: ['N', 5, 7] }, [t('int64', [2, 3], [0, 1, 2, 3, 4, 0])], { axis: int(1) })[0])).toEqual(['N', 2, 3, 7]);
    expect(shape(infer('Transpose', { dtype: 'float32', shape: ['B', 'S', 8] }, [], { perm: ints([1, 0, 2]) })[0])).toEqual(['S', 'B', 8]);
    expect(shape(infer('Expand', { dtype: 'float32', shape: ['N', 1] }, [i64([1, 4])])[0])).toEqual(['N', 4]);
    expect(shape(infer('Pad', { dtype: 'float32', shape: ['N', 3] }, [i64([0, 1, 0, 2])])[0])).toEqual(['N', 6]);
    expect(shape(infer('Tile', { dtype: 'float32', shape: ['N', 3] }, [i64([1, 2])])[0])).toEqual(['N', 6]);
  });

  it('data-dependent outputs get rank and dtype, with distinct symbols', () => {
    const [nz] = infer('NonZero', { dtype: 'float32', shape: ['N', 3] }, []);
    expect(nz).toMatchObject({ dtype: 'int64', shape: [2, expect.any(String)] });
    const u = infer('Unique', { dtype: 'float32', shape: [6] }, [], {}, 18, ['u', 'i', 'inv', 'c']);
    expect(u.map(shape).map((s) => s?.length)).toEqual([1, 1, 1, 1]);
    expect(shape(u[2])).toEqual([6]);
  });
});

describe('symbolic values of shape tensors (data propagation)', () => {
  /** A context over given input types, constants and symbolic values (the proposed InferContext extension). */
  function ctx(opType: string, inputs: (ValueType | undefined)[], consts: (HostTensor | undefined)[], syms: (Dim[] | undefined)[], attrs: Record<string, Attr> = {}): InferContext {
    const node = { name: 'n', opType, domain: '', inputs: inputs.map((_, i) => `i${i}`), outputs: ['y'], attributes: attrs };
    return { node, opset: 18, attrs: new AttrReader(node), inputs, inputCount: inputs.length, constant: (i) => consts[i], symbolicValue: (i: number) => syms[i] } as InferContext;
  }
  const T = (dtype: DType, shape: Dim[]): ValueType => ({ kind: 'tensor', dtype, shape });

  it('Shape -> Gather -> Concat -> Reshape keeps the batch symbol', () => {
    const x = T('float32', ['B', 'S', 512]);
    const sh = manipValueRules.Shape!(ctx('Shape', [x], [], []));
    expect(sh).toEqual(['B', 'S', 512]);
    const g = manipValueRules.Gather!(ctx('Gather', [T('int64', [3]), T('int64', [2])], [undefined, t('int64', [2], [0, 1])], [sh]));
    expect(g).toEqual(['B', 'S']);
    const c = manipValueRules.Concat!(ctx('Concat', [T('int64', [2]), T('int64', [2])], [undefined, t('int64', [2], [8, 64])], [g]));
    expect(c).toEqual(['B', 'S', 8, 64]);
    const [y] = manipOps.Reshape.infer(ctx('Reshape', [x, T('int64', [4])], [], [undefined, c]));
    expect(y).toEqual(T('float32', ['B', 'S', 8, 64]));
    const [z] = manipOps.Reshape.infer(ctx('Reshape', [x, T('int64', [3])], [], [undefined, ['B', -1, 64]]));
    expect(z).toEqual(T('float32', ['B', '8*S', 64]));
  });

  it('constant weights are not read as dims (a Concat of float or large tensors has no symbolic value)', () => {
    const w = t('float32', [2], [1, 2]);
    expect(manipValueRules.Concat!(ctx('Concat', [T('float32', [2]), T('float32', [2])], [w, w], []))).toBeUndefined();
    const big = t('int64', [300], Array.from({ length: 300 }, (_, i) => i));
    expect(manipValueRules.Concat!(ctx('Concat', [T('int64', [300]), T('int64', [2])], [big, i64([1, 2])], []))).toBeUndefined();
    expect(manipValueRules.Concat!(ctx('Concat', [T('int64', [2]), T('int64', [2])], [i64([3, 4]), i64([1, 2])], []))).toEqual([3, 4, 1, 2]);
  });

  it('Expand and ConstantOfShape take symbolic shapes', () => {
    expect(manipOps.Expand.infer(ctx('Expand', [T('float32', [1, 4]), T('int64', [2])], [], [undefined, ['N', 1]]))[0]).toEqual(T('float32', ['N', 4]));
    expect(manipOps.ConstantOfShape.infer(ctx('ConstantOfShape', [T('int64', [2])], [], [['N', 3]]))[0]).toEqual(T('float32', ['N', 3]));
  });
});
