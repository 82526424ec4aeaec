// Shared by the Vite builds of browser pages (playground, bench/browser, tests/executor/browser):
// the library reaches Node-only modules behind runtime checks and dynamic imports (model-loader's
// file reading, the `webgpu` package for Dawn in Node, worker_threads); in a browser those branches
// never run, so they are aliased to a stub that throws and Vite neither bundles nor chokes on them.
import { fileURLToPath } from 'node:url';

export const NODE_ONLY = ['node:fs', 'node:path', 'node:os', 'node:url', 'node:worker_threads', 'webgpu', 'onnxruntime-node'];

export const NODE_STUB = fileURLToPath(new URL('./node-stub.ts', import.meta.url));

/** Vite `resolve.alias` entries mapping each Node-only module to the stub. */
export function nodeOnlyAliases(): { find: RegExp; replacement: string }[] {
  return NODE_ONLY.map((find) => ({ find: new RegExp(`^${find}$`), replacement: NODE_STUB }));
}
