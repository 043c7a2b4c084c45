// Settings shared by the CLI's config file and the editor's `airlock.*` settings, with the same
// names and defaults, parsed with zod wherever they enter.
import { isPostgresUrl } from './store/location.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { Settings } from './settings-schema.js';
import { sha256 } from './runtime/ids.js';

export { Settings } from './settings-schema.js';

/** The workspace's config file; how it applies is host/workspace-config.ts (SPEC §9). */
export const CONFIG_FILE = 'airlock.config.json';

/**
 * One database per workspace, outside it (the agent must never edit its own audit trail), unless
 * AIRLOCK_DB names one: a file, or a team's PostgreSQL server (`postgres://…`, kept as given).
 */
export function defaultDbPath(workspace: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_DB)
    return isPostgresUrl(env.AIRLOCK_DB) ? env.AIRLOCK_DB : path.resolve(env.AIRLOCK_DB);
  return localDbPath(workspace, env);
}

/**
 * The database file of this machine for `location`: itself, or for a team's server the
 * workspace's own file path, beside which this machine's windows register their unsaved buffers.
 */
export function localDbFile(workspace: string, location: string, env = process.env): string {
  if (!isPostgresUrl(location)) return location;
  if (env.AIRLOCK_DB && !isPostgresUrl(env.AIRLOCK_DB)) return path.resolve(env.AIRLOCK_DB);
  return localDbPath(workspace, env);
}

function localDbPath(workspace: string, env: NodeJS.ProcessEnv): string {
  const dataHome = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  const root = path.resolve(workspace);
  const name = `${path.basename(root) || 'root'}-${sha256(root).slice(0, 12)}.db`;
  return path.join(dataHome, 'airlock', name);
}

/** The retention settings as the store takes them (0 means "no limit"). */
export function retentionOf(settings: Settings): { keepRuns?: number; keepDays?: number } {
  const { keepRuns, keepDays } = settings.retention;
  return { ...(keepRuns > 0 ? { keepRuns } : {}), ...(keepDays > 0 ? { keepDays } : {}) };
}
