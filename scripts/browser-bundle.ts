// Shared by the Vite builds of browser pages (playground, bench/browser, tests/executor/browser):
// the library reaches Node-only modules behind runtime checks and dynamic imports (model-loader's
// file reading, the `webgpu` package for Dawn in Node, worker_threads); in a browser those branches
// never run, so they are aliased to a stub that throws and Vite neither bundles nor chokes on them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_ONLY = ['node:fs', 'node:path', 'node:os', 'node:url', 'node:worker_threads', 'webgpu', 'onnxruntime-node'];

/** scripts/node-stub.ts, found from this module's place (the sources, or a compiled copy below the repository, as bench's). */
export function nodeStubPath(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    for (const f of [path.join(dir, 'node-stub.ts'), path.join(dir, 'scripts', 'node-stub.ts')]) if (fs.existsSync(f)) return f;
    if (path.dirname(dir) === dir) throw new Error('scripts/node-stub.ts not found above ' + fileURLToPath(import.meta.url));
  }
}

/** Vite `resolve.alias` entries mapping each Node-only module to the stub. */
export function nodeOnlyAliases(): { find: RegExp; replacement: string }[] {
  const stub = nodeStubPath();
  return NODE_ONLY.map((find) => ({ find: new RegExp(`^${find}$`), replacement: stub }));
}
