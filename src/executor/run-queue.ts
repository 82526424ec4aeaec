// Run management: how runs are admitted, stopped and drained.
//
// A run is admitted when fewer than `maxConcurrentRuns` are executing; otherwise it waits in a FIFO
// queue of at most `maxQueuedRuns`. When that queue is full, `queuePolicy` decides: 'wait' holds the
// caller until there is room, 'reject' rejects at once with QueueFullError. Each run carries a
// RunControl that merges the caller's AbortSignal, its timeout and a forced release: whatever stops a
// run first decides its error (AbortError, TimeoutError), wakes it wherever it waits (queue, worker)
// and is checked between nodes.
import { AbortError, QueueFullError, SessionReleasedError, TimeoutError } from '../../graph/errors.js';

export type QueuePolicy = 'wait' | 'reject';

export interface RunQueueOptions {
  /** Runs executing at once. */
  readonly maxConcurrentRuns: number;
  /** Runs waiting for a slot; default unbounded. */
  readonly maxQueuedRuns?: number;
  /** What a run does when the queue is full; default 'wait'. */
  readonly queuePolicy?: QueuePolicy;
}

/** The stop flag of one run: checked between nodes, observable by what the run waits on. */
export class RunControl {
  private reason: Error | undefined;
  private readonly listeners = new Set<(e: Error) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort = () => this.stop(new AbortError());

  constructor(private readonly signal?: AbortSignal, private readonly timeoutMs?: number) {
    if (signal) {
      if (signal.aborted) this.reason = new AbortError();
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
    if (timeoutMs !== undefined && !this.reason) {
      const deadline = performance.now() + timeoutMs;
      this.deadline = deadline;
      this.timer = setTimeout(() => this.stop(new TimeoutError(timeoutMs)), Math.max(0, timeoutMs));
    }
  }

  private deadline = Infinity;

  /** True once the run should stop (synchronous code sees timeouts even without the timer firing). */
  get aborted(): boolean {
    return this.check() !== undefined;
  }

  /** The error to reject the run with, once stopped. */
  check(): Error | undefined {
    if (this.reason) return this.reason;
    if (this.signal?.aborted) this.stop(new AbortError());
    else if (performance.now() > this.deadline) this.stop(new TimeoutError(this.timeoutMs!));
    return this.reason;
  }

  /** Throw the stop reason if there is one. */
  throwIfStopped(): void {
    const e = this.check();
    if (e) throw e;
  }

  stop(e: Error): void {
    if (this.reason && this.listeners.size === 0) return;
    this.reason ??= e;
    const ls = [...this.listeners];
    this.listeners.clear();
    for (const l of ls) l(this.reason);
  }

  /** Call `fn` when the run stops (at once if it has); returns an unsubscribe function. */
  onStop(fn: (e: Error) => void): () => void {
    const e = this.check();
    if (e) {
      fn(e);
      return () => {};
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolve with `p`, or reject as soon as the run stops. */
  race<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = this.onStop(reject);
      p.then(
        (v) => {
          off();
          resolve(v);
        },
        (e) => {
          off();
          reject(e);
        },
      );
    });
  }

  /** Remove the timer and the signal listener (nothing is left behind after a run). */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.listeners.clear();
  }
}

interface Waiter {
  readonly control: RunControl;
  resolve(): void;
  reject(e: Error): void;
  off(): void;
}

export interface RunQueueStats {
  /** Runs executing. */
  running: number;
  /** Runs admitted to the queue, waiting for a slot. */
  queued: number;
  /** Runs waiting for room in a full queue (policy 'wait'). */
  waitingForRoom: number;
  /** Most runs ever queued at once (the bound holds when this is <= maxQueuedRuns). */
  peakQueued: number;
}

export class RunQueue {
  private running = 0;
  private readonly queued: Waiter[] = [];
  private readonly overflow: Waiter[] = [];
  private readonly active = new Set<RunControl>();
  private idle: (() => void)[] = [];
  private closed = false;
  private peakQueued = 0;
  readonly maxConcurrentRuns: number;
  readonly maxQueuedRuns: number;
  readonly policy: QueuePolicy;

  constructor(opts: RunQueueOptions) {
    this.maxConcurrentRuns = Math.max(1, Math.floor(opts.maxConcurrentRuns));
    this.maxQueuedRuns = Math.max(0, opts.maxQueuedRuns ?? Infinity);
    this.policy = opts.queuePolicy ?? 'wait';
  }

  stats(): RunQueueStats {
    return { running: this.running, queued: this.queued.length, waitingForRoom: this.overflow.length, peakQueued: this.peakQueued };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Run `fn` when a slot is free; `control` stops the wait as well as the run. */
  async run<T>(control: RunControl, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SessionReleasedError();
    control.throwIfStopped();
    await this.admit(control);
    this.active.add(control);
    try {
      control.throwIfStopped();
      return await fn();
    } finally {
      this.active.delete(control);
      this.running--;
      this.pump();
    }
  }

  private admit(control: RunControl): Promise<void> {
    if (this.running < this.maxConcurrentRuns && this.queued.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queued.length >= this.maxQueuedRuns && this.policy === 'reject') {
      return Promise.reject(new QueueFullError(this.maxQueuedRuns));
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { control, resolve, reject, off: () => {} };
      w.off = control.onStop((e) => {
        this.remove(w);
        reject(e);
      });
      if (this.queued.length < this.maxQueuedRuns) this.enqueue(w);
      else this.overflow.push(w);
    });
  }

  private enqueue(w: Waiter): void {
    this.queued.push(w);
    this.peakQueued = Math.max(this.peakQueued, this.queued.length);
  }

  private remove(w: Waiter): void {
    for (const list of [this.queued, this.overflow]) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < this.maxConcurrentRuns && this.queued.length) {
      const w = this.queued.shift()!;
      w.off();
      this.running++;
      w.resolve();
    }
    while (this.queued.length < this.maxQueuedRuns && this.overflow.length) this.enqueue(this.overflow.shift()!);
    if (this.running === 0 && this.queued.length === 0 && this.overflow.length === 0) {
      const idle = this.idle;
      this.idle = [];
      for (const f of idle) f();
    }
  }

  /** Refuse new runs from now on. */
  close(): void {
    this.closed = true;
  }

  /** Resolves when no run is executing or waiting. */
  drain(): Promise<void> {
    if (this.running === 0 && this.queued.length === 0 && this.overflow.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stop every run, executing or waiting, with `e`. */
  cancelAll(e: Error): void {
    for (const w of [...this.queued, ...this.overflow]) w.control.stop(e);
    for (const c of [...this.active]) c.stop(e);
  }
}
