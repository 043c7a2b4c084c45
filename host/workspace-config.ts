// The workspace's airlock.config.json over the developer's own settings (SPEC §9). The file comes
// with the repository, so it may only tighten: add ask/deny rules, redaction and protected paths,
// shorten the approval timeout, lower the turn limit and the resource limits, pick a model. What
// would loosen (allow rules, a baseURL that receives the API key, a longer timeout, more turns,
// higher limits, retention that drops history) is ignored, with a line saying so, until the developer trusts that exact file (path
// and SHA-256, recorded outside the workspace by host/trust-store.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { WorkspaceConfigStatus } from './protocol/rpc.js';
import type { Policy, PolicyRule } from './runtime/policy.js';
import { sha256 } from './runtime/ids.js';
import { LIMIT_DEFAULTS, Settings, SettingsFile, type LimitKey } from './settings-schema.js';
import { CONFIG_FILE } from './settings.js';
import {
  TRUST_REVOKED,
  TrustStore,
  trustKey,
  userConfigDir,
  type TrustState,
} from './trust-store.js';
import { shownText } from './shown-text.js';

export { userConfigDir } from './trust-store.js';

export { CONFIG_FILE };
export const USER_CONFIG_FILE = 'config.json';

/** Larger than any real config file; a repository must not make Airlock read a huge file. */
const MAX_CONFIG_BYTES = 1024 * 1024;

export interface LoadedConfig {
  /** The developer's settings with what the workspace file may change applied. `policy` stays
   * the developer's own; the file's rules are `workspacePolicy` (the runtime layers both). */
  settings: Settings;
  /** The workspace file's rules that apply: ask/deny only unless the file is trusted. */
  workspacePolicy: Policy;
  status: WorkspaceConfigStatus;
}

export interface LoadConfigOptions {
  workspace: string;
  /** The developer's own settings (the editor's). Default: the user config file, as the CLI has. */
  user?: Settings;
  /**
   * The CLI's `--config FILE`: outside the workspace it replaces the user config file; inside it,
   * it is the workspace file (tighten-only unless trusted).
   */
  configFlag?: string;
  env?: NodeJS.ProcessEnv;
  /** Default: the developer's store in the user config folder. */
  trustStore?: TrustStore;
  /** VS Code's Restricted Mode: the file only tightens, whatever the trust store says. */
  restricted?: boolean;
}

/** One workspace config file as read: its bytes, their hash and the keys it sets. */
export interface WorkspaceFile {
  /** Absolute, symlinks resolved: what trust is bound to. */
  file: string;
  /** How messages name it: relative to the workspace. */
  label: string;
  sha256: string;
  values: SettingsFile;
}

/** `$XDG_CONFIG_HOME/airlock/config.json`'s settings when it exists, else the defaults. */
export function loadUserSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const file = path.join(userConfigDir(env), USER_CONFIG_FILE);
  return fs.existsSync(file) ? readSettingsFile(file, Settings) : Settings.parse({});
}

/** The developer's settings with the workspace file applied as far as its trust allows. */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const env = options.env ?? process.env;
  const workspace = realpathOr(path.resolve(options.workspace));
  let user = options.user;
  let candidate = path.join(workspace, CONFIG_FILE);
  if (options.configFlag !== undefined) {
    const flag = path.resolve(options.configFlag);
    if (!fs.existsSync(flag)) throw new Error(`The config file ${flag} does not exist.`);
    if (insideWorkspace(options.workspace, workspace, flag)) candidate = flag;
    else user = readSettingsFile(flag, Settings);
  }
  user ??= loadUserSettings(env);
  const read = readWorkspaceFile(workspace, candidate);
  if (!read) {
    return {
      settings: user,
      workspacePolicy: [],
      status: { file: null, sha256: null, trusted: false, loosening: [], ignored: [] },
    };
  }
  if (options.restricted) {
    return apply(user, read, 'untrusted', 'ignored in Restricted Mode: trust the folder first');
  }
  const store = options.trustStore ?? TrustStore.forUser(env);
  const state = store.state(read.file, read.sha256);
  return apply(
    user,
    read,
    state,
    `ignored until you trust this file: \`${trustCommand(workspace, read)}\``,
  );
}

/**
 * Reads the workspace file at `file` (default: the workspace's airlock.config.json); undefined
 * when there is none. Refuses what a repository could use against the reader: a link leading out
 * of the workspace, something that is not a regular file, a huge file.
 */
export function readWorkspaceFile(workspace: string, file?: string): WorkspaceFile | undefined {
  const root = realpathOr(path.resolve(workspace));
  const target = path.resolve(file ?? path.join(root, CONFIG_FILE));
  if (!fs.existsSync(target)) {
    try {
      fs.lstatSync(target);
    } catch {
      return undefined; // no file at all (a dangling link is refused below)
    }
  }
  const label = path.relative(root, target) || target;
  const real = realpathOr(target);
  if (!fs.existsSync(real) || !isInside(root, real)) {
    throw new Error(
      `${target} is a link that leads out of the workspace (or nowhere): Airlock does not follow it. Replace the link with the file itself, or remove it.`,
    );
  }
  const bytes = readSmallFile(real, target);
  const values = parseSettingsText(bytes.toString('utf8'), target, SettingsFile);
  return { file: trustKey(real), label, sha256: sha256(bytes), values };
}

/**
 * Records trust in the workspace file as it is now. With `expectedSha256` (the version the
 * developer was shown), refuses when the file changed since. Returns the version trusted and what
 * of it loosens the developer's settings (computed from those same bytes).
 */
export function trustWorkspaceFile(options: LoadConfigOptions & { expectedSha256?: string }): {
  file: WorkspaceFile;
  loosening: string[];
} {
  const env = options.env ?? process.env;
  const workspace = realpathOr(path.resolve(options.workspace));
  let candidate = path.join(workspace, CONFIG_FILE);
  if (options.configFlag !== undefined) {
    candidate = path.resolve(options.configFlag);
    if (!insideWorkspace(options.workspace, workspace, candidate)) {
      throw new Error(
        `${candidate} is outside the workspace ${workspace}: it is your own config (\`--config\` takes it as it is), there is nothing to trust.`,
      );
    }
  }
  const read = readWorkspaceFile(workspace, candidate);
  if (!read) throw new Error(`There is no ${candidate} to trust.`);
  if (options.expectedSha256 !== undefined && options.expectedSha256 !== read.sha256) {
    throw new Error(
      `${read.file} changed since you were shown it (its SHA-256 is now ${read.sha256}, not ${options.expectedSha256}); nothing was trusted. Review the file again.`,
    );
  }
  const user = options.user ?? loadUserSettings(env);
  const { loosening } = apply(user, read, 'untrusted', '').status;
  (options.trustStore ?? TrustStore.forUser(env)).trust(read.file, read.sha256);
  return { file: read, loosening };
}

/** The merge. Redaction and protected paths are a union either way: a file can't remove any. */
function apply(user: Settings, read: WorkspaceFile, state: TrustState, how: string): LoadedConfig {
  const w = read.values;
  const trusted = state === 'trusted';
  const settings: Settings = {
    ...user,
    redactKeys: union(user.redactKeys, w.redactKeys),
    redactPatterns: union(user.redactPatterns, w.redactPatterns),
    protectedPaths: union(user.protectedPaths, w.protectedPaths),
  };
  const loosening: string[] = [];
  if (w.model) settings.model = w.model;
  // On tightens; off would loosen the developer's own rule, so it is a loosening like the others.
  if (w.twoPersonRule === true) settings.twoPersonRule = true;
  if (w.twoPersonRule === false && user.twoPersonRule) {
    loosening.push(
      'twoPersonRule: off (a protected path could be approved by whoever started the run)',
    );
    if (trusted) settings.twoPersonRule = false;
  }

  if (w.baseURL && w.baseURL !== user.baseURL) {
    loosening.push(`baseURL: ${shownText(w.baseURL)} (your API key and prompts would go there)`);
    if (trusted) settings.baseURL = w.baseURL;
  }

  const rules = w.policy ?? [];
  for (const rule of rules) if (rule.action === 'allow') loosening.push(describeAllow(rule));
  const workspacePolicy = trusted ? rules : rules.filter((rule) => rule.action !== 'allow');

  if (w.approvalTimeout !== undefined && w.approvalTimeout !== user.approvalTimeout) {
    const t = w.approvalTimeout;
    const u = user.approvalTimeout;
    const shorter = t > 0 && (u === 0 || t < u);
    if (shorter || trusted) settings.approvalTimeout = t;
    if (!shorter) {
      const mine = u === 0 ? 'never' : `after ${u} s`;
      loosening.push(
        `approvalTimeout: ${t === 0 ? 'approvals never expire' : `approvals expire after ${t} s`}, yours expire ${mine}`,
      );
    }
  }

  if (w.maxTurns !== undefined && w.maxTurns !== user.maxTurns) {
    if (w.maxTurns < user.maxTurns || trusted) settings.maxTurns = w.maxTurns;
    if (w.maxTurns > user.maxTurns) {
      loosening.push(
        `maxTurns: ${w.maxTurns} model turns per run, more than your ${user.maxTurns}`,
      );
    }
  }

  // Resource limits (SPEC §9): the file may lower them, never raise them.
  for (const key of Object.keys(LIMIT_DEFAULTS) as LimitKey[]) {
    const theirs = w[key];
    const mine = user[key];
    if (theirs === undefined || theirs === mine) continue;
    if (theirs < mine || trusted) settings[key] = theirs;
    if (theirs > mine) {
      loosening.push(`${key}: ${limitText(key, theirs)}, more than your ${limitText(key, mine)}`);
    }
  }

  if (
    w.retention &&
    (w.retention.keepRuns !== user.retention.keepRuns ||
      w.retention.keepDays !== user.retention.keepDays)
  ) {
    loosening.push(
      `retention: ${describeRetention(w.retention)} (it would decide what of your run history is deleted)`,
    );
    if (trusted) settings.retention = w.retention;
  }

  const ignored =
    trusted || !loosening.length
      ? []
      : [
          ...(state === 'changed' ? [`${read.label}: ${TRUST_REVOKED}`] : []),
          ...loosening.map((line) => `${read.label}: ${line} — ${how}`),
        ];
  return {
    settings,
    workspacePolicy,
    status: { file: read.file, sha256: read.sha256, trusted, loosening, ignored },
  };
}

function describeAllow(rule: PolicyRule): string {
  const tool = rule.tool === '*' ? 'every tool' : shownText(rule.tool);
  const where = rule.commands
    ? ` of ${rule.commands.map((c) => `\`${shownText(c)}\``).join(', ')}`
    : rule.paths
      ? ` on ${rule.paths.map((p) => shownText(p)).join(', ')}`
      : ' on every path';
  return `policy: allow ${tool}${where}`;
}

function limitText(key: LimitKey, value: number): string {
  switch (key) {
    case 'maxToolCallsPerTurn':
      return `${value} tool calls per turn`;
    case 'requestTimeout':
    case 'commandTimeout':
      return `${value} s`;
    default:
      return `${value} bytes`;
  }
}

function describeRetention(r: { keepRuns: number; keepDays: number }): string {
  const parts = [
    ...(r.keepRuns > 0 ? [`keep only the newest ${r.keepRuns} finished runs`] : []),
    ...(r.keepDays > 0 ? [`keep only finished runs from the last ${r.keepDays} days`] : []),
  ];
  return parts.length ? parts.join(' and ') : 'keep every run';
}

function union(mine: readonly string[], theirs: readonly string[] | undefined): string[] {
  return [...new Set([...mine, ...(theirs ?? [])])];
}

/** The command that trusts this file, as the warning suggests it. */
function trustCommand(workspace: string, read: WorkspaceFile): string {
  return read.file === realpathOr(path.join(workspace, CONFIG_FILE))
    ? 'airlock trust'
    : `airlock trust ${read.file}`;
}

function realpathOr(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

function isInside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Inside the workspace as written or once links are resolved: either makes it the repo's file. */
function insideWorkspace(given: string, root: string, file: string): boolean {
  return (
    isInside(path.resolve(given), file) || isInside(root, file) || isInside(root, realpathOr(file))
  );
}

function readSmallFile(file: string, label: string): Buffer {
  // O_NONBLOCK: a FIFO planted by a repository must not hang the open.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`${label} is not a regular file; remove it.`);
    if (stat.size > MAX_CONFIG_BYTES) {
      throw new Error(`${label} is ${stat.size} bytes, too large for a config file; remove it.`);
    }
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readSettingsFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  return parseSettingsText(readSmallFile(file, file).toString('utf8'), file, schema);
}

function parseSettingsText<S extends z.ZodType>(
  text: string,
  name: string,
  schema: S,
): z.output<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name} is not valid JSON (${String(err)}); fix or remove it.`, {
      cause: err,
    });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${name} has invalid settings: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
