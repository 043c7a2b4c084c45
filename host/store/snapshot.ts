// Snapshots: the whole database as a real SQLite file, written atomically (temp file, fsync,
// rename). The previous snapshot is kept as `FILE.prev` and never overwritten by a write that
// might fail; a small manifest records each snapshot's checksum and journal position, so a
// corrupt snapshot is detected and the previous one used with the journal since it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { fsyncDir, writeDurably } from './durable-file.js';

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

/**
 * Writes a new snapshot at `seq`. Order matters for crashes: the new file is durable before the
 * manifest names it, the old one becomes `.prev` before the new one replaces it, and at every
 * step the file on disk matches a manifest entry.
 */
export function writeSnapshot(
  file: string,
  bytes: Uint8Array,
  seq: number,
  manifest: Manifest,
): Manifest {
  const tmp = `${file}.tmp-${process.pid}`;
  writeDurably(tmp, bytes);
  let prev = manifest.prev;
  if (fs.existsSync(file)) {
    // A schema-1 file has no manifest entry: describe it, so it is kept as the backup.
    prev = manifest.current ?? infoOf(fs.readFileSync(file), 0);
    const prevTmp = `${prevPath(file)}.tmp-${process.pid}`;
    fs.rmSync(prevTmp, { force: true });
    fs.linkSync(file, prevTmp);
    fs.renameSync(prevTmp, prevPath(file));
  }
  const next: Manifest = { current: infoOf(bytes, seq), prev };
  const manifestTmp = `${manifestPath(file)}.tmp-${process.pid}`;
  writeDurably(manifestTmp, JSON.stringify(next));
  fs.renameSync(manifestTmp, manifestPath(file));
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
  return next;
}
