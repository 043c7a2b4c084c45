// The replay cache: `FILE.cache`, the database as a closing process left it, so the next process
// to open the store (a CLI command, a window) loads it instead of replaying the journal since the
// last snapshot. Replaying costs about a quarter of a millisecond per KB of journal here (each
// record parsed and applied, each finished run's events packed); exporting a database of 1 MB
// and writing it to the page cache costs about a millisecond in all.
//
// It is never needed for durability, so it is written without an fsync and trusted only when it
// proves itself against the journal: it names the last record it holds (sequence number,
// length, checksum) and is used only when reading the journal from its start, every checksum
// good, reaches that very record. Then the journal holds every record the cache does, intact,
// and the cache is the snapshot plus those records. A cache cut off by a crash fails its own
// checksum; one left behind by a newer snapshot, a cut journal or another schema is ignored.
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { OWNER_ONLY } from './durable-file.js';

export const cachePath = (file: string): string => `${file}.cache`;

/** The journal record a cache holds last: how opening recognises it in the journal. */
const LastRecord = z.object({
  seq: z.number().int().min(1),
  length: z.number().int().min(1),
  crc: z.number().int().min(0),
});
export type LastRecord = z.infer<typeof LastRecord>;

const Header = z.object({
  airlock_replay_cache: z.literal(1),
  schema: z.number().int(),
  last: LastRecord,
  size: z.number().int().min(0),
  crc: z.number().int().min(0),
});

export interface ReplayCache {
  last: LastRecord;
  bytes: Uint8Array;
}

/**
 * Writes the cache over the one there, in place: owner-only, since it holds run state as the
 * database does. No fsync, no temp file: a cache cut off by a crash, or written over by two
 * closing processes at once, fails its checksum and is not used. (A new file per write, renamed
 * over the old, made ext4 allocate and write a megabyte's blocks each time, and the lock file's
 * creation in the next commits waited behind that: 0.9 → 3.2 ms a cycle.)
 */
export function writeReplayCache(
  file: string,
  schema: number,
  last: LastRecord,
  bytes: Uint8Array,
): void {
  const header = Buffer.from(
    `${JSON.stringify({ airlock_replay_cache: 1, schema, last, size: bytes.length, crc: crc32(bytes) })}\n`,
  );
  const fd = fs.openSync(cachePath(file), fs.constants.O_RDWR | fs.constants.O_CREAT, OWNER_ONLY);
  try {
    fs.fchmodSync(fd, OWNER_ONLY); // exactly, whatever the umask or an older file's mode
    fs.writeSync(fd, header, 0, header.length, 0);
    fs.writeSync(fd, bytes, 0, bytes.length, header.length);
    if (fs.fstatSync(fd).size > header.length + bytes.length) {
      fs.ftruncateSync(fd, header.length + bytes.length);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The cache if it is intact, of this schema and past `seq` (the snapshot loaded); null otherwise.
 * Whether the journal still holds its last record is for the caller to check.
 */
export function readReplayCache(file: string, schema: number, seq: number): ReplayCache | null {
  let data: Buffer;
  try {
    data = fs.readFileSync(cachePath(file));
  } catch {
    return null;
  }
  const newline = data.indexOf(0x0a);
  if (newline < 0 || newline > 1024) return null;
  let value: unknown;
  try {
    value = JSON.parse(data.subarray(0, newline).toString('utf8'));
  } catch {
    return null;
  }
  const header = Header.safeParse(value);
  if (!header.success || header.data.schema !== schema || header.data.last.seq <= seq) return null;
  const bytes = data.subarray(newline + 1);
  if (bytes.length !== header.data.size || crc32(bytes) !== header.data.crc) return null;
  return { last: header.data.last, bytes };
}

/** How a cache names journal record `seq` (its payload): what opening looks for. */
export function recordMark(seq: number, payload: Buffer): LastRecord {
  return { seq, length: payload.length, crc: crc32(payload) };
}

/** True when `payload` (a journal record's) is the record the cache names. */
export function isLastRecord(last: LastRecord, seq: number, payload: Buffer): boolean {
  return seq === last.seq && payload.length === last.length && crc32(payload) === last.crc;
}

/** Removes the cache: a scrub must leave no copy of the database that it did not rewrite. */
export function removeReplayCache(file: string): void {
  fs.rmSync(cachePath(file), { force: true });
}
