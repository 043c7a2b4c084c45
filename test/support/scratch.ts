// What every host-tier test needs: temp folders and stores that are cleaned up after the file's
// tests, in reverse order of creation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { SqlJsStore, type StoreOptions } from '../../host/store/sqljs-store.js';

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Runs `fn` after this file's tests. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

/** A fresh folder (realpath'd: macOS-style /tmp symlinks would break path assertions). */
export function tempDir(tag: string): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `airlock-${tag}-`)));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function openStore(file: string, options: StoreOptions = {}): Promise<SqlJsStore> {
  const store = await SqlJsStore.open(file, options);
  onCleanup(() => store.close());
  return store;
}
