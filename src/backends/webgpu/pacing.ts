// Waiting for the GPU without spinning. Dawn's `webgpu` package in Node resolves mapAsync,
// onSubmittedWorkDone, popErrorScope and createComputePipelineAsync by calling the instance's
// ProcessEvents from a setImmediate loop that runs for as long as anything is pending: while a
// run's readback is awaited the main thread never sleeps (about 75% of a core measured). On a GPU
// that only wastes CPU; on SwiftShader the GPU *is* the CPU, and the loop takes a core from the
// driver's worker threads (2 cores: the classifier's steady run went from ~330 ms with an idle
// main thread to ~490 ms with the loop, and to over 1 s when other processes load the machine).
//
// `quietly(promise)` keeps Dawn's loop but makes each turn of the event loop sleep SLICE_MS in
// Atomics.wait (a futex wait: no CPU) while the promise is pending: ProcessEvents still runs every
// turn, so completion is seen within about a slice, and timers and I/O still run between slices.
// Node only: Atomics.wait is not allowed on a browser's main thread (and browsers do not spin).

/** Sleep per event-loop turn while GPU work is awaited. */
const SLICE_MS = 1;

let pending = 0;
let ticking = false;
let cell: Int32Array | undefined;

function tick(): void {
  if (pending === 0) {
    ticking = false;
    return;
  }
  Atomics.wait(cell!, 0, 0, SLICE_MS);
  setImmediate(tick);
}

/** Whether `quietly` throttles: Node with the `webgpu` package. TGRAPH_WEBGPU_QUIET_WAIT=0 turns it off. */
export function quietWaitWanted(source: string): boolean {
  if (typeof process === 'undefined' || !process.versions?.node) return false;
  if (typeof setImmediate !== 'function' || typeof SharedArrayBuffer !== 'function') return false;
  const env = process.env?.TGRAPH_WEBGPU_QUIET_WAIT;
  if (env === '0') return false;
  return source !== 'navigator.gpu';
}

/** Await `p` with the event loop sleeping between turns (see above). */
export async function quietly<T>(p: Promise<T>): Promise<T> {
  cell ??= new Int32Array(new SharedArrayBuffer(4));
  pending++;
  if (!ticking) {
    ticking = true;
    setImmediate(tick);
  }
  try {
    return await p;
  } finally {
    pending--;
  }
}
