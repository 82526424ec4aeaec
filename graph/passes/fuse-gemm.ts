// MatMul of a 2-D input by a constant 2-D weight, followed by Add of a bias, becomes one Gemm.
import type { Pass } from './types.js';
import { constantOf, consumers, isGraphOutput } from './util.js';
import { inferGraph } from '../infer.js';

export const fuseMatMulAdd: Pass = {
  name: 'fuse-matmul-add',
  level: 'extended',
  doc: 'MatMul(A[M,K], W[K,N]) + bias[N] becomes Gemm (A of rank 2, as onnxruntime does)',
  run(model, ctx) {
    const g = model.graph;
    if ((model.opsets[''] ?? 1) < 9) return { gemm: 0 };
    const { types } = inferGraph(g, { opsets: model.opsets, evaluate: ctx.evaluate }, ctx.outerTypes);
    let fused = 0;
    for (const add of [...g.nodes]) {
      if (add.opType !== 'Add' || add.domain !== '') continue;
      const cons = consumers(g);
      for (const k of [0, 1]) {
        const mmOut = add.inputs[k]!;
        const bias = add.inputs[1 - k]!;
        const mm = g.nodes.find((n) => n.outputs[0] === mmOut);
        if (!mm || mm.opType !== 'MatMul' || mm.domain !== '' || cons.get(mmOut)?.length !== 1 || isGraphOutput(g, mmOut)) continue;
        const a = types.get(mm.inputs[0]!);
        const w = constantOf(g, mm.inputs[1]!);
        const b = constantOf(g, bias);
        if (!a || a.kind !== 'tensor' || a.shape?.length !== 2 || !w || w.dims.length !== 2 || !b || a.dtype !== 'float32') continue;
        const n = w.dims[1]!;
        const bShapeOk = (b.dims.length === 1 && (b.dims[0] === n || b.dims[0] === 1)) || (b.dims.length === 2 && b.dims[0] === 1 && (b.dims[1] === n || b.dims[1] === 1));
        if (!bShapeOk || b.dtype !== 'float32') continue;
        mm.opType = 'Gemm';
        mm.inputs = [mm.inputs[0]!, mm.inputs[1]!, bias];
        mm.outputs = [add.outputs[0]!];
        g.nodes.splice(g.nodes.indexOf(add), 1);
        fused++;
        break;
      }
    }
    return { gemm: fused };
  },
};
