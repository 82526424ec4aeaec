// The extra ai.onnx.ml ops (no ONNX node tests) against onnxruntime-node.
import { describe, it } from 'vitest';
import type { Attr } from '../../graph/ir.js';
import { R, T, int, ints, str, vsOrt } from './image-oracle.js';

const ML = { domain: 'ai.onnx.ml', opset: 3 };
const floats = (v: number[]): Attr => ({ kind: 'floats', value: v });
const strings = (v: string[]): Attr => ({ kind: 'strings', value: v });

describe('TreeEnsembleRegressor', () => {
  // Two trees: tree 0 splits feature 0 then feature 1; tree 1 a single split; two targets.
  const base: Record<string, Attr> = {
    nodes_treeids: ints([0, 0, 0, 0, 0, 1, 1, 1]),
    nodes_nodeids: ints([0, 1, 2, 3, 4, 0, 1, 2]),
    nodes_featureids: ints([0, 1, 0, 0, 0, 1, 0, 0]),
    nodes_values: floats([0.2, -0.1, 0, 0, 0, 0.4, 0, 0]),
    nodes_truenodeids: ints([1, 3, 0, 0, 0, 1, 0, 0]),
    nodes_falsenodeids: ints([2, 4, 0, 0, 0, 2, 0, 0]),
    nodes_missing_value_tracks_true: ints([1, 0, 0, 0, 0, 0, 0, 0]),
    target_treeids: ints([0, 0, 0, 0, 1, 1]),
    target_nodeids: ints([2, 3, 4, 4, 1, 2]),
    target_ids: ints([0, 1, 0, 1, 0, 1]),
    target_weights: floats([1.5, -2, 0.25, 3, 4, -1]),
    n_targets: int(2),
  };
  const x = T('float32', [6, 2], [0.1, 0.9, 0.6, 0.2, NaN, 0.5, 0.5, -0.5, 1, 0, -1, 2]);
  for (const branch of ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ']) {
    for (const agg of ['SUM', 'AVERAGE', 'MIN', 'MAX']) {
      it(`${branch} ${agg}`, async () => {
        const modes = strings([branch, branch, 'LEAF', 'LEAF', 'LEAF', branch, 'LEAF', 'LEAF']);
        await vsOrt('TreeEnsembleRegressor', [x], { ...base, nodes_modes: modes, aggregate_function: str(agg) }, ML);
      });
    }
  }
  it('base_values (every leaf scores every target: onnxruntime leaves untouched targets at 0, the reference adds the base)', async () => {
    const modes = strings(['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF']);
    const full = {
      ...base, nodes_modes: modes, base_values: floats([0.5, -0.5]),
      target_treeids: ints([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]), target_nodeids: ints([2, 2, 3, 3, 4, 4, 1, 1, 2, 2]),
      target_ids: ints([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), target_weights: floats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    };
    for (const agg of ['SUM', 'AVERAGE', 'MIN', 'MAX']) await vsOrt('TreeEnsembleRegressor', [x], { ...full, aggregate_function: str(agg) }, ML);
  });
  it('post transforms', async () => {
    const modes = strings(['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF']);
    for (const post of ['LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO', 'PROBIT']) {
      await vsOrt('TreeEnsembleRegressor', [R([5, 2], -0.3, 0.3)], { ...base, nodes_modes: modes, post_transform: str(post), target_weights: floats([0.1, -0.2, 0.25, 0.3, 0.4, -0.1]) }, { ...ML, rtol: 1e-3 });
    }
  });
});

describe('TreeEnsembleClassifier', () => {
  // Tree 0: root splits feature 0, its true child splits feature 1; tree 1 splits feature 1.
  const nodes: Record<string, Attr> = {
    nodes_treeids: ints([0, 0, 0, 0, 0, 1, 1, 1]),
    nodes_nodeids: ints([0, 1, 2, 3, 4, 0, 1, 2]),
    nodes_featureids: ints([0, 1, 0, 0, 0, 1, 0, 0]),
    nodes_values: floats([0.2, -0.1, 0, 0, 0, 0.4, 0, 0]),
    nodes_truenodeids: ints([1, 3, 0, 0, 0, 1, 0, 0]),
    nodes_falsenodeids: ints([2, 4, 0, 0, 0, 2, 0, 0]),
    nodes_modes: strings(['BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'LEAF', 'LEAF']),
  };
  const leaves = [2, 3, 4, 1, 2];
  const trees = [0, 0, 0, 1, 1];
  const x = R([7, 2], -1, 1);
  const leafAttrs = (ids: number[], w: number[]): Record<string, Attr> => ({
    class_treeids: ints(ids.map((_, k) => trees[k % 5]!)), class_nodeids: ints(ids.map((_, k) => leaves[k % 5]!)),
    class_ids: ints(ids), class_weights: floats(w),
  });
  it('three classes, int and string labels, post transforms and base values', async () => {
    const leaf = leafAttrs([0, 1, 2, 0, 2, 1, 2, 0, 1, 2], [0.2, 0.5, 0.1, 0.7, 0.3, 0.4, 0.9, 0.6, 0.3, 0.2]);
    leaf.class_treeids = ints([0, 0, 0, 1, 1, 0, 0, 0, 1, 1]);
    leaf.class_nodeids = ints([2, 3, 4, 1, 2, 2, 3, 4, 1, 2]);
    for (const post of ['NONE', 'SOFTMAX', 'LOGISTIC']) {
      await vsOrt('TreeEnsembleClassifier', [x], { ...nodes, ...leaf, classlabels_int64s: ints([4, 5, 6]), post_transform: str(post) }, { ...ML, outputs: 2 });
    }
    await vsOrt('TreeEnsembleClassifier', [x], { ...nodes, ...leaf, classlabels_strings: strings(['a', 'b', 'c']), base_values: floats([0.1, -0.2, 0.3]) }, { ...ML, outputs: 2 });
  });
  it('binary with one scored class: positive and mixed weights, NONE and LOGISTIC', async () => {
    for (const w of [[0.2, 0.9, 0.4, 0.3, 0.7], [-1.2, 0.9, 0.4, -0.3, 0.7]]) {
      for (const post of ['NONE', 'LOGISTIC']) {
        await vsOrt('TreeEnsembleClassifier', [x], { ...nodes, ...leafAttrs([1, 1, 1, 1, 1], w), classlabels_int64s: ints([0, 1]), post_transform: str(post) }, { ...ML, outputs: 2 });
      }
    }
  });
  it('binary with both classes scored (labels 0 and 1: onnxruntime writes 1/0 rather than the labels here)', async () => {
    await vsOrt('TreeEnsembleClassifier', [x], { ...nodes, ...leafAttrs([0, 1, 0, 1, 0], [0.2, 0.9, 0.4, 0.3, 0.7]), classlabels_int64s: ints([0, 1]) }, { ...ML, outputs: 2 });
  });
});

describe('simple ml ops', () => {
  it('Scaler, Normalizer, LinearRegressor', async () => {
    const x = R([4, 3], -2, 2);
    await vsOrt('Scaler', [x], { offset: floats([0.5, -1, 0]), scale: floats([2, 0.5, 3]) }, ML);
    await vsOrt('Scaler', [x], { offset: floats([0.5]), scale: floats([2]) }, ML);
    for (const norm of ['MAX', 'L1', 'L2']) await vsOrt('Normalizer', [x], { norm: str(norm) }, ML);
    await vsOrt('LinearRegressor', [x], { coefficients: floats([1, 2, 3, -1, 0.5, 0.25]), intercepts: floats([0.1, -0.2]), targets: int(2) }, ML);
  });
  it('Imputer, OneHotEncoder, CategoryMapper', async () => {
    await vsOrt('Imputer', [T('float32', [2, 3], [1, NaN, 3, NaN, 5, 6])], { imputed_value_floats: floats([9, 8, 7]), replaced_value_float: { kind: 'float', value: NaN } }, ML);
    await vsOrt('OneHotEncoder', [T('int64', [2, 2], [3, 1, 7, 3])], { cats_int64s: ints([1, 3, 5]), zeros: int(1) }, ML);
    await vsOrt('OneHotEncoder', [T('string', [3], ['b', 'a', 'z'])], { cats_strings: strings(['a', 'b']) }, ML);
    await vsOrt('CategoryMapper', [T('string', [3], ['b', 'q', 'a'])], { cats_strings: strings(['a', 'b']), cats_int64s: ints([10, 20]), default_int64: int(-7) }, ML);
    await vsOrt('CategoryMapper', [T('int64', [3], [20, 10, 5])], { cats_strings: strings(['a', 'b']), cats_int64s: ints([10, 20]), default_string: str('?') }, ML);
  });
});
