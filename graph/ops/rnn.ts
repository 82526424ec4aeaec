// Op schemas and shape rules: rnn family (RNN, GRU, LSTM).
import type { Dim, ValueType } from '../ir.js';
import { dtypeOf, fail, shapeOf } from './shape-util.js';
import { op, type InferContext, type OpSchema } from './types.js';

/** Y [seq, dirs, batch, hidden] and the final states [dirs, batch, hidden] (layout 1: batch first). */
function rnnRule(gates: number, states: number) {
  return (ctx: InferContext): (ValueType | undefined)[] => {
    const dtype = dtypeOf(ctx, 0);
    const direction = ctx.attrs.string('direction', 'forward');
    if (!['forward', 'reverse', 'bidirectional'].includes(direction)) fail(ctx, `direction '${direction}' should be forward, reverse or bidirectional`);
    const dirs = direction === 'bidirectional' ? 2 : 1;
    const layout = ctx.opset >= 14 ? ctx.attrs.int('layout', 0) : 0;
    const x = shapeOf(ctx, 0);
    if (x && x.length !== 3) fail(ctx, `X should be 3-D, got rank ${x.length}`);
    const w = shapeOf(ctx, 1);
    let hidden: Dim = ctx.attrs.int('hidden_size') ?? `${ctx.node.name}_hidden`;
    if (!ctx.attrs.has('hidden_size') && w && typeof w[1] === 'number') hidden = w[1] / gates;
    const seq: Dim = x ? (layout === 0 ? x[0]! : x[1]!) : `${ctx.node.name}_seq`;
    const batch: Dim = x ? (layout === 0 ? x[1]! : x[0]!) : `${ctx.node.name}_batch`;
    const t = (shape: Dim[]): ValueType | undefined => (dtype ? { kind: 'tensor', dtype, shape } : undefined);
    const y = t(layout === 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden]);
    const st = t(layout === 0 ? [dirs, batch, hidden] : [batch, dirs, hidden]);
    return [y, ...Array.from({ length: states }, () => st)];
  };
}

export const rnnOps = {
  RNN: op(rnnRule(1, 1), { since: 1, doc: 'Simple recurrent network: Y, Y_h' }),
  GRU: op(rnnRule(3, 1), { since: 1, doc: 'Gated recurrent unit: Y, Y_h' }),
  LSTM: op(rnnRule(4, 2), { since: 1, doc: 'Long short-term memory: Y, Y_h, Y_c' }),
} satisfies Record<string, OpSchema>;
