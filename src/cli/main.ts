/**
 * The `weft` command: a dispatch table of commands over the headless runtime.
 * A new command (`weft train`, issue 4) is one more entry in `commands` with its own file.
 *
 * Exit status: 0 ok, 1 graph error or failed run, 2 usage or file error, 130 cancelled.
 * User mistakes print one line each, never a stack trace; only a bug in Weft prints one.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError, EXIT, issueJson, printJson, type Command } from './common.ts';
import { run } from './run.ts';
import { train } from './train.ts';
import { validate } from './validate.ts';

export const commands: Record<string, Command> = { validate, run, train };

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const list = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: weft <command> [options]

Commands:
${list.join('\n')}

Run 'weft <command> --help' for a command's options.
Examples:
  weft validate graphs/noise-blend.json
  weft run graphs/noise-blend.json --out out/ --set noiseA.seed=5
  weft train graph.json --steps 500 --save ckpt/`;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const out = (line: string) => void process.stdout.write(line + '\n');
const err = (line: string) => void process.stderr.write(line + '\n');

export async function main(argv: string[]): Promise<number> {
  quietLibraries();
  // `weft run ... | head`: a reader that stops early is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  const [name, ...rest] = argv;
  if (name === undefined) {
    err(usage());
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? commands[rest[0] ?? ''] : undefined;
    out(topic ? topic.usage : usage());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    out(version());
    return EXIT.ok;
  }
  const cmd = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!cmd) {
    err(`weft: unknown command "${name}"\n`);
    err(usage());
    return EXIT.usage;
  }

  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs({ args: rest, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    err(`weft ${name}: ${(e as Error).message}`);
    err(`Run 'weft ${name} --help' for its options.`);
    return EXIT.usage;
  }
  const values = args.values as Record<string, string | boolean | string[] | undefined>;
  if (values.help) {
    out(cmd.usage);
    return EXIT.ok;
  }
  if (args.positionals.length !== 1) {
    err(`weft ${name}: expects one graph file, got ${args.positionals.length ? args.positionals.map((p) => `"${p}"`).join(' ') : 'none'}`);
    err(`Run 'weft ${name} --help' for its options.`);
    return EXIT.usage;
  }

  try {
    return await cmd.run({ values, positionals: args.positionals, out, err });
  } catch (e) {
    if (!(e instanceof CliError)) throw e; // a bug in Weft: let the stack trace show
    if (values.json) printJson({ ok: false, errors: e.issues.map(issueJson) });
    else for (const line of e.message.split('\n')) err(`weft ${name}: ${line}`);
    return e.exitCode;
  }
}

/**
 * Keep stdout for the command's own report (`--json` promises nothing else there): libraries that
 * log go to stderr, and tfjs's advice to install tfjs-node (which cannot install here, and which
 * the wasm backend makes unnecessary) is dropped.
 */
function quietLibraries(): void {
  const warn = console.warn.bind(console);
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('tfjs-node')) return;
    warn(...args);
  };
}
