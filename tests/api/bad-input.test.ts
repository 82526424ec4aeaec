// Bad input gets a typed error that names what is wrong: never a crash, a hang or a wrong answer.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExternalDataError, InferenceSession, InputError, ModelLoadError, ResourceLimitError, Tensor, UnsupportedOpError } from '../../src/index.js';
import { onnx } from '../../graph/onnx/proto.js';
import { buildBytes } from '../helpers/build.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-bad-'));
const relu = buildBytes({ inputs: [['x', 'float32', [2, 3]]], outputs: [['y', 'float32']], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });

describe('malformed model files', () => {
  it('a truncated file names the file', async () => {
    const file = path.join(tmp, 'truncated.onnx');
    fs.writeFileSync(file, relu.subarray(0, relu.length - 7));
    const err = await InferenceSession.create(file).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toContain('truncated.onnx');
  });
  it('a text file is not an ONNX model', async () => {
    const file = path.join(tmp, 'notes.onnx');
    fs.writeFileSync(file, 'hello, this is not a model\n'.repeat(20));
    const err = await InferenceSession.create(file).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/notes\.onnx/);
  });
  it('an empty file and a missing file', async () => {
    const empty = path.join(tmp, 'empty.onnx');
    fs.writeFileSync(empty, '');
    await expect(InferenceSession.create(empty)).rejects.toThrow(ModelLoadError);
    await expect(InferenceSession.create(path.join(tmp, 'nope.onnx'))).rejects.toThrow(/nope\.onnx.*ENOENT/);
  });
});

describe('unsupported ops and opsets are all listed at creation', () => {
  it('lists every unknown op with its nodes', async () => {
    const bytes = buildBytes({
      inputs: [['x', 'float32', [2]]],
      outputs: [['z', 'float32']],
      nodes: [
        { op: 'FrobnicateA', inputs: ['x'], outputs: ['y'] },
        { op: 'FrobnicateB', inputs: ['y'], outputs: ['z'] },
      ],
    });
    const err = await InferenceSession.create(bytes).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedOpError);
    expect(err.ops.map((o: { op: string }) => o.op).sort()).toEqual(['FrobnicateA', 'FrobnicateB']);
    expect(err.message).toContain('FrobnicateA_0');
  });
  it('refuses an opset newer than tgraph knows', async () => {
    const bytes = buildBytes({ opset: 99, inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32']], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    await expect(InferenceSession.create(bytes)).rejects.toThrow(/opset 99/);
  });
});

describe('graphs that are not well formed', () => {
  it('a dangling input names the node and the value', async () => {
    const bytes = buildBytes({ inputs: [['x', 'float32', [2]]], outputs: [['y', 'float32']], nodes: [{ op: 'Add', inputs: ['x', 'ghost'], outputs: ['y'] }] });
    const err = await InferenceSession.create(bytes).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/Add_0.*ghost/);
  });
});

describe('external data', () => {
  function modelWithExternal(location: string): Uint8Array {
    const mp = onnx.ModelProto.decode(relu);
    mp.graph!.initializer = [onnx.TensorProto.create({ name: 'w', dataType: 1, dims: [2], dataLocation: 1, externalData: [{ key: 'location', value: location }] })];
    return onnx.ModelProto.encode(mp).finish();
  }
  it('refuses a path that leaves the model folder', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    fs.writeFileSync(path.join(tmp, 'secret.bin'), new Uint8Array(8));
    fs.writeFileSync(path.join(dir, 'model.onnx'), modelWithExternal('../secret.bin'));
    const err = await InferenceSession.create(path.join(dir, 'model.onnx')).catch((e) => e);
    expect(err).toBeInstanceOf(ExternalDataError);
    expect(err.message).toMatch(/leaves the model's folder/);
  });
  it('refuses an absolute path', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), modelWithExternal('/etc/passwd'));
    await expect(InferenceSession.create(path.join(dir, 'model.onnx'))).rejects.toThrow(/absolute/);
  });
  it('reads data inside the folder', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(new Float32Array([1.5, -2]).buffer));
    fs.writeFileSync(path.join(dir, 'model.onnx'), modelWithExternal('w.bin'));
    // Unoptimized: the optimizer would drop the unused initializer.
    const s = await InferenceSession.create(path.join(dir, 'model.onnx'), { graphOptimizationLevel: 'disabled' });
    expect([...(s.model.graph.initializers.get('w')!.data as Float32Array)]).toEqual([1.5, -2]);
  });
  it('a missing external file is a typed error', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    fs.writeFileSync(path.join(dir, 'model.onnx'), modelWithExternal('missing.bin'));
    await expect(InferenceSession.create(path.join(dir, 'model.onnx'))).rejects.toThrow(ExternalDataError);
  });
});

describe('huge sizes are refused before allocating', () => {
  it('a tensor whose element count overflows', async () => {
    const mp = onnx.ModelProto.decode(relu);
    mp.graph!.initializer = [onnx.TensorProto.create({ name: 'w', dataType: 1, dims: [1e9, 1e9, 1e9], rawData: new Uint8Array(4) })];
    const err = await InferenceSession.create(onnx.ModelProto.encode(mp).finish()).catch((e) => e);
    expect(err).toBeInstanceOf(ResourceLimitError);
    expect(err.message).toMatch(/'w'/);
  });
  it('an input whose static shape exceeds the configured limit', async () => {
    const bytes = buildBytes({ inputs: [['x', 'float32', [1000, 1000]]], outputs: [['y', 'float32']], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    await expect(InferenceSession.create(bytes, { maxTensorElements: 1000 })).rejects.toThrow(ResourceLimitError);
  });
});

describe('feeds with the wrong name, dtype, rank or dims', () => {
  it('names the input, what was expected and what came', async () => {
    const s = await InferenceSession.create(relu);
    const good = new Tensor('float32', new Float32Array(6), [2, 3]);
    await expect(s.run({ nope: good })).rejects.toThrow(/'nope' is not an input/);
    await expect(s.run({})).rejects.toThrow(/input 'x' is missing/);
    await expect(s.run({ x: new Tensor('int32', new Int32Array(6), [2, 3]) })).rejects.toThrow(/'x' should be float32, got int32/);
    await expect(s.run({ x: new Tensor('float32', new Float32Array(6), [6]) })).rejects.toThrow(/'x' should have rank 2/);
    const err = await s.run({ x: new Tensor('float32', new Float32Array(8), [2, 4]) }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(/'x' dim 1 should be 3.*\[2,4\]/);
  });
});

