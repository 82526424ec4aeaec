// Splitting one big node across workers by output rows: MatMul and Gemm by rows of A, Conv by batch
// or (batch 1, one group) by output channels. Each part is the same kernel on a slice, so results
// equal the unsplit kernel's row for row; the parts' outputs are concatenated into shared memory.
import { AttrReader } from '../../graph/attrs.js';
import type { Node } from '../../graph/ir.js';
import type { HostTensor, RtValue } from '../../graph/tensor.js';
import { sizeOf } from '../../graph/tensor.js';
import { allocLike } from './shared.js';

/** Multiply-adds from which a node is split. */
export const SPLIT_MIN_WORK = 1 << 22;

export interface SplitPlan {
  /** The inputs of each part. */
  readonly parts: (RtValue | undefined)[][];
  /** The node's outputs from the parts' outputs. */
  combine(outs: readonly RtValue[][]): RtValue[];
}

type F32 = HostTensor<'float32'>;

function f32(v: RtValue | undefined): F32 | undefined {
  return v?.kind === 'tensor' && v.dtype === 'float32' ? (v as F32) : undefined;
}

/** Row ranges [r0, r1) cutting `rows` into at most `parts` pieces. */
function ranges(rows: number, parts: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, rows));
  const out: [number, number][] = [];
  for (let k = 0; k < n; k++) out.push([Math.floor((k * rows) / n), Math.floor(((k + 1) * rows) / n)]);
  return out.filter(([a, b]) => b > a);
}

/** Rows [r0, r1) of a tensor viewed as [rows, rowSize] (a view: no copy). */
function rowsOf(t: F32, r0: number, r1: number, rowSize: number, dims: number[]): F32 {
  return { kind: 'tensor', dtype: 'float32', dims, data: t.data.subarray(r0 * rowSize, r1 * rowSize) };
}

/** Concatenate the parts' first outputs (contiguous row blocks) under `dims`. */
function concat(outs: readonly RtValue[][], dims: (first: F32) => number[]): RtValue[] {
  const parts = outs.map((o) => o[0] as F32);
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const data = allocLike(parts[0]!.data, total) as Float32Array;
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return [{ kind: 'tensor', dtype: 'float32', dims: dims(parts[0]!), data }];
}

export function planSplit(node: Node, inputs: readonly (RtValue | undefined)[], workers: number, opsets: Readonly<Record<string, number>>): SplitPlan | undefined {
  if (workers < 2 || node.domain !== '' || node.outputs.length !== 1) return undefined;
  void opsets;
  switch (node.opType) {
    case 'MatMul': {
      const a = f32(inputs[0]);
      const b = f32(inputs[1]);
      if (!a || !b || a.dims.length < 2 || b.dims.length !== 2) return undefined;
      const k = a.dims[a.dims.length - 1]!;
      const n = b.dims[1]!;
      const rows = sizeOf(a.dims) / Math.max(1, k);
      if (k !== b.dims[0] || rows * k * n < SPLIT_MIN_WORK || rows < 2) return undefined;
      const rs = ranges(rows, workers);
      return {
        parts: rs.map(([r0, r1]) => [rowsOf(a, r0, r1, k, [r1 - r0, k]), b]),
        combine: (outs) => concat(outs, () => [...a.dims.slice(0, -1), n]),
      };
    }
    case 'Gemm': {
      const attrs = new AttrReader(node);
      if (attrs.int('transA', 0) !== 0) return undefined;
      const a = f32(inputs[0]);
      const b = f32(inputs[1]);
      const c = inputs[2];
      if (!a || !b || a.dims.length !== 2 || b.dims.length !== 2 || (c && !f32(c))) return undefined;
      const [m, k] = a.dims as [number, number];
      const n = attrs.int('transB', 0) ? b.dims[0]! : b.dims[1]!;
      if (m * k * n < SPLIT_MIN_WORK || m < 2) return undefined;
      const cf = f32(c);
      const cRows = cf && cf.dims.length === 2 && cf.dims[0] === m;
      const rs = ranges(m, workers);
      return {
        parts: rs.map(([r0, r1]) => [rowsOf(a, r0, r1, k, [r1 - r0, k]), b, ...(c ? [cRows ? rowsOf(cf!, r0, r1, cf!.dims[1]!, [r1 - r0, cf!.dims[1]!]) : c] : [])]),
        combine: (outs) => concat(outs, () => [m, n]),
      };
    }
    case 'Conv': {
      const x = f32(inputs[0]);
      const w = f32(inputs[1]);
      const bias = inputs[2];
      if (!x || !w || x.dims.length < 3 || (bias && !f32(bias))) return undefined;
      const batch = x.dims[0]!;
      const cout = w.dims[0]!;
      const kernel = sizeOf(w.dims.slice(1));
      const work = sizeOf(x.dims.slice(2)) * batch * cout * kernel;
      if (work < SPLIT_MIN_WORK) return undefined;
      if (batch > 1) {
        const per = sizeOf(x.dims.slice(1));
        const rs = ranges(batch, workers);
        return {
          parts: rs.map(([r0, r1]) => [rowsOf(x, r0, r1, per, [r1 - r0, ...x.dims.slice(1)]), w, ...inputs.slice(2)]),
          combine: (outs) => concat(outs, (first) => [batch, ...first.dims.slice(1)]),
        };
      }
      if (new AttrReader(node).int('group', 1) !== 1 || cout < 2) return undefined;
      const rs = ranges(cout, workers);
      const bf = f32(bias);
      return {
        parts: rs.map(([r0, r1]) => [x, rowsOf(w, r0, r1, kernel, [r1 - r0, ...w.dims.slice(1)]), ...(bf ? [rowsOf(bf, r0, r1, 1, [r1 - r0])] : [])]),
        combine: (outs) => concat(outs, (first) => [1, cout, ...first.dims.slice(2)]),
      };
    }
  }
  return undefined;
}
