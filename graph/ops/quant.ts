// Op schemas and shape rules: quant family.
import type { OpSchema } from './types.js';

export const quantOps = {
} satisfies Record<string, OpSchema>;
