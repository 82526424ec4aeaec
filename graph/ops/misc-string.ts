// Shape rules of the string ops and TfIdfVectorizer.
import { broadcastInputs, fail, shapeOf, tensorOut } from './shape-util.js';
import { op, type OpSchema, type ShapeRule } from './types.js';

// Output length depends on the data (stopwords removed).
const normalizerRule: ShapeRule = () => [tensorOut('string')];

const concatRule: ShapeRule = (ctx) => [tensorOut('string', broadcastInputs(ctx))];

// The split width depends on the data: rank known, last dim not.
const splitRule: ShapeRule = (ctx) => [tensorOut('string'), tensorOut('int64', shapeOf(ctx, 0))];

const regexRule: ShapeRule = (ctx) => [tensorOut('bool', shapeOf(ctx, 0))];

const tfidfRule: ShapeRule = (ctx) => {
  const s = shapeOf(ctx, 0);
  const width = ctx.attrs.ints('ngram_indexes', []).reduce((m, v) => Math.max(m, v + 1), 0);
  if (!s) return [tensorOut('float32')];
  if (s.length !== 1 && s.length !== 2) fail(ctx, `input must be [C] or [N, C], got rank ${s.length}`);
  return [tensorOut('float32', s.length === 2 ? [s[0]!, width] : [width])];
};

export const stringOps = {
  StringNormalizer: op(normalizerRule, { since: 10, doc: 'Remove stopwords and change case' }),
  StringConcat: op(concatRule, { since: 20, doc: 'Elementwise string concatenation with broadcasting' }),
  StringSplit: op(splitRule, { since: 20, doc: 'Split strings by a delimiter or whitespace, padded' }),
  RegexFullMatch: op(regexRule, { since: 20, doc: 'Whether each string fully matches a pattern' }),
  TfIdfVectorizer: op(tfidfRule, { since: 9, doc: 'n-gram counts (TF, IDF, TFIDF) against a pool' }),
} satisfies Record<string, OpSchema>;
