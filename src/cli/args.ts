// Minimal argument parsing: positionals, --flag, --key value (repeatable), -o value.
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

/** Flags that take no value, per command (`conformance --json FILE` takes one). */
const BOOLEAN = new Set(['json', 'profile', 'report', 'verify', 'help', 'verbose']);

export function parseArgs(argv: readonly string[], valued: readonly string[] = []): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      let key = a.replace(/^--?/, '');
      let value: string | undefined;
      const eq = key.indexOf('=');
      if (eq >= 0 && a.startsWith('--')) {
        value = key.slice(eq + 1);
        key = key.slice(0, eq);
      }
      if (key === 'o') key = 'output';
      const boolean = BOOLEAN.has(key) && !valued.includes(key);
      if (value === undefined && !boolean) value = argv[++i];
      if (value === undefined && !boolean) throw new UsageError(`--${key} needs a value`);
      const list = flags.get(key) ?? [];
      list.push(value ?? 'true');
      flags.set(key, list);
    } else positionals.push(a);
  }
  return { positionals, flags };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  return args.flags.get(name)?.at(-1);
}

export class UsageError extends Error {}
