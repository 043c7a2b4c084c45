// Snapshots: the whole database as a real SQLite file, written atomically (temp file, fsync,
// rename). The previous snapshot is kept as `FILE.prev` and never overwritten by a write that
// might fail; a small manifest records each snapshot's checksum and journal position, so a
// corrupt snapshot is detected and the previous one used with the journal since it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { fsyncDir, writeDurably } from './durable-file.js';
import { filesOfDeadProcesses } from './file-lock.js';

const SnapshotInfo = z.object({ seq: z.number().int().min(0), crc: z.number(), size: z.number() });
type SnapshotInfo = z.infer<typeof SnapshotInfo>;
const Manifest = z.object({ current: SnapshotInfo.nullable(), prev: SnapshotInfo.nullable() });
export type Manifest = z.infer<typeof Manifest>;

export class CorruptDatabaseError extends Error {
  override name = 'CorruptDatabaseError';
}

export interface LoadedSnapshot {
  bytes: Uint8Array | null;
  /** The journal sequence number the snapshot includes. */
  seq: number;
  manifest: Manifest;
  warnings: string[];
}

const manifestPath = (file: string) => `${file}.manifest`;
export const prevPath = (file: string) => `${file}.prev`;

function readManifest(file: string, warnings: string[]): Manifest | null {
  let text: string;
  try {
    text = fs.readFileSync(manifestPath(file), 'utf8');
  } catch {
    return null;
  }
  const parsed = Manifest.safeParse(safeJson(text));
  if (!parsed.success) {
    warnings.push(`${manifestPath(file)} is unreadable; snapshots were checked without it.`);
    return null;
  }
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function readIfExists(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function matching(bytes: Buffer, infos: (SnapshotInfo | null)[]): SnapshotInfo | undefined {
  const sum = crc32(bytes);
  return infos.find((i) => i && i.size === bytes.length && i.crc === sum) ?? undefined;
}

/** The manifest as it is on disk now (another process may have written a snapshot). */
export function loadManifest(file: string): Manifest | null {
  return readManifest(file, []);
}

/**
 * A snapshot on disk that matches its manifest entry, read without changing anything: for a
 * process that fell behind while another wrote snapshots. Null when none matches (one may be
 * being written right now).
 */
export function peekSnapshot(
  file: string,
): { bytes: Buffer; seq: number; manifest: Manifest } | null {
  const manifest = readManifest(file, []);
  if (!manifest) return null;
  for (const candidate of [file, prevPath(file)]) {
    const bytes = readIfExists(candidate);
    const info = bytes && matching(bytes, [manifest.current, manifest.prev]);
    if (info) return { bytes, seq: info.seq, manifest };
  }
  return null;
}

/** Loads the newest good snapshot; throws CorruptDatabaseError rather than start empty. */
export function loadSnapshot(file: string): LoadedSnapshot {
  const warnings: string[] = [];
  const manifest = readManifest(file, warnings);
  const current = readIfExists(file);
  const known = manifest ? [manifest.current, manifest.prev] : [];
  if (current) {
    const info = matching(current, known);
    if (info) return { bytes: current, seq: info.seq, manifest: manifest!, warnings };
    if (!manifest) {
      // A database from before snapshots had manifests (schema 1): the caller validates it.
      return { bytes: current, seq: 0, manifest: { current: null, prev: null }, warnings };
    }
  }
  const prev = readIfExists(prevPath(file));
  if (prev) {
    const info = matching(prev, known);
    if (info) {
      if (current) {
        // Moved aside only now that a good previous snapshot is known: when there is none, the
        // refusal below must leave every file where it was.
        const aside = `${file}.corrupt-${Date.now()}`;
        fs.renameSync(file, aside);
        warnings.push(
          `The snapshot ${file} is corrupt (its checksum does not match); it was moved to ${aside} and the previous snapshot is used with the journal.`,
        );
      } else warnings.push(`The snapshot ${file} is missing; the previous one was used.`);
      return { bytes: prev, seq: info.seq, manifest: manifest!, warnings };
    }
  }
  if (current || prev || manifest?.current) {
    throw new CorruptDatabaseError(
      `The Airlock database ${file} cannot be recovered: ${current ? 'the snapshot is corrupt' : 'the snapshot is missing'} and ${prev ? `${prevPath(file)} is corrupt too` : `there is no good ${prevPath(file)}`}. Nothing was changed; restore the files from a backup or move them aside to start a new database.`,
    );
  }
  return { bytes: null, seq: 0, manifest: { current: null, prev: null }, warnings };
}

function infoOf(bytes: Uint8Array, seq: number): SnapshotInfo {
  return { seq, crc: crc32(bytes), size: bytes.length };
}

/** A snapshot written durably to a temp file, not yet in place: what `installSnapshot` takes. */
export interface PreparedSnapshot {
  tmp: string;
  info: SnapshotInfo;
}

/** Writes the bytes of a snapshot at `seq` to `tmp` and fsyncs it: the slow half of a snapshot. */
export function prepareSnapshot(tmp: string, bytes: Uint8Array, seq: number): PreparedSnapshot {
  writeInSteps(tmp, bytes);
  return { tmp, info: infoOf(bytes, seq) };
}

/** How much a large write puts on the disk at a time (see `writeInSteps`). */
const STEP = 1024 * 1024;

/**
 * Writes a file owner-only and durably, flushing every STEP bytes. A snapshot is tens of MB
 * written while commits go on: flushed in one go, it queues that much ahead of every commit's
 * own flush; in steps, a commit waits for one step at most.
 */
export function writeInSteps(file: string, bytes: Uint8Array): void {
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // exactly, whatever the umask or a stale temp file's mode
    for (let at = 0; at < bytes.length; at += STEP) {
      fs.writeSync(fd, bytes, at, Math.min(STEP, bytes.length - at));
      fs.fdatasyncSync(fd);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Puts a prepared snapshot in place: the quick half, done holding the lock. Order matters for
 * crashes: the new file is durable before the manifest names it, the old one becomes `.prev`
 * before the new one replaces it, and at every step the file on disk matches a manifest entry.
 */
export function installSnapshot(
  file: string,
  prepared: PreparedSnapshot,
  manifest: Manifest,
): Manifest {
  let prev = manifest.prev;
  if (fs.existsSync(file)) {
    // A schema-1 file has no manifest entry: describe it, so it is kept as the backup.
    prev = manifest.current ?? infoOf(fs.readFileSync(file), 0);
    const prevTmp = `${prevPath(file)}.tmp-${process.pid}`;
    fs.rmSync(prevTmp, { force: true });
    fs.linkSync(file, prevTmp);
    fs.renameSync(prevTmp, prevPath(file));
  }
  const next: Manifest = { current: prepared.info, prev };
  const manifestTmp = `${manifestPath(file)}.tmp-${process.pid}`;
  writeDurably(manifestTmp, JSON.stringify(next));
  fs.renameSync(manifestTmp, manifestPath(file));
  fs.renameSync(prepared.tmp, file);
  fsyncDir(path.dirname(file));
  return next;
}

/** Writes a new snapshot at `seq` in one go (`prepareSnapshot` then `installSnapshot`). */
export function writeSnapshot(
  file: string,
  bytes: Uint8Array,
  seq: number,
  manifest: Manifest,
): Manifest {
  return installSnapshot(file, prepareSnapshot(`${file}.tmp-${process.pid}`, bytes, seq), manifest);
}

/**
 * Removes the temp files (`FILE.….tmp-<pid>`) of snapshot writes whose process is gone: cut off
 * by a crash or abandoned by a process that exited, each up to a database's size, and holding
 * old bytes.
 */
export function removeDeadTempFiles(file: string): void {
  const base = path.basename(file);
  const pidOf = (name: string): string | undefined =>
    name.startsWith(`${base}.`) ? /\.tmp-(\d+)$/.exec(name)?.[1] : undefined;
  for (const dead of filesOfDeadProcesses(path.dirname(file), pidOf)) {
    fs.rmSync(dead, { force: true });
  }
}
