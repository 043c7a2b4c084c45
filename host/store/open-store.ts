// Opens the store a database location names (location.ts): a team's PostgreSQL server or a
// sql.js database file.
import { isPostgresUrl } from './location.js';
import { SqlJsStore } from './sqljs-store.js';
import type { Store } from './store.js';

export interface OpenOptions {
  /** PostgreSQL's password (from SecretStorage); else PGPASSWORD or the URL's own. */
  password?: string;
}

export async function openStore(location: string, options: OpenOptions = {}): Promise<Store> {
  if (!isPostgresUrl(location)) return SqlJsStore.open(location);
  // Loaded on first use: most processes never talk to PostgreSQL.
  const { PgStore } = await import('./pg-store.js');
  return PgStore.open({
    url: location,
    ...(options.password ? { password: options.password } : {}),
  });
}
