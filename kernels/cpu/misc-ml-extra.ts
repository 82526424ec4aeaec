// More ai.onnx.ml ops that sklearn/LightGBM/XGBoost exports use (no ONNX node tests; checked against
// onnxruntime-node): TreeEnsembleRegressor, Scaler, Normalizer, LinearRegressor, Imputer, OneHotEncoder,
// CategoryMapper.
import { type HostTensor, allocTensor, getNumber, setElement, toNumbers } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';
import { applyPostTransform } from './misc-ml.js';

const POST: Record<string, number> = { NONE: 0, SOFTMAX: 1, LOGISTIC: 2, SOFTMAX_ZERO: 3, PROBIT: 4 };

function postCode(ctx: CpuContext): number {
  const name = ctx.attrs.string('post_transform', 'NONE');
  const code = POST[name];
  if (code === undefined) throw new KernelInputError(ctx, `unknown post_transform '${name}'`);
  return code;
}

/** Rows of a 1-D or 2-D feature input as [N, F] numbers. */
function features(x: HostTensor, ctx: CpuContext): { n: number; f: number; v: number[] } {
  if (x.dims.length > 2) throw new KernelInputError(ctx, `X must be [N, F] or [F], got [${x.dims.join(',')}]`);
  const f = x.dims.length === 0 ? 1 : x.dims[x.dims.length - 1]!;
  return { n: x.dims.length === 2 ? x.dims[0]! : 1, f, v: toNumbers(x) };
}

/** Float values of `name`, or of `name_as_tensor` (double precision models). */
function floatsOrTensor(ctx: CpuContext, name: string): number[] | undefined {
  const t = ctx.attrs.tensor(`${name}_as_tensor`);
  return t ? toNumbers(t) : ctx.attrs.floats(name);
}

const MODES = ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ', 'LEAF'];

const treeEnsembleRegressor: CpuKernel = (inputs, ctx) => {
  const a = ctx.attrs;
  const treeIds = a.ints('nodes_treeids', []);
  const nodeIds = a.ints('nodes_nodeids', []);
  const featureIds = a.ints('nodes_featureids', []);
  const modes = a.strings('nodes_modes', []).map((m) => MODES.indexOf(m));
  const values = (floatsOrTensor(ctx, 'nodes_values') ?? []).map(Math.fround);
  const trueIds = a.ints('nodes_truenodeids', []);
  const falseIds = a.ints('nodes_falsenodeids', []);
  const missingTrue = a.ints('nodes_missing_value_tracks_true', []);
  const nNodes = treeIds.length;
  if ([nodeIds, featureIds, modes, trueIds, falseIds].some((v) => v.length !== nNodes)) throw new KernelInputError(ctx, 'nodes_* attributes differ in length');
  if (modes.includes(-1)) throw new KernelInputError(ctx, `unknown node mode in [${a.strings('nodes_modes', []).join(',')}]`);
  const nTargets = a.int('n_targets', 1);
  const tTree = a.ints('target_treeids', []);
  const tNode = a.ints('target_nodeids', []);
  const tIds = a.ints('target_ids', []);
  const tW = floatsOrTensor(ctx, 'target_weights') ?? [];
  const base = floatsOrTensor(ctx, 'base_values') ?? [];
  const agg = a.string('aggregate_function', 'SUM');
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(agg)) throw new KernelInputError(ctx, `unknown aggregate_function '${agg}'`);
  // Node index by (tree, node id); each tree's root is its node no other node points to.
  const key = (t: number, n: number) => `${t}:${n}`;
  const index = new Map<string, number>();
  for (let i = 0; i < nNodes; i++) index.set(key(treeIds[i]!, nodeIds[i]!), i);
  const child = (i: number, id: number): number => {
    const j = index.get(key(treeIds[i]!, id));
    if (j === undefined) throw new KernelInputError(ctx, `node ${nodeIds[i]} of tree ${treeIds[i]} points to missing node ${id}`);
    return j;
  };
  const hasParent = new Uint8Array(nNodes);
  const next = new Int32Array(nNodes * 2);
  for (let i = 0; i < nNodes; i++) {
    if (modes[i] === 6) continue;
    next[2 * i] = child(i, trueIds[i]!);
    next[2 * i + 1] = child(i, falseIds[i]!);
    hasParent[next[2 * i]!] = 1;
    hasParent[next[2 * i + 1]!] = 1;
  }
  const roots: number[] = [];
  for (let i = 0; i < nNodes; i++) if (!hasParent[i]) roots.push(i);
  const leafTargets = new Map<number, [number, number][]>();
  for (let k = 0; k < tIds.length; k++) {
    const i = index.get(key(tTree[k]!, tNode[k]!));
    if (i === undefined) throw new KernelInputError(ctx, `target ${k} names missing node ${tNode[k]} of tree ${tTree[k]}`);
    if (tIds[k]! < 0 || tIds[k]! >= nTargets) throw new KernelInputError(ctx, `target id ${tIds[k]} is out of range for ${nTargets} targets`);
    let l = leafTargets.get(i);
    if (!l) leafTargets.set(i, (l = []));
    l.push([tIds[k]!, tW[k] ?? 0]);
  }
  const { n, f, v } = features(tensorArg(inputs, 0, ctx), ctx);
  for (const fi of featureIds) if (fi < 0 || fi >= f) throw new KernelInputError(ctx, `feature id ${fi} is out of range for ${f} features`);
  const out = allocTensor('float32', [n, nTargets]);
  const o = out.data as Float32Array;
  const acc = new Float64Array(nTargets);
  const seen = new Uint8Array(nTargets);
  const post = postCode(ctx);
  for (let r = 0; r < n; r++) {
    acc.fill(0);
    seen.fill(0);
    for (const root of roots) {
      let i = root;
      for (let steps = 0; modes[i] !== 6; steps++) {
        if (steps > nNodes) throw new KernelInputError(ctx, 'tree has a cycle');
        const x = v[r * f + featureIds[i]!]!;
        const s = values[i]!;
        let cond: boolean;
        if (Number.isNaN(x)) cond = !!missingTrue[i] || modes[i] === 5;
        else switch (modes[i]) {
          case 0: cond = x <= s; break;
          case 1: cond = x < s; break;
          case 2: cond = x >= s; break;
          case 3: cond = x > s; break;
          case 4: cond = x === s; break;
          default: cond = x !== s;
        }
        i = next[2 * i + (cond ? 0 : 1)]!;
      }
      for (const [t, w] of leafTargets.get(i) ?? []) {
        if (agg === 'MIN') acc[t] = seen[t] ? Math.min(acc[t]!, w) : w;
        else if (agg === 'MAX') acc[t] = seen[t] ? Math.max(acc[t]!, w) : w;
        else acc[t]! += w;
        seen[t] = 1;
      }
    }
    for (let t = 0; t < nTargets; t++) acc[t] = (agg === 'AVERAGE' ? acc[t]! / Math.max(roots.length, 1) : acc[t]!) + (base[t] ?? 0);
    applyPostTransform(acc, post, ctx);
    o.set(acc, r * nTargets);
  }
  return [out];
};

const scaler: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const { n, f, v } = features(x, ctx);
  const offset = ctx.attrs.floats('offset', [0]);
  const scale = ctx.attrs.floats('scale', [1]);
  for (const p of [offset, scale]) if (p.length !== 1 && p.length !== f) throw new KernelInputError(ctx, `offset and scale need 1 or ${f} values, got ${p.length}`);
  const out = allocTensor('float32', x.dims.length === 2 ? [n, f] : [...x.dims]);
  const o = out.data as Float32Array;
  for (let i = 0; i < n * f; i++) {
    const j = i % f;
    o[i] = (v[i]! - offset[offset.length === 1 ? 0 : j]!) * scale[scale.length === 1 ? 0 : j]!;
  }
  return [out];
};

const normalizer: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const { n, f, v } = features(x, ctx);
  const norm = ctx.attrs.string('norm', 'MAX');
  if (norm !== 'MAX' && norm !== 'L1' && norm !== 'L2') throw new KernelInputError(ctx, `norm must be MAX, L1 or L2, got '${norm}'`);
  const out = allocTensor('float32', x.dims.length === 2 ? [n, f] : [...x.dims]);
  const o = out.data as Float32Array;
  for (let r = 0; r < n; r++) {
    let d = norm === 'MAX' ? -Infinity : 0;
    for (let j = 0; j < f; j++) {
      const e = v[r * f + j]!;
      if (norm === 'MAX') d = Math.max(d, e);
      else d += norm === 'L1' ? Math.abs(e) : e * e;
    }
    if (norm === 'L2') d = Math.sqrt(d);
    // As onnxruntime: a zero norm leaves the row as it is.
    for (let j = 0; j < f; j++) o[r * f + j] = d === 0 ? v[r * f + j]! : v[r * f + j]! / d;
  }
  return [out];
};

const linearRegressor: CpuKernel = (inputs, ctx) => {
  const { n, f, v } = features(tensorArg(inputs, 0, ctx), ctx);
  const coef = ctx.attrs.floats('coefficients', []);
  const targets = ctx.attrs.int('targets', 1);
  const intercepts = ctx.attrs.floats('intercepts', []);
  if (coef.length !== targets * f) throw new KernelInputError(ctx, `coefficients has ${coef.length} values, expected ${targets} x ${f}`);
  const out = allocTensor('float32', [n, targets]);
  const row = new Float64Array(targets);
  const post = postCode(ctx);
  for (let r = 0; r < n; r++) {
    for (let t = 0; t < targets; t++) {
      let s = intercepts[t] ?? 0;
      for (let j = 0; j < f; j++) s += coef[t * f + j]! * v[r * f + j]!;
      row[t] = s;
    }
    applyPostTransform(row, post, ctx);
    (out.data as Float32Array).set(row, r * targets);
  }
  return [out];
};

const imputer: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const isInt = x.dtype === 'int64' || x.dtype === 'int32';
  const fill = isInt ? ctx.attrs.ints('imputed_value_int64s', []) : ctx.attrs.floats('imputed_value_floats', []);
  const missing = isInt ? ctx.attrs.int('replaced_value_int64', 0) : ctx.attrs.float('replaced_value_float', 0);
  const f = x.dims.length === 0 ? 1 : x.dims[x.dims.length - 1]!;
  if (fill.length !== 1 && fill.length !== f) throw new KernelInputError(ctx, `imputed values need 1 or ${f} entries, got ${fill.length}`);
  const out = allocTensor(x.dtype, x.dims);
  for (let i = 0; i < x.data.length; i++) {
    const e = getNumber(x, i);
    const hit = !isInt && Number.isNaN(missing) ? Number.isNaN(e) : e === missing;
    if (hit) setElement(out, i, fill[fill.length === 1 ? 0 : i % f]!);
    else (out.data as Float32Array)[i] = (x.data as Float32Array)[i]!;
  }
  return [out];
};

const oneHotEncoder: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const cats: (string | number)[] = ctx.attrs.strings('cats_strings') ?? ctx.attrs.ints('cats_int64s') ?? [];
  const zeros = ctx.attrs.int('zeros', 1) !== 0;
  const pos = new Map<string | number, number>(cats.map((c, i) => [c, i]));
  const out = allocTensor('float32', [...x.dims, cats.length]);
  const o = out.data as Float32Array;
  for (let i = 0; i < x.data.length; i++) {
    const k = x.dtype === 'string' ? (x.data as string[])[i]! : getNumber(x, i);
    const p = pos.get(k);
    if (p === undefined) {
      if (!zeros) throw new KernelInputError(ctx, `value ${String(k)} is not a category (zeros=0)`);
    } else o[i * cats.length + p] = 1;
  }
  return [out];
};

const categoryMapper: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const strs = ctx.attrs.strings('cats_strings', []);
  const nums = ctx.attrs.ints('cats_int64s', []);
  if (strs.length !== nums.length) throw new KernelInputError(ctx, 'cats_strings and cats_int64s differ in length');
  if (x.dtype === 'string') {
    const map = new Map(strs.map((s, i) => [s, nums[i]!]));
    const d = ctx.attrs.int('default_int64', -1);
    const out = allocTensor('int64', x.dims);
    (x.data as string[]).forEach((s, i) => setElement(out, i, map.get(s) ?? d));
    return [out];
  }
  const map = new Map(nums.map((n, i) => [n, strs[i]!]));
  const d = ctx.attrs.string('default_string', '_Unused');
  const out = allocTensor('string', x.dims);
  for (let i = 0; i < x.data.length; i++) out.data[i] = map.get(getNumber(x, i)) ?? d;
  return [out];
};

export const mlExtraKernels = {
  'ai.onnx.ml:TreeEnsembleRegressor': treeEnsembleRegressor,
  'ai.onnx.ml:Scaler': scaler,
  'ai.onnx.ml:Normalizer': normalizer,
  'ai.onnx.ml:LinearRegressor': linearRegressor,
  'ai.onnx.ml:Imputer': imputer,
  'ai.onnx.ml:OneHotEncoder': oneHotEncoder,
  'ai.onnx.ml:CategoryMapper': categoryMapper,
};
