// VS Code's flat `airlock.*` settings → the host's Settings object (host/settings-schema.ts), and
// the HostOptions sent at initialize and on every change. Pure: the caller passes a getter over
// `workspace.getConfiguration('airlock')`, so this is tested without VS Code.
import * as path from 'node:path';
import { z } from 'zod';
import { HostOptions } from '../host/protocol/rpc.js';
import { Settings } from '../host/settings-schema.js';
import { redactPatternProblem } from '../host/runtime/redact.js';

/** Every contributed setting (without the `airlock.` prefix), as package.json declares them. */
export const SETTING_KEYS = [
  'model',
  'baseURL',
  'policy',
  'redactKeys',
  'redactPatterns',
  'protectedPaths',
  'twoPersonRule',
  'approvalTimeout',
  'maxTurns',
  'retention.keepRuns',
  'retention.keepDays',
  'maxToolCallsPerTurn',
  'maxArgumentBytes',
  'maxOutputBytes',
  'maxReadBytes',
  'requestTimeout',
  'commandTimeout',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

export interface SettingsRead {
  settings: Settings;
  /** One line per setting that was ignored (its default used instead), to show the user. */
  problems: string[];
}

/**
 * Reads the settings; an invalid one is replaced by its default and reported, never sent on (the
 * host would refuse to start with, say, a redaction pattern that is not a regular expression or
 * that RE2 cannot run: host/runtime/redact.ts `redactPatternProblem`, the schema's own check).
 */
export function settingsFromConfiguration(get: (key: SettingKey) => unknown): SettingsRead {
  const problems: string[] = [];
  const top: Record<string, unknown> = {};
  const retention: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) {
    const value = get(key);
    if (value === undefined || value === null) continue;
    if (key.startsWith('retention.')) retention[key.slice('retention.'.length)] = value;
    else top[key] = value;
  }
  if (Array.isArray(top.redactPatterns)) {
    top.redactPatterns = top.redactPatterns.filter((pattern: unknown) => {
      if (typeof pattern !== 'string') return true; // the schema reports it
      const problem = redactPatternProblem(pattern);
      if (problem) problems.push(`airlock.redactPatterns: one pattern is ignored. ${problem}`);
      return !problem;
    });
  }
  // Drop what the schema rejects, one setting at a time, until the rest parses.
  for (let round = 0; round <= SETTING_KEYS.length; round++) {
    const raw = Object.keys(retention).length > 0 ? { ...top, retention } : top;
    const parsed = Settings.safeParse(raw);
    if (parsed.success) return { settings: parsed.data, problems };
    const dropped = dropInvalid(parsed.error, top, retention, problems);
    if (!dropped) break;
  }
  problems.push('The airlock.* settings could not be read; the defaults are used.');
  return { settings: Settings.parse({}), problems };
}

function dropInvalid(
  error: z.ZodError,
  top: Record<string, unknown>,
  retention: Record<string, unknown>,
  problems: string[],
): boolean {
  let dropped = false;
  for (const issue of error.issues) {
    const [first, second] = issue.path;
    if (first === 'retention' && typeof second === 'string' && second in retention) {
      delete retention[second];
      problems.push(`airlock.retention.${second}: ${issue.message}; the default is used.`);
      dropped = true;
    } else if (typeof first === 'string' && first in top) {
      const where = issue.path.length > 1 ? ` (at ${issue.path.slice(1).join('.')})` : '';
      delete top[first];
      problems.push(`airlock.${first}${where}: ${issue.message}; the default is used.`);
      dropped = true;
    }
  }
  return dropped;
}

/** What the host gets at `initialize`: the first workspace folder, its database (default: its own file). */
export function hostOptions(
  workspace: string,
  settings: Settings,
  apiKey: string,
  restricted = false,
  db = '',
  dbPassword?: string,
): HostOptions {
  return HostOptions.parse({
    workspace,
    db,
    ...(dbPassword ? { dbPassword } : {}),
    settings,
    apiKey,
    restricted,
  });
}

/**
 * The user's `airlock.database` as the host takes it: '' (this workspace's own file), a
 * `postgres://` URL (team mode) or an absolute file path; anything else is a problem to show,
 * and the workspace's own file is used.
 */
export function databaseLocation(value: unknown): { db: string; problem: string } {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!text || /^postgres(ql)?:\/\//i.test(text) || path.isAbsolute(text)) {
    return { db: text, problem: '' };
  }
  return {
    db: '',
    problem: `airlock.database must be a postgres:// URL or an absolute file path, not ${JSON.stringify(text.slice(0, 80))}; this workspace's own database is used.`,
  };
}
