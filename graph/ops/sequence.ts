// Op schemas and shape rules: sequence family.
import type { OpSchema } from './types.js';

export const sequenceOps = {
} satisfies Record<string, OpSchema>;
