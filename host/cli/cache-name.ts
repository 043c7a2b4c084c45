// The name of the CLI's code cache (host/code-cache.ts, run by host/cli/launch.ts).

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
 * The cache's file name for this bundle (`key`), V8's version and the command. A cache made at
 * exit holds the functions the command compiled: one made by `airlock --help` would leave `run`
 * compiling most of its own.
 */
export function cacheName(key: string, argv: readonly string[]): string {
  const command = argv[0] && COMMANDS.has(argv[0]) ? argv[0] : 'other';
  return `cli-${key}-${command}-v8-${process.versions.v8}.cache`;
}
