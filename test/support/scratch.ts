// What every host-tier test needs: temp folders and stores that are cleaned up after the file's
// tests, in reverse order of creation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { onPostgres, postgresLocation } from './postgres.js';
import { PgStore } from '../../host/store/pg-store.js';
import { SqlJsStore, type StoreOptions } from '../../host/store/sqljs-store.js';
import type { Store } from '../../host/store/store.js';

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

/**
 * The store of a database file, closed after the file's tests. Under `AIRLOCK_TEST_STORE=postgres`
 * (the conformance suite's second pass) it is a PostgreSQL store in a schema of that path's own.
 */
export async function openStore(file: string, options: StoreOptions = {}): Promise<Store> {
  const store = onPostgres
    ? await PgStore.open({ url: await postgresLocation(file) })
    : await SqlJsStore.open(file, options);
  onCleanup(() => store.close());
  return store;
}

/** A sql.js file store, for the tests of the file store itself (journal, snapshots, files). */
export async function openFileStore(file: string, options: StoreOptions = {}): Promise<SqlJsStore> {
  const store = await SqlJsStore.open(file, options);
  onCleanup(() => store.close());
  return store;
}

/** What another process is given to open the same store (AIRLOCK_DB, --db). */
export async function storeLocation(file: string): Promise<string> {
  return onPostgres ? postgresLocation(file) : file;
}
