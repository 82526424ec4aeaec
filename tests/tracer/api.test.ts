// The tensor API (eager), memory management, tg.fn caching and retrace explanations, and errors.
import { describe, expect, it } from 'vitest';
import * as tg from '../../src/index.js';
import { InputError, Tensor, TgTensor, TraceError, TracedValueError, TracerOpError } from '../../src/index.js';
import { ort } from '../helpers/ort.js';

describe('eager tensor API', () => {
  it('makes tensors from nested arrays, typed arrays and dims, and reads them back', async () => {
    const a = tg.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3]);
    expect(await a.array()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = tg.tensor(Int32Array.of(1, 2, 3, 4), [2, 2]);
    expect(b.dtype).toBe('int32');
    expect(Array.from((await b.data()) as ArrayLike<number>)).toEqual([1, 2, 3, 4]);
    expect(tg.tensor([1, 2], undefined, 'int64').dtype).toBe('int64');
    expect(tg.tensor([true, false]).dtype).toBe('bool');
    expect(() => tg.tensor([[1, 2], [3]])).toThrow(InputError);
    expect(() => tg.tensor(Float32Array.of(1, 2, 3), [2, 2])).toThrow(/3 elements/);
  });

  it('functions and methods agree, with NumPy broadcasting', async () => {
    const a = tg.tensor([[1], [2]]);
    const b = tg.tensor([10, 20, 30]);
    const viaMethod = a.add(b).mul(2).relu().sum(1);
    const viaFn = tg.sum(tg.relu(tg.mul(tg.add(a, b), 2)), 1);
    expect(Array.from((await viaMethod.data()) as ArrayLike<number>)).toEqual([126, 132]);
    expect(Array.from((await viaFn.data()) as ArrayLike<number>)).toEqual([126, 132]);
    expect(Array.from((await tg.greater(b, 15).data()) as ArrayLike<number>)).toEqual([0, 1, 1]);
    expect(await a.neg().matmul(tg.tensor([[1, 1]])).array()).toEqual([[-1, -1], [-2, -2]]);
  });

  it('accepts the ORT-style Tensor wherever a tensor goes', async () => {
    const t = new Tensor('float32', Float32Array.of(1, -2, 3), [3]);
    expect(Array.from((await tg.relu(t).data()) as ArrayLike<number>)).toEqual([1, 0, 3]);
    expect(Array.from((await tg.tensor([1, 1, 1]).add(t).data()) as ArrayLike<number>)).toEqual([2, -1, 4]);
    const f = tg.fn((x: TgTensor) => x.mul(x));
    expect(Array.from((await (await f(t)).data()) as ArrayLike<number>)).toEqual([1, 4, 9]);
    expect((await f(t)).toTensor()).toBeInstanceOf(Tensor);
  });

  it('eager errors name the op, the shapes and the source line', () => {
    const e = (() => {
      try {
        tg.tensor([1, 2, 3]).add(tg.tensor([1, 2]));
      } catch (err) {
        return err as TracerOpError;
      }
      throw new Error('no error');
    })();
    expect(e).toBeInstanceOf(TracerOpError);
    expect(e.message).toMatch(/Add\(float32\[3\], float32\[2\]\).*do not broadcast.*api\.test\.ts:\d+/);
    expect(() => tg.tensor([1, 2]).add(tg.tensor([1, 2], undefined, 'int32'))).toThrow(/different dtypes \(float32 and int32\).*tg\.cast/);
  });
});

describe('memory', () => {
  it('tidy disposes what the function made, except its result', () => {
    const before = tg.memory().numTensors;
    const kept = tg.tidy(() => {
      const a = tg.tensor([1, 2, 3]);
      const b = a.mul(2);
      expect(tg.memory().numTidyScopes).toBe(1);
      expect(tg.memory().numTensors).toBe(before + 2);
      return { y: b.add(1) };
    });
    expect(tg.memory().numTensors).toBe(before + 1);
    expect(Array.from(kept.y.dataSync() as ArrayLike<number>)).toEqual([3, 5, 7]);
    kept.y.dispose();
    expect(kept.y.disposed).toBe(true);
    expect(tg.memory().numTensors).toBe(before);
    expect(() => kept.y.dataSync()).toThrow(/disposed/);
  });

  it('dispose, using and keep', () => {
    const before = tg.memory();
    {
      using t = tg.zeros([4, 4]);
      expect(tg.memory().numBytes).toBe(before.numBytes + 64);
      expect(t.disposed).toBe(false);
    }
    expect(tg.memory().numBytes).toBe(before.numBytes);
    let outer: TgTensor | undefined;
    tg.tidy(() => {
      outer = tg.keep(tg.ones([2]));
      tg.ones([3]);
      return undefined;
    });
    expect(outer!.disposed).toBe(false);
    expect(tg.memory().numTensors).toBe(before.numTensors + 1);
    outer!.dispose();
  });

  it('tidy refuses an async function', async () => {
    expect(() => tg.tidy((async () => tg.ones([1])) as never)).toThrow(/synchronous/);
  });
});

describe('tg.fn', () => {
  it('traces once per signature and explains each retrace', async () => {
    const events: tg.RetraceEvent[] = [];
    const logged: string[] = [];
    const f = tg.fn((x: TgTensor, k: number) => x.mul(k).sum(0), { onRetrace: (e) => events.push(e), log: (m) => logged.push(m) });
    await f(tg.tensor([[1, 2], [3, 4]]), 2);
    await f(tg.tensor([[5, 6], [7, 8]]), 2);
    expect(f.traceCount).toBe(1);
    await f(tg.tensor([[1, 2, 3]]), 2);
    expect(f.traceCount).toBe(2);
    expect(events[0]!.reason).toMatch(/'x' changed from tensor float32\[2,2\] to tensor float32\[1,3\]/);
    await f(tg.tensor([[1, 2, 3]]), 3);
    expect(f.traceCount).toBe(3);
    expect(events[1]!.changes).toEqual([{ path: 'k', from: 'value 2', to: 'value 3' }]);
    expect(logged).toHaveLength(2);
    // Earlier signatures stay cached.
    expect(Array.from((await (await f(tg.tensor([[1, 1], [1, 1]]), 2)).data()) as ArrayLike<number>)).toEqual([4, 4]);
    expect(f.traceCount).toBe(3);
  });

  it('inputSignature with null dims traces once for every size and names mismatches', async () => {
    const f = tg.fn((x: TgTensor, y: TgTensor) => x.matmul(y).relu(), { inputSignature: [tg.spec([null, 3]), tg.spec([3, 2])] });
    const y = tg.tensor([[1, 0], [0, 1], [1, 1]]);
    expect((await f(tg.tensor([[1, 2, 3]]), y)).shape).toEqual([1, 2]);
    expect(await (await f(tg.tensor([[1, 2, 3], [-1, -2, -3], [0, 0, 1]]), y)).array()).toEqual([[4, 5], [0, 0], [1, 1]]);
    expect(f.traceCount).toBe(1);
    expect(f.concreteFunctions[0]!.signature).toBe('(x: float32[x_d0,3], y: float32[3,2])');
    await expect(f(tg.tensor([[1, 2]]), y)).rejects.toThrow(/argument 'x' should be float32\[\?,3\], got float32\[1,2\] \(dim 1 is 2, expected 3\)/);
    await expect(f(tg.tensor([1, 2, 3]), y)).rejects.toThrow(/rank 1, expected 2/);
    await expect(f(tg.tensor([[1, 2, 3]], undefined, 'int32'), y)).rejects.toThrow(/dtype differs/);
    await expect((f as unknown as (...a: unknown[]) => Promise<unknown>)(tg.tensor([[1, 2, 3]]), 5)).rejects.toThrow(/expects 2 tensor arguments \(inputSignature\), got 1 \(x\); not tensors: 'y' is 5/);
    await expect((f as unknown as (...a: unknown[]) => Promise<unknown>)(tg.tensor([[1, 2, 3]]))).rejects.toThrow(/takes 2 arguments \(x, y\), got 1/);
  });

  it('reduceRetracing widens changing dims into symbols', async () => {
    const f = tg.fn((x: TgTensor) => x.softmax(-1).sum(-1), { reduceRetracing: true });
    for (const n of [1, 2, 3, 4, 5]) {
      const out = await f(tg.tensor(new Float32Array(n * 4).fill(1), [n, 4]));
      expect(out.shape).toEqual([n]);
    }
    expect(f.traceCount).toBe(2);
    expect(f.retraces[0]!.reason).toMatch(/symbolic/);
    expect(f.concreteFunctions[1]!.signature).toBe('(x: float32[x_d0,4])');
  });

  it('captures outside tensors as constants and returns structures', async () => {
    const w = tg.tensor([[2, 0], [0, 3]]);
    const f = tg.fn((x: TgTensor) => ({ y: x.matmul(w), parts: [x, x.neg()] }));
    const r = await f(tg.tensor([[1, 1]]));
    expect(await r.y.array()).toEqual([[2, 3]]);
    expect(await r.parts[1]!.array()).toEqual([[-1, -1]]);
    expect(f.concrete(tg.tensor([[1, 1]])).graph.initializers.size).toBe(1);
  });

  it('introspection: printout with source lines, optimizer report, ONNX bytes that onnxruntime loads', async () => {
    const f = tg.fn(function block(x: TgTensor) {
      return x.mul(tg.tensor(2)).add(1).relu();
    });
    const cf = f.concrete(tg.tensor([[1, -2]]));
    expect(f.traceCount).toBe(1);
    const text = cf.print();
    expect(text).toMatch(/^function block\(x: float32\[1,2\]\)/);
    expect(text).toMatch(/= Mul\(%x, %const_\d+\)\s+# tests\/tracer\/api\.test\.ts:\d+/);
    expect(text).toMatch(/= Relu\(/);
    expect(cf.report!.passes.length).toBeGreaterThan(0);
    expect(cf.formatReport()).toMatch(/optimize --level all/);
    const s = await ort.InferenceSession.create(cf.toOnnx());
    const out = await s.run({ x: new ort.Tensor('float32', Float32Array.of(1, -2), [1, 2]) });
    expect(Array.from(out[cf.outputNames[0]!]!.data as Float32Array)).toEqual([3, 0]);
  });
});

describe('trace-time errors', () => {
  it('a shape mismatch fails at trace time with the op, the shapes and the line', async () => {
    const f = tg.fn((x: TgTensor) => x.matmul(tg.tensor([[1, 2, 3]])));
    const err = await f(tg.tensor([[1, 2]])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TracerOpError);
    expect((err as TracerOpError).op).toBe('MatMul');
    expect((err as Error).message).toMatch(/MatMul\(float32\[1,2\], float32\[1,3\]\): .*\(at tests\/tracer\/api\.test\.ts:\d+:\d+\)/);
  });

  it('reading a value while tracing throws a typed error saying what to use', async () => {
    const viaIf = tg.fn((x: TgTensor) => ((x.sum() as unknown as number) > 0 ? x : x.neg()));
    const e1 = await viaIf(tg.tensor([1])).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TracedValueError);
    expect((e1 as Error).message).toMatch(/tg\.cond.*tg\.whileLoop/);
    const viaData = tg.fn((x: TgTensor) => {
      x.dataSync();
      return x;
    });
    await expect(viaData(tg.tensor([1]))).rejects.toBeInstanceOf(TracedValueError);
  });

  it('a symbolic tensor that escapes its trace is refused when used', async () => {
    let leaked: TgTensor | undefined;
    const f = tg.fn((x: TgTensor) => {
      leaked = x.add(1);
      return leaked;
    });
    await f(tg.tensor([1]));
    expect(() => leaked!.mul(2)).toThrow(TraceError);
    expect(() => leaked!.mul(2)).toThrow(/outside its traced function/);
  });

  it('cond branches must agree', async () => {
    const f = tg.fn((x: TgTensor) => tg.cond(x.sum().greater(0), () => x, () => x.cast('int32')));
    await expect(f(tg.tensor([1]))).rejects.toThrow(/output 0 has a different dtype in each branch/);
  });
});

describe('memory while tracing', () => {
  it('tensors made inside a traced function are graph constants, not counted tensors', async () => {
    const f = tg.fn((x: TgTensor) => x.add(tg.tensor([1, 2])).mul(tg.scalar(3)));
    const before = tg.memory().numTensors;
    f.concrete(tg.tensor([0, 0]));
    expect(tg.memory().numTensors).toBe(before + 1); // only the argument made here
    const y = await f(tg.tensor([1, 1]));
    expect(Array.from(y.dataSync() as Float32Array)).toEqual([6, 9]);
  });
});
