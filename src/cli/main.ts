#!/usr/bin/env node
// tgraph command line.
import { parseArgs, UsageError } from './args.js';
import { conformanceCommand, describeError, inspectCommand, optimizeCommand, runCommand } from './commands.js';

const USAGE = `tgraph: run ONNX models on WebGPU and CPU

usage:
  tgraph run MODEL [--backend cpu|webgpu] [--input NAME=DIMS ...] [--level L] [--json] [--profile [FILE]]
      --profile prints node time by op (count, total ms, % of the runs) and writes a Chrome trace to FILE
  tgraph inspect MODEL [--json]
  tgraph optimize IN -o OUT [--level disabled|basic|extended|all] [--passes P,...] [--disable P,...] [--report] [--verify] [--lower cpu|webgpu] [--input NAME=DIMS ...]
  tgraph conformance DIR... [--backend cpu|webgpu] [--json FILE] [--verbose]
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const out = (line: string) => process.stdout.write(line + '\n');
  try {
    const args = parseArgs(rest, cmd === 'conformance' ? ['json'] : []);
    switch (cmd) {
      case 'run': await runCommand(args, out); return 0;
      case 'inspect': await inspectCommand(args, out); return 0;
      case 'optimize': await optimizeCommand(args, out); return 0;
      case 'conformance': await conformanceCommand(args, out); return 0;
      case undefined: case 'help': case '--help': case '-h': out(USAGE); return cmd ? 0 : 2;
      default: throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    process.stderr.write(`tgraph ${cmd ?? ''}: ${describeError(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(USAGE);
    return e instanceof UsageError ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
