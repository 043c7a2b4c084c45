// A finished run's events kept as ONE row of the file store: its events, deflated together.
//
// Every process holds the whole database in memory and loads it whole when it opens (a CLI
// command, a window), so finished runs' event bodies (two thirds of a database of 10,000 runs)
// were paid for by every open of every process, though they are read only when someone looks at
// an old run. Packed, they take a third of the space or less (JSON keys and code repeat), and
// every open loads that much less (docs/store.md, "Finished runs' events, packed"). Packing is a function of the database alone, so every process that
// applies the same commits (or replays them) packs the same way.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { SqlValue } from 'sql.js';
import { isBlobRef } from './blobs.js';

/** The statements packing needs (the store's cached ones, or a migration's database). */
export interface SqlRunner {
  all(sql: string, params?: SqlValue[]): Record<string, SqlValue>[];
  run(sql: string, params: SqlValue[]): void;
}

export const PACKED_EVENTS_TABLE = `
CREATE TABLE packed_events (run_id TEXT PRIMARY KEY, body BLOB NOT NULL, blobs TEXT);
`;

/** One stored event: its sequence number, segment, type and body (JSON, or a blob reference). */
export type PackedEvent = [seq: number, segment: string, type: string, body: string];

/** The run's packed events, in order (none when it has no packed row). */
export function packedEvents(sql: SqlRunner, runId: string): PackedEvent[] {
  const row = sql.all('SELECT body FROM packed_events WHERE run_id = ?', [runId])[0];
  if (!row) return [];
  return JSON.parse(inflateRawSync(row.body as Uint8Array).toString('utf8')) as PackedEvent[];
}

/**
 * Moves the run's event rows into its packed row (after those packed before: a run resumed
 * after it finished packs again at its next end). Event seqs never repeat (AUTOINCREMENT), so
 * the packed events stay before any row appended later.
 */
export function packEvents(sql: SqlRunner, runId: string): void {
  const rows = sql.all(
    'SELECT seq, segment_id, type, body FROM events WHERE run_id = ? ORDER BY seq',
    [runId],
  );
  if (!rows.length) return;
  const events: PackedEvent[] = [
    ...packedEvents(sql, runId),
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
  sql.run('INSERT OR REPLACE INTO packed_events (run_id, body, blobs) VALUES (?, ?, ?)', [
    runId,
    deflateRawSync(JSON.stringify(events)),
    blobs.length ? JSON.stringify(blobs) : null,
  ]);
  sql.run('DELETE FROM events WHERE run_id = ?', [runId]);
}

/** Blob hashes named by packed events. */
export function packedBlobRefs(sql: SqlRunner): string[] {
  return sql
    .all('SELECT blobs FROM packed_events WHERE blobs IS NOT NULL')
    .flatMap((r) => JSON.parse(String(r.blobs)) as string[]);
}
