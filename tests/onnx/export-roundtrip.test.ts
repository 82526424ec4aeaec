// Export: every conformance model, imported and exported again, loads in onnxruntime-node and gives
// exactly the outputs onnxruntime-node gives for the original (where it can run the original).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../graph/onnx/data-proto.js';
import { exportModel } from '../../graph/onnx/export.js';
import { importModel } from '../../graph/onnx/import.js';
import { verifyGraph } from '../../graph/verify.js';
import { ONNX_TESTS, SUITES } from '../conformance/shard.js';
import { ort, toOrt } from '../helpers/ort.js';

const cases = SUITES.flatMap((s) => {
  const dir = path.join(ONNX_TESTS, s);
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort().map((n) => path.join(dir, n)) : [];
});

const counts = { compared: 0 };
// One thread: session start-up dominates for these tiny models, and CI has two cores.
const ORT_OPTS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

describe('ONNX export round trip through onnxruntime-node', () => {
  it('finds the test data', () => expect(cases.length).toBeGreaterThan(1800));
  for (const dir of cases) {
    it(`${path.basename(path.dirname(dir))}/${path.basename(dir)}`, async () => {
      const bytes = fs.readFileSync(path.join(dir, 'model.onnx'));
      let model;
      try {
        model = importModel(bytes, { source: dir });
      } catch {
        return; // element types tgraph does not support: listed by the conformance expectations
      }
      verifyGraph(model.graph);
      const exported = exportModel(model);
      let original: ort.InferenceSession;
      try {
        original = await ort.InferenceSession.create(bytes, ORT_OPTS);
      } catch {
        return; // onnxruntime-node cannot load the original either
      }
      const set = path.join(dir, 'test_data_set_0');
      const feeds: Record<string, ort.Tensor> = {};
      const g = model.graph;
      const feedInputs = g.inputs.filter((i) => !g.initializers.has(i.name));
      for (let k = 0; fs.existsSync(path.join(set, `input_${k}.pb`)); k++) {
        const info = feedInputs[k]!;
        if (info.type && info.type.kind !== 'tensor') return; // onnxruntime-node takes tensors only
        const v = decodeValue(fs.readFileSync(path.join(set, `input_${k}.pb`)), 'tensor');
        if (v.kind !== 'tensor') return;
        feeds[info.name] = toOrt(v);
      }
      let want: ort.InferenceSession.ReturnType;
      try {
        want = await original.run(feeds);
      } catch {
        return; // the original does not run in onnxruntime-node
      }
      const copy = await ort.InferenceSession.create(exported, ORT_OPTS);
      const got = await copy.run(feeds);
      for (const name of Object.keys(want)) {
        const a = got[name]!;
        const b = want[name]!;
        expect(a.dims, name).toEqual(b.dims);
        expect(a.type, name).toBe(b.type);
        expect(Array.from(a.data as ArrayLike<unknown>), name).toEqual(Array.from(b.data as ArrayLike<unknown>));
      }
      counts.compared++;
    });
  }
  it('compared most models', () => expect(counts.compared).toBeGreaterThan(1000));
});
