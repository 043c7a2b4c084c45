// Large event payloads (a big file's diff) live beside the database as content-addressed files,
// so the in-memory SQLite database holds only small rows however large the files an agent
// touches. A blob is durable (fsync'd, renamed into place) before the journal record naming it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import {
  fsyncDir,
  makePrivateDir,
  OWNER_ONLY,
  OWNER_ONLY_DIR,
  tightenMode,
  writeDurably,
} from './durable-file.js';

/** Bodies at least this large are stored as blobs. */
export const BLOB_THRESHOLD = 16 * 1024;

/** What a row holds instead of a large body: its type (kept readable) and the blob's hash. */
export interface BlobRef {
  type?: unknown;
  $blob: string;
}

export function isBlobRef(value: unknown): value is BlobRef {
  return (
    !!value && typeof value === 'object' && typeof (value as { $blob?: unknown }).$blob === 'string'
  );
}

export class BlobStore {
  constructor(readonly dir: string) {}

  private file(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`Invalid blob reference ${hash}.`);
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  /** Stores the text and returns its hash; a blob already present is not rewritten. */
  put(text: string | Buffer): string {
    const hash = createHash('sha256').update(text).digest('hex');
    this.putAs(hash, typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    return hash;
  }

  /**
   * Stores bytes under a name the caller computed (packed events are named by their text's hash,
   * their file holds it deflated); a file already there is kept.
   */
  putAs(hash: string, bytes: Uint8Array): void {
    const target = this.file(hash);
    if (fs.existsSync(target)) return;
    const dir = path.dirname(target);
    makePrivateDir(dir);
    const tmp = `${target}.tmp-${process.pid}`;
    writeDurably(tmp, bytes);
    fs.renameSync(tmp, target);
    fsyncDir(dir);
  }

  get(hash: string): string {
    return this.bytes(hash).toString('utf8');
  }

  bytes(hash: string): Buffer {
    try {
      return fs.readFileSync(this.file(hash));
    } catch (err) {
      throw new Error(
        `The database refers to a payload file ${this.file(hash)} that is missing or unreadable (${String(err)}).`,
        { cause: err },
      );
    }
  }

  /** Makes every blob and blob folder owner-only (ones an older Airlock left readable). */
  tighten(): void {
    if (!fs.existsSync(this.dir)) return;
    tightenMode(this.dir, OWNER_ONLY_DIR);
    for (const sub of fs.readdirSync(this.dir)) {
      const subdir = path.join(this.dir, sub);
      tightenMode(subdir, OWNER_ONLY_DIR);
      for (const name of fs.readdirSync(subdir)) tightenMode(path.join(subdir, name), OWNER_ONLY);
    }
  }

  /** Deletes blobs not in `keep` and older than `graceMs` (a writer may be about to name one). */
  sweep(keep: ReadonlySet<string>, graceMs: number, now = Date.now()): number {
    let removed = 0;
    if (!fs.existsSync(this.dir)) return 0;
    for (const sub of fs.readdirSync(this.dir)) {
      const subdir = path.join(this.dir, sub);
      for (const name of fs.readdirSync(subdir)) {
        const file = path.join(subdir, name);
        if (keep.has(name)) continue;
        if (now - fs.statSync(file).mtimeMs < graceMs) continue;
        fs.rmSync(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
