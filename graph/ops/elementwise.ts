// Op schemas and shape rules: elementwise family.
import type { OpSchema } from './types.js';

export const elementwiseOps = {
} satisfies Record<string, OpSchema>;
