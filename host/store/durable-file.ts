// Files that are on disk when the call returns: blobs, snapshots and the manifest use these
// before renaming into place.
import * as fs from 'node:fs';

/** Writes the whole file and fsyncs it. */
export function writeDurably(file: string, bytes: Uint8Array | string): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a rename or a new file in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
