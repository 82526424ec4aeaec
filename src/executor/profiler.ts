// Profiling: one Chrome trace 'complete' event per node run (Perfetto and chrome://tracing open it),
// and a per-op summary for the CLI. The nodes of If/Loop/Scan bodies get events too, on their
// control-flow node's thread and inside its time span (args.parent, args.depth), so Perfetto nests
// them; the summary counts each op's self time (a control-flow node's time less its bodies' nodes).
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
    // Start and end are rounded, not the duration, so an event that ended before another keeps doing so.
    const ts = Math.round(ev.start * 1000);
    const end = Math.round((ev.start + ev.dur) * 1000);
    const within = ev.within ?? [];
    const parent = within[within.length - 1];
    this.events.push({
      name: ev.node.name || op,
      cat: op,
      ph: 'X',
      ts,
      dur: Math.max(0, end - ts),
      pid: 1,
      tid,
      args: {
        op,
        run,
        inputShapes: ev.inputShapes.map((s) => (typeof s === 'string' ? s : `[${s.join(',')}]`)),
        ...(ev.part ? { part: `${ev.part[0] + 1}/${ev.part[1]}` } : {}),
        ...(parent ? { parent: parent.name || parent.opType, depth: within.length } : {}),
      },
    });
  }

  /** The trace so far, with thread names; events in start order. */
  trace(): ChromeTrace {
    const meta: TraceEvent[] = [...this.threads].sort((a, b) => a - b).map((tid) => ({
      name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid,
      args: { name: tid === 0 ? 'main' : tid === GPU_TID ? 'gpu queue' : `cpu worker ${tid}` },
    }));
    // At equal start an enclosing node comes before its body's nodes.
    const xs = [...this.events].sort((a, b) => a.ts - b.ts || depthOf(a) - depthOf(b));
    return { traceEvents: [...meta, ...xs] };
  }
}

const depthOf = (e: TraceEvent): number => (typeof e.args.depth === 'number' ? e.args.depth : 0);

export interface OpSummaryRow {
  op: string;
  count: number;
  /** Of them, runs inside an If/Loop/Scan body. */
  nested: number;
  /** The op's own time: a control-flow node's time less that of its bodies' nodes (which have rows of their own). */
  selfMs: number;
  /** With its bodies' nodes (equal to selfMs for other ops). */
  totalMs: number;
  /** Share of the summed self time (the main graph's node time, nothing counted twice). */
  percent: number;
}

/** Per-op totals of a trace's complete events, largest self time first. */
export function summarizeTrace(trace: ChromeTrace): OpSummaryRow[] {
  // Body nodes run synchronously inside their control-flow node, on its thread: in start order (an
  // enclosing node first), the parent of an event at depth d is the thread's last event at depth d - 1.
  const xs = trace.traceEvents.filter((e) => e.ph === 'X').sort((a, b) => a.ts - b.ts || depthOf(a) - depthOf(b));
  const childUs = new Map<TraceEvent, number>();
  const open = new Map<number, TraceEvent[]>();
  for (const e of xs) {
    const d = depthOf(e);
    const stack = open.get(e.tid) ?? [];
    open.set(e.tid, stack);
    const parent = d > 0 ? stack[d - 1] : undefined;
    if (parent) childUs.set(parent, (childUs.get(parent) ?? 0) + (e.dur ?? 0));
    stack.length = Math.min(stack.length, d);
    stack[d] = e;
  }
  const by = new Map<string, { count: number; nested: number; self: number; us: number }>();
  let total = 0;
  for (const e of xs) {
    const r = by.get(e.cat) ?? { count: 0, nested: 0, self: 0, us: 0 };
    const self = Math.max(0, (e.dur ?? 0) - (childUs.get(e) ?? 0));
    r.count++;
    if (depthOf(e) > 0) r.nested++;
    r.self += self;
    r.us += e.dur ?? 0;
    total += self;
    by.set(e.cat, r);
  }
  return [...by]
    .map(([op, r]) => ({ op, count: r.count, nested: r.nested, selfMs: r.self / 1000, totalMs: r.us / 1000, percent: total ? (100 * r.self) / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

/**
 * The CLI's table. A trace with no nested events: op, count, total ms, %. With If/Loop/Scan bodies:
 * self ms (what the % is of) and incl ms (with the bodies' nodes), and a note saying so.
 */
export function formatSummary(rows: readonly OpSummaryRow[]): string[] {
  const nested = rows.reduce((a, r) => a + r.nested, 0);
  const w = Math.max(5, ...rows.map((r) => r.op.length));
  const cells = (op: string, count: number | string, self: string, pct: string, incl?: string) =>
    `${op.padEnd(w)}  ${String(count).padStart(6)}  ${self.padStart(10)}  ${pct.padStart(6)}${nested ? `  ${(incl ?? '').padStart(10)}` : ''}`;
  const lines = [cells('op', 'count', nested ? 'self ms' : 'total ms', '%', 'incl ms')];
  for (const r of rows) lines.push(cells(r.op, r.count, r.selfMs.toFixed(3), r.percent.toFixed(1), r.totalMs.toFixed(3)));
  const count = rows.reduce((a, r) => a + r.count, 0);
  const ms = rows.reduce((a, r) => a + r.selfMs, 0);
  lines.push(cells('total', count, ms.toFixed(3), (rows.length ? 100 : 0).toFixed(1), ms.toFixed(3)));
  if (nested) lines.push(`${nested} of the ${count} node runs were inside If/Loop/Scan bodies; self ms leaves a control-flow node's bodies out (their nodes have rows of their own), incl ms keeps them in`);
  return lines;
}
