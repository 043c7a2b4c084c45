// V8's code cache for a bundle that a small launcher runs (dist/cli.js runs dist/cli-main.js,
// dist/host.js runs dist/host-main.js): compiling a bundle of about 1 MB and the functions a
// process calls was a third of a short command's CPU. A cache is code: it is read and written
// only in a folder that is this user's alone.
//
// Written by hand: Node 22's module.enableCompileCache does this, but Node 20 has none; the
// v8-compile-cache package keeps its cache in the shared temp folder, where another user could
// leave code for this one to run, and writes it after the CLI changed V8's flags, which makes V8
// refuse it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, wrap } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';

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
 * A cache's file name: the bundle's kind (`cli`, `host`), its key, the variant of it a process
 * ran (a CLI command), V8's version.
 */
export function cacheName(kind: string, key: string, variant?: string): string {
  return `${kind}-${key}-${variant ? `${variant}-` : ''}v8-${process.versions.v8}.cache`;
}

/**
 * Puts a cache in place whole (temp file, rename), readable by this user only, its CRC-32 first,
 * and removes the caches of the bundles of this kind that this one replaced (another key).
 * Never throws: a cache is never needed.
 */
function keepCache(dir: string, kind: string, key: string, name: string, bytes: Buffer): void {
  const file = path.join(dir, name);
  const temp = `${file}.tmp-${process.pid}`;
  try {
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(crc32(bytes));
    fs.writeFileSync(temp, Buffer.concat([sum, bytes]), { mode: 0o600 });
    fs.renameSync(temp, file);
    for (const old of fs.readdirSync(dir)) {
      if (
        old.startsWith(`${kind}-`) &&
        !old.startsWith(`${kind}-${key}-`) &&
        old.endsWith('.cache')
      ) {
        fs.rmSync(path.join(dir, old), { force: true });
      }
    }
  } catch {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * The cache in `file` when its checksum holds. V8 (release builds) checks a cache's header, not
 * its body: four bytes changed in the middle of one crashed the process (V8's fatal error, or a
 * segmentation fault), at every start until the file was removed.
 */
function readCache(file: string): Buffer | undefined {
  try {
    const data = fs.readFileSync(file);
    const bytes = data.subarray(4);
    return data.length > 4 && data.readUInt32LE(0) === crc32(bytes) ? bytes : undefined;
  } catch {
    return undefined; // none yet: compiled from source, and cached at exit
  }
}

/**
 * Runs `bundle` (CommonJS, no import(): esbuild.mjs makes each a require(), since V8 in Node 20
 * loses a script's import() callback when the script comes from its cache) as a module, from its
 * cache (`cacheName`) when there is one; returns its exports. The key is a hash of the bundle and
 * of the launcher: V8 itself checks only the source's length.
 */
export function runWithCodeCache(
  launcher: string,
  bundle: string,
  kind: string,
  variant?: string,
): unknown {
  const source = fs.readFileSync(bundle, 'utf8');
  const dir = privateCacheDir();
  const key = createHash('sha256')
    .update(fs.readFileSync(launcher))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  const name = cacheName(kind, key, variant);
  const cached = dir ? readCache(path.join(dir, name)) : undefined;
  const script = new Script(wrap(source), { filename: bundle, cachedData: cached });
  if (dir && (!cached || script.cachedDataRejected)) {
    // At exit the cache holds the functions the process compiled too, not only the top level.
    process.once('exit', () => keepCache(dir, kind, key, name, script.createCachedData()));
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(
    module.exports,
    module.exports,
    createRequire(bundle),
    module,
    bundle,
    path.dirname(bundle),
  );
  return module.exports;
}
