// The optimizer on real exported models: `--level all` output is standard ONNX that onnxruntime-node
// runs with the original's outputs (1e-4 relative), and it has no more nodes than onnxruntime's own
// portable optimization (level 'basic', saved through optimizedModelFilePath), counted over all scopes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportModel } from '../../graph/onnx/export.js';
import { type Graph, subgraphsOf } from '../../graph/ir.js';
import { optimize } from '../../graph/passes/index.js';
import { evaluateConstantNode } from '../../kernels/cpu/evaluate.js';
import { generateInput } from '../../src/cli/inputs.js';
import { loadModel } from '../../src/model-loader.js';
import { maxRelError, ort } from '../helpers/ort.js';
import { REAL_MODELS } from '../models/models.js';

/** Further input sizes for models with dynamic dims: the folded shape arithmetic must hold at each. */
const MORE_DIMS: Record<string, Record<string, number[]>[]> = {
  'PP-OCRv4 text recognizer': [{ x: [1, 3, 48, 160] }, { x: [2, 3, 48, 64] }],
};

/** Nodes in every scope (If branches and Loop bodies count: an inlined If moves its branch's nodes up). */
function allNodes(g: Graph): number {
  return g.nodes.reduce((n, node) => n + 1 + subgraphsOf(node).reduce((k, sg) => k + allNodes(sg), 0), 0);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-opt-'));

describe.each(REAL_MODELS)('optimize $name', (m) => {
  it('runs in onnxruntime-node with the same outputs and at most as many nodes as its basic level', async () => {
    const model = await loadModel(m.file);
    const { model: opt, report } = optimize(model, evaluateConstantNode, { level: 'all', verify: true });
    const bytes = exportModel(opt);
    const ortFile = path.join(tmp, `${path.basename(m.file)}.ort-basic.onnx`);
    const opts = { intraOpNumThreads: 1, logSeverityLevel: 3 as const };
    const original = await ort.InferenceSession.create(m.file, { ...opts, graphOptimizationLevel: 'basic', optimizedModelFilePath: ortFile });
    const ortNodes = allNodes((await loadModel(ortFile)).graph);
    const ours = await ort.InferenceSession.create(bytes, { ...opts, graphOptimizationLevel: 'disabled' });
    const g = model.graph;
    const feedsAt = (dims: Record<string, number[]> | undefined) => {
      const feeds: Record<string, ort.Tensor> = {};
      g.inputs.filter((i) => !g.initializers.has(i.name)).forEach((inp, i) => {
        const t = inp.type!;
        const v = m.values?.[inp.name];
        const tensor = v
          ? new ort.Tensor(v.type, v.type === 'int64' ? BigInt64Array.from(v.data.map(BigInt)) : Float32Array.from(v.data), v.dims)
          : (() => {
              const x = generateInput({ name: inp.name, isTensor: true, type: t.kind === 'tensor' ? t.dtype : 'float32', shape: t.kind === 'tensor' ? t.shape : [] }, dims?.[inp.name], 7 + i);
              return new ort.Tensor(x.type, x.data as never, [...x.dims]);
            })();
        feeds[inp.name] = tensor;
      });
      return feeds;
    };
    for (const dims of [m.dims, ...(MORE_DIMS[m.name] ?? [])]) {
      const feeds = feedsAt(dims);
      const want = await original.run(feeds);
      const got = await ours.run(feeds);
      for (const name of Object.keys(want)) {
        expect(got[name]!.dims, `${name} at ${JSON.stringify(dims)}`).toEqual(want[name]!.dims);
        const r = maxRelError(got[name]!.data as Float32Array, want[name]!.data as Float32Array, 1e-4, 1e-5);
        expect(r.ok, `${name} at ${JSON.stringify(dims)}: worst ${r.worst}x tolerance at ${r.at}`).toBe(true);
      }
    }
    const ourNodes = allNodes(opt.graph);
    expect(ourNodes, `tgraph ${ourNodes} nodes (${report.nodesAfter} outside subgraphs), onnxruntime basic ${ortNodes}`).toBeLessThanOrEqual(ortNodes);
  }, 120_000);
});
