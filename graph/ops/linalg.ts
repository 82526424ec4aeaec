// Op schemas and shape rules: linalg family.
import type { OpSchema } from './types.js';

export const linalgOps = {
} satisfies Record<string, OpSchema>;
