// Op schemas and shape rules: rnn family.
import type { OpSchema } from './types.js';

export const rnnOps = {
} satisfies Record<string, OpSchema>;
