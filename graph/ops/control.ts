// Op schemas and shape rules: control family.
import type { OpSchema } from './types.js';

export const controlOps = {
} satisfies Record<string, OpSchema>;
