// Settings shared by the CLI's config file and the editor's `airlock.*` settings, with the same
// names and defaults, parsed with zod wherever they enter.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { Settings } from './settings-schema.js';
import { sha256 } from './runtime/ids.js';

export { Settings } from './settings-schema.js';

export const CONFIG_FILE = 'airlock.config.json';

/** Reads `<workspace>/airlock.config.json` (or an explicit file); defaults when absent. */
export function loadSettings(workspace: string, file?: string): Settings {
  const configPath = file ?? path.join(workspace, CONFIG_FILE);
  if (!fs.existsSync(configPath)) {
    if (file) throw new Error(`The config file ${file} does not exist.`);
    return Settings.parse({});
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`${configPath} is not valid JSON (${String(err)}); fix or remove it.`, {
      cause: err,
    });
  }
  const parsed = Settings.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${configPath} has invalid settings: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** One database per workspace, outside it (the agent must never edit its own audit trail). */
export function defaultDbPath(workspace: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIRLOCK_DB) return path.resolve(env.AIRLOCK_DB);
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
