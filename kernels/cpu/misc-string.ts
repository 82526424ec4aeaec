// String ops on CPU: StringNormalizer, StringConcat, StringSplit, RegexFullMatch, and TfIdfVectorizer.
import { type HostTensor, allocTensor, getNumber } from '../../graph/tensor.js';
import { KernelInputError } from './errors.js';
import type { CpuContext, CpuKernel } from './types.js';
import { broadcastOffsets, broadcastShapes, tensorArg } from './util.js';

function stringArg(inputs: Parameters<CpuKernel>[0], i: number, ctx: CpuContext): HostTensor<'string'> {
  const t = tensorArg(inputs, i, ctx);
  if (t.dtype !== 'string') throw new KernelInputError(ctx, `input ${i} must be a string tensor, got ${t.dtype}`);
  return t as HostTensor<'string'>;
}

const stringNormalizer: CpuKernel = (inputs, ctx) => {
  const x = stringArg(inputs, 0, ctx);
  const action = ctx.attrs.string('case_change_action', 'NONE');
  if (action !== 'NONE' && action !== 'LOWER' && action !== 'UPPER') throw new KernelInputError(ctx, `case_change_action must be NONE, LOWER or UPPER, got '${action}'`);
  const sensitive = ctx.attrs.int('is_case_sensitive', 0) !== 0;
  const stop = new Set((ctx.attrs.strings('stopwords', [])).map((s) => (sensitive ? s : s.toLowerCase())));
  const rank = x.dims.length;
  if (rank > 2 || (rank === 2 && x.dims[0] !== 1)) throw new KernelInputError(ctx, `input must be [C] or [1, C], got [${x.dims.join(',')}]`);
  const kept = x.data.filter((s) => !stop.has(sensitive ? s : s.toLowerCase()));
  const changed = kept.map((s) => (action === 'LOWER' ? s.toLowerCase() : action === 'UPPER' ? s.toUpperCase() : s));
  // Everything filtered out: a single empty string, as onnxruntime.
  if (changed.length === 0) changed.push('');
  const out = allocTensor('string', rank === 2 ? [1, changed.length] : [changed.length]);
  out.data.splice(0, changed.length, ...changed);
  return [out];
};

const stringConcat: CpuKernel = (inputs, ctx) => {
  const a = stringArg(inputs, 0, ctx);
  const b = stringArg(inputs, 1, ctx);
  const dims = broadcastShapes(a.dims, b.dims);
  if (!dims) throw new KernelInputError(ctx, `shapes [${a.dims.join(',')}] and [${b.dims.join(',')}] do not broadcast`);
  const out = allocTensor('string', dims);
  const [oa, ob] = broadcastOffsets(dims, [a.dims, b.dims]);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[oa![i]!]! + b.data[ob![i]!]!;
  return [out];
};

/** Python's str.split(None, maxsplit): runs of whitespace, no empty pieces; the remainder keeps its tail. */
function splitWhitespace(s: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  const ws = (c: string) => /\s/.test(c);
  while (i < n) {
    while (i < n && ws(s[i]!)) i++;
    if (i >= n) break;
    if (maxsplit >= 0 && out.length === maxsplit) {
      out.push(s.slice(i));
      break;
    }
    let j = i;
    while (j < n && !ws(s[j]!)) j++;
    out.push(s.slice(i, j));
    i = j;
  }
  return out;
}

/** Python's str.split(sep, maxsplit). */
function splitSep(s: string, sep: string, maxsplit: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (maxsplit >= 0 && out.length === maxsplit) break;
    const j = s.indexOf(sep, i);
    if (j < 0) break;
    out.push(s.slice(i, j));
    i = j + sep.length;
  }
  out.push(s.slice(i));
  return out;
}

const stringSplit: CpuKernel = (inputs, ctx) => {
  const x = stringArg(inputs, 0, ctx);
  const delim = ctx.attrs.string('delimiter', '');
  const maxsplit = ctx.attrs.int('maxsplit', -1);
  const parts = x.data.map((s) => (delim === '' ? splitWhitespace(s, maxsplit) : splitSep(s, delim, maxsplit)));
  const width = parts.reduce((m, p) => Math.max(m, p.length), 0);
  const out = allocTensor('string', [...x.dims, width]);
  const lengths = allocTensor('int64', x.dims);
  const ld = lengths.data as BigInt64Array;
  parts.forEach((p, i) => {
    for (let k = 0; k < p.length; k++) out.data[i * width + k] = p[k]!;
    ld[i] = BigInt(p.length);
  });
  return [out, lengths];
};

const regexFullMatch: CpuKernel = (inputs, ctx) => {
  const x = stringArg(inputs, 0, ctx);
  const pattern = ctx.attrs.string('pattern');
  if (pattern === undefined) throw new KernelInputError(ctx, "attribute 'pattern' is required");
  // RE2 syntax mostly reads the same in JS; \w and \b are ASCII in both without the u flag.
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new KernelInputError(ctx, `pattern '${pattern}' is not a supported regular expression: ${(e as Error).message}`);
  }
  const out = allocTensor('bool', x.dims);
  const d = out.data as Uint8Array;
  for (let i = 0; i < x.data.length; i++) d[i] = re.test(x.data[i]!) ? 1 : 0;
  return [out];
};

const tfIdfVectorizer: CpuKernel = (inputs, ctx) => {
  const x = tensorArg(inputs, 0, ctx);
  const a = ctx.attrs;
  const minN = a.int('min_gram_length', 1);
  const maxN = a.int('max_gram_length', 1);
  const maxSkip = a.int('max_skip_count', 0);
  const mode = a.string('mode', 'TF');
  if (mode !== 'TF' && mode !== 'IDF' && mode !== 'TFIDF') throw new KernelInputError(ctx, `mode must be TF, IDF or TFIDF, got '${mode}'`);
  if (minN < 1 || maxN < minN) throw new KernelInputError(ctx, `gram lengths must satisfy 1 <= min (${minN}) <= max (${maxN})`);
  const counts = a.ints('ngram_counts', []);
  const indexes = a.ints('ngram_indexes', []);
  const weights = a.floats('weights');
  const poolS = a.strings('pool_strings');
  const poolI = a.ints('pool_int64s');
  const pool: (string | number)[] | undefined = poolS ?? poolI;
  if (!pool) throw new KernelInputError(ctx, 'one of pool_strings and pool_int64s is required');
  if ((x.dtype === 'string') !== !!poolS) throw new KernelInputError(ctx, `a ${x.dtype} input needs ${x.dtype === 'string' ? 'pool_strings' : 'pool_int64s'}`);
  if (counts.length < maxN) throw new KernelInputError(ctx, `ngram_counts needs ${maxN} entries, got ${counts.length}`);
  // Map each pooled n-gram (items joined with \u0001) to its output index.
  const table = new Map<string, number>();
  let slot = 0;
  for (let n = 1; n <= counts.length; n++) {
    const start = counts[n - 1]!;
    const end = n < counts.length ? counts[n]! : pool.length;
    if ((end - start) % n !== 0 || start > end || end > pool.length) throw new KernelInputError(ctx, `ngram_counts do not split the pool into ${n}-grams`);
    for (let p = start; p < end; p += n) {
      const idx = indexes[slot++];
      if (idx === undefined) throw new KernelInputError(ctx, 'ngram_indexes has fewer entries than the pool has n-grams');
      if (n >= minN && n <= maxN) table.set(pool.slice(p, p + n).join('\u0001'), idx);
    }
  }
  const width = indexes.reduce((m, v) => Math.max(m, v + 1), 0);
  if (weights && weights.length < width) throw new KernelInputError(ctx, `weights has ${weights.length} entries for ${width} outputs`);
  const rank = x.dims.length;
  if (rank !== 1 && rank !== 2) throw new KernelInputError(ctx, `input must be [C] or [N, C], got [${x.dims.join(',')}]`);
  const rows = rank === 2 ? x.dims[0]! : 1;
  const C = x.dims[rank - 1]!;
  const items: (string | number)[] = x.dtype === 'string' ? (x.data as string[]) : Array.from({ length: x.data.length }, (_, i) => getNumber(x, i));
  const out = allocTensor('float32', rank === 2 ? [rows, width] : [width]);
  const o = out.data as Float32Array;
  for (let r = 0; r < rows; r++) {
    const base = r * C;
    for (let s = 0; s < C; s++) {
      for (let skip = 0; skip <= maxSkip; skip++) {
        let key = '';
        for (let n = 1; n <= maxN; n++) {
          const pos = s + (n - 1) * (skip + 1);
          if (pos >= C) break;
          key = n === 1 ? String(items[base + s]) : `${key}\u0001${String(items[base + pos])}`;
          // Unigrams do not depend on the skip: count them once.
          if (n === 1 && skip > 0) continue;
          if (n < minN) continue;
          const idx = table.get(key);
          if (idx !== undefined) o[r * width + idx]!++;
        }
      }
    }
  }
  if (mode !== 'TF') {
    for (let i = 0; i < o.length; i++) {
      const w = weights ? weights[i % width]! : 1;
      o[i] = mode === 'IDF' ? (o[i]! > 0 ? w : 0) : o[i]! * w;
    }
  }
  return [out];
};

export const stringKernels = {
  StringNormalizer: stringNormalizer,
  StringConcat: stringConcat,
  StringSplit: stringSplit,
  RegexFullMatch: regexFullMatch,
  TfIdfVectorizer: tfIdfVectorizer,
};
