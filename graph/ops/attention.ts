// Op schemas and shape rules: attention family.
import type { OpSchema } from './types.js';

export const attentionOps = {
} satisfies Record<string, OpSchema>;
