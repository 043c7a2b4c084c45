// An append-only, checksummed journal file. Each record is a frame:
//   [u32 LE payload length][u32 LE crc32 of payload][payload bytes]
// The file is grown ahead in zero-filled chunks, and records are written into that space: an
// overwrite of allocated blocks lets fdatasync skip the file-size metadata update, which halves
// the cost of a durable commit. The records end at the first all-zero header.
// Readers stop at the first incomplete or corrupt frame; only the lock holder cuts a bad tail.
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';

const HEADER = 8;
/** No single commit is anywhere near this; a larger length is a corrupt header. */
const MAX_RECORD = 256 * 1024 * 1024;
const GROW = 1024 * 1024;
const MIN_GROW = 64 * 1024;
const CHUNK = 64 * 1024;

export interface ReadResult {
  records: Buffer[];
  /** Offset just past the last good frame. */
  end: number;
  /** Why reading stopped before the end of the records, if it did. */
  problem: null | { kind: 'torn' | 'corrupt'; offset: number; detail: string };
}

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
}

/** The journal open for writing records into its zero-filled tail. */
export class JournalWriter {
  private size: number;

  constructor(readonly fd: number) {
    this.size = fs.fstatSync(fd).size;
  }

  static open(path: string): JournalWriter {
    // Not O_APPEND: records are written at the end of the records, inside the grown space.
    const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    // Raw run state is journaled: owner-only whatever the umask (or an older Airlock) made it.
    if ((fs.fstatSync(fd).mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600);
    return new JournalWriter(fd);
  }

  /**
   * Writes one record at `end`; returns the new end. Written, it is in the kernel's page cache:
   * every reader sees it and no process kill loses it. With `sync` it is on the disk too when
   * this returns, and so is every record written before it without.
   */
  append(payload: Buffer, end: number, sync = true): number {
    const bytes = frame(payload);
    this.reserve(end, bytes.length);
    fs.writeSync(this.fd, bytes, 0, bytes.length, end);
    if (sync) fs.fdatasyncSync(this.fd);
    return end + bytes.length;
  }

  /** Writes the first half of a record only: a torn write, for the crash tests. */
  appendTorn(payload: Buffer, end: number): void {
    const bytes = frame(payload);
    this.reserve(end, bytes.length);
    fs.writeSync(this.fd, bytes, 0, bytes.length >> 1, end);
    fs.fdatasyncSync(this.fd);
  }

  /** Grows the file ahead of need while the lock is about to be given up, not during a commit. */
  growAhead(end: number): void {
    const step = this.step();
    if (this.size - end < step / 2) this.reserve(end, step / 2);
  }

  /**
   * How much to grow by: as much as the file holds (64 KiB at least, 1 MiB at most). A journal a
   * snapshot just replaced is small: growing it by a whole MiB of zeros (and an fsync) wrote 16
   * times the records a small database's snapshot interval holds.
   */
  private step(): number {
    return Math.min(GROW, Math.max(MIN_GROW, this.size));
  }

  /** Grows the file so a record and the zero header after it (the end mark) fit. */
  private reserve(end: number, length: number): void {
    const needed = end + length + HEADER;
    if (needed <= this.size) return;
    this.size = fs.fstatSync(this.fd).size; // another process may have grown it
    if (needed <= this.size) return;
    const by = Math.max(this.step(), needed - this.size);
    fs.writeSync(this.fd, Buffer.alloc(by), 0, by, this.size);
    fs.fsyncSync(this.fd); // the new size and blocks, once per chunk
    this.size += by;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, offset);
  return n === length ? buf : buf.subarray(0, n);
}

/** Reads every complete, intact frame from `offset` to the end of the records. */
export function readRecords(path: string, offset: number): ReadResult {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { records: [], end: 0, problem: null };
    throw err;
  }
  try {
    return readFrom(fd, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads every complete, intact frame from `offset` in the journal open as `fd`: the file a
 * tailing process holds, which stays the same file whatever is renamed over its path.
 */
export function readFrom(fd: number, offset: number): ReadResult {
  const records: Buffer[] = [];
  let pos = offset;
  // Usually nothing is new: a small first read finds the zero header.
  let buf = readAt(fd, pos, 4096);
  let at = 0; // position of `pos` within buf
  const stop = (kind: 'torn' | 'corrupt', detail: string): ReadResult => ({
    records,
    end: pos,
    problem: { kind, offset: pos, detail },
  });
  for (;;) {
    if (buf.length - at < HEADER) {
      buf = readAt(fd, pos, CHUNK);
      at = 0;
      if (buf.length === 0) return { records, end: pos, problem: null };
      if (buf.length < HEADER) {
        return buf.every((b) => b === 0)
          ? { records, end: pos, problem: null }
          : stop('torn', 'a partial record header');
      }
    }
    const length = buf.readUInt32LE(at);
    const sum = buf.readUInt32LE(at + 4);
    if (length === 0 && sum === 0) return { records, end: pos, problem: null };
    if (length === 0 || length > MAX_RECORD) {
      return stop('corrupt', `an impossible record length ${length}`);
    }
    if (buf.length - at - HEADER < length) {
      buf = readAt(fd, pos, HEADER + length);
      at = 0;
      if (buf.length < HEADER + length) return stop('torn', 'a record cut short');
    }
    const payload = buf.subarray(at + HEADER, at + HEADER + length);
    if (crc32(payload) !== sum) {
      return stop(
        payload.every((b) => b === 0) ? 'torn' : 'corrupt',
        payload.every((b) => b === 0)
          ? 'a record cut short'
          : 'a record whose checksum does not match',
      );
    }
    records.push(Buffer.from(payload));
    at += HEADER + length;
    pos += HEADER + length;
  }
}

/** True when intact frames follow the bad one: cutting there would drop acknowledged records. */
export function intactAfter(path: string, badOffset: number): boolean {
  const data = fs.readFileSync(path);
  for (let pos = badOffset + 1; pos + HEADER <= data.length; pos++) {
    const length = data.readUInt32LE(pos);
    if (length === 0 || length > data.length - pos - HEADER) continue;
    const payload = data.subarray(pos + HEADER, pos + HEADER + length);
    if (payload[0] === 0x7b /* "{" */ && crc32(payload) === data.readUInt32LE(pos + 4)) return true;
  }
  return false;
}

/** Cuts the journal at `length`; the writer grows it again as needed. */
export function truncate(path: string, length: number): void {
  const fd = fs.openSync(path, 'r+');
  try {
    fs.ftruncateSync(fd, length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
