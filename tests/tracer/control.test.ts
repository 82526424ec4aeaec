// Control flow beyond the parity set: loops whose vars change shape, nested cond inside a loop,
// constant predicates decided at trace time; eager and traced agree and onnxruntime-node agrees.
import { expect, it } from 'vitest';
import * as tg from '../../src/index.js';
import type { TgTensor } from '../../src/index.js';
import { ort } from '../helpers/ort.js';

async function viaOrt(f: tg.TracedFunction<[TgTensor], TgTensor>, x: TgTensor): Promise<number[]> {
  const cf = f.concrete(x);
  const s = await ort.InferenceSession.create(cf.toOnnx());
  const out = await s.run({ [cf.inputNames[0]!]: new ort.Tensor('float32', x.dataSync() as Float32Array, [...(x.shape as number[])]) });
  return Array.from(out[cf.outputNames[0]!]!.data as Float32Array);
}

it('a loop var that grows each iteration gets symbolic dims in the Loop body', async () => {
  const rows = (v: TgTensor) => tg.shapeOf(v).gather(tg.tensor(0, [], 'int64'));
  const grow = (x: TgTensor) => tg.whileLoop((v) => rows(v).less(5), (v) => [tg.concat([v, v.slice([0], [1], [0]).mul(2)], 0)], [x])[0]!;
  const x = tg.tensor([[1, 2]]);
  const eager = grow(x);
  const f = tg.fn(grow);
  const traced = await f(x);
  expect(eager.shape).toEqual([5, 2]);
  expect(await traced.array()).toEqual(await eager.array());
  expect(f.concrete(x).print()).toMatch(/loop_v0_d0/);
  expect(await viaOrt(f, x)).toEqual(Array.from(eager.dataSync() as Float32Array));
});

it('cond nested in a loop body, and a constant predicate decided while tracing', async () => {
  const g = (x: TgTensor) => {
    const [y] = tg.whileLoop((v, i) => i.less(4), (v, i) => [tg.cond(v.sum().greater(0), () => v.sub(3), () => v.add(2)), i.add(1)], [x, tg.scalar(0, 'int64')]);
    return tg.cond(tg.tensor(true), () => y!.mul(10), () => y!);
  };
  const x = tg.tensor([1, 1]);
  const f = tg.fn(g);
  const traced = await f(x);
  expect(Array.from(traced.dataSync() as Float32Array)).toEqual(Array.from(g(x).dataSync() as Float32Array));
  const text = f.concrete(x).print();
  expect(text.match(/= If\(/g)).toHaveLength(1); // the constant predicate made no If
  expect(text).toMatch(/= Loop\(/);
  expect(await viaOrt(f, x)).toEqual(Array.from(traced.dataSync() as Float32Array));
});
