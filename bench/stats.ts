// Statistics over repeated timings: medians and interquartile spread, ratios, geometric means.
// Pure functions (no runtime imports), so the smoke test can run them on synthetic timings.

export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  /** 25th and 75th percentiles (linear interpolation between order statistics). */
  p25: number;
  p75: number;
  /** p75 - p25. */
  iqr: number;
  min: number;
  max: number;
  mean: number;
}

/** Quantile q in [0, 1] of sorted values, interpolating linearly (numpy's default). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const s = samples.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return { n: 0, median: NaN, p25: NaN, p75: NaN, iqr: NaN, min: NaN, max: NaN, mean: NaN };
  const p25 = quantileSorted(s, 0.25);
  const p75 = quantileSorted(s, 0.75);
  return {
    n: s.length,
    median: quantileSorted(s, 0.5),
    p25,
    p75,
    iqr: p75 - p25,
    min: s[0]!,
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** Relative spread: IQR over the median (0.1 = the middle half of the runs lies within 10% of the median). */
export function relSpread(s: Summary): number {
  return s.median > 0 ? s.iqr / s.median : NaN;
}

/** a / b, NaN when either is missing or b is zero. */
export function ratio(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return a / b;
}

/** Geometric mean of the finite positive values (NaN when there are none). */
export function geomean(xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x) && x > 0);
  if (v.length === 0) return NaN;
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

/**
 * The order peers run in on repetition `rep`: rotated by one each repetition (A B C, B C A, C A B ...),
 * so each peer runs as often right after every other one and no peer always runs first.
 */
export function interleaveOrder<T>(peers: readonly T[], rep: number): T[] {
  const n = peers.length;
  if (n === 0) return [];
  const k = ((rep % n) + n) % n;
  return [...peers.slice(k), ...peers.slice(0, k)];
}

/** How many timed repetitions fit in a budget, given each peer's estimated ms per run. */
export function repsFor(estimatesMs: readonly number[], budgetMs: number, minReps: number, maxReps: number): number {
  const perRep = estimatesMs.reduce((a, b) => a + Math.max(0, b), 0);
  if (!(perRep > 0)) return maxReps;
  return Math.max(minReps, Math.min(maxReps, Math.floor(budgetMs / perRep)));
}
