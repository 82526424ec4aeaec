// Op schemas and shape rules: misc family (signal, strings, ai.onnx.ml, training, random).
import type { OpSchema } from './types.js';
import { signalOps } from './misc-signal.js';
import { stringOps } from './misc-string.js';
import { mlOps } from './misc-ml.js';
import { randomOps, trainOps } from './misc-train.js';

export const miscOps = {
  ...signalOps,
  ...stringOps,
  ...mlOps,
  ...trainOps,
  ...randomOps,
} satisfies Record<string, OpSchema>;
