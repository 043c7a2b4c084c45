// The `airlock` command (dist/cli.js): runs the CLI (dist/cli-main.js) from V8's code cache
// (host/code-cache.ts), one per command.
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runWithCodeCache } from '../code-cache.js';
import { cacheVariant } from './cache-name.js';

// One short command per process: sql.js's wasm runs as V8's baseline compiler (Liftoff) makes
// it. By default V8 also optimises the whole module on background threads, which compete with
// the command for the CPU and which the process waits for before it exits: most of a short
// command's time on a busy two-core machine. Set before anything is compiled: V8 accepts a code
// cache only under the flags it was made with.
setFlagsFromString('--liftoff-only');

const cli = runWithCodeCache(
  __filename,
  path.join(__dirname, 'cli-main.js'),
  'cli',
  cacheVariant(process.argv.slice(2)),
) as { runCommandLine: () => void };
cli.runCommandLine();
