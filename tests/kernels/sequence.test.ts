// Sequence ops against onnxruntime-node for what the ONNX node tests miss (ConcatFromSequence,
// SequenceErase/At/Length, uneven splits), and the typed errors for bad positions.
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../graph/errors.js';
import type { SequenceValue } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { T, compareWithOrt, f32, graph, i64, int, node, vi } from './control-helpers.js';

describe('sequence ops vs onnxruntime-node', () => {
  it('SplitToSequence by a scalar size (uneven), SequenceLength/At, ConcatFromSequence on the axis', async () => {
    const g = graph(
      [vi('x', T('float32', [3, 5]))],
      [vi('len', T('int64', [])), vi('last', T('float32')), vi('back', T('float32'))],
      [
        node('SplitToSequence', ['x', 'two'], ['s'], { axis: int(1) }),
        node('SequenceLength', ['s'], ['len']),
        node('SequenceAt', ['s', 'minus1'], ['last']),
        node('ConcatFromSequence', ['s'], ['back'], { axis: int(-1) }),
      ],
      { two: i64([], [2]), minus1: i64([], [-1]) },
    );
    await compareWithOrt(g, { x: f32([3, 5]) }, 13);
  });

  it('SplitToSequence keepdims=0, ConcatFromSequence new_axis', async () => {
    const g = graph(
      [vi('x', T('float32', [3, 4]))],
      [vi('y', T('float32')), vi('z', T('float32'))],
      [
        node('SplitToSequence', ['x'], ['s'], { axis: int(0), keepdims: int(0) }),
        node('ConcatFromSequence', ['s'], ['y'], { axis: int(1), new_axis: int(1) }),
        node('ConcatFromSequence', ['s'], ['z'], { axis: int(-1), new_axis: int(1) }),
      ],
    );
    await compareWithOrt(g, { x: f32([3, 4]) }, 13);
  });

  it('SplitToSequence by sizes, SequenceErase, SequenceInsert at positions, SequenceEmpty', async () => {
    const g = graph(
      [vi('x', T('float32', [5, 2]))],
      [vi('y', T('float32')), vi('n', T('int64', []))],
      [
        node('SplitToSequence', ['x', 'sizes'], ['s'], { axis: int(0) }),
        node('SequenceErase', ['s', 'one'], ['s1']),
        node('SequenceErase', ['s1'], ['s2']),
        node('SequenceAt', ['s', 'one'], ['mid']),
        node('SequenceInsert', ['s2', 'mid', 'zero'], ['s3']),
        node('SequenceInsert', ['s3', 'mid'], ['s4']),
        node('ConcatFromSequence', ['s4'], ['y'], { axis: int(0) }),
        node('SequenceEmpty', [], ['e'], { dtype: int(1) }),
        node('SequenceInsert', ['e', 'mid'], ['e1']),
        node('SequenceLength', ['e1'], ['n']),
      ],
      { sizes: i64([3], [1, 3, 1]), one: i64([], [1]), zero: i64([], [0]) },
    );
    await compareWithOrt(g, { x: f32([5, 2]) }, 13);
  });

  it('refuses positions out of range and empty concatenation with typed errors', () => {
    const g = graph([vi('x', T('float32', [2, 2]))], [vi('y', T('float32'))], [
      node('SplitToSequence', ['x'], ['s'], { axis: int(0) }),
      node('SequenceAt', ['s', 'five'], ['y']),
    ], { five: i64([], [5]) });
    expect(() => interpret(g, new Map([['x', f32([2, 2])]]), { opsets: { '': 13 } })).toThrow(/position 5 is out of range/);
    const e = graph([], [vi('y', T('float32'))], [
      node('SequenceEmpty', [], ['s']),
      node('ConcatFromSequence', ['s'], ['y'], { axis: int(0) }),
    ]);
    expect(() => interpret(e, new Map(), { opsets: { '': 13 } })).toThrow(KernelError);
  });

  it('SequenceEmpty keeps its element type', () => {
    const g = graph([], [vi('s', { kind: 'sequence', elem: T('int64') })], [node('SequenceEmpty', [], ['s'], { dtype: int(7) })]);
    const s = interpret(g, new Map(), { opsets: { '': 13 } }).get('s') as SequenceValue;
    expect(s.kind).toBe('sequence');
    expect(s.items.length).toBe(0);
    expect(s.elemType).toBe('int64');
  });
});
