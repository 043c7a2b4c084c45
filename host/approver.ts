// Who decides: the name recorded with a decision or standing rule (`approver_id`, `created_by`).
// An audit label, not a permission. Resolution order, in the editor and in the CLI alike: an
// explicit name (the user-only `airlock.approverName` setting, `--approver NAME`), else
// `git config user.name` run in the workspace folder, else the OS account name.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The longest name kept (in characters); a longer one is cut. */
export const MAX_APPROVER_LENGTH = 100;

/** How long `git config` may take before the workspace counts as naming nobody. */
export const GIT_TIMEOUT_MS = 3000;

/**
 * A name as text to record: control and format characters (newlines, escapes, bidi overrides)
 * dropped, whitespace runs collapsed, trimmed, cut to MAX_APPROVER_LENGTH characters. Anything
 * left empty, or not a string, is no name.
 */
export function cleanApproverName(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const cut = [...text].slice(0, MAX_APPROVER_LENGTH).join('').trim();
  return cut || undefined;
}

/**
 * Where `name` lives on PATH, as an absolute path; relative and empty PATH entries are skipped.
 * Looked up here rather than by the spawn, which on Windows would try the working directory
 * first: a repository's own `git.exe` must never run.
 */
export function findExecutable(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  const pathVar = platform === 'win32' ? (env.Path ?? env.PATH ?? env.path) : env.PATH;
  const exts = platform === 'win32' ? ['.exe', '.com'] : [''];
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      try {
        if (!fs.statSync(candidate).isFile()) continue;
        if (platform !== 'win32') fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export interface GitOptions {
  /** The git executable (absolute); default: `git` found on PATH. */
  git?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * `git config --get user.name` in `cwd` (the repository's config, then the user's), run without
 * a shell and with a timeout. Any failure (no git, not a folder, unset, timeout) is no name.
 */
export function gitUserName(cwd: string, opts: GitOptions = {}): Promise<string | undefined> {
  const env = opts.env ?? process.env;
  const git = opts.git ?? findExecutable('git', env);
  if (!git) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    try {
      execFile(
        git,
        ['config', '--get', 'user.name'],
        {
          cwd,
          env: { ...env, GIT_TERMINAL_PROMPT: '0' },
          timeout: opts.timeoutMs ?? GIT_TIMEOUT_MS,
          maxBuffer: 64 * 1024,
          windowsHide: true,
          encoding: 'utf8',
        },
        (err, stdout) => resolve(err ? undefined : cleanApproverName(stdout)),
      );
    } catch {
      resolve(undefined); // e.g. cwd gone: spawn can throw synchronously
    }
  });
}

/** The OS account's name, or none (no passwd entry in some containers). */
export function osUserName(): string | undefined {
  try {
    return cleanApproverName(os.userInfo().username);
  } catch {
    return undefined;
  }
}

export interface ApproverSources {
  /** An explicit name (setting or flag); empty or blank means "not set". */
  explicit?: unknown;
  /** The workspace folder git runs in; none: git is not asked. */
  workspace?: string | undefined;
  git?: GitOptions;
  /** The OS account's name (injectable for tests). */
  osUser?: () => string | undefined;
}

/** The approver: explicit name > `git config user.name` in the workspace > OS user > none. */
export async function resolveApprover(sources: ApproverSources): Promise<string | undefined> {
  const explicit = cleanApproverName(sources.explicit);
  if (explicit) return explicit;
  if (sources.workspace) {
    const fromGit = await gitUserName(sources.workspace, sources.git);
    if (fromGit) return fromGit;
  }
  return (sources.osUser ?? osUserName)();
}
