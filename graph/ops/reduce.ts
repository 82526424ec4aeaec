// Op schemas and shape rules: reduce family.
import type { OpSchema } from './types.js';

export const reduceOps = {
} satisfies Record<string, OpSchema>;
