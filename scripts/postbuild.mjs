// Make the CLI entry executable after tsc (npm pack keeps the mode).
import fs from 'node:fs';
fs.chmodSync(new URL('../dist/src/cli/main.js', import.meta.url), 0o755);
