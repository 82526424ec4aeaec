// The user's source line for error messages and node docs: the first stack frame outside the tracer.
const TRACER_DIR = new URL('.', import.meta.url).pathname;

function isInternal(frame: string): boolean {
  return frame.includes(TRACER_DIR) || frame.includes('/src/tracer/') || frame.includes('node:internal') || frame.includes('node_modules');
}

/** `file:line:col` of the innermost caller outside src/tracer, or undefined. */
export function userSourceLine(stack = new Error().stack): string | undefined {
  if (!stack) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const frame = line.trim();
    if (!frame.startsWith('at ') || isInternal(frame)) continue;
    const m = /\(?((?:file:\/\/)?[^()\s]+:\d+:\d+)\)?$/.exec(frame);
    if (m) return m[1]!.replace(/^file:\/\//, '').replace(process.cwd() + '/', '');
  }
  return undefined;
}
