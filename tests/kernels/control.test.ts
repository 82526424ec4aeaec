// If/Loop/Scan against onnxruntime-node for what the ONNX node tests miss: zero-iteration loops,
// condition-only loops, Scan axes and directions (opset 9+), Scan 8 with sequence_lens, outer-scope reads.
import { describe, expect, it } from 'vitest';
import type { HostTensor } from '../../graph/tensor.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { markConstant } from '../../kernels/cpu/constants.js';
import { T, bool, compareWithOrt, f32, graph, i64, int, ints, node, sub, vi } from './control-helpers.js';

/** Loop body: x += outer w; cond = i < limit (outer); scan output: x. */
function loopBody() {
  return graph(
    [vi('i', T('int64', [])), vi('c', T('bool', [])), vi('x_in', T('float32', [2, 3]))],
    [vi('c_out', T('bool', [])), vi('x_out', T('float32', [2, 3])), vi('scan', T('float32', [2, 3]))],
    [
      node('Add', ['x_in', 'w'], ['x_out']),
      node('Identity', ['x_out'], ['scan']),
      node('Less', ['i', 'limit'], ['c_out']),
    ],
  );
}

describe('control ops vs onnxruntime-node', () => {
  it('Loop with M = 0 gives the initial values and empty scan outputs', async () => {
    const g = graph(
      [vi('m', T('int64', [])), vi('x', T('float32', [2, 3])), vi('w', T('float32', [2, 3])), vi('limit', T('int64', []))],
      [vi('y', T('float32', [2, 3])), vi('s', T('float32'))],
      [node('Loop', ['m', '', 'x'], ['y', 's'], { body: sub(loopBody()) })],
    );
    const got = await compareWithOrt(g, { m: i64([], [0]), x: f32([2, 3]), w: f32([2, 3]), limit: i64([], [10]) }, 13);
    expect((got.get('s') as HostTensor).dims).toEqual([0, 2, 3]);
  });

  it('Loop stopped by the body condition (no M), reading outer values', async () => {
    const g = graph(
      [vi('x', T('float32', [2, 3])), vi('w', T('float32', [2, 3])), vi('limit', T('int64', []))],
      [vi('y', T('float32', [2, 3])), vi('s', T('float32'))],
      [node('Loop', ['', 'go', 'x'], ['y', 's'], { body: sub(loopBody()) })],
      { go: bool(true) },
    );
    await compareWithOrt(g, { x: f32([2, 3]), w: f32([2, 3]), limit: i64([], [3]) }, 13);
  });

  it('Loop with M and an initially false condition runs no iteration', async () => {
    const g = graph(
      [vi('x', T('float32', [2, 3])), vi('w', T('float32', [2, 3])), vi('limit', T('int64', []))],
      [vi('y', T('float32', [2, 3])), vi('s', T('float32'))],
      [node('Loop', ['m', 'stop', 'x'], ['y', 's'], { body: sub(loopBody()) })],
      { m: i64([], [4]), stop: bool(false) },
    );
    await compareWithOrt(g, { x: f32([2, 3]), w: f32([2, 3]), limit: i64([], [3]) }, 13);
  });

  it('Loop with M and no cond input still stops when the body condition turns false (as onnxruntime)', async () => {
    const g = graph(
      [vi('x', T('float32', [2, 3])), vi('w', T('float32', [2, 3])), vi('limit', T('int64', []))],
      [vi('y', T('float32', [2, 3])), vi('s', T('float32'))],
      [node('Loop', ['m', '', 'x'], ['y', 's'], { body: sub(loopBody()) })],
      { m: i64([], [6]) },
    );
    const got = await compareWithOrt(g, { x: f32([2, 3]), w: f32([2, 3]), limit: i64([], [2]) }, 13);
    expect((got.get('s') as HostTensor).dims).toEqual([3, 2, 3]);
  });

  it('Scan 9+ with input axes and directions, output axes and directions', async () => {
    const body = graph(
      [vi('acc', T('float32', [2])), vi('a', T('float32', [2])), vi('b', T('float32', [2]))],
      [vi('acc_out', T('float32', [2])), vi('o1', T('float32', [2])), vi('o2', T('float32', [2]))],
      [
        node('Add', ['acc', 'a'], ['t']),
        node('Mul', ['t', 'b'], ['acc_out']),
        node('Identity', ['acc_out'], ['o1']),
        node('Sub', ['a', 'b'], ['o2']),
      ],
    );
    const g = graph(
      [vi('init', T('float32', [2])), vi('a', T('float32', [2, 4])), vi('b', T('float32', [4, 2]))],
      [vi('final', T('float32', [2])), vi('o1', T('float32')), vi('o2', T('float32'))],
      [node('Scan', ['init', 'a', 'b'], ['final', 'o1', 'o2'], {
        body: sub(body), num_scan_inputs: int(2),
        scan_input_axes: ints([1, 0]), scan_input_directions: ints([1, 0]),
        scan_output_axes: ints([-1, 0]), scan_output_directions: ints([0, 1]),
      })],
    );
    const b = f32([4, 2], [0.5, 1, 1.5, -1, 0.25, 2, -0.5, 1]);
    await compareWithOrt(g, { init: f32([2], [1, -1]), a: f32([2, 4]), b }, 16);
  });

  it('Scan 8 with a batch axis, sequence_lens and a reverse input', async () => {
    const body = graph(
      [vi('acc', T('float32', [2])), vi('a', T('float32', [2]))],
      [vi('acc_out', T('float32', [2])), vi('o', T('float32', [2]))],
      [node('Add', ['acc', 'a'], ['acc_out']), node('Identity', ['acc_out'], ['o'])],
    );
    const g = graph(
      [vi('lens', T('int64', [2])), vi('init', T('float32', [2, 2])), vi('a', T('float32', [2, 3, 2]))],
      [vi('final', T('float32')), vi('o', T('float32'))],
      [node('Scan', ['lens', 'init', 'a'], ['final', 'o'], { body: sub(body), num_scan_inputs: int(1), directions: ints([1]) })],
    );
    await compareWithOrt(g, { lens: i64([2], [3, 2]), init: f32([2, 2]), a: f32([2, 3, 2]) }, 8);
  });

  it('If picks a branch whose shapes differ, reading outer values', async () => {
    const thenG = graph([], [vi('r', T('float32'))], [node('Add', ['x', 'x'], ['r'])]);
    const elseG = graph([], [vi('r2', T('float32'))], [node('Concat', ['x', 'x'], ['r2'], { axis: int(0) })]);
    const g = graph(
      [vi('c', T('bool', [])), vi('x', T('float32', [2]))],
      [vi('y', T('float32'))],
      [node('If', ['c'], ['y'], { then_branch: sub(thenG), else_branch: sub(elseG) })],
    );
    await compareWithOrt(g, { c: bool(true), x: f32([2]) }, 13);
    await compareWithOrt(g, { c: bool(false), x: f32([2]) }, 13);
  });

  it('If branch nodes on constant initializers are folded once, across runs and when the initializer changes', async () => {
    // The CPU backend registers initializers (subgraphs' too) as constant; the interpreter then keeps
    // Unsqueeze(w) across runs, keyed by the input values, so a replaced initializer is recomputed.
    const w = f32([3], [0.5, -2, 3]);
    const axes = i64([1], [0]);
    markConstant(w.data);
    markConstant(axes.data);
    const thenG = graph([], [vi('r', T('float32'))], [node('Unsqueeze', ['w', 'axes'], ['uw']), node('Mul', ['uw', 'x'], ['r'])], { w, axes });
    const elseG = graph([], [vi('r2', T('float32'))], [node('Identity', ['x'], ['r2'])]);
    const g = graph(
      [vi('c', T('bool', [])), vi('x', T('float32', [2, 3]))],
      [vi('y', T('float32'))],
      [node('If', ['c'], ['y'], { then_branch: sub(thenG), else_branch: sub(elseG) })],
    );
    for (const x of [[1, 2, 3, 4, 5, 6], [-1, 0.25, 7, 8, -9, 10]]) await compareWithOrt(g, { c: bool(true), x: f32([2, 3], x) }, 13);
    const w2 = f32([3], [4, 5, -6]);
    markConstant(w2.data);
    thenG.initializers.set('w', w2);
    const got = await compareWithOrt(g, { c: bool(true), x: f32([2, 3]) }, 13);
    expect(Array.from((got.get('y') as HostTensor).data as Float32Array)).toEqual([4, 10, -18, 16, 25, -36]);
  });

  it('refuses a condition with more than one element', () => {
    const thenG = graph([], [vi('r', T('float32'))], [node('Identity', ['x'], ['r'])]);
    const g = graph([vi('c', T('bool', [2])), vi('x', T('float32', [2]))], [vi('y', T('float32'))], [
      node('If', ['c'], ['y'], { then_branch: sub(thenG), else_branch: sub(thenG) }),
    ]);
    const c: HostTensor = { kind: 'tensor', dtype: 'bool', dims: [2], data: Uint8Array.of(1, 0) };
    expect(() => interpret(g, new Map([['c', c], ['x', f32([2])]]), { opsets: { '': 13 } })).toThrow(/cond should hold one element/);
  });
});
