// Which of the CLI's code caches a process uses (host/code-cache.ts, run by host/cli/launch.ts).

/** The commands (host/cli/args.ts): each keeps its own cache, of the functions it runs. */
const COMMANDS: ReadonlySet<string> = new Set([
  'run',
  'resume',
  'pending',
  'runs',
  'show',
  'wait',
  'compact',
  'rules',
  'revert',
  'trust',
]);

/**
 * The command, as the cache's variant: a cache made at exit holds the functions the command
 * compiled, and one made by `airlock --help` would leave `run` compiling most of its own.
 */
export function cacheVariant(argv: readonly string[]): string {
  return argv[0] && COMMANDS.has(argv[0]) ? argv[0] : 'other';
}
