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

/**
 * How long each peer warms up before the timed repetitions. JIT-compiled runtimes reach their steady
 * speed only after many runs of a small model (V8 optimizes each of tgraph's JS kernels once it is hot,
 * and tiers wasm up from its baseline compiler in the background): silero VAD on tgraph's CPU path took
 * about 1,000 runs to settle. So every peer warms up the same way: at least `minRuns`, then until it has
 * spent `budgetMs` running (at most `maxRuns`); a peer slower than a second per run gets one run.
 */
export interface WarmupPolicy {
  minRuns: number;
  budgetMs: number;
  maxRuns: number;
}
export const WARMUP: WarmupPolicy = { minRuns: 3, budgetMs: 1000, maxRuns: 1000 };
export const QUICK_WARMUP: WarmupPolicy = { minRuns: 1, budgetMs: 0, maxRuns: 1 };

/** Whether a peer that has made `runs` warm-up runs taking `spentMs` in all (the fastest `bestMs`) runs again. */
export function warmsAgain(p: WarmupPolicy, runs: number, spentMs: number, bestMs: number): boolean {
  if (runs === 0) return true;
  if (bestMs > 1000) return false;
  return runs < p.minRuns || (runs < p.maxRuns && spentMs < p.budgetMs);
}

/**
 * Warm the peers up, interleaved (rounds in rotating order, a peer dropping out once warm); `run`
 * returns one run's ms, and a peer whose run throws is reported to `onError` and left out.
 * Returns each peer's fastest warm-up run (the estimate the repetitions are budgeted by) and its run count.
 */
export async function warmUp(ids: readonly string[], run: (id: string) => Promise<number>, p: WarmupPolicy, onError: (id: string, e: unknown) => void): Promise<{ best: Map<string, number>; runs: Map<string, number> }> {
  const best = new Map<string, number>();
  const runs = new Map<string, number>(ids.map((id) => [id, 0]));
  const spent = new Map<string, number>(ids.map((id) => [id, 0]));
  let live = [...ids];
  for (let round = 0; live.length; round++) {
    for (const id of interleaveOrder(live, round)) {
      try {
        const ms = await run(id);
        best.set(id, Math.min(best.get(id) ?? Infinity, ms));
        runs.set(id, runs.get(id)! + 1);
        spent.set(id, spent.get(id)! + ms);
      } catch (e) {
        onError(id, e);
        live = live.filter((x) => x !== id);
      }
    }
    live = live.filter((id) => warmsAgain(p, runs.get(id)!, spent.get(id)!, best.get(id) ?? 0));
  }
  return { best, runs };
}
