// A finished run's events kept as ONE row of the file store: its events, deflated together,
// and in time a payload file of their own.
//
// Every process holds the whole database in memory and loads it whole when it opens (a CLI
// command, a window), so finished runs' event bodies (most of a database of many runs) were paid
// for by every open of every process, though they are read only when someone looks at an old
// run. The commit that ends a run packs its events into one deflated row (a third of the space
// or less: JSON keys and code repeat); the snapshot worker then moves each packed body into a
// payload file of FILE.blobs/, so a snapshot holds a row of about a hundred bytes per finished
// run (docs/store.md, "Finished runs' events, packed"). Packing is a function of the database
// alone, so every process applying the same commits (or replaying them) packs the same way, and
// the payload file is named by the hash of the events' text, which every process agrees on
// (deflate's bytes may differ between zlib builds; the text does not).
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { SqlValue } from 'sql.js';
import { isBlobRef } from './blobs.js';

/** The statements packing needs (the store's cached ones, or a migration's database). */
export interface SqlRunner {
  all(sql: string, params?: SqlValue[]): Record<string, SqlValue>[];
  run(sql: string, params: SqlValue[]): void;
}

/** Payload files by hash: reading them back, and writing one durably under a given name. */
export interface PackedPayloads {
  bytes(hash: string): Buffer;
  putAs(hash: string, bytes: Uint8Array): void;
}

/** `body`: the deflated events, or NULL once they are in the payload file `hash`. */
export const PACKED_EVENTS_TABLE = `
CREATE TABLE packed_events (
  run_id TEXT PRIMARY KEY, body BLOB, hash TEXT NOT NULL, blobs TEXT);
`;

/** One stored event: its sequence number, segment, type and body (JSON, or a blob reference). */
export type PackedEvent = [seq: number, segment: string, type: string, body: string];

/** The run's packed events, in order (none when it has no packed row). */
export function packedEvents(
  sql: SqlRunner,
  runId: string,
  payloads: PackedPayloads | undefined,
): PackedEvent[] {
  const row = sql.all('SELECT body, hash FROM packed_events WHERE run_id = ?', [runId])[0];
  if (!row) return [];
  const hash = String(row.hash);
  if (row.body !== null) return JSON.parse(inflated(row.body as Uint8Array)) as PackedEvent[];
  if (!payloads)
    throw new Error(`The events of ${runId} are in a payload file, and this database has none.`);
  const text = inflated(payloads.bytes(hash));
  if (textHash(text) !== hash) {
    throw new Error(
      `The payload file holding the events of run ${runId} (${hash}) does not match its hash: it is damaged. Restore FILE.blobs/ from a backup.`,
    );
  }
  return JSON.parse(text) as PackedEvent[];
}

/**
 * Moves the run's event rows into its packed row (after those packed before: a run resumed
 * after it finished packs again at its next end). Event seqs never repeat (AUTOINCREMENT), so
 * the packed events stay before any row appended later.
 */
export function packEvents(
  sql: SqlRunner,
  runId: string,
  payloads: PackedPayloads | undefined,
): void {
  const rows = sql.all(
    'SELECT seq, segment_id, type, body FROM events WHERE run_id = ? ORDER BY seq',
    [runId],
  );
  if (!rows.length) return;
  const events: PackedEvent[] = [
    ...packedEvents(sql, runId, payloads),
    ...rows.map((r): PackedEvent => [
      Number(r.seq),
      String(r.segment_id),
      String(r.type),
      String(r.body),
    ]),
  ];
  // The blobs the packed bodies name, readable without inflating (the blob sweep keeps them).
  const blobs = events.flatMap(([, , , body]) => {
    if (!body.includes('"$blob"')) return [];
    const ref = JSON.parse(body) as unknown;
    return isBlobRef(ref) ? [ref.$blob] : [];
  });
  const text = JSON.stringify(events);
  sql.run('INSERT OR REPLACE INTO packed_events (run_id, body, hash, blobs) VALUES (?, ?, ?, ?)', [
    runId,
    deflateRawSync(text),
    textHash(text),
    blobs.length ? JSON.stringify(blobs) : null,
  ]);
  sql.run('DELETE FROM events WHERE run_id = ?', [runId]);
}

/**
 * Moves every packed body still in the database into its payload file (written durably first),
 * leaving the row its hash: for the snapshot worker's copy, before it exports it. Returns how
 * many moved.
 */
export function movePackedOut(sql: SqlRunner, payloads: PackedPayloads): number {
  const rows = sql.all('SELECT run_id, body, hash FROM packed_events WHERE body IS NOT NULL');
  for (const r of rows) {
    payloads.putAs(String(r.hash), r.body as Uint8Array);
    sql.run('UPDATE packed_events SET body = NULL WHERE run_id = ?', [String(r.run_id)]);
  }
  return rows.length;
}

/** Payload files packed events need: their own, and the blobs their bodies name. */
export function packedPayloadHashes(sql: SqlRunner): string[] {
  return sql
    .all('SELECT hash, blobs FROM packed_events')
    .flatMap((r) => [
      String(r.hash),
      ...(r.blobs === null ? [] : (JSON.parse(String(r.blobs)) as string[])),
    ]);
}

function inflated(bytes: Uint8Array): string {
  return inflateRawSync(bytes).toString('utf8');
}

function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
