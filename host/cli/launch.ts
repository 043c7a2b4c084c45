// The `airlock` command (dist/cli.js): runs the CLI (dist/cli-main.js, about 1 MB) compiled with
// V8's code cache, kept in the user's own cache folder (code-cache.ts). Compiling the bundle and
// the functions a command calls was a third of a short command's CPU.
//
// Written by hand: Node 22's module.enableCompileCache does this, but Node 20 has none; the
// v8-compile-cache package keeps its cache in the shared temp folder, where another user could
// leave code for this one to run, and writes it after the CLI changed V8's flags, which makes V8
// refuse it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire, wrap } from 'node:module';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Script } from 'node:vm';
import { cacheName, keepCache, privateCacheDir } from './code-cache.js';

// One short command per process: sql.js's wasm runs as V8's baseline compiler (Liftoff) makes
// it. By default V8 also optimises the whole module on background threads, which compete with
// the command for the CPU and which the process waits for before it exits: most of a short
// command's time on a busy two-core machine. Set before anything is compiled: V8 accepts a code
// cache only under the flags it was made with.
setFlagsFromString('--liftoff-only');

function launch(): void {
  const file = path.join(__dirname, 'cli-main.js');
  const source = fs.readFileSync(file, 'utf8');
  const dir = privateCacheDir();
  // The launcher's own text too: how it compiles the bundle is part of what a cache holds.
  const key = createHash('sha256')
    .update(fs.readFileSync(__filename))
    .update(source)
    .digest('hex')
    .slice(0, 16);
  const name = cacheName(key, process.argv.slice(2));
  let cached: Buffer | undefined;
  try {
    if (dir) cached = fs.readFileSync(path.join(dir, name));
  } catch {
    // none yet: compiled from source, and cached at exit
  }
  // The bundle has no import(): esbuild.mjs makes each a require().
  const script = new Script(wrap(source), { filename: file, cachedData: cached });
  if (dir && (!cached || script.cachedDataRejected)) {
    // At exit the cache holds the functions this command compiled too, not only the top level.
    process.once('exit', () => keepCache(dir, name, key, script.createCachedData()));
  }
  const main = { exports: {} as { runCommandLine?: () => void } };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(main.exports, main.exports, createRequire(file), main, file, path.dirname(file));
  main.exports.runCommandLine!();
}

launch();
