// The Tracer corner's starting code, and how the page evaluates the editor's text (shared with the
// tests, which run the same code through the library in Node).
export const DEFAULT_TRACER_CODE = `// \`tg\` is tgraph's tensor API; \`device\` is the backend picked above.
// Wrap a function in tg.fn and return it with example arguments.
const mlp = tg.fn(function mlp(x, w1, b1, w2) {
  const h = tg.relu(tg.add(tg.matmul(x, w1), b1));
  return tg.softmax(tg.matmul(h, w2), -1);
}, { device });

const x = tg.tensor([[1, -2, 3, 0.5], [0.1, 0.2, -0.3, 0.4]]);
const w1 = tg.tensor([[0.1, 0.2, 0.3], [0.4, -0.5, 0.6], [-0.7, 0.8, 0.9], [1.0, 1.1, -1.2]]);
const b1 = tg.tensor([0.01, -0.02, 0.03]);
const w2 = tg.tensor([[1, -1], [0.5, 0.25], [-0.5, 2]]);
return { fn: mlp, args: [x, w1, b1, w2] };
`;

export interface TracerProgram {
  fn: ((...args: unknown[]) => Promise<unknown>) & { concrete(...args: unknown[]): unknown };
  args: unknown[];
}

/** Evaluate the editor's code with `tg` and `device` in scope; it must return `{ fn, args }`. */
export function evaluateTracerCode(tg: unknown, device: string, code: string): TracerProgram {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const body = new Function('tg', 'device', code) as (tg: unknown, device: string) => unknown;
  const out = body(tg, device) as Partial<TracerProgram> | undefined;
  if (!out || typeof out.fn !== 'function' || typeof out.fn.concrete !== 'function' || !Array.isArray(out.args)) {
    throw Object.assign(new Error('the code must return { fn, args }: fn made with tg.fn(...), args an array of its arguments'), { name: 'TraceError' });
  }
  return out as TracerProgram;
}
