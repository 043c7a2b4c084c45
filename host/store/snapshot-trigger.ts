// When a snapshot is due: after `every` commits or `bytes` of journal records since the last one,
// whichever comes first. Counting bytes too is what bounds the journal a store replays on open
// when records are large (a commit carrying a big state or many events).
//
// By default the byte limit also follows the database's size: opening loads the snapshot (a
// copy, about 1.5 ms per MB here) and replays the journal (parsing and applying each record,
// about 25 times that per byte, more where a record ends a run and packs its events), so a
// journal kept under a sixty-fourth of the database (at least 64 KiB) keeps replaying to under
// half of loading. (A sixteenth let it grow past loading: a store of 10k runs reopened per phase
// of a cycle took 87 ms, 64 ms at a sixty-fourth; the snapshots, four times as many, are
// written off the commit path by the worker.) A small database is snapshotted often, which
// costs little; a CLI or a second window opening it replays a few dozen records, not thousands.

/** The least journal worth a snapshot, however small the database. */
const REPLAY_FLOOR = 64 * 1024;
/** The journal may grow to this share of the database before a snapshot is due. */
const REPLAY_SHARE = 1 / 64;

/**
 * Free pages a snapshot keeps for the commits until the next one: twice the journal a snapshot
 * is due at (the pages those commits add take about a third of their records' bytes, measured).
 */
export function snapshotReserve(databaseBytes: number): number {
  return 2 * Math.max(REPLAY_FLOOR, databaseBytes * REPLAY_SHARE);
}

/** Journal records after the newest snapshot, by sequence number and size. */
export class SnapshotTrigger {
  private seqs: number[] = [];
  /** Bytes of all records seen up to and including `seqs[i]`. */
  private ends: number[] = [];
  private total = 0;
  /** `total` as it was just after the last record forgotten. */
  private base = 0;

  /** `adaptive`: the byte limit also follows the database's size (above); else it is `bytes`. */
  constructor(
    readonly every: number,
    readonly bytes: number,
    private readonly adaptive = false,
  ) {}

  /** A record applied or appended by this process. */
  record(seq: number, size: number): void {
    this.total += size;
    this.seqs.push(seq);
    this.ends.push(this.total);
  }

  recordAll(records: readonly [seq: number, size: number][]): void {
    for (const [seq, size] of records) this.record(seq, size);
  }

  /** Bytes of the records after `seq` that this process has seen. */
  bytesAfter(seq: number): number {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid]! <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.total - (lo === 0 ? this.base : this.ends[lo - 1]!);
  }

  /**
   * True when the journal after `since` (a snapshot's seq) has grown enough for a new one:
   * `intervals` times the thresholds (a snapshot still being written is given more).
   */
  due(since: number, seq: number, intervals = 1, databaseBytes?: () => number): boolean {
    const after = this.bytesAfter(since);
    if (seq - since >= this.every * intervals || after >= this.bytes * intervals) return true;
    if (!this.adaptive || !databaseBytes || after < REPLAY_FLOOR * intervals) return false;
    return after >= Math.max(REPLAY_FLOOR, databaseBytes() * REPLAY_SHARE) * intervals;
  }

  /** Drops what a snapshot at `seq` holds. */
  forget(seq: number): void {
    let n = 0;
    while (n < this.seqs.length && this.seqs[n]! <= seq) n++;
    if (n === 0) return;
    this.base = this.ends[n - 1]!;
    this.seqs.splice(0, n);
    this.ends.splice(0, n);
  }

  /** A snapshot replaced the database in memory: only records applied from now on count. */
  reset(): void {
    this.seqs = [];
    this.ends = [];
    this.total = 0;
    this.base = 0;
  }
}
