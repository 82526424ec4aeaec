// Shape rules checked against the ONNX test data: the inferred type of every graph output
// (computed from the inputs alone, ignoring the model's declared output types) must not
// contradict the real output: same dtype, same rank, same numeric dims (unknown is allowed).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferGraph } from '../graph/infer.js';
import { decodeValue } from '../graph/onnx/data-proto.js';
import { findSchema } from '../graph/ops/index.js';
import { allNodes } from '../graph/support.js';
import { evaluateConstantNode } from '../kernels/cpu/evaluate.js';
import { loadModel } from '../src/model-loader.js';
import { ONNX_TESTS } from './conformance/shard.js';

const dir = path.join(ONNX_TESTS, 'node');
const cases = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
const stats = { checked: 0, exact: 0 };

describe('shape inference vs ONNX test outputs', () => {
  it('finds the test data', () => expect(cases.length).toBeGreaterThan(1000));
  for (const name of cases) {
    it(name, async () => {
      const model = await loadModel(path.join(dir, name, 'model.onnx')).catch(() => undefined);
      if (!model) return; // unsupported element types: covered by the conformance expectations
      for (const { node } of allNodes(model.graph)) if (!findSchema(node.domain, node.opType)) return;
      const declared = new Map(model.graph.outputs.map((o) => [o.name, o.type]));
      model.graph.valueInfo.clear();
      const { types } = inferGraph(model.graph, { opsets: model.opsets, evaluate: evaluateConstantNode });
      const set = path.join(dir, name, 'test_data_set_0');
      for (let k = 0; k < model.graph.outputs.length; k++) {
        const out = model.graph.outputs[k]!;
        const file = path.join(set, `output_${k}.pb`);
        const kind = declared.get(out.name)?.kind ?? 'tensor';
        if (!fs.existsSync(file) || kind !== 'tensor') continue;
        const want = decodeValue(fs.readFileSync(file), 'tensor');
        if (want.kind !== 'tensor') continue;
        const got = types.get(out.name);
        if (!got) continue;
        stats.checked++;
        expect(got.kind, `output '${out.name}'`).toBe('tensor');
        if (got.kind !== 'tensor') continue;
        expect(got.dtype, `dtype of output '${out.name}'`).toBe(want.dtype);
        if (!got.shape) continue;
        expect(got.shape.length, `rank of output '${out.name}': inferred [${got.shape.join(',')}], real [${want.dims.join(',')}]`).toBe(want.dims.length);
        got.shape.forEach((d, i) => {
          if (typeof d === 'number') expect(d, `dim ${i} of output '${out.name}': inferred [${got.shape!.join(',')}], real [${want.dims.join(',')}]`).toBe(want.dims[i]);
        });
        if (got.shape.every((d) => typeof d === 'number')) stats.exact++;
      }
    });
  }
});
