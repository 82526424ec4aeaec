// `npm pack` gives a tarball that installs into an empty folder, imports, and whose `tgraph` runs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const sh = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });

describe('the npm package', () => {
  it('builds, packs, installs into an empty folder, imports and runs the CLI', () => {
    sh('npm', ['run', 'build', '--silent'], root);
    const packDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-pack-'));
    const tgz = sh('npm', ['pack', '--silent', '--pack-destination', packDir], root).trim().split('\n').at(-1)!;
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tgraph-app-'));
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(packDir, tgz)], app);
    const script = `import { InferenceSession, Tensor } from 'tgraph';
const s = await InferenceSession.create('node_modules/tgraph/models/ppocr-mobile-v2-cls.onnx');
const r = await s.run({ x: new Tensor('float32', new Float32Array(3 * 48 * 192).fill(0.5), [1, 3, 48, 192]) });
console.log(JSON.stringify(Object.values(r)[0].dims));`;
    fs.writeFileSync(path.join(app, 'main.mjs'), script);
    expect(sh('node', ['main.mjs'], app).trim()).toBe('[1,2]');
    const cli = sh(path.join(app, 'node_modules/.bin/tgraph'), ['inspect', 'node_modules/tgraph/models/ppocr-mobile-v2-cls.onnx', '--json'], app);
    expect(JSON.parse(cli).ops.Conv).toBe(53);
  }, 300_000);
});
