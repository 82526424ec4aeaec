// Op schemas and shape rules: manip family.
import type { OpSchema } from './types.js';

export const manipOps = {
} satisfies Record<string, OpSchema>;
