// The tracer comparison: the same functions written once for tgraph's tracer (`tg.fn`) and once for
// @jax-js/jax (`jit`), run in Node on the CPU (tgraph's CPU kernels against jax-js's wasm device) and
// on WebGPU (both through Dawn, the `webgpu` package, on the same adapter). Each workload's ONNX is
// the traced tgraph graph, so onnxruntime-node runs it too as the reference for the output check.
import type { PeerInfo } from './types.js';
import { CHAIN_CYCLE, type FeedSpec, randomF32, type Workload } from './workloads.js';
import type { OutputData, Peer, Runner } from './peers.js';
import { packageVersion } from './peers.js';

/** Which function and at what size; weights come from fixed seeds so both tracers see the same ones. */
export type TracerFn =
  | { fn: 'mlp'; batch: number; rows: number; dims: [number, number, number, number] }
  | { fn: 'chain'; batch: number; rows: number; len: number }
  | { fn: 'attention'; batch: number; heads: number; seq: number; d: number };

interface Weights {
  [name: string]: { dims: number[]; data: Float32Array };
}

function weightsOf(s: TracerFn): Weights {
  if (s.fn !== 'mlp') return {};
  const [i, h1, h2, o] = s.dims;
  const w = (seed: number, a: number, b: number) => ({ dims: [a, b], data: randomF32(a * b, seed, 1 / Math.sqrt(a)) });
  const b = (seed: number, n: number) => ({ dims: [n], data: randomF32(n, seed, 0.1) });
  return { w1: w(11, i, h1), b1: b(12, h1), w2: w(13, h1, h2), b2: b(14, h2), w3: w(15, h2, o) };
}

function inputDims(s: TracerFn): [string, number[]][] {
  switch (s.fn) {
    case 'mlp':
      return [['x', [s.batch, s.rows, s.dims[0]]]];
    case 'chain':
      return [['x', [s.batch, s.rows, 1024]]];
    case 'attention': {
      const d = [s.batch, s.heads, s.seq, s.d];
      return [['q', d], ['k', d], ['v', d]];
    }
  }
}

function label(s: TracerFn): string {
  switch (s.fn) {
    case 'mlp':
      return `MLP ${s.dims.join('→')} on ${s.rows} rows`;
    case 'chain':
      return `${s.len} elementwise ops on ${s.rows}×1024`;
    case 'attention':
      return `attention ${s.heads} heads, seq ${s.seq}, d ${s.d}`;
  }
}

function flopsOf(s: TracerFn): number | undefined {
  if (s.fn === 'mlp') {
    const [i, h1, h2, o] = s.dims;
    return 2 * s.batch * s.rows * (i * h1 + h1 * h2 + h2 * o);
  }
  if (s.fn === 'attention') return 4 * s.batch * s.heads * s.seq * s.seq * s.d;
  return undefined;
}

type Tg = typeof import('../src/index.js');
type TgT = import('../src/index.js').TgTensor;

/** The function in tgraph's tracer API. */
function tgFunction(tg: Tg, s: TracerFn): (...xs: TgT[]) => TgT {
  const W = weightsOf(s);
  const c = Object.fromEntries(Object.entries(W).map(([k, v]) => [k, tg.tensor(v.data, v.dims)]));
  switch (s.fn) {
    case 'mlp':
      return (x) => x.matmul(c.w1!).add(c.b1!).relu().matmul(c.w2!).add(c.b2!).relu().matmul(c.w3!).softmax(-1);
    case 'chain':
      return (x) => {
        let t = x;
        for (let i = 0; i < s.len; i++) {
          const op = CHAIN_CYCLE[i % CHAIN_CYCLE.length]!;
          t = op === 'Mul' ? t.mul(0.5) : op === 'Add' ? t.add(1) : op === 'Tanh' ? t.tanh() : op === 'Sigmoid' ? t.sigmoid() : op === 'Abs' ? t.abs() : t.sqrt();
        }
        return t;
      };
    case 'attention':
      return (q, k, v) => q.matmul(k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(s.d)).softmax(-1).matmul(v);
  }
}

type Jax = typeof import('@jax-js/jax');
type JaxArray = import('@jax-js/jax').Array;

/**
 * The same function in jax-js's API. jax-js counts references: every argument passed is consumed, so
 * captured constants are passed as `.ref` and each intermediate is used once.
 */
function jaxFunction(jax: Jax, s: TracerFn): (...xs: JaxArray[]) => JaxArray {
  const { numpy: np, nn } = jax;
  const W = weightsOf(s);
  const c = Object.fromEntries(Object.entries(W).map(([k, v]) => [k, np.array(v.data).reshape(v.dims)]));
  switch (s.fn) {
    case 'mlp':
      return (x) => {
        const h1 = nn.relu(np.matmul(x, c.w1!.ref).add(c.b1!.ref));
        const h2 = nn.relu(np.matmul(h1, c.w2!.ref).add(c.b2!.ref));
        return nn.softmax(np.matmul(h2, c.w3!.ref), -1);
      };
    case 'chain':
      return (x) => {
        let t = x;
        for (let i = 0; i < s.len; i++) {
          const op = CHAIN_CYCLE[i % CHAIN_CYCLE.length]!;
          t = op === 'Mul' ? t.mul(0.5) : op === 'Add' ? t.add(1) : op === 'Tanh' ? np.tanh(t) : op === 'Sigmoid' ? nn.sigmoid(t) : op === 'Abs' ? np.abs(t) : np.sqrt(t);
        }
        return t;
      };
    case 'attention':
      return (q, k, v) => np.matmul(nn.softmax(np.matmul(q, np.transpose(k, [0, 1, 3, 2])).mul(1 / Math.sqrt(s.d)), -1), v);
  }
}

let seedBase = 41;
function tracerWorkload(s: TracerFn): Workload {
  const ins = inputDims(s);
  const seed = seedBase++;
  let bytes: Uint8Array | undefined;
  const feeds = (): FeedSpec[] => ins.map(([name, dims], i) => ({ name, dtype: 'float32', dims, data: randomF32(dims.reduce((a, b) => a * b, 1), seed * 10 + i) }));
  return {
    id: `tracer/${s.fn}@${s.batch}`,
    group: 'tracer',
    name: label(s),
    kind: `traced function (${s.fn})`,
    batch: s.batch,
    tracer: s,
    // The traced graph, unoptimized, for onnxruntime-node's reference run (tgraph's import is synchronous
    // but the tracer is loaded lazily, so the bytes are made on first use by `prepareTracerBytes`).
    bytes: () => {
      if (!bytes) throw new Error(`bench: ${s.fn}: call prepareTracerBytes first`);
      return bytes;
    },
    prepare: async () => {
      if (bytes) return;
      const tg = await import('../src/index.js');
      const f = tg.fn(tgFunction(tg, s), { name: s.fn, device: 'cpu' });
      const args = feeds().map((x) => tg.tensor(x.data, x.dims));
      bytes = f.concrete(...args).toOnnx();
    },
    feeds,
    flops: flopsOf(s),
    bytesMoved: s.fn === 'chain' ? 8 * s.batch * s.rows * 1024 : undefined,
  };
}

export function tracerWorkloads(quick: boolean, batches: number[]): Workload[] {
  const out: Workload[] = [];
  for (const b of batches) {
    if (quick) {
      out.push(
        tracerWorkload({ fn: 'mlp', batch: b, rows: 8, dims: [64, 128, 64, 10] }),
        tracerWorkload({ fn: 'chain', batch: b, rows: 64, len: 16 }),
        tracerWorkload({ fn: 'attention', batch: b, heads: 4, seq: 64, d: 32 }),
      );
    } else {
      out.push(
        tracerWorkload({ fn: 'mlp', batch: b, rows: 32, dims: [256, 512, 256, 10] }),
        tracerWorkload({ fn: 'chain', batch: b, rows: 256, len: 16 }),
        tracerWorkload({ fn: 'attention', batch: b, heads: 8, seq: 128, d: 64 }),
      );
    }
  }
  return out;
}

// ---- peers ------------------------------------------------------------------------------------

function tgFnPeer(device: 'cpu' | 'webgpu'): Peer {
  return {
    info: {
      id: `tgraph-fn-${device}`,
      package: 'tgraph',
      version: packageVersion('tgraph'),
      backend: device,
      host: 'node',
      threads: device === 'cpu' ? 1 : null,
      optLevel: 'all',
      detail: `tg.fn(f, { device: '${device}' })${device === 'webgpu' ? `, Dawn (webgpu ${packageVersion('webgpu')} package)` : ', CPU kernels'}; each call reads the result back`,
    },
    groups: ['tracer'],
    async load(_bytes, feeds, w): Promise<Runner> {
      const s = w.tracer!;
      const tg = await import('../src/index.js');
      const f = tg.fn(tgFunction(tg, s), { name: s.fn, device });
      const args = feeds.map((x) => tg.tensor(x.data, x.dims));
      if (device === 'webgpu') {
        // tg.fn falls back to the CPU without an adapter; the comparison needs the GPU plan.
        const plan = (await f.concrete(...args).plan()) as { backend?: string };
        if (plan.backend !== 'webgpu') throw new Error(`tg.fn planned on ${plan.backend}, not webgpu`);
      }
      return {
        async run() {
          const y = await f(...args);
          const d = (await y.data()) as OutputData;
          y.dispose();
          return d;
        },
        async release() {
          for (const a of args) a.dispose();
        },
      };
    },
  };
}

let jaxPromise: Promise<{ jax: Jax; devices: string[] }> | undefined;

/**
 * Runs `f` with no global Worker. onnxruntime-web sets `global.Worker` in Node; jax-js's wasm device
 * then shares its memory and starts a worker pool from a blob: URL, which Node refuses. Without Worker
 * it runs single-threaded, which is also the thread count every CPU peer here gets.
 */
async function withoutWorker<T>(f: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>;
  const saved = g.Worker;
  delete g.Worker;
  try {
    return await f();
  } finally {
    if (saved !== undefined) g.Worker = saved;
  }
}

/**
 * jax-js in Node: its wasm device works as is (single-threaded: Node 20 has no global Worker). Its
 * WebGPU device looks for `navigator.gpu`; Node 20 has no navigator, so it gets one holding a Dawn
 * instance made the way tgraph makes its own (SwiftShader's Vulkan driver when there is no GPU).
 */
async function loadJax(webgpu: boolean): Promise<{ jax: Jax; devices: string[] }> {
  jaxPromise ??= (async () => {
    // init() probes every device, WebGPU's by reading navigator.gpu: without a navigator it throws.
    if (!('navigator' in globalThis)) (globalThis as Record<string, unknown>).navigator = { userAgent: `Node.js/${process.version}`, hardwareConcurrency: 1 };
    if (webgpu) {
      const { describeGpu } = await import('../src/backends/webgpu/device.js');
      const r = await describeGpu(); // sets VK_ICD_FILENAMES to SwiftShader when that is what it found
      if (r.available) {
        const pkg = 'webgpu';
        const dawn = (await import(pkg)) as { create(o: string[]): GPU; globals: Record<string, unknown> };
        for (const [k, v] of Object.entries(dawn.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
        (globalThis.navigator as unknown as { gpu?: GPU }).gpu ??= dawn.create([]);
      }
    }
    return withoutWorker(async () => {
      const jax = await import('@jax-js/jax');
      return { jax, devices: (await jax.init()) as string[] };
    });
  })();
  return jaxPromise;
}

function jaxPeer(device: 'wasm' | 'webgpu', webgpu: boolean): Peer {
  return {
    info: {
      id: `jax-js-${device}`,
      package: '@jax-js/jax',
      version: packageVersion('@jax-js/jax'),
      backend: device,
      host: 'node',
      threads: device === 'wasm' ? 1 : null,
      optLevel: 'jit',
      detail: device === 'wasm' ? 'jit(f) on the wasm device (one thread: no Worker global in Node)' : 'jit(f) on the webgpu device, navigator.gpu = a Dawn instance (webgpu package), same adapter as tgraph',
    },
    groups: ['tracer'],
    async load(_bytes, feeds, w): Promise<Runner> {
      const s = w.tracer!;
      const { jax, devices } = await loadJax(webgpu);
      if (!devices.includes(device)) throw new Error(`jax-js init() found ${devices.join(', ')}, not ${device}`);
      const [f, args] = await withoutWorker(async () => {
        jax.defaultDevice(device as Parameters<Jax['defaultDevice']>[0]);
        return [jax.jit(jaxFunction(jax, s)), feeds.map((x) => jax.numpy.array(x.data).reshape(x.dims))] as const;
      });
      return {
        run: () =>
          withoutWorker(async () => {
            jax.defaultDevice(device as Parameters<Jax['defaultDevice']>[0]);
            const y = (f as unknown as (...a: JaxArray[]) => JaxArray)(...args.map((a) => a.ref));
            return (await y.data()) as OutputData; // data() realizes, reads back and disposes y
          }),
        async release() {
          for (const a of args) a.dispose();
          (f as unknown as { dispose?: () => void }).dispose?.();
        },
      };
    },
  };
}

export function tracerPeers(webgpu: boolean): Peer[] {
  const peers = [tgFnPeer('cpu'), jaxPeer('wasm', webgpu)];
  if (webgpu) peers.push(tgFnPeer('webgpu'), jaxPeer('webgpu', webgpu));
  return peers;
}

export function tracerPeerInfos(webgpu: boolean): PeerInfo[] {
  return tracerPeers(webgpu).map((p) => p.info);
}

/** Best time of an n×n×n MatMul under jax-js's jit on its WebGPU device (Dawn), for the device's ceiling. */
export async function jaxMatmulMs(n: number, reps: number): Promise<number> {
  const { jax, devices } = await loadJax(true);
  if (!devices.includes('webgpu')) throw new Error(`jax-js init() found ${devices.join(', ')}, not webgpu`);
  jax.defaultDevice('webgpu');
  const np = jax.numpy;
  const a = np.array(randomF32(n * n, 1)).reshape([n, n]);
  const b = np.array(randomF32(n * n, 2)).reshape([n, n]);
  const f = jax.jit((x: JaxArray, y: JaxArray) => np.matmul(x, y)) as unknown as (x: JaxArray, y: JaxArray) => JaxArray;
  const run = () => withoutWorker(async () => void (await f(a.ref, b.ref).data()));
  await run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await run();
    best = Math.min(best, performance.now() - t);
  }
  a.dispose();
  b.dispose();
  return best;
}
