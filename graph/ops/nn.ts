// Op schemas and shape rules: nn family.
import type { OpSchema } from './types.js';

export const nnOps = {
} satisfies Record<string, OpSchema>;
