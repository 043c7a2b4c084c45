// When a snapshot is due: after `every` commits or `bytes` of journal records since the last one,
// whichever comes first. Counting bytes too is what bounds the journal a store replays on open
// when records are large (a commit carrying a big state or many events).

/** Journal records after the newest snapshot, by sequence number and size. */
export class SnapshotTrigger {
  private seqs: number[] = [];
  /** Bytes of all records seen up to and including `seqs[i]`. */
  private ends: number[] = [];
  private total = 0;
  /** `total` as it was just after the last record forgotten. */
  private base = 0;

  constructor(
    readonly every: number,
    readonly bytes: number,
  ) {}

  /** A record applied or appended by this process. */
  record(seq: number, size: number): void {
    this.total += size;
    this.seqs.push(seq);
    this.ends.push(this.total);
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
  due(since: number, seq: number, intervals = 1): boolean {
    return (
      seq - since >= this.every * intervals || this.bytesAfter(since) >= this.bytes * intervals
    );
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
