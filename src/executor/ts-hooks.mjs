// Development only: lets a pool worker load the TypeScript sources (vitest runs sources, and workers
// cannot use vitest's transform). Registered with `--import` in the worker's execArgv when the pool
// itself was loaded from a .ts file; the built package (dist/) never uses it.
import { register } from 'node:module';

register(new URL('./ts-hooks-loader.mjs', import.meta.url));
