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

/** Trees of TreeEnsembleRegressor/Classifier: node links resolved, leaves' (target or class, weight) lists. */
interface Forest {
  roots: number[];
  featureIds: number[];
  modes: number[];
  values: number[];
  missingTrue: number[];
  /** next[2i] / next[2i+1]: node index on true / false. */
  next: Int32Array;
  leaves: Map<number, [number, number][]>;
}

function readForest(ctx: CpuContext, prefix: 'target' | 'class', nOut: number): Forest {
  const a = ctx.attrs;
  const treeIds = a.ints('nodes_treeids', []);
  const nodeIds = a.ints('nodes_nodeids', []);
  const featureIds = a.ints('nodes_featureids', []);
  const modes = a.strings('nodes_modes', []).map((m) => MODES.indexOf(m));
  // Thresholds are float32 unless given as a double tensor.
  const values = a.tensor('nodes_values_as_tensor') ? toNumbers(a.tensor('nodes_values_as_tensor')!) : a.floats('nodes_values', []).map(Math.fround);
  const trueIds = a.ints('nodes_truenodeids', []);
  const falseIds = a.ints('nodes_falsenodeids', []);
  const missingTrue = a.ints('nodes_missing_value_tracks_true', []);
  const nNodes = treeIds.length;
  if ([nodeIds, featureIds, modes, trueIds, falseIds, values].some((v) => v.length !== nNodes)) throw new KernelInputError(ctx, 'nodes_* attributes differ in length');
  if (modes.includes(-1)) throw new KernelInputError(ctx, `unknown node mode in [${a.strings('nodes_modes', []).join(',')}]`);
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
  const lTree = a.ints(`${prefix}_treeids`, []);
  const lNode = a.ints(`${prefix}_nodeids`, []);
  const lIds = a.ints(`${prefix}_ids`, []);
  const lW = floatsOrTensor(ctx, `${prefix}_weights`) ?? [];
  const leaves = new Map<number, [number, number][]>();
  for (let k = 0; k < lIds.length; k++) {
    const i = index.get(key(lTree[k]!, lNode[k]!));
    if (i === undefined) throw new KernelInputError(ctx, `${prefix} ${k} names missing node ${lNode[k]} of tree ${lTree[k]}`);
    if (lIds[k]! < 0 || lIds[k]! >= nOut) throw new KernelInputError(ctx, `${prefix} id ${lIds[k]} is out of range for ${nOut} outputs`);
    let l = leaves.get(i);
    if (!l) leaves.set(i, (l = []));
    l.push([lIds[k]!, lW[k] ?? 0]);
  }
  return { roots, featureIds, modes, values, missingTrue, next, leaves };
}

/** The leaf node index tree `root` reaches for row features starting at v[off]. */
function walk(fo: Forest, root: number, v: number[], off: number, ctx: CpuContext): number {
  let i = root;
  for (let steps = 0; fo.modes[i] !== 6; steps++) {
    if (steps > fo.modes.length) throw new KernelInputError(ctx, 'tree has a cycle');
    const x = v[off + fo.featureIds[i]!]!;
    const s = fo.values[i]!;
    let cond: boolean;
    if (Number.isNaN(x)) cond = !!fo.missingTrue[i] || fo.modes[i] === 5;
    else switch (fo.modes[i]) {
      case 0: cond = x <= s; break;
      case 1: cond = x < s; break;
      case 2: cond = x >= s; break;
      case 3: cond = x > s; break;
      case 4: cond = x === s; break;
      default: cond = x !== s;
    }
    i = fo.next[2 * i + (cond ? 0 : 1)]!;
  }
  return i;
}

function checkFeatures(fo: Forest, f: number, ctx: CpuContext): void {
  for (const fi of fo.featureIds) if (fi < 0 || fi >= f) throw new KernelInputError(ctx, `feature id ${fi} is out of range for ${f} features`);
}

const treeEnsembleRegressor: CpuKernel = (inputs, ctx) => {
  const nTargets = ctx.attrs.int('n_targets', 1);
  const fo = readForest(ctx, 'target', nTargets);
  const base = floatsOrTensor(ctx, 'base_values') ?? [];
  const agg = ctx.attrs.string('aggregate_function', 'SUM');
  if (!['SUM', 'AVERAGE', 'MIN', 'MAX'].includes(agg)) throw new KernelInputError(ctx, `unknown aggregate_function '${agg}'`);
  const { n, f, v } = features(tensorArg(inputs, 0, ctx), ctx);
  checkFeatures(fo, f, ctx);
  const out = allocTensor('float32', [n, nTargets]);
  const o = out.data as Float32Array;
  const acc = new Float64Array(nTargets);
  const seen = new Uint8Array(nTargets);
  const post = postCode(ctx);
  for (let r = 0; r < n; r++) {
    acc.fill(0);
    seen.fill(0);
    for (const root of fo.roots) {
      for (const [t, w] of fo.leaves.get(walk(fo, root, v, r * f, ctx)) ?? []) {
        if (agg === 'MIN') acc[t] = seen[t] ? Math.min(acc[t]!, w) : w;
        else if (agg === 'MAX') acc[t] = seen[t] ? Math.max(acc[t]!, w) : w;
        else acc[t]! += w;
        seen[t] = 1;
      }
    }
    // The base is added to every target (as the ONNX reference; onnxruntime skips targets no leaf scored).
    for (let t = 0; t < nTargets; t++) acc[t] = (agg === 'AVERAGE' ? acc[t]! / Math.max(fo.roots.length, 1) : acc[t]!) + (base[t] ?? 0);
    applyPostTransform(acc, post, ctx);
    o.set(acc, r * nTargets);
  }
  return [out];
};

/**
 * TreeEnsembleClassifier as onnxruntime computes it: class scores summed over trees plus base values;
 * with two labels and a single scored class (binary_case) the second score is derived from the first.
 */
const treeEnsembleClassifier: CpuKernel = (inputs, ctx) => {
  const a = ctx.attrs;
  const strLabels = a.strings('classlabels_strings');
  const intLabels = a.ints('classlabels_int64s');
  const labels: (string | number)[] | undefined = strLabels && strLabels.length ? strLabels : intLabels;
  if (!labels || labels.length === 0) throw new KernelInputError(ctx, 'one of classlabels_strings and classlabels_int64s is required');
  const nClasses = labels.length;
  const fo = readForest(ctx, 'class', nClasses);
  const base = floatsOrTensor(ctx, 'base_values') ?? [];
  const classIds = new Set(a.ints('class_ids', []));
  const weights = floatsOrTensor(ctx, 'class_weights') ?? [];
  const binaryCase = nClasses === 2 && classIds.size === 1;
  const allPositive = weights.every((w) => w >= 0);
  const post = postCode(ctx);
  const { n, f, v } = features(tensorArg(inputs, 0, ctx), ctx);
  checkFeatures(fo, f, ctx);
  const yOut = allocTensor(strLabels && strLabels.length ? 'string' : 'int64', [n]);
  const zOut = allocTensor('float32', [n, nClasses]);
  const z = zOut.data as Float32Array;
  const score = new Float64Array(nClasses);
  const has = new Uint8Array(nClasses);
  for (let r = 0; r < n; r++) {
    score.fill(0);
    has.fill(0);
    for (const root of fo.roots) {
      for (const [c, w] of fo.leaves.get(walk(fo, root, v, r * f, ctx)) ?? []) {
        // float32 sums, as onnxruntime: ties between classes then break the same way.
        score[c] = Math.fround(score[c]! + w);
        has[c] = 1;
      }
    }
    let label: string | number;
    let row: Float64Array;
    if (nClasses > 2) {
      for (let c = 0; c < nClasses; c++) score[c]! += base[c] ?? 0;
      let best = -1;
      for (let c = 0; c < nClasses; c++) if (has[c] && (best < 0 || score[c]! > score[best]!)) best = c;
      label = labels[Math.max(best, 0)]!;
      row = score.slice();
      applyPostTransform(row, post, ctx);
    } else {
      let single = false;
      if (base.length === 2) {
        if (has[1]) {
          score[1] = base[1]! + score[0]!;
          score[0] = -score[1]!;
        } else {
          score[1]! += base[1]!;
          score[0]! += base[0]!;
        }
      } else {
        if (base.length === 1) score[0]! += base[0]!;
        single = !has[1];
      }
      const pos = has[1] && !single ? score[1]! : has[0] ? score[0]! : 0;
      // Which derived second score to write (onnxruntime's add_second_class).
      let second = -1;
      if (binaryCase) {
        if (allPositive) { second = pos > 0.5 ? 0 : 1; label = labels[pos > 0.5 ? 1 : 0]!; }
        else { second = pos > 0 ? 2 : 3; label = labels[pos > 0 ? 1 : 0]!; }
      } else label = labels[pos > 0 ? 1 : 0]!; // onnxruntime writes 1/0 here instead of the labels
      if (!single) {
        row = score.slice();
        applyPostTransform(row, post, ctx);
      } else if (post === 4) {
        // PROBIT on a single score writes it alone.
        row = Float64Array.of(score[0]!, 0);
        applyPostTransform(row.subarray(0, 1), post, ctx);
      } else if (second === 0 || second === 1) {
        row = Float64Array.of(1 - score[0]!, score[0]!);
      } else {
        // Mixed-sign weights, or two labels of which only the first was reached: the score and its negation.
        row = post === 2 ? Float64Array.of(1 / (1 + Math.exp(score[0]!)), 1 / (1 + Math.exp(-score[0]!))) : Float64Array.of(-score[0]!, score[0]!);
      }
    }
    setElement(yOut, r, label);
    z.set(row, r * nClasses);
  }
  return [yOut, zOut];
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
  'ai.onnx.ml:TreeEnsembleClassifier': treeEnsembleClassifier,
  'ai.onnx.ml:Scaler': scaler,
  'ai.onnx.ml:Normalizer': normalizer,
  'ai.onnx.ml:LinearRegressor': linearRegressor,
  'ai.onnx.ml:Imputer': imputer,
  'ai.onnx.ml:OneHotEncoder': oneHotEncoder,
  'ai.onnx.ml:CategoryMapper': categoryMapper,
};
