// Files that are on disk when the call returns: blobs, snapshots and the manifest use these
// before renaming into place. Every file and folder the store makes is the owner's alone (raw
// run state sits in them while a run is live), whatever the process umask.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** rw------- for files, rwx------ for folders. */
export const OWNER_ONLY = 0o600;
export const OWNER_ONLY_DIR = 0o700;

/** Writes the whole file, owner-only, and fsyncs it. */
export function writeDurably(file: string, bytes: Uint8Array | string): void {
  const fd = fs.openSync(file, 'w', OWNER_ONLY);
  try {
    // The umask may have narrowed the mode, and an existing file (a temp file left by a crash)
    // keeps its own: set it exactly.
    fs.fchmodSync(fd, OWNER_ONLY);
    fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates `dir` and any missing parents as owner-only folders; an existing folder is kept as is. */
export function makePrivateDir(dir: string): void {
  const first = fs.mkdirSync(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  if (first === undefined) return;
  // mkdir's mode is narrowed by the umask: set each folder made here exactly.
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    fs.chmodSync(d, OWNER_ONLY_DIR);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
}

/** Takes group and other permissions off an existing file or folder (one an older Airlock made). */
export function tightenMode(file: string, mode: number): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return;
  }
  if ((stat.mode & 0o777) === mode) return;
  try {
    fs.chmodSync(file, mode);
  } catch (err) {
    // Another user's file (a database shared on purpose): theirs to set.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/** Makes a rename or a new file in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
