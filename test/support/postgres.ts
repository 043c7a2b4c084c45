// Team mode in the tests: a real PostgreSQL server (scripts/postgres.mjs), and the switch that runs
// the store conformance suite on it. `AIRLOCK_TEST_STORE=postgres` makes every store a test opens
// through scratch.ts a PostgreSQL one, on the server `AIRLOCK_TEST_POSTGRES` names (npm test starts
// one) or else on one this process starts and stops.
import { createHash } from 'node:crypto';
import pg from 'pg';
import { onCleanup } from './scratch.js';
// @ts-expect-error: a plain .mjs script, typed by its use here
import { postgresMissing, startPostgres } from '../../scripts/postgres.mjs';

export const onPostgres = process.env.AIRLOCK_TEST_STORE === 'postgres';

let server: Promise<string> | undefined;

/** The test server's URL; says exactly what is missing when none can be started. */
export function postgresUrl(): Promise<string> {
  const given = process.env.AIRLOCK_TEST_POSTGRES;
  if (given) return Promise.resolve(given);
  server ??= (async () => {
    const missing = (postgresMissing as () => string | null)();
    if (missing) {
      throw new Error(
        `The team-mode tests need a PostgreSQL server and this machine has none: missing ${missing}`,
      );
    }
    const started = await (
      startPostgres as () => Promise<{ url: string; stop(): Promise<void> }>
    )();
    onCleanup(() => started.stop());
    return started.url;
  })();
  return server;
}

/**
 * A database location of its own for a test's database file: one PostgreSQL schema per file
 * path (made here), so every process opening that path meets the same runs and no other test's.
 */
export async function postgresLocation(file: string): Promise<string> {
  const url = await postgresUrl();
  const schema = `t_${createHash('sha256').update(file).digest('hex').slice(0, 20)}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
