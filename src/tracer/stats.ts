// Counters of the eager GPU runner, for tests and for finding out where eager ops ran.
import { eagerGpu } from './device.js';

export interface EagerStats {
  /** Whether a GPU runner exists (a device was acquired). */
  readonly gpu: boolean;
  readonly dispatches: number;
  readonly submits: number;
  readonly uploads: number;
  /** Read backs: `await t.data()` of a GPU-only tensor, inputs of CPU fallbacks, tg.fn feeds. */
  readonly downloads: number;
  /** Ops that shared their input's buffer (reshape, squeeze ...: no copy). */
  readonly aliases: number;
  /** Ops with GPU-side inputs that ran on the CPU kernels, and why, by op type (latest reason). */
  readonly cpuOps: number;
  readonly fallbacks: Readonly<Record<string, string>>;
  /** Ops that waited in the runner's queue (behind a pipeline build or a read back). */
  readonly queued: number;
}

/** A snapshot of the eager GPU counters (all zero without a GPU device). */
export function eagerStats(): EagerStats {
  const r = eagerGpu();
  if (!r) return { gpu: false, dispatches: 0, submits: 0, uploads: 0, downloads: 0, aliases: 0, cpuOps: 0, fallbacks: {}, queued: 0 };
  const s = r.stats;
  return { gpu: true, dispatches: s.dispatches, submits: s.submits, uploads: s.uploads, downloads: s.downloads, aliases: s.aliases, cpuOps: s.cpuOps, fallbacks: Object.fromEntries(s.fallbacks), queued: s.queued };
}
