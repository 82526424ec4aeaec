// Vite config for the playground: `vite build --config playground/vite.config.ts` writes a static
// site to dist/playground (relative URLs, so any static server and any sub-path works).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { nodeOnlyAliases } from '../scripts/browser-bundle.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

/** The bundled sample models, served in dev and emitted into the build (not committed twice). */
export const SAMPLES = [{ file: 'ppocr-mobile-v2-cls.onnx', from: here('../models/ppocr-mobile-v2-cls.onnx') }];

function samples(): Plugin {
  return {
    name: 'tgraph-samples',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const s = SAMPLES.find((x) => req.url?.split('?')[0]?.endsWith(`/samples/${x.file}`));
        if (!s) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(s.from));
      });
    },
    generateBundle() {
      for (const s of SAMPLES) this.emitFile({ type: 'asset', fileName: `samples/${s.file}`, source: readFileSync(s.from) });
    },
  };
}

export default defineConfig({
  root: here('.'),
  base: './',
  publicDir: false,
  resolve: {
    // Node-only modules (behind runtime checks in the library) become a stub that throws.
    alias: nodeOnlyAliases(),
  },
  // src/tracer/source.ts strips process.cwd() from source lines; there is no process in the browser.
  define: { 'process.cwd': '(() => "")' },
  worker: { format: 'es' },
  plugins: [samples()],
  build: {
    outDir: here('../dist/playground'),
    emptyOutDir: true,
    target: 'es2022',
    // Keep class names: typed errors report themselves by name (ModelLoadError, ...).
    rolldownOptions: { output: { keepNames: true }, checks: { pluginTimings: false } },
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
});
