// Stands in for Node-only modules (node:fs, the `webgpu` package, ...) in browser bundles (the
// playground, bench/browser, the browser tests); tgraph only reaches them behind "is this Node?"
// checks, so nothing here should ever run.
function unavailable(): never {
  throw new Error('this Node-only module is not available in the browser');
}
export default new Proxy({}, { get: unavailable });
export const create = unavailable;
export const readFileSync = unavailable;
export const realpathSync = unavailable;
export const existsSync = unavailable;
export const tmpdir = unavailable;
