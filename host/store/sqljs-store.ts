// The run store: a sql.js database in memory, made durable by an append-only checksummed journal
// (one fsync'd record per commit) and periodic atomic snapshots, replayed on open. Several
// processes share one database: a writer takes the lock file, first replays what others
// appended, then checks claims and versions, applies and appends. See docs/store.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { BLOB_THRESHOLD, BlobStore, isBlobRef } from './blobs.js';
import { fault, faultArmed } from './faults.js';
import { FileLock, processAlive } from './file-lock.js';
import { frame, intactAfter, JournalWriter, readFrom, readRecords, truncate } from './journal.js';
import { fsyncDir, makePrivateDir, OWNER_ONLY, tightenMode } from './durable-file.js';
import { decodeOps, encodeOps } from './journal-codec.js';
import { applyStateDelta, StateDeltaError } from './state-delta.js';
import { createSchema, migrate, rowsOf, SCHEMA_VERSION } from './schema.js';
import {
  movePackedOut,
  packedEvents,
  packedPayloadHashes,
  packEvents,
  type SqlRunner,
} from './packed-events.js';
import {
  CorruptDatabaseError,
  installSnapshot,
  loadManifest,
  loadSnapshot,
  peekSnapshot,
  prevPath,
  removeDeadTempFiles,
  writeSnapshot,
  type Manifest,
} from './snapshot.js';
import { SnapshotJob, type SnapshotOutcome, type TrimmedJournal } from './snapshot-job.js';
import {
  cachePath,
  isLastRecord,
  readReplayCache,
  recordMark,
  removeReplayCache,
  writeReplayCache,
} from './replay-cache.js';
import { snapshotReserve, SnapshotTrigger } from './snapshot-trigger.js';
import type {
  ChangeRow,
  CommitOptions,
  CommitResult,
  EventRow,
  PendingRow,
  Retention,
  RunRow,
  RunState,
  RunSummary,
  SegmentRow,
  Store,
  StoreOp,
  StoreWatch,
} from './store.js';
import { FINISHED_STATUSES, toRunRow } from './store.js';
import {
  contentBytes,
  changeValues,
  RUN_TABLES,
  runValues,
  ruleValues,
  segmentValues,
  toChangeRow,
  toDecision,
  toPendingRow,
  toSegmentRow,
  toStandingRule,
  retentionDrops,
  upgradeRule,
  type LegacyRule,
} from './rows.js';
import type { StandingRule } from '../runtime/policy.js';

export { SCHEMA_VERSION } from './schema.js';

export { CorruptDatabaseError } from './snapshot.js';

let sqlJs: Promise<SqlJsStatic> | undefined;

/** sql.js's wasm sits beside the bundle in dist/, or in node_modules when run from source. */
function locateWasm(file: string): string {
  const besideBundle = path.join(__dirname, file);
  if (fs.existsSync(besideBundle)) return besideBundle;
  return require.resolve(`sql.js/dist/${file}`);
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  sqlJs ??= initSqlJs({ locateFile: locateWasm });
  return sqlJs;
}

export interface StoreOptions {
  /** Commits after which a commit starts a new snapshot (2,000). */
  snapshotEvery?: number;
  /**
   * Bytes of journal records after which a commit starts a new snapshot. Unset: a sixty-fourth of
   * the database, at least 64 KiB and at most 8 MiB (snapshot-trigger.ts).
   */
  snapshotBytes?: number;
  /**
   * A database smaller than this (bytes, 256 KiB) is snapshotted in place, inside the commit: its
   * snapshot costs about what its fsyncs cost, less than starting a worker thread. 0: always a
   * worker (tests of the worker's path).
   */
  snapshotInlineUnder?: number;
}

const SNAPSHOT_EVERY = 2000;
const SNAPSHOT_BYTES = 8 * 1024 * 1024;
const SNAPSHOT_INLINE_UNDER = 256 * 1024;
/** At close, a database under this is snapshotted in place rather than waiting for a worker. */
const SNAPSHOT_AT_CLOSE_UNDER = 16 * 1024 * 1024;
/** Intervals of journal grown while a snapshot is being written before a commit waits for it. */
const BACKPRESSURE = 2;
/**
 * After a worker's snapshot that took T, one due only by the database-following share of journal
 * (snapshot-trigger.ts) waits until WORKER_REST × T has passed: the worker is busy a fifth of the
 * time at most. At 10,000 runs a snapshot takes the worker about a second, a burst of commits
 * makes the share due again within it, and back to back the worker's flushes delayed the
 * commits' own (bench, 5,000 commits: p99 3.0–4.4 → 1.1–2.4 ms, p99.9 6.5–11.6 → 3.9–8.0 ms).
 * Due by `snapshotEvery` / `snapshotBytes`, it starts at once.
 */
const WORKER_REST = 4;
/**
 * A closing store leaves a replay cache (replay-cache.ts) once the journal grown since the last
 * one (or the snapshot), J bytes, reaches √(CACHE_BALANCE × D) for a database of D bytes. Each
 * open replays J/2 on average, at r ≈ 0.13 ms per KB here; each cache costs c·D to write
 * (export, checksum, write: c ≈ 3 ms per MB) and serves the opens until the next, one per b bytes
 * of journal (a CLI command or a window's phase: b ≈ 4 KB). Per open that is c·D·b/J + r·J/2,
 * least at J = √(2·c·b/r · D): 10 KB for a database of 0.5 MB, 31 KB for 5 MB.
 */
const CACHE_BALANCE = 192;
/** A journal record's header (length, checksum): counted in its bytes. */
const RECORD_HEADER = 8;

/**
 * The journal makes commits durable, so SQLite's own rollback journal need not be a file in
 * sql.js's in-memory file system: in memory it still rolls back, at a fraction of the cost.
 * `secure_delete` zeroes what a delete or an update frees (a finished run's dropped raw state),
 * so no snapshot written after it carries the old bytes in a free page.
 */
function tuned(db: Database): Database {
  // The database is a private in-memory file of this process (durability is the journal's), so
  // nothing else can lock it: an exclusive lock kept for good spares every statement SQLite's
  // lock-and-check of the file header (through Emscripten's file layer), a tenth of its cost.
  db.exec(
    'PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA secure_delete = ON;',
  );
  return db;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

interface JournalRecord {
  seq: number;
  ops: StoreOp[];
}

function parseRecord(payload: Buffer, where: string): JournalRecord {
  const value = JSON.parse(payload.toString('utf8')) as Partial<JournalRecord>;
  if (typeof value.seq !== 'number' || !Array.isArray(value.ops)) {
    throw new CorruptDatabaseError(`${where} holds a record that is not an Airlock commit.`);
  }
  return value as JournalRecord;
}

const SEQ_PREFIX = Buffer.from('{"seq":');

/**
 * A record's sequence number without parsing the record: `append` writes `{"seq":N,…` first. The
 * journal keeps a snapshot interval of records every process has applied; opening skips them.
 */
function recordSeq(payload: Buffer, where: string): number {
  if (payload.subarray(0, SEQ_PREFIX.length).equals(SEQ_PREFIX)) {
    let seq = 0;
    let i = SEQ_PREFIX.length;
    for (; i < payload.length && i < 24; i++) {
      const digit = payload[i]! - 0x30;
      if (digit < 0 || digit > 9) break;
      seq = seq * 10 + digit;
    }
    if (i > SEQ_PREFIX.length && payload[i] === 0x2c /* "," */) return seq;
  }
  return parseRecord(payload, where).seq;
}

export class SqlJsStore implements Store {
  private db: Database;
  /** The journal sequence number this process has applied up to. */
  private seq = 0;
  /**
   * The journal file this process has read up to `journalPos`, held open, and its inode number:
   * null while there is no journal. Held open so that the number names this file and no other
   * (see `catchUp`).
   */
  private tail: { fd: number; ino: number } | null = null;
  private journalPos = 0;
  /**
   * The journal record this database holds last, when known: what a replay cache names. Its
   * checksum is taken only when a cache is written, never on the commit path.
   */
  private lastRecord: { seq: number; payload: Buffer } | null = null;
  /** The commit of the replay cache this process loaded or left, if any. */
  private cachedAt = 0;
  private closed = false;
  private manifest: Manifest = { current: null, prev: null };
  private readonly statements = new Map<string, Statement>();
  /**
   * Each workspace's unrevoked rules as stored, read once: policy asks for them at every gate
   * (a query with a sort, a tenth of the step's time) and only the rule ops below change them.
   */
  private readonly activeRules = new Map<string, StandingRule[]>();
  /** Kept open between commits; reopened when the journal file is replaced. */
  private writer: JournalWriter | null = null;
  /** Records this process wrote with `sync: false` that no flush has covered yet. */
  private unsynced = false;
  private readonly lock: FileLock | undefined;
  private readonly journal: string;
  private blobs: BlobStore | undefined;
  private readonly trigger: SnapshotTrigger;
  private readonly inlineUnder: number;
  /** The snapshot a worker thread is writing, if any (snapshot-job.ts). */
  private job: SnapshotJob | null = null;
  /** The commit of the last snapshot that failed: the next try waits for another interval. */
  private failedAt = 0;
  /** A snapshot due only by the database-following share waits until then (WORKER_REST). */
  private restUntil = 0;
  readonly warnings: string[] = [];

  private constructor(
    private readonly SQL: SqlJsStatic,
    private readonly file: string | undefined,
    options: StoreOptions,
  ) {
    this.trigger = new SnapshotTrigger(
      options.snapshotEvery ?? SNAPSHOT_EVERY,
      options.snapshotBytes ?? SNAPSHOT_BYTES,
      options.snapshotBytes === undefined,
    );
    this.inlineUnder = options.snapshotInlineUnder ?? SNAPSHOT_INLINE_UNDER;
    this.journal = `${file}.journal`;
    this.db = tuned(new SQL.Database());
    if (!file) {
      createSchema(this.db);
      return;
    }
    this.lock = FileLock.for(`${file}.lock`);
    this.lock.beforeRelease.add(this.growJournal);
    this.blobs = new BlobStore(`${file}.blobs`);
    // Raw run state lives in these files while its run is live: the folder Airlock creates is
    // the owner's alone, and files an older Airlock left readable to others are made so too.
    makePrivateDir(path.dirname(file));
    const owner = this.lock.ownerFile();
    const owned = [file, prevPath(file), `${file}.manifest`, this.journal, cachePath(file)];
    for (const own of owner ? [...owned, owner] : owned) tightenMode(own, OWNER_ONLY);
    try {
      this.lock.with(() => this.recover());
    } catch (err) {
      // A refused database: this store is dropped, so nothing of it stays open or hooked.
      this.closeJournal();
      this.lock.beforeRelease.delete(this.growJournal);
      throw err;
    } finally {
      // Opening is no burst of commits to keep the lock for; a refused database is left exactly
      // as it was, lock file included.
      this.lock.release();
    }
  }

  /** Opens (or creates) the database file; `undefined` keeps it in memory. */
  static async open(file?: string, options: StoreOptions = {}): Promise<SqlJsStore> {
    const SQL = await loadSqlJs();
    const resolved = file ? path.resolve(file) : undefined;
    if (resolved) {
      // Recovery runs holding the lock: wait for it here, asynchronously (another process's
      // commit, snapshot or compaction), so the constructor's synchronous `with` never waits.
      makePrivateDir(path.dirname(resolved));
      const lock = FileLock.for(`${resolved}.lock`);
      const hadOwnerFile = lock.ownerFile() !== undefined;
      await lock.acquire();
      try {
        return new SqlJsStore(SQL, resolved, options);
      } catch (err) {
        // A refused database is left exactly as it was: no owner file of this process either.
        if (!hadOwnerFile) lock.dropOwnerFile();
        throw err;
      }
    }
    return new SqlJsStore(SQL, resolved, options);
  }

  /**
   * Loads the newest good snapshot, migrates it, and replays the journal since it; or, when the
   * replay cache proves itself against the journal, loads the cache instead.
   */
  private recover(): void {
    const file = this.file!;
    if (this.recoverFromCache(file)) return this.catchUp(true);
    const loaded = loadSnapshot(file);
    this.warnings.push(...loaded.warnings);
    this.manifest = loaded.manifest;
    let migratedFrom = 0;
    if (loaded.bytes) {
      try {
        this.resetDerived();
        this.db = tuned(new this.SQL.Database(loaded.bytes));
        migratedFrom = migrate(this.db, file);
      } catch (err) {
        if (err instanceof Error && /newer Airlock|not an Airlock/.test(err.message)) throw err;
        throw new CorruptDatabaseError(
          `The Airlock database ${file} is not a readable SQLite file (${String(err)}). Nothing was changed; move it aside to start a new one.`,
          { cause: err },
        );
      }
    } else {
      createSchema(this.db);
    }
    this.seq = loaded.seq;
    this.catchUp(true);
    // A new or migrated database on disk. (migrate returns the version it started from, so an
    // up-to-date one must not count: a snapshot per open would rotate FILE.prev every time.)
    if (!loaded.bytes || migratedFrom < SCHEMA_VERSION) this.snapshot();
  }

  /**
   * Applies records other processes appended since we last looked. Holding the lock, a bad
   * tail is a writer that died mid-append (never acknowledged): it is cut. Without the lock it
   * may be an append in progress, so reading just stops there.
   */
  private catchUp(locked: boolean): void {
    if (!this.file) return;
    let ino: number;
    try {
      ino = fs.statSync(this.journal).ino;
    } catch {
      return;
    }
    // Whether the path still names the file we read is told by its inode number, and that is
    // sound only because `tail` holds the file open: a file nobody holds is freed when a snapshot
    // renames a new journal over it, and ext4 soon gives its number to another new journal. A
    // process that kept just the number once took such a journal for its own, read it from its
    // old offset (past the end of the records), found nothing, and appended its commits beyond a
    // gap where no reader ever saw them: a whole process's acknowledged runs were lost. Reading
    // through the held file also means a journal renamed in between `stat` and the read is never
    // read at the old file's offset.
    if (ino !== this.tail?.ino) {
      // New or compacted journal: read it whole; records we already have are skipped by seq.
      this.closeJournal();
      if (!this.openTail()) return;
    }
    const read = readFrom(this.tail!.fd, this.journalPos);
    // The records are applied in ONE transaction (a transaction per record was a third of the
    // replay's time): all of them or, when one fails, none, and this store stays where it was.
    const from = this.seq;
    const applied: [seq: number, size: number][] = [];
    let last: Buffer | null = null;
    let open = false;
    try {
      for (const payload of read.records) {
        if (recordSeq(payload, this.journal) <= this.seq) continue;
        const record = parseRecord(payload, this.journal);
        if (record.seq !== this.seq + 1) {
          if (open) this.db.exec('COMMIT');
          open = false;
          this.trigger.recordAll(applied);
          applied.length = 0;
          // Another process wrote a snapshot and dropped the records it holds from the journal
          // while this one was behind: catch up from that snapshot instead.
          if (this.reloadSnapshot(record.seq - 1)) return this.catchUp(locked);
          if (!locked) return; // a snapshot being written right now, maybe: the next read retries
          throw new CorruptDatabaseError(
            `The journal ${this.journal} skips from commit ${this.seq} to ${record.seq}: records are missing. Nothing was changed; restore the database files from a backup.`,
          );
        }
        if (!open) this.db.exec('BEGIN');
        open = true;
        this.applyBatch(this.decode(record.ops));
        this.seq = record.seq;
        applied.push([record.seq, payload.length + RECORD_HEADER]);
        last = payload;
      }
      if (open) this.db.exec('COMMIT');
      open = false;
      if (last) this.lastRecord = { seq: this.seq, payload: last };
    } catch (err) {
      if (open) {
        this.db.exec('ROLLBACK');
        this.seq = from;
        applied.length = 0;
      }
      throw err;
    } finally {
      this.trigger.recordAll(applied);
    }
    this.journalPos = read.end;
    if (read.problem && locked) {
      if (intactAfter(this.journal, read.problem.offset)) {
        throw new CorruptDatabaseError(
          `The journal ${this.journal} is corrupt at byte ${read.problem.offset} (${read.problem.detail}) with intact records after it; cutting it would lose them. Nothing was changed; restore the database files from a backup.`,
        );
      }
      truncate(this.journal, read.end);
      this.warnings.push(
        `The journal ${this.journal} ended in ${read.problem.detail} at byte ${read.problem.offset} (a write cut off by a crash, never acknowledged); it was cut there.`,
      );
    }
  }

  /**
   * Opens from the replay cache (replay-cache.ts) when the journal, read from its start with every
   * checksum good, reaches the very record the cache holds last; false to open as without one.
   * The snapshot is not read (opening from the cache is for the many opens of a CLI or a second
   * window): one whose size no longer matches its manifest sends opening the long way, where a
   * corrupt snapshot is found and set aside.
   */
  private recoverFromCache(file: string): boolean {
    const manifest = loadManifest(file);
    const current = manifest?.current;
    if (!manifest || !current || fileSize(file) !== current.size) return false;
    const cache = readReplayCache(file, SCHEMA_VERSION, current.seq);
    if (!cache || !this.openTail()) return false;
    const read = readFrom(this.tail!.fd, 0);
    let end = 0;
    const counted: [seq: number, size: number][] = [];
    for (const payload of read.records) {
      const seq = recordSeq(payload, this.journal);
      end += RECORD_HEADER + payload.length;
      if (seq > current.seq) counted.push([seq, RECORD_HEADER + payload.length]);
      if (seq < cache.last.seq) continue;
      if (!isLastRecord(cache.last, seq, payload)) break;
      let db: Database | undefined;
      try {
        db = tuned(new this.SQL.Database(cache.bytes));
        migrate(db, file);
      } catch {
        db?.close();
        this.closeJournal();
        return false; // not a database this Airlock reads: the snapshot and the journal are
      }
      this.resetDerived();
      this.db.close();
      this.db = db;
      this.manifest = manifest;
      this.seq = seq;
      this.journalPos = end; // catchUp goes on from the record after it
      this.lastRecord = { seq, payload };
      this.cachedAt = seq;
      this.trigger.recordAll(counted);
      return true;
    }
    this.closeJournal();
    return false;
  }

  /**
   * At close: leaves the database as a replay cache when the journal the next opener would
   * replay is worth it (CACHE_BALANCE). Best effort: without it, opening replays as before.
   */
  private leaveReplayCache(): void {
    const last = this.lastRecord;
    if (!this.file || !last || last.seq !== this.seq) return;
    // The snapshot on disk, not the one this store last saw: a store left behind by another
    // process's `compact` must not leave its older database (dropped runs included) on disk.
    const snapshotAt = loadManifest(this.file)?.current?.seq ?? 0;
    const base = Math.max(snapshotAt, this.manifest.current?.seq ?? 0, this.cachedAt);
    if (this.seq <= base) return;
    const journal = this.trigger.bytesAfter(base);
    if (journal * journal < CACHE_BALANCE * this.databaseBytes()) return;
    try {
      writeReplayCache(
        this.file,
        SCHEMA_VERSION,
        recordMark(last.seq, last.payload),
        this.exportAt(),
      );
      this.cachedAt = this.seq;
    } catch {
      // Best effort (a full disk, say): a cache half written fails its checksum when read.
    }
  }

  /** Replaces the in-memory database with the snapshot on disk if it reaches `needed`. */
  private reloadSnapshot(needed: number): boolean {
    const found = peekSnapshot(this.file!);
    if (!found || found.seq < needed || found.seq <= this.seq) return false;
    const db = tuned(new this.SQL.Database(found.bytes));
    try {
      migrate(db, this.file!);
    } catch (err) {
      db.close();
      throw err;
    }
    this.resetDerived();
    this.db.close();
    this.db = db;
    this.seq = found.seq;
    this.lastRecord = null;
    this.manifest = found.manifest;
    this.journalPos = 0;
    this.trigger.reset();
    return true;
  }

  /** Applies a journal record's operations (as journaled: see journal-codec.ts). */
  private applyAll(ops: StoreOp[]): void {
    this.db.exec('BEGIN');
    try {
      this.applyBatch(this.decode(ops));
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  async flush(): Promise<void> {
    if (!this.unsynced || !this.writer) return;
    this.unsynced = false;
    // On the thread pool: the event loop goes on (an fdatasync of a file flushes every record
    // written to it before, by any process).
    const fd = this.writer.fd;
    await new Promise<void>((resolve, reject) =>
      fs.fdatasync(fd, (err) => (err && err.code !== 'EBADF' ? reject(err) : resolve())),
    );
  }

  /** Waits for the lock asynchronously and leases it for the commit that follows (file-lock.ts). */
  ready(): Promise<void> {
    return this.lock ? this.lock.acquire() : Promise.resolve();
  }

  commit(ops: StoreOp[], options: CommitOptions = {}): CommitResult {
    const sync = options.sync ?? true;
    const run = (): CommitResult => {
      this.catchUp(true);
      const claimed = this.takenClaims(ops);
      if (claimed.length) return { ok: false, claimed };
      const stale = this.staleRun(ops);
      if (stale) return { ok: false, conflict: 'version', run_id: stale };
      // Journaled without what the record repeats (journal-codec.ts), applied as it replays.
      const stored = this.externalize(encodeOps(ops));
      this.db.exec('BEGIN');
      try {
        this.applyBatch(this.decode(stored));
        if (this.file) this.append(stored, sync);
        this.db.exec('COMMIT');
      } catch (err) {
        this.db.exec('ROLLBACK');
        throw err;
      }
      if (this.file) {
        this.seq++;
        this.maybeSnapshot();
      }
      return { ok: true };
    };
    return this.lock ? this.lock.with(run) : run();
  }

  /** Appends the commit (and flushes it when `sync`); acknowledged once this returns. */
  private append(ops: StoreOp[], sync: boolean): void {
    const payload = Buffer.from(JSON.stringify({ seq: this.seq + 1, ops }));
    if (!this.writer) {
      const writer = JournalWriter.open(this.journal);
      // Holding the lock, nobody renames the journal: the file opened is the one `catchUp` just
      // read to its end, or the first journal, just created, which we then tail from its start.
      if (!this.tail) this.openTail();
      if (fs.fstatSync(writer.fd).ino !== this.tail?.ino) {
        writer.close();
        throw new Error(
          `The journal ${this.journal} was replaced while this process held the lock.`,
        );
      }
      this.writer = writer;
    }
    if (faultArmed('journal-torn')) {
      // Crash test: half a record reaches the disk, then the process dies.
      this.writer.appendTorn(payload, this.journalPos);
      process.kill(process.pid, 'SIGKILL');
    }
    this.journalPos = this.writer.append(payload, this.journalPos, sync);
    this.lastRecord = { seq: this.seq + 1, payload };
    this.unsynced = !sync;
    this.trigger.record(this.seq + 1, payload.length + RECORD_HEADER);
    fault('after-append');
  }

  /** Moves large event bodies to blob files; rows keep a reference. */
  private externalize(ops: StoreOp[]): StoreOp[] {
    const blobs = this.blobs;
    if (!blobs) return ops;
    return ops.map((op) => {
      if (op.op === 'putContent') {
        // A large content goes to its own file (named by the same hash), the record names it.
        const bytes = contentBytes(op);
        if (!bytes || bytes.length < BLOB_THRESHOLD) return op;
        if (blobs.put(bytes) !== op.hash) {
          throw new Error(`A content stored for undo does not match its hash ${op.hash}.`);
        }
        return { op: 'putContent', hash: op.hash, file: true };
      }
      if (op.op !== 'appendEvents') return op;
      const events = op.events.map((event) => {
        const text = json(event);
        return text.length >= BLOB_THRESHOLD ? { type: event.type, $blob: blobs.put(text) } : event;
      });
      return { ...op, events };
    });
  }

  /**
   * Starts a snapshot when one is due (snapshot-trigger.ts): a small database's here, in the
   * commit; a larger one's in a worker thread (snapshot-job.ts), put in place once it is written.
   * A commit waits for that worker only when two further intervals of journal have grown while
   * it worked (a machine too busy to give it the CPU): that keeps the journal, and so opening,
   * bounded under any load.
   */
  private maybeSnapshot(): void {
    const since = () => Math.max(this.manifest.current?.seq ?? 0, this.failedAt);
    const size = () => this.databaseBytes();
    if (this.job) {
      // Against the fixed limits only: a journal grown by a sixty-fourth of a small database is no
      // reason to make a commit wait for the worker.
      if (!this.trigger.due(this.job.seq, this.seq, BACKPRESSURE)) return;
      this.finishSnapshot();
    }
    if (!this.trigger.due(since(), this.seq, 1, size)) return;
    if (Date.now() < this.restUntil && !this.trigger.due(since(), this.seq)) return;
    // Another process may have written one meanwhile: its manifest says.
    this.refreshManifest();
    if (!this.trigger.due(since(), this.seq, 1, size)) return;
    if (this.databaseBytes() < this.inlineUnder) return this.snapshot();
    const job = SnapshotJob.start(
      {
        file: this.file!,
        seq: this.seq,
        killMidway: faultArmed('snapshot-before'),
        hold: process.env.AIRLOCK_HOLD,
      },
      () => this.jobDone(job),
    );
    if (job) this.job = job;
    else this.snapshot(); // no worker script beside this bundle: in place, as before
  }

  /** The pages in use: the free ones a snapshot keeps are no measure of the work it holds. */
  private databaseBytes(): number {
    return (this.pragma('page_count') - this.pragma('freelist_count')) * this.pragma('page_size');
  }

  private pragma(name: 'page_count' | 'page_size' | 'freelist_count'): number {
    return Number(this.db.exec(`PRAGMA ${name}`)[0]?.values[0]?.[0]);
  }

  private refreshManifest(): void {
    this.manifest = loadManifest(this.file!) ?? this.manifest;
    this.trigger.forget(this.manifest.current?.seq ?? 0);
  }

  /** The worker is done: its snapshot is put in place as soon as this process has the lock. */
  private jobDone(job: SnapshotJob | null): void {
    if (!job || this.job !== job) return; // already put in place (or closed)
    this.lock!.withAsync(() => this.finishSnapshot(job)).catch((err: unknown) => {
      if (this.job === job) {
        job.abandon();
        this.job = null;
      }
      this.warnings.push(`A snapshot could not be put in place: ${String(err)}`);
    });
  }

  /** Waits for the snapshot being written, if any, and puts it in place. Holding the lock. */
  private finishSnapshot(only?: SnapshotJob): void {
    const job = this.job;
    if (!job || (only && job !== only)) return;
    const outcome = job.wait();
    this.job = null;
    this.restUntil = Date.now() + WORKER_REST * (Date.now() - job.startedAt);
    this.install(job, outcome);
  }

  /**
   * Puts a worker's snapshot in place unless a newer one is already there, then its trimmed
   * journal with the records appended since the worker read it: a link, three renames, two
   * small writes, three fsyncs, bounded by the commits made while the snapshot was written.
   */
  private install(job: SnapshotJob, outcome: SnapshotOutcome): void {
    if (outcome.tag !== 'ready') {
      if (outcome.tag === 'failed') {
        this.failedAt = job.seq;
        this.warnings.push(
          `A snapshot at commit ${job.seq} was not written (${outcome.message}); the journal keeps every commit and a later snapshot tries again.`,
        );
      }
      this.refreshManifest();
      return;
    }
    this.catchUp(true);
    const onDisk = loadManifest(this.file!) ?? this.manifest;
    if ((onDisk.current?.seq ?? -1) >= outcome.snapshot.info.seq) {
      job.discard();
      this.manifest = onDisk;
      this.trigger.forget(onDisk.current?.seq ?? 0);
      return;
    }
    this.manifest = installSnapshot(this.file!, outcome.snapshot, onDisk);
    this.trigger.forget(outcome.snapshot.info.seq);
    fault('snapshot-after');
    this.trimJournal(outcome.journal);
  }

  /**
   * Replaces the journal with the worker's trimmed copy plus the records appended since it was
   * copied, holding the lock (nobody appends meanwhile). Skipped, keeping the longer journal, when
   * the copy no longer fits: another process replaced the journal, or it lacks records that the
   * previous snapshot now needs.
   */
  private trimJournal(trimmed: TrimmedJournal | null): void {
    if (!trimmed) return;
    const keepAfter = this.manifest.prev?.seq ?? 0;
    const tail = this.tail;
    if (
      !tail ||
      tail.ino !== trimmed.ino ||
      keepAfter < trimmed.keptAfter ||
      this.journalPos < trimmed.copiedEnd
    ) {
      fs.rmSync(trimmed.tmp, { force: true });
      return;
    }
    const newer = Buffer.alloc(this.journalPos - trimmed.copiedEnd);
    if (newer.length) fs.readSync(tail.fd, newer, 0, newer.length, trimmed.copiedEnd);
    const fd = fs.openSync(trimmed.tmp, 'a');
    try {
      if (newer.length) {
        fs.writeSync(fd, newer);
        fs.fsyncSync(fd);
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(trimmed.tmp, this.journal);
    fsyncDir(path.dirname(this.journal));
    this.closeJournal();
    this.openTail();
    this.journalPos = fs.fstatSync(this.tail!.fd).size;
  }

  /** A copy in memory of a snapshot's database at `seq`, for the snapshot worker to replay into. */
  static replica(SQL: SqlJsStatic, bytes: Uint8Array, seq: number, file: string): SqlJsStore {
    const store = new SqlJsStore(SQL, undefined, {});
    store.db.close();
    store.db = tuned(new SQL.Database(bytes));
    migrate(store.db, file);
    store.seq = seq;
    // Packed events already in payload files are read back when a run packs again.
    store.blobs = new BlobStore(`${file}.blobs`);
    return store;
  }

  /**
   * Moves packed events into payload files before this copy is exported (packed-events.ts), and
   * gives back the pages they took: the snapshot keeps a short row per finished run.
   */
  movePackedOut(payloads: BlobStore | undefined = this.blobs): void {
    if (!payloads || movePackedOut(this.sql, payloads) === 0) return;
    this.resetDerived();
    this.db.exec('VACUUM');
  }

  /** The commit this copy is at. */
  get at(): number {
    return this.seq;
  }

  /**
   * Applies a journal record to a replica if it is the next one up to `upTo`: 'before' (the copy
   * has it), 'applied', 'after' (past `upTo`), or 'gap' (records are missing before it).
   */
  replay(payload: Buffer, where: string, upTo: number): 'before' | 'applied' | 'after' | 'gap' {
    const seq = recordSeq(payload, where);
    if (seq <= this.seq) return 'before';
    if (seq > upTo) return 'after';
    if (seq !== this.seq + 1) return 'gap';
    const record = parseRecord(payload, where);
    this.applyAll(record.ops);
    this.seq = record.seq;
    return 'applied';
  }

  /** The database's bytes, stamped with the commit it is at (a snapshot's, in place or not). */
  exportAt(): Uint8Array {
    this.db.run("INSERT OR REPLACE INTO meta (key, value) VALUES ('journal_seq', ?)", [
      String(this.seq),
    ]);
    return this.exported();
  }

  /**
   * The database file's bytes, with free pages kept at its end (snapshotReserve). A process that
   * opens a snapshot holds it in sql.js's in-memory file, sized to the byte. The first write that
   * extends that file makes sql.js allocate one twice its size (1.125 times above 1 MiB) and copy
   * it all, and touching that much fresh memory is slow: 6 ms for a 1 MB database on this machine,
   * 23 ms at 5 MB. That cost landed on a commit or on the journal replay of every store opened
   * after a snapshot (a VACUUM leaves none free). SQLite fills free pages before it extends the
   * file, so the commits until the next snapshot write in place. The pages are zeroblob's zeros,
   * and secure_delete zeroes them again as they are freed: they hold nothing.
   */
  private exported(): Uint8Array {
    const want = snapshotReserve(this.databaseBytes());
    if (this.pragma('freelist_count') * this.pragma('page_size') < want) {
      // The row takes the free pages there are first, then extends the file: deleted, it
      // leaves `want` free.
      this.db.run("INSERT INTO meta (key, value) VALUES ('free_pages', zeroblob(?))", [want]);
      this.db.run("DELETE FROM meta WHERE key = 'free_pages'");
    }
    return this.db.export();
  }

  /** Writes a snapshot at the current commit, in place, and drops journal records both hold. */
  private snapshot(): void {
    const file = this.file!;
    const bytes = this.exportAt();
    fault('snapshot-before');
    this.manifest = writeSnapshot(file, bytes, this.seq, this.manifest);
    this.trigger.forget(this.seq);
    fault('snapshot-after');
    // The journal keeps everything after the previous snapshot, so that one plus the journal
    // can still rebuild the database if the newest snapshot turns out corrupt.
    const keepAfter = this.manifest.prev?.seq ?? 0;
    const read = readRecords(this.journal, 0);
    const kept = read.records.filter((p) => recordSeq(p, this.journal) > keepAfter);
    if (kept.length === read.records.length) return;
    const tmp = `${this.journal}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', OWNER_ONLY);
    try {
      fs.fchmodSync(fd, OWNER_ONLY);
      for (const payload of kept) fs.writeSync(fd, frame(payload));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.journal);
    fsyncDir(path.dirname(this.journal));
    this.closeJournal();
    this.openTail();
    this.journalPos = fs.fstatSync(this.tail!.fd).size;
  }

  private takenClaims(ops: StoreOp[]): string[] {
    const taken: string[] = [];
    for (const op of ops) {
      if (op.op !== 'claim') continue;
      for (const id of op.ids) {
        if (this.all('SELECT 1 FROM claims WHERE run_id = ? AND id = ?', [op.run_id, id]).length) {
          taken.push(id);
        }
      }
    }
    return taken;
  }

  private staleRun(ops: StoreOp[]): string | undefined {
    for (const op of ops) {
      if (op.op !== 'putRun') continue;
      const current = this.all('SELECT version FROM runs WHERE run_id = ?', [op.row.run_id])[0];
      const version = current ? Number(current.version) : null;
      if (version !== op.expect_version) return op.row.run_id;
    }
    return undefined;
  }

  /**
   * One commit's operations, then the events of each run the commit ended packed into one row
   * (packed-events.ts): after the whole batch, so the commit's own last events are packed too.
   */
  private applyBatch(ops: StoreOp[]): void {
    // Whether the batch commits or rolls back, the rules are read afresh after it.
    if (ops.some((op) => op.op === 'addRule' || op.op === 'revokeRule' || op.op === 'deleteRuns'))
      this.activeRules.clear();
    for (const op of ops) this.apply(op);
    for (const op of ops) {
      if (op.op === 'putRun' && FINISHED_STATUSES.includes(op.row.status))
        packEvents(this.sql, op.row.run_id, this.blobs);
    }
  }

  private apply(op: StoreOp): void {
    switch (op.op) {
      case 'putRun': {
        const r = op.row;
        if (!op.delta && op.state === undefined) {
          throw new Error(`A putRun of ${r.run_id} carries neither a state nor a state change.`);
        }
        const state = op.delta ? this.changedState(op) : json(op.state);
        this.run(
          `INSERT INTO runs (run_id, agent, workspace, prompt, status, reason, message, created_at, updated_at, owner, version, state, nested_in)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (run_id) DO UPDATE SET status = excluded.status, reason = excluded.reason,
             message = excluded.message, updated_at = excluded.updated_at, owner = excluded.owner,
             version = excluded.version, state = excluded.state`,
          runValues(r, new TextEncoder().encode(state)),
        );
        return;
      }
      case 'addSegment': {
        const s = op.row;
        this.run(
          'INSERT INTO segments (segment_id, run_id, parent_segment_id, kind, resume, started_at) VALUES (?, ?, ?, ?, ?, ?)',
          segmentValues(s),
        );
        return;
      }
      case 'appendEvents':
        for (const event of op.events) {
          this.run('INSERT INTO events (run_id, segment_id, type, body) VALUES (?, ?, ?, ?)', [
            op.run_id,
            op.segment_id,
            String(event.type),
            json(event),
          ]);
        }
        return;
      case 'setPending':
        this.run('DELETE FROM pending WHERE run_id = ?', [op.run_id]);
        for (const p of op.rows) this.putPending(p);
        return;
      case 'updatePending':
        for (const id of op.drop) {
          this.run('DELETE FROM pending WHERE run_id = ? AND id = ?', [op.run_id, id]);
        }
        for (const p of op.put) this.putPending(p);
        return;
      case 'claim':
        for (const id of op.ids) {
          this.run('INSERT INTO claims (run_id, id, owner, claimed_at) VALUES (?, ?, ?, ?)', [
            op.run_id,
            id,
            op.owner,
            op.at,
          ]);
        }
        return;
      case 'decide':
        this.run(
          'INSERT OR REPLACE INTO decisions (run_id, id, resolution, decided_at) VALUES (?, ?, ?, ?)',
          [op.run_id, op.id, json(op.resolution), op.at],
        );
        return;
      case 'addRule': {
        const r = upgradeRule(op.rule as StandingRule | LegacyRule, op as { at?: string });
        this.run(
          `INSERT OR IGNORE INTO rules (rule_id, workspace, run_id, tool, paths, action, cover,
             created_by, created_at, approval_id, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ruleValues(r),
        );
        return;
      }
      case 'revokeRule':
        this.run(
          'UPDATE rules SET revoked_at = ?, revoked_by = ? WHERE rule_id = ? AND revoked_at IS NULL',
          [op.at, op.by, op.rule_id],
        );
        return;
      case 'deleteRuns':
        for (const table of [...RUN_TABLES, 'packed_events']) {
          for (const id of op.run_ids) this.run(`DELETE FROM ${table} WHERE run_id = ?`, [id]);
        }
        // Undo data goes with its run: contents no remaining change names are freed.
        this.run(
          `DELETE FROM contents WHERE hash NOT IN (SELECT before FROM changes WHERE before IS NOT NULL)
             AND hash NOT IN (SELECT after FROM changes WHERE after IS NOT NULL)`,
          [],
        );
        return;
      case 'putContent': {
        const bytes = op.file ? null : contentBytes(op);
        if (!op.file && !bytes) throw new Error(`A content ${op.hash} with no bytes.`);
        this.run('INSERT OR IGNORE INTO contents (hash, body, in_file) VALUES (?, ?, ?)', [
          op.hash,
          bytes,
          op.file ? 1 : 0,
        ]);
        return;
      }
      case 'addChange': {
        const c = op.row;
        this.run(
          `INSERT INTO changes (change_id, run_id, call_id, path, kind, before, after, reverts,
             reverted_by, by, mode, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          changeValues(c),
        );
        return;
      }
      case 'markReverted':
        this.run('UPDATE changes SET reverted_by = ? WHERE change_id = ?', [op.by, op.change_id]);
        return;
      case 'deferDecision':
        this.run('INSERT INTO deferred (run_id, id, resolution, at) VALUES (?, ?, ?, ?)', [
          op.run_id,
          op.id,
          new TextEncoder().encode(json(op.resolution)),
          op.at,
        ]);
        return;
      case 'dropDeferred':
        for (const id of op.ids) {
          this.run('DELETE FROM deferred WHERE run_id = ? AND id = ?', [op.run_id, id]);
          this.run('DELETE FROM claims WHERE run_id = ? AND id = ?', [op.run_id, `decide:${id}`]);
        }
        return;
    }
  }

  private decode(ops: StoreOp[]): StoreOp[] {
    return decodeOps(ops, (runId) => {
      // The fixed fields only: the row's state BLOB is the bulk of it.
      const r = this.all(
        'SELECT agent, workspace, prompt, created_at, nested_in FROM runs WHERE run_id = ?',
        [runId],
      )[0];
      const text = (v: SqlValue | undefined) => (v === null || v === undefined ? null : String(v));
      return r
        ? {
            agent: String(r.agent),
            workspace: text(r.workspace),
            prompt: text(r.prompt),
            created_at: String(r.created_at),
            nested_in: text(r.nested_in),
          }
        : undefined;
    });
  }

  private putPending(p: PendingRow): void {
    this.run(
      'INSERT OR REPLACE INTO pending (id, run_id, kind, body, created_at) VALUES (?, ?, ?, ?, ?)',
      [p.id, p.run_id, p.kind, json(p.event), p.created_at],
    );
  }

  /**
   * The run's stored state with a commit's delta applied. The delta was computed against the
   * version the writer read, which `staleRun` checked at commit time; on replay the same order of
   * records gives the same versions, so a mismatch here is damage, refused rather than guessed.
   */
  private changedState(op: Extract<StoreOp, { op: 'putRun' }>): string {
    const where = `run ${op.row.run_id}'s state change to version ${op.row.version}`;
    const stored = this.all('SELECT version, state FROM runs WHERE run_id = ?', [op.row.run_id])[0];
    if (!stored || Number(stored.version) !== op.expect_version) {
      throw new CorruptDatabaseError(
        `The Airlock database ${this.file ?? '(in memory)'} holds ${where}, made on version ${op.expect_version}, but the run is ${stored ? `at version ${String(stored.version)}` : 'missing'}. Nothing was changed; restore the database files from a backup.`,
      );
    }
    const state: unknown = JSON.parse(new TextDecoder().decode(stored.state as Uint8Array));
    try {
      return json(applyStateDelta(state, op.delta!));
    } catch (err) {
      if (!(err instanceof StateDeltaError)) throw err;
      throw new CorruptDatabaseError(
        `The Airlock database ${this.file ?? '(in memory)'} holds ${where} that does not fit the stored state (${err.message}). Nothing was changed; restore the database files from a backup.`,
        { cause: err },
      );
    }
  }

  /** Prepared once per database: compiling SQL was most of a commit's CPU time. */
  private prepared(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private run(sql: string, params: SqlValue[]): void {
    this.prepared(sql).run(params);
  }

  private all(sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
    const stmt = this.prepared(sql);
    try {
      stmt.bind(params);
      return rowsOf(stmt);
    } finally {
      stmt.reset();
    }
  }

  /** The cached statements, for packed-events.ts. */
  private readonly sql: SqlRunner = {
    all: (sql, params) => this.all(sql, params),
    run: (sql, params) => this.run(sql, params),
  };

  /** Forgets what was derived from the database being replaced. */
  private resetDerived(): void {
    for (const stmt of this.statements.values()) stmt.free();
    this.statements.clear();
    this.activeRules.clear();
  }

  /** Reads see every commit acknowledged before them, by any process. */
  private query(sql: string, params: SqlValue[] = []): Record<string, SqlValue>[] {
    this.catchUp(false);
    return this.all(sql, params);
  }

  private body(text: SqlValue | undefined): Record<string, unknown> {
    const value = JSON.parse(String(text)) as unknown;
    if (isBlobRef(value)) {
      if (!this.blobs) throw new Error('A payload reference in an in-memory database.');
      return JSON.parse(this.blobs.get(value.$blob)) as Record<string, unknown>;
    }
    return value as Record<string, unknown>;
  }

  getRun(runId: string): { row: RunRow; state: unknown } | undefined {
    const r = this.query('SELECT * FROM runs WHERE run_id = ?', [runId])[0];
    if (!r) return undefined;
    const state: unknown = JSON.parse(new TextDecoder().decode(r.state as Uint8Array));
    return { row: toRunRow(r), state };
  }

  listRuns(): RunSummary[] {
    return this.query(
      `SELECT r.run_id, r.agent, r.workspace, r.prompt, r.status, r.reason, r.message, r.created_at,
              r.updated_at, r.owner, r.version, r.nested_in,
              (SELECT count(*) FROM pending p WHERE p.run_id = r.run_id) AS pending
       FROM runs r WHERE r.nested_in IS NULL ORDER BY r.created_at DESC, r.run_id`,
    ).map((r) => {
      const row = toRunRow(r);
      return { ...row, status: this.statusOf(row), pending: Number(r.pending) };
    });
  }

  interruptedRuns(): string[] {
    // Only runs stored as running can be interrupted: no need to read (or count) every run.
    return this.query(
      `SELECT * FROM runs WHERE status = 'running' AND nested_in IS NULL ORDER BY created_at DESC, run_id`,
    )
      .map(toRunRow)
      .filter((row) => this.statusOf(row) === 'interrupted')
      .map((row) => row.run_id);
  }

  retryableRuns(): { run_id: string; message: string }[] {
    // By the status index, like interruptedRuns: finished runs are not read.
    return this.query(
      `SELECT run_id, message FROM runs WHERE status = 'error' AND reason = 'model_error'
       AND nested_in IS NULL ORDER BY created_at DESC, run_id`,
    ).map((r) => ({ run_id: String(r.run_id), message: String(r.message) }));
  }

  statusOf(row: RunRow): RunState {
    if (row.status === 'running' && row.owner && !processAlive(row.owner)) return 'interrupted';
    return row.status;
  }

  pending(runId?: string): PendingRow[] {
    const rows = runId
      ? this.query('SELECT * FROM pending WHERE run_id = ? ORDER BY created_at, id', [runId])
      : this.query('SELECT * FROM pending ORDER BY created_at, id');
    return rows.map((r) => toPendingRow(r, this.body(r.body)));
  }

  events(runId: string): EventRow[] {
    const rows = this.query('SELECT * FROM events WHERE run_id = ? ORDER BY seq', [runId]);
    // A finished run's events are packed; any appended after it finished follow them.
    return [
      ...packedEvents(this.sql, runId, this.blobs).map(([seq, segment, , body]) => ({
        seq,
        run_id: runId,
        segment_id: segment,
        event: this.body(body),
      })),
      ...rows.map((r) => ({
        seq: Number(r.seq),
        run_id: String(r.run_id),
        segment_id: String(r.segment_id),
        event: this.body(r.body),
      })),
    ];
  }

  segments(runId: string): SegmentRow[] {
    return this.query('SELECT * FROM segments WHERE run_id = ? ORDER BY started_at, rowid', [
      runId,
    ]).map(toSegmentRow);
  }

  claims(runId: string): { id: string; owner: string; claimed_at: string }[] {
    return this.query('SELECT id, owner, claimed_at FROM claims WHERE run_id = ? ORDER BY rowid', [
      runId,
    ]).map((r) => ({ id: String(r.id), owner: String(r.owner), claimed_at: String(r.claimed_at) }));
  }

  decisions(runId: string): { id: string; resolution: unknown; decided_at: string }[] {
    return this.query('SELECT * FROM decisions WHERE run_id = ? ORDER BY decided_at, rowid', [
      runId,
    ]).map(toDecision);
  }

  deferred(runId: string): { id: string; resolution: unknown; at: string }[] {
    return this.query('SELECT * FROM deferred WHERE run_id = ? ORDER BY at, id', [runId]).map(
      (r) => ({
        id: String(r.id),
        resolution: JSON.parse(new TextDecoder().decode(r.resolution as Uint8Array)) as unknown,
        at: String(r.at),
      }),
    );
  }

  ownerAlive(owner: string): boolean {
    return processAlive(owner);
  }

  changes(runId: string): ChangeRow[] {
    return this.query('SELECT * FROM changes WHERE run_id = ? ORDER BY at, rowid', [runId]).map(
      toChangeRow,
    );
  }

  change(changeId: string): ChangeRow | undefined {
    const r = this.query('SELECT * FROM changes WHERE change_id = ?', [changeId])[0];
    return r ? toChangeRow(r) : undefined;
  }

  content(hash: string): Buffer | undefined {
    const r = this.query('SELECT body, in_file FROM contents WHERE hash = ?', [hash])[0];
    if (!r) return undefined;
    if (Number(r.in_file)) {
      if (!this.blobs) throw new Error('A content file reference in an in-memory database.');
      return this.blobs.bytes(hash);
    }
    return Buffer.from(r.body as Uint8Array);
  }

  rules(workspace: string): StandingRule[] {
    this.catchUp(false);
    let active = this.activeRules.get(workspace);
    if (!active) {
      active = this.all(
        `SELECT * FROM rules WHERE workspace = ? AND revoked_at IS NULL
         ORDER BY created_at, rule_id`,
        [workspace],
      ).map(toStandingRule);
      this.activeRules.set(workspace, active);
    }
    // A run's own rules end with it: rules of finished (or dropped) runs are not listed.
    const live = new Map<string, boolean>();
    return active.filter((r) => {
      if (r.run_id === null) return true;
      let on = live.get(r.run_id);
      if (on === undefined) {
        const status = this.all('SELECT status FROM runs WHERE run_id = ?', [r.run_id])[0]?.status;
        on = status === 'running' || status === 'paused';
        live.set(r.run_id, on);
      }
      return on;
    });
  }

  compact(retention: Retention): number {
    const drop = retentionDrops(
      this.query(
        `SELECT run_id, updated_at FROM runs WHERE status IN (${FINISHED_STATUSES.map(() => '?').join(', ')})
         AND nested_in IS NULL ORDER BY updated_at DESC, run_id`,
        [...FINISHED_STATUSES],
      ).map((r) => ({ run_id: String(r.run_id), updated_at: String(r.updated_at) })),
      retention,
    );
    // Nested runs go with the run that drove them.
    const nested = drop.length
      ? this.query(
          `SELECT run_id FROM runs WHERE nested_in IN (${drop.map(() => '?').join(', ')})`,
          drop,
        ).map((r) => String(r.run_id))
      : [];
    const all = [...drop, ...nested];
    // Small batches, each its own commit: writers wait for one batch at most, never the sweep.
    for (let i = 0; i < all.length; i += 100) {
      this.commit([{ op: 'deleteRuns', run_ids: all.slice(i, i + 100) }]);
    }
    if (all.length && this.blobs) this.sweepBlobs();
    return drop.length;
  }

  /**
   * Two snapshots of the vacuumed database in a row: the first replaces `FILE` (the old one
   * becomes `FILE.prev`), the second replaces that `FILE.prev` with a copy of the new snapshot
   * and empties the journal, whose records are all in both. Each step is the crash-safe
   * snapshot write, so a crash at any point leaves a database that opens with nothing lost.
   */
  scrub(): void {
    const run = (): void => {
      this.finishSnapshot();
      this.catchUp(true);
      // VACUUM rebuilds the file from live rows only (no statement may be open meanwhile).
      this.resetDerived();
      this.db.exec('VACUUM');
      if (!this.file) return;
      this.snapshot();
      this.snapshot();
      removeReplayCache(this.file);
      this.cachedAt = 0;
      this.blobs!.tighten();
      removeDeadTempFiles(this.file);
    };
    if (this.lock) this.lock.with(run);
    else run();
  }

  private sweepBlobs(): void {
    const keep = new Set<string>();
    for (const r of this.query(`SELECT body FROM events WHERE body LIKE '%"$blob"%'`)) {
      const ref = JSON.parse(String(r.body)) as unknown;
      if (isBlobRef(ref)) keep.add(ref.$blob);
    }
    for (const hash of packedPayloadHashes(this.sql)) keep.add(hash);
    for (const r of this.query('SELECT hash FROM contents WHERE in_file = 1')) {
      keep.add(String(r.hash));
    }
    // A blob younger than a minute may belong to a commit another process is about to append.
    this.blobs!.sweep(keep, 60_000);
  }

  /** Writes this database as a new database file (a snapshot with an empty journal). */
  writeTo(file: string): void {
    if (fs.existsSync(file)) throw new Error(`${file} exists; choose a new file.`);
    writeSnapshot(path.resolve(file), this.exported(), 0, { current: null, prev: null });
  }

  /** Opens the journal now at its path as the file to read from its start; false if none. */
  private openTail(): boolean {
    let fd: number;
    try {
      fd = fs.openSync(this.journal, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    // The file opened, not the one `stat` saw: the path may have been renamed over in between.
    this.tail = { fd, ino: fs.fstatSync(fd).ino };
    this.journalPos = 0;
    return true;
  }

  private closeJournal(): void {
    // What a flush still owes is flushed before the file is let go (a flush on its way to the
    // thread pool then finds the descriptor closed: its records are on the disk already).
    if (this.writer && this.unsynced) fs.fdatasyncSync(this.writer.fd);
    this.unsynced = false;
    this.writer?.close();
    this.writer = null;
    if (this.tail) fs.closeSync(this.tail.fd);
    this.tail = null;
  }

  private readonly growJournal = (): void => this.writer?.growAhead(this.journalPos);

  /** Commits of other processes show as changes to the database's files (not its lock). */
  watch(listener: () => void): StoreWatch {
    if (!this.file) return { close: () => undefined };
    const base = path.basename(this.file);
    const watcher = fs.watch(path.dirname(this.file), (_kind, name) => {
      // Not the lock, nor a process's owner file for it (file-lock.ts).
      if (name && name.startsWith(base) && !/\.lock(-\d+)?$/.test(name)) listener();
    });
    watcher.on('error', () => undefined); // the folder went away: nothing more to watch
    return { close: () => watcher.close() };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.job) {
      // A store closed in order finishes the snapshot being written, so its files are what a
      // snapshot written in place left. A process that exits without closing abandons it.
      try {
        this.lock!.with(() => {
          const job = this.job!;
          // A worker still at work on a database this small would take longer (a new one starts
          // a thread and loads sql.js first) than writing the snapshot here: a CLI closing its
          // store after a few commits would wait for it. Its job is dropped, its thread kept.
          // (snapshotInlineUnder 0 asks for the worker's path always.)
          const small = this.inlineUnder > 0 && this.databaseBytes() < SNAPSHOT_AT_CLOSE_UNDER;
          if (!job.poll() && small) {
            job.drop();
            this.job = null;
            this.catchUp(true);
            this.refreshManifest();
            if ((this.manifest.current?.seq ?? 0) < this.seq) this.snapshot();
          } else this.finishSnapshot();
        });
      } catch (err) {
        this.job?.abandon();
        this.job = null;
        this.warnings.push(`A snapshot could not be put in place: ${String(err)}`);
      }
    }
    this.leaveReplayCache();
    this.lock?.release();
    this.lock?.beforeRelease.delete(this.growJournal);
    this.closeJournal();
    this.resetDerived();
    this.db.close();
  }
}
