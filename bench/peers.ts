// The runtimes compared in Node: tgraph (CPU, WebGPU; optimizer on and off), onnxruntime-node (CPU),
// onnxruntime-web (wasm). Each is imported only when used, so a child process measuring one peer's
// memory holds only that runtime.
import fs from 'node:fs';
import path from 'node:path';
import type { PeerInfo } from './types.js';
import type { FeedSpec, Workload } from './workloads.js';
import { repoRoot } from './workloads.js';

export type OutputData = Float32Array | BigInt64Array | Int32Array | Uint8Array | undefined;

export interface Runner {
  /** One inference; resolves to the first output's data (not copied). */
  run(): Promise<OutputData>;
  /** GPU bytes the runtime holds for this session, where it can tell. */
  gpuBytes?(): number | undefined;
  release(): Promise<void>;
}

export interface Peer {
  info: PeerInfo;
  /** Only for real models at batch 1 (the optimizer-off variants). */
  modelsOnly?: boolean;
  /** Workload groups it runs (default: real models and micro-benchmarks). */
  groups?: Workload['group'][];
  load(bytes: Uint8Array, feeds: FeedSpec[], w: Workload): Promise<Runner>;
}

export function packageVersion(name: string): string {
  try {
    const pj = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
    return pj.version;
  } catch {
    return name === 'tgraph' ? (JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string }).version : 'not installed';
  }
}

function tgraphPeer(backend: 'cpu' | 'webgpu', level: 'all' | 'disabled'): Peer {
  const id = `tgraph-${backend}${level === 'disabled' ? '-O0' : ''}`;
  return {
    info: {
      id,
      package: 'tgraph',
      version: packageVersion('tgraph'),
      backend,
      host: 'node',
      threads: backend === 'cpu' ? 1 : null,
      optLevel: level,
      detail: backend === 'cpu' ? 'single-threaded CPU kernels (JS + WebAssembly SIMD GEMM)' : `Dawn (webgpu ${packageVersion('webgpu')} package)`,
    },
    modelsOnly: level === 'disabled',
    async load(bytes, feeds) {
      const { InferenceSession, Tensor } = await import('../src/index.js');
      const session = await InferenceSession.create(bytes, { executionProviders: [backend], graphOptimizationLevel: level });
      if (session.backend !== backend) throw new Error(`tgraph chose ${session.backend}, not ${backend}`);
      const t: Record<string, InstanceType<typeof Tensor>> = {};
      for (const f of feeds) t[f.name] = new Tensor(f.dtype, f.data, f.dims);
      const first = session.outputNames[0]!;
      return {
        async run() {
          const out = await session.run(t);
          return out[first]?.data as OutputData;
        },
        gpuBytes() {
          const compiled = (session as unknown as { compiled: { bufferStats?: () => { allocated: number } | undefined } }).compiled;
          return compiled.bufferStats?.()?.allocated;
        },
        release: () => session.release(),
      };
    },
  };
}

function ortNodePeer(threads: number): Peer {
  return {
    info: {
      id: 'onnxruntime-node',
      package: 'onnxruntime-node',
      version: packageVersion('onnxruntime-node'),
      backend: 'cpu',
      host: 'node',
      threads,
      optLevel: 'all',
      detail: `CPU execution provider, intraOpNumThreads ${threads}, interOpNumThreads 1, sequential`,
    },
    // Also the reference for the tracer workloads' output check (their traced graph as ONNX).
    groups: ['model', 'micro', 'tracer'],
    async load(bytes, feeds) {
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
      const t: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const f of feeds) t[f.name] = new ort.Tensor(f.dtype, f.data, f.dims);
      const first = session.outputNames[0]!;
      return {
        async run() {
          const out = await session.run(t);
          return out[first]?.data as OutputData;
        },
        release: () => session.release(),
      };
    },
  };
}

function ortWebPeer(threads: number): Peer {
  return {
    info: {
      id: 'onnxruntime-web-wasm',
      package: 'onnxruntime-web',
      version: packageVersion('onnxruntime-web'),
      backend: 'wasm',
      host: 'node',
      threads,
      optLevel: 'all',
      detail: `wasm execution provider (SIMD), env.wasm.numThreads ${threads}`,
    },
    async load(bytes, feeds) {
      const ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = threads;
      ort.env.logLevel = 'error';
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const t: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const f of feeds) t[f.name] = new ort.Tensor(f.dtype, f.data, f.dims);
      const first = session.outputNames[0]!;
      return {
        async run() {
          const out = await session.run(t);
          return out[first]?.data as OutputData;
        },
        release: () => session.release(),
      };
    },
  };
}

export interface PeerOptions {
  threads: number;
  webgpu: boolean;
  /** Also run tgraph with the optimizer off (graphOptimizationLevel 'disabled'). */
  optLevels: boolean;
}

export function nodePeers(o: PeerOptions): Peer[] {
  const peers = [tgraphPeer('cpu', 'all')];
  if (o.optLevels) peers.push(tgraphPeer('cpu', 'disabled'));
  if (o.webgpu) {
    peers.push(tgraphPeer('webgpu', 'all'));
    if (o.optLevels) peers.push(tgraphPeer('webgpu', 'disabled'));
  }
  peers.push(ortNodePeer(o.threads), ortWebPeer(o.threads));
  return peers;
}
