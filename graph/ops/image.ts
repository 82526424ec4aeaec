// Op schemas and shape rules: image family.
import type { OpSchema } from './types.js';

export const imageOps = {
} satisfies Record<string, OpSchema>;
