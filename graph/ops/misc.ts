// Op schemas and shape rules: misc family.
import type { OpSchema } from './types.js';

export const miscOps = {
} satisfies Record<string, OpSchema>;
