// V8's code cache for the CLI's bundle (launch.ts runs it): where it is kept and under which name.
// A cache is code: it is read and written only in a folder that is this user's alone.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
 * The cache's file name for this bundle (`key`: a hash of its source; V8 itself checks only the
 * source's length), V8's version and the command. A cache made at exit holds the functions the
 * command compiled: one made by `airlock --help` would leave `run` compiling most of its own.
 */
export function cacheName(key: string, argv: readonly string[]): string {
  const command = argv[0] && COMMANDS.has(argv[0]) ? argv[0] : 'other';
  return `cli-${key}-${command}-v8-${process.versions.v8}.cache`;
}

/**
 * `$XDG_CACHE_HOME/airlock`, if it and the folder it is in are (or could be made) folders only
 * this user can change: in a folder others can write to, they could put their own in its place.
 */
export function privateCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null; // no owner to check (Windows)
  const base = path.resolve(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'));
  const dir = path.join(base, 'airlock');
  const ours = (folder: string): boolean => {
    const st = fs.lstatSync(folder);
    return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
  };
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return ours(base) && ours(dir) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * Puts a cache in place whole (temp file, rename), readable by this user only, and removes the
 * caches of bundles this one replaced. Never throws: a cache is never needed.
 */
export function keepCache(dir: string, name: string, key: string, bytes: Buffer): void {
  const file = path.join(dir, name);
  const temp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, bytes, { mode: 0o600 });
    fs.renameSync(temp, file);
    for (const old of fs.readdirSync(dir)) {
      if (/^cli-[0-9a-f]+-.*\.cache$/.test(old) && !old.startsWith(`cli-${key}-`)) {
        fs.rmSync(path.join(dir, old), { force: true });
      }
    }
  } catch {
    fs.rmSync(temp, { force: true });
  }
}
