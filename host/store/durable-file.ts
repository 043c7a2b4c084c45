// Files that are on disk when the call returns: the one module for durable writes. The store's
// blobs, snapshots and manifest (synchronous: a commit is acknowledged when it returns) and the
// trust store use the sync helpers before renaming into place; every file and folder the store
// makes is the owner's alone (raw run state sits in them while a run is live), whatever the
// process umask. The file tools replace workspace files with `replaceDurably` (async: it runs in
// the host while other runs and the editor's requests go on), keeping the file's own mode.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
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

/**
 * Makes a rename, a new file or an unlink in `dir` durable, without blocking the event loop. Best
 * effort: some platforms (Windows) cannot open a folder, and by then the data itself is fsynced.
 */
export async function fsyncDirAsync(dir: string): Promise<void> {
  try {
    const handle = await fsp.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the folder entry is a bonus; the data itself was already fsynced.
  }
}

/**
 * Replaces `file` with `content`, atomically and durably: a temp file in the same folder (so the
 * rename never crosses file systems), written and fsynced, renamed over `file`, then the folder
 * fsynced. A crash leaves the old file or the new one, never a mix; a failure removes the temp
 * file and leaves `file` as it was. `mode`: the permissions to give it (pass an existing file's to
 * keep them); without one, a new file's (0666 narrowed by the umask).
 */
export async function replaceDurably(
  file: string,
  content: string | Uint8Array,
  mode?: number,
): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(
    dir,
    `.${path.basename(file)}.airlock-${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    const handle = await fsp.open(temp, 'wx', 0o666);
    try {
      if (mode !== undefined) await handle.chmod(mode);
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
  await fsyncDirAsync(dir);
}
