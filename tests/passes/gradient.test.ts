// Gradient lowering checked against central finite differences in float64.
import { describe, expect, it } from 'vitest';
import { expandGradients } from '../../graph/passes/index.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { verifyGraph } from '../../graph/verify.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { interpret } from '../../kernels/cpu/interpreter.js';
import { buildModel } from '../helpers/build.js';

const f64 = (dims: number[], data: number[]): HostTensor => ({ kind: 'tensor', dtype: 'float64', dims, data: Float64Array.from(data) });

describe('Gradient lowering', () => {
  it('differentiates Add, Sub, Mul, Div and Neg through broadcasting', () => {
    // y = sum-free elementwise: y = ((a + b) * a - b / a) * -1, with b broadcast from [3] to [2,3]
    const model = buildModel({
      inputs: [['a', 'float64', [2, 3]], ['b', 'float64', [3]]],
      outputs: [['y', 'float64'], ['da', 'float64'], ['db', 'float64']],
      nodes: [
        { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'a'], outputs: ['m'] },
        { op: 'Div', inputs: ['b', 'a'], outputs: ['q'] },
        { op: 'Sub', inputs: ['m', 'q'], outputs: ['d'] },
        { op: 'Neg', inputs: ['d'], outputs: ['y'] },
        { op: 'Gradient', domain: 'ai.onnx.preview.training', inputs: ['a', 'b'], outputs: ['da', 'db'], attrs: { xs: { kind: 'strings', value: ['a', 'b'] }, y: { kind: 'string', value: 'y' } } },
      ],
    });
    model.opsets['ai.onnx.preview.training'] = 1;
    expect(expandGradients(model, evaluateConstantNode)).toBe(1);
    verifyGraph(model.graph);
    const a = [0.5, 1.5, -2, 3, 0.7, -1.1];
    const b = [0.3, -0.8, 2.2];
    const out = interpret(model.graph, new Map<string, RtValue>([['a', f64([2, 3], a)], ['b', f64([3], b)]]), { opsets: model.opsets });
    // The gradient of sum(y) (the seed is ones) by central differences.
    const f = (av: number[], bv: number[]) => av.reduce((acc, x, i) => acc - ((x + bv[i % 3]!) * x - bv[i % 3]! / x), 0);
    const h = 1e-6;
    const da = a.map((_, i) => (f(a.map((v, j) => (j === i ? v + h : v)), b) - f(a.map((v, j) => (j === i ? v - h : v)), b)) / (2 * h));
    const db = b.map((_, i) => (f(a, b.map((v, j) => (j === i ? v + h : v))) - f(a, b.map((v, j) => (j === i ? v - h : v)))) / (2 * h));
    const got = (n: string) => Array.from((out.get(n) as HostTensor).data as Float64Array);
    got('da').forEach((v, i) => expect(v).toBeCloseTo(da[i]!, 5));
    expect((out.get('db') as HostTensor).dims).toEqual([3]);
    got('db').forEach((v, i) => expect(v).toBeCloseTo(db[i]!, 5));
  });
});
