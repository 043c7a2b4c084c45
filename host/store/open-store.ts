// Opens the store a database location names (location.ts): a team's PostgreSQL server or a
// sql.js database file.
import { isPostgresUrl } from './location.js';
import { PgStore } from './pg-store.js';
import { SqlJsStore } from './sqljs-store.js';
import type { Store } from './store.js';

export interface OpenOptions {
  /** PostgreSQL's password (from SecretStorage); else PGPASSWORD or the URL's own. */
  password?: string;
}

export function openStore(location: string, options: OpenOptions = {}): Promise<Store> {
  return isPostgresUrl(location)
    ? PgStore.open({ url: location, ...(options.password ? { password: options.password } : {}) })
    : SqlJsStore.open(location);
}
