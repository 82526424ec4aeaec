// Profiling: one Chrome trace 'complete' event per node run (Perfetto and chrome://tracing open it),
// and a per-op summary for the CLI.
import type { NodeRunEvent } from './types.js';

export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M';
  /** Microseconds. */
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args: Record<string, unknown>;
}

export interface ChromeTrace {
  traceEvents: TraceEvent[];
}

const GPU_TID = 1000;

export class Profiler {
  private readonly events: TraceEvent[] = [];
  private readonly threads = new Set<number>();
  private run = 0;

  /** Number the runs so events of concurrent runs can be told apart. */
  nextRun(): number {
    return ++this.run;
  }

  record(ev: NodeRunEvent, run: number): void {
    const tid = ev.thread === 'gpu' ? GPU_TID : ev.thread;
    this.threads.add(tid);
    const op = ev.node.domain ? `${ev.node.domain}:${ev.node.opType}` : ev.node.opType;
    this.events.push({
      name: ev.node.name || op,
      cat: op,
      ph: 'X',
      ts: Math.round(ev.start * 1000),
      dur: Math.max(0, Math.round(ev.dur * 1000)),
      pid: 1,
      tid,
      args: { op, run, inputShapes: ev.inputShapes.map((s) => (typeof s === 'string' ? s : `[${s.join(',')}]`)), ...(ev.part ? { part: `${ev.part[0] + 1}/${ev.part[1]}` } : {}) },
    });
  }

  /** The trace so far, with thread names; events in start order. */
  trace(): ChromeTrace {
    const meta: TraceEvent[] = [...this.threads].sort((a, b) => a - b).map((tid) => ({
      name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid,
      args: { name: tid === 0 ? 'main' : tid === GPU_TID ? 'gpu queue' : `cpu worker ${tid}` },
    }));
    const xs = [...this.events].sort((a, b) => a.ts - b.ts);
    return { traceEvents: [...meta, ...xs] };
  }
}

export interface OpSummaryRow {
  op: string;
  count: number;
  totalMs: number;
  /** Share of the summed node time. */
  percent: number;
}

/** Per-op totals of a trace's complete events, largest first. */
export function summarizeTrace(trace: ChromeTrace): OpSummaryRow[] {
  const by = new Map<string, { count: number; us: number }>();
  let total = 0;
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X') continue;
    const r = by.get(e.cat) ?? { count: 0, us: 0 };
    r.count++;
    r.us += e.dur ?? 0;
    total += e.dur ?? 0;
    by.set(e.cat, r);
  }
  return [...by]
    .map(([op, r]) => ({ op, count: r.count, totalMs: r.us / 1000, percent: total ? (100 * r.us) / total : 0 }))
    .sort((a, b) => b.totalMs - a.totalMs);
}

export function formatSummary(rows: readonly OpSummaryRow[]): string[] {
  const w = Math.max(2, ...rows.map((r) => r.op.length));
  const lines = [`${'op'.padEnd(w)}  ${'count'.padStart(6)}  ${'total ms'.padStart(10)}  ${'%'.padStart(6)}`];
  for (const r of rows) lines.push(`${r.op.padEnd(w)}  ${String(r.count).padStart(6)}  ${r.totalMs.toFixed(3).padStart(10)}  ${r.percent.toFixed(1).padStart(6)}`);
  const count = rows.reduce((a, r) => a + r.count, 0);
  const ms = rows.reduce((a, r) => a + r.totalMs, 0);
  lines.push(`${'total'.padEnd(w)}  ${String(count).padStart(6)}  ${ms.toFixed(3).padStart(10)}  ${(rows.length ? 100 : 0).toFixed(1).padStart(6)}`);
  return lines;
}
