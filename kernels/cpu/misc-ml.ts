// ai.onnx.ml ops on CPU: ArrayFeatureExtractor, Binarizer, LabelEncoder (opsets 1-4), TreeEnsemble (opset 5).
import { type DType } from '../../graph/dtype.js';
import { type HostTensor, allocTensor, getNumber, setElement, toNumbers } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { tensorArg } from './util.js';

const arrayFeatureExtractor: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const y = tensorArg(inputs, 1, ctx);
  if (x.dims.length === 0) throw new KernelInputError(ctx, 'X must have rank 1 or more');
  const n = x.dims[x.dims.length - 1]!;
  const idx = toNumbers(y);
  for (const i of idx) if (!Number.isInteger(i) || i < 0 || i >= n) throw new KernelInputError(ctx, `index ${i} is out of range [0, ${n})`);
  // A 1-D X gives [1, k], as onnxruntime.
  const lead = x.dims.length === 1 ? [1] : x.dims.slice(0, -1);
  const out = allocTensor(x.dtype, [...lead, idx.length]);
  const rows = x.data.length / Math.max(n, 1);
  const src = x.data as ArrayLike<unknown>;
  const dst = out.data as unknown as unknown[];
  for (let r = 0; r < rows; r++) for (let k = 0; k < idx.length; k++) dst[r * idx.length + k] = src[r * n + idx[k]!];
  return [out];
};

const binarizer: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const th = ctx.attrs.float('threshold', 0);
  const out = allocTensor(x.dtype, x.dims);
  for (let i = 0; i < x.data.length; i++) {
    const v = getNumber(x, i);
    // NaN stays NaN.
    setElement(out, i, Number.isNaN(v) ? v : v > th ? 1 : 0);
  }
  return [out];
};

type Key = string | number;

function tensorValues(t: HostTensor): Key[] {
  return t.dtype === 'string' ? [...(t.data as string[])] : toNumbers(t);
}

const labelEncoder: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const a = ctx.attrs;
  if (ctx.opset < 2) {
    // Opset 1: classes_strings maps strings to their index and back.
    const classes = a.strings('classes_strings', []);
    if (x.dtype === 'string') {
      const map = new Map(classes.map((c, i) => [c, i]));
      const out = allocTensor('int64', x.dims);
      const dflt = a.int('default_int64', -1);
      (x.data as string[]).forEach((s, i) => setElement(out, i, map.get(s) ?? dflt));
      return [out];
    }
    const out = allocTensor('string', x.dims);
    const dflt = a.string('default_string', '_Unused');
    for (let i = 0; i < x.data.length; i++) out.data[i] = classes[getNumber(x, i)] ?? dflt;
    return [out];
  }
  const keysT = a.tensor('keys_tensor');
  const valuesT = a.tensor('values_tensor');
  const keys: Key[] | undefined = keysT ? tensorValues(keysT) : a.strings('keys_strings') ?? a.ints('keys_int64s') ?? a.floats('keys_floats');
  let values: Key[] | undefined;
  let outType: DType;
  let dflt: Key;
  if (valuesT) {
    values = tensorValues(valuesT);
    outType = valuesT.dtype;
    const d = a.tensor('default_tensor');
    dflt = d && d.data.length ? tensorValues(d)[0]! : outType === 'string' ? '_Unused' : outType === 'float32' || outType === 'float64' ? -0 : -1;
  } else if (a.has('values_strings')) {
    values = a.strings('values_strings')!;
    outType = 'string';
    dflt = a.string('default_string', '_Unused');
  } else if (a.has('values_int64s')) {
    values = a.ints('values_int64s')!;
    outType = 'int64';
    dflt = a.int('default_int64', -1);
  } else {
    values = a.floats('values_floats');
    outType = 'float32';
    dflt = a.float('default_float', -0);
  }
  if (!keys || !values) throw new KernelInputError(ctx, 'keys and values are required');
  if (keys.length !== values.length) throw new KernelInputError(ctx, `${keys.length} keys but ${values.length} values`);
  // Float keys are compared as float32 values, the type they are stored in.
  const norm = (k: Key) => (typeof k === 'number' && x.dtype === 'float32' ? Math.fround(k) : k);
  const map = new Map<Key, Key>();
  keys.forEach((k, i) => map.set(norm(k), values![i]!));
  const out = allocTensor(outType, x.dims);
  const src = x.dtype === 'string' ? (x.data as string[]) : toNumbers(x);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    // NaN keys match NaN inputs.
    const hit = typeof v === 'number' && Number.isNaN(v) ? [...map.entries()].find(([k]) => typeof k === 'number' && Number.isNaN(k))?.[1] : map.get(v);
    setElement(out, i, hit ?? dflt);
  }
  return [out];
};

const enum Mode { LEQ = 0, LT = 1, GTE = 2, GT = 3, EQ = 4, NEQ = 5, MEMBER = 6 }

const treeEnsemble: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const a = ctx.attrs;
  const need = <T,>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new KernelInputError(ctx, `attribute '${name}' is required`);
    return v;
  };
  const featureIds = need(a.ints('nodes_featureids'), 'nodes_featureids');
  const splits = toNumbers(need(a.tensor('nodes_splits'), 'nodes_splits'));
  const modesT = a.tensor('nodes_modes');
  const modes = modesT ? toNumbers(modesT) : new Array<number>(featureIds.length).fill(Mode.LEQ);
  const trueIds = need(a.ints('nodes_truenodeids'), 'nodes_truenodeids');
  const falseIds = need(a.ints('nodes_falsenodeids'), 'nodes_falsenodeids');
  const trueLeaf = a.ints('nodes_trueleafs', []);
  const falseLeaf = a.ints('nodes_falseleafs', []);
  const missingTrue = a.ints('nodes_missing_value_tracks_true', []);
  const roots = need(a.ints('tree_roots'), 'tree_roots');
  const leafTargets = need(a.ints('leaf_targetids'), 'leaf_targetids');
  const leafWeights = toNumbers(need(a.tensor('leaf_weights'), 'leaf_weights'));
  const nTargets = need(a.int('n_targets'), 'n_targets');
  const agg = a.int('aggregate_function', 1);
  const post = a.int('post_transform', 0);
  const nNodes = featureIds.length;
  if ([splits, modes, trueIds, falseIds].some((v) => v.length !== nNodes)) throw new KernelInputError(ctx, 'node attributes differ in length');
  if (leafTargets.length !== leafWeights.length) throw new KernelInputError(ctx, 'leaf_targetids and leaf_weights differ in length');
  // Sets of BRANCH_MEMBER nodes, in node order, from NaN-separated membership_values.
  const members = new Map<number, Set<number>>();
  const mv = a.tensor('membership_values');
  if (modes.includes(Mode.MEMBER)) {
    const vals = mv ? toNumbers(mv) : [];
    let p = 0;
    for (let i = 0; i < nNodes; i++) {
      if (modes[i] !== Mode.MEMBER) continue;
      const set = new Set<number>();
      while (p < vals.length && !Number.isNaN(vals[p]!)) set.add(vals[p++]!);
      p++;
      members.set(i, set);
    }
  }
  if (x.dims.length !== 2) throw new KernelInputError(ctx, `X must be [N, F], got [${x.dims.join(',')}]`);
  const [N, F] = [x.dims[0]!, x.dims[1]!];
  for (const f of featureIds) if (f < 0 || f >= F) throw new KernelInputError(ctx, `feature id ${f} is out of range for ${F} features`);
  const xs = toNumbers(x);
  const out = allocTensor(x.dtype, [N, nTargets]);
  const acc = new Float64Array(nTargets);
  const seen = new Uint8Array(nTargets);
  const row = new Float64Array(nTargets);
  for (let n = 0; n < N; n++) {
    acc.fill(agg === 2 ? Infinity : agg === 3 ? -Infinity : 0);
    seen.fill(0);
    for (const root of roots) {
      let id = root;
      let leaf = false;
      for (let steps = 0; !leaf; steps++) {
        if (id < 0 || id >= nNodes || steps > nNodes) throw new KernelInputError(ctx, `tree walk reached invalid node ${id}`);
        const v = xs[n * F + featureIds[id]!]!;
        const s = splits[id]!;
        let cond: boolean;
        if (Number.isNaN(v) && missingTrue[id]) cond = true;
        else {
          switch (modes[id]) {
            case Mode.LEQ: cond = v <= s; break;
            case Mode.LT: cond = v < s; break;
            case Mode.GTE: cond = v >= s; break;
            case Mode.GT: cond = v > s; break;
            case Mode.EQ: cond = v === s; break;
            case Mode.NEQ: cond = v !== s; break;
            case Mode.MEMBER: cond = members.get(id)!.has(v); break;
            default: throw new KernelInputError(ctx, `unknown node mode ${modes[id]}`);
          }
        }
        leaf = !!(cond ? trueLeaf[id] : falseLeaf[id]);
        id = cond ? trueIds[id]! : falseIds[id]!;
      }
      if (id < 0 || id >= leafTargets.length) throw new KernelInputError(ctx, `leaf ${id} is out of range`);
      const t = leafTargets[id]!;
      const w = leafWeights[id]!;
      if (t < 0 || t >= nTargets) throw new KernelInputError(ctx, `leaf target ${t} is out of range for ${nTargets} targets`);
      seen[t] = 1;
      if (agg === 2) acc[t] = Math.min(acc[t]!, w);
      else if (agg === 3) acc[t] = Math.max(acc[t]!, w);
      else acc[t]! += w;
    }
    for (let t = 0; t < nTargets; t++) {
      row[t] = !seen[t] ? 0 : agg === 0 ? acc[t]! / roots.length : acc[t]!;
    }
    applyPostTransform(row, post, ctx);
    for (let t = 0; t < nTargets; t++) setElement(out, n * nTargets + t, row[t]!);
  }
  return [out];
};

/** post_transform: 0 NONE, 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO, 4 PROBIT. */
export function applyPostTransform(v: Float64Array, kind: number, ctx: CpuContext): void {
  switch (kind) {
    case 0: return;
    case 1: case 3: {
      let m = -Infinity;
      for (let i = 0; i < v.length; i++) if (!(kind === 3 && v[i] === 0)) m = Math.max(m, v[i]!);
      let s = 0;
      for (let i = 0; i < v.length; i++) {
        const e = kind === 3 && v[i] === 0 ? 0 : Math.exp(v[i]! - m);
        v[i] = e;
        s += e;
      }
      for (let i = 0; i < v.length; i++) v[i] = s === 0 ? 0 : v[i]! / s;
      return;
    }
    case 2: for (let i = 0; i < v.length; i++) v[i] = 1 / (1 + Math.exp(-v[i]!)); return;
    case 4: for (let i = 0; i < v.length; i++) v[i] = Math.SQRT2 * erfinv(2 * v[i]! - 1); return;
  }
  throw new KernelInputError(ctx, `unknown post_transform ${kind}`);
}

/** Inverse error function (Giles' approximation, as onnxruntime's ml ops). */
function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (const c of [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w;
  }
  return p * x;
}

export const mlKernels = {
  'ai.onnx.ml:ArrayFeatureExtractor': arrayFeatureExtractor,
  'ai.onnx.ml:Binarizer': binarizer,
  'ai.onnx.ml:LabelEncoder': labelEncoder,
  'ai.onnx.ml:TreeEnsemble': treeEnsemble,
};
