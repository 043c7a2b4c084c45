// An append-only, checksummed journal file. Each record is a frame:
//   [u32 LE payload length][u32 LE crc32 of payload][payload bytes]
// appended with one write and fsync'd before the commit is acknowledged. Readers stop at the
// first incomplete or corrupt frame; only a process holding the database lock cuts a bad tail.
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';

const HEADER = 8;
/** No single commit is anywhere near this; a larger length is a corrupt header. */
const MAX_RECORD = 256 * 1024 * 1024;

export interface ReadResult {
  records: Buffer[];
  /** Offset just past the last good frame. */
  end: number;
  /** Why reading stopped before the end of the file, if it did. */
  problem: null | { kind: 'torn' | 'corrupt'; offset: number; detail: string };
}

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
}

/** Appends one record durably: the bytes are on disk when this returns. */
export function appendRecord(path: string, payload: Buffer): number {
  const fd = fs.openSync(path, 'a');
  try {
    const bytes = frame(payload);
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    return fs.fstatSync(fd).size;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads every complete, intact frame from `offset` on. */
export function readRecords(path: string, offset: number): ReadResult {
  let data: Buffer;
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      data = Buffer.alloc(Math.max(0, size - offset));
      if (data.length) fs.readSync(fd, data, 0, data.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return { records: [], end: 0, problem: null };
    throw err;
  }
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const at = offset + pos;
    if (data.length - pos < HEADER) {
      return {
        records,
        end: at,
        problem: { kind: 'torn', offset: at, detail: 'a partial record header' },
      };
    }
    const length = data.readUInt32LE(pos);
    const sum = data.readUInt32LE(pos + 4);
    if (length > MAX_RECORD) {
      return {
        records,
        end: at,
        problem: { kind: 'corrupt', offset: at, detail: `an impossible record length ${length}` },
      };
    }
    if (data.length - pos - HEADER < length) {
      return {
        records,
        end: at,
        problem: { kind: 'torn', offset: at, detail: 'a record cut short' },
      };
    }
    const payload = data.subarray(pos + HEADER, pos + HEADER + length);
    if (crc32(payload) !== sum) {
      return {
        records,
        end: at,
        problem: { kind: 'corrupt', offset: at, detail: 'a record whose checksum does not match' },
      };
    }
    records.push(payload);
    pos += HEADER + length;
  }
  return { records, end: offset + pos, problem: null };
}

/** True when intact frames follow the bad one: cutting there would drop acknowledged records. */
export function intactAfter(path: string, badOffset: number): boolean {
  const data = fs.readFileSync(path);
  // Look for any position after the bad frame where a valid frame starts and runs to a clean end.
  for (let pos = badOffset + 1; pos + HEADER <= data.length; pos++) {
    const length = data.readUInt32LE(pos);
    if (length === 0 || length > data.length - pos - HEADER) continue;
    const payload = data.subarray(pos + HEADER, pos + HEADER + length);
    if (crc32(payload) === data.readUInt32LE(pos + 4) && payload[0] === 0x7b /* "{" */) return true;
  }
  return false;
}

export function truncate(path: string, length: number): void {
  const fd = fs.openSync(path, 'r+');
  try {
    fs.ftruncateSync(fd, length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
