// Module hooks for ts-hooks.mjs: './x.js' from a .ts file resolves to './x.ts' when only that exists,
// and .ts files are transpiled (types erased) with the project's TypeScript. Transpiled modules are
// cached on disk by content hash (os.tmpdir()/tgraph-ts-cache), so only changed files cost anything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let ts;
const cacheDir = path.join(os.tmpdir(), 'tgraph-ts-cache');

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) return next(specifier.slice(0, -3) + '.ts', context);
    throw e;
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const source = fs.readFileSync(file, 'utf8');
  const key = crypto.createHash('sha1').update(file).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  try {
    return { format: 'module', source: fs.readFileSync(cached, 'utf8'), shortCircuit: true };
  } catch {
    // not cached yet
  }
  ts ??= (await import('typescript')).default;
  const out = ts.transpileModule(source, {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true },
  }).outputText;
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, cached);
  } catch {
    // a read-only tmpdir only costs speed
  }
  return { format: 'module', source: out, shortCircuit: true };
}
