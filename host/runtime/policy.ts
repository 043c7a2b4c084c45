// Permission policy (SPEC §4, §9). Configured rules come in layers (the developer's own settings,
// then the workspace's file): within a layer the first matching rule wins, across layers the
// strictest match wins, so a layer can only tighten what another allows. Standing rules from
// "always allow / deny" decisions sit beside them: an always-deny denies, an always-allow turns
// an `ask` into `allow` but never overrides a configured deny and never covers a protected path.
import { z } from 'zod';
import { BoundedCache } from './bounded-cache.js';
import { globMatcher } from './glob.js';

export const PolicyAction = z.enum(['allow', 'ask', 'deny']);
export type PolicyAction = z.infer<typeof PolicyAction>;

export const PolicyRule = z
  .object({
    /** A tool name, or "*" for every tool. */
    tool: z.string().min(1),
    /** Workspace-relative globs; the rule matches only calls whose path matches one. */
    paths: z.array(z.string().min(1)).optional(),
    /**
     * For run_command: command patterns in shell syntax, each sub-command judged on its own
     * (command-policy.ts): `npm test`, `git status *` (a last `*`: any further arguments).
     */
    commands: z.array(z.string().min(1)).min(1).optional(),
    action: PolicyAction,
  })
  .strict()
  .refine((rule) => !rule.commands || rule.tool === 'run_command', {
    message: '"commands" narrows run_command rules only: set "tool": "run_command"',
  });
export type PolicyRule = z.infer<typeof PolicyRule>;

export const Policy = z.array(PolicyRule);
export type Policy = z.infer<typeof Policy>;

/**
 * What an "always allow / deny" choice covers: the file, its folder, or every call of the tool;
 * for run_command, each sub-command exactly (`command`) or by program and subcommand (`program`).
 */
export const RuleCover = z.enum(['file', 'folder', 'tool', 'command', 'program']);
export type RuleCover = z.infer<typeof RuleCover>;

/** A standing rule made from a decision ("always allow / deny"), durable and revocable. */
export const StandingRule = z.object({
  rule_id: z.string(),
  workspace: z.string(),
  /** Set for a rule that holds for one run only; null for the whole workspace. */
  run_id: z.string().nullable(),
  tool: z.string(),
  paths: z.array(z.string()).optional(),
  /** run_command's patterns (cover `command` or `program`). */
  commands: z.array(z.string()).optional(),
  action: z.enum(['allow', 'deny']),
  cover: RuleCover,
  /** The approver who chose it (null when the decision named none). */
  created_by: z.string().nullable(),
  created_at: z.string(),
  /** The approval whose decision made it. */
  approval_id: z.string().nullable(),
  /**
   * The reviewer's reason (redacted), told to the model whenever the rule denies a call; absent
   * when none was given, and on rules stored before schema 5.
   */
  reason: z.string().optional(),
});
export type StandingRule = z.infer<typeof StandingRule>;

/**
 * Paths that always ask before a change, whatever the policy or an always-allow says (SPEC §9):
 * what a repository uses to run code or to redirect tools. Matched without regard to case, since
 * macOS and Windows file systems treat `.VSCODE` as `.vscode`.
 */
export const DEFAULT_PROTECTED_PATHS: readonly string[] = [
  '**/.git',
  '**/.git/**',
  '**/.vscode/**',
  '**/*.code-workspace',
  '**/airlock.config.json',
  '**/.env*',
  '.github/workflows/**',
  '**/.gitlab-ci.yml',
  '**/.npmrc',
];

export function parsePolicy(value: unknown, source: string): Policy {
  const parsed = Policy.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      `${source}: the policy must be a list of { "tool": "write_file", "paths": ["docs/**"], "action": "allow" | "ask" | "deny" } rules: ${z.prettifyError(parsed.error)}`,
    );
  }
  return parsed.data;
}

function normalize(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** Compiled globs by their list: every decision asks about the same rules and protected paths. */
const matchers = new BoundedCache<string, (path: string) => boolean>(256);

/** Globs have one meaning everywhere (see glob.ts): the whole workspace-relative path. */
function globMatch(path: string, globs: readonly string[], nocase = false): boolean {
  const key = JSON.stringify([nocase, globs]);
  return matchers.get(key, () => globMatcher(globs, { nocase }))(path);
}

/** The first rule matching this call, or undefined when none does. */
export function matchPolicy<R extends Pick<PolicyRule, 'tool' | 'paths'>>(
  rules: readonly R[],
  tool: string,
  path: string | undefined,
): R | undefined {
  return rules.find((rule) => {
    if (rule.tool !== '*' && rule.tool !== tool) return false;
    // Command patterns are judged per sub-command (command-policy.ts), never as paths.
    if ('commands' in rule && rule.commands) return false;
    if (!rule.paths) return true;
    if (path === undefined) return false;
    return globMatch(path, rule.paths);
  });
}

const STRICTNESS: Record<PolicyAction, number> = { allow: 0, ask: 1, deny: 2 };

/** The stricter of two actions (deny > ask > allow); undefined means "no rule". */
export function stricter(
  a: PolicyAction | undefined,
  b: PolicyAction | undefined,
): PolicyAction | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return STRICTNESS[a] >= STRICTNESS[b] ? a : b;
}

/** True when a change to this workspace-relative path must always be asked about. */
export function isProtectedPath(path: string, protectedPaths: readonly string[]): boolean {
  return globMatch(path, protectedPaths, true);
}

/** True when the path lies inside (or is) a `.git` entry at any depth: never written by a tool. */
export function isGitInternal(path: string): boolean {
  return normalize(path)
    .split('/')
    .some((segment) => segment.toLowerCase() === '.git');
}

export interface PolicyInputs {
  /** Configured layers: the developer's settings, then the workspace file (already filtered). */
  layers: readonly Policy[];
  /** Active standing rules that apply to this run (its own and the workspace's). */
  standing: readonly StandingRule[];
  /** Globs of protected paths (defaults plus the developer's additions). */
  protectedPaths: readonly string[];
}

export interface Verdict {
  /** undefined: no rule matched; the tool's own `requiresApproval` decides. */
  action: PolicyAction | undefined;
  /** The call changes a protected path: an `allow` from any source is an `ask`. */
  protected: boolean;
  /** The standing rule that decided, when one did (for messages). */
  standing: StandingRule | undefined;
}

/**
 * The policy's verdict on one call. `writes`: the call changes the file at `path` (only changes
 * are held to protected paths; reading `.env` is governed by ordinary rules).
 */
export function judge(
  inputs: PolicyInputs,
  tool: string,
  path: string | undefined,
  writes: boolean,
): Verdict {
  let configured: PolicyAction | undefined;
  for (const layer of inputs.layers) {
    configured = stricter(configured, matchPolicy(layer, tool, path)?.action);
  }
  const prot = writes && path !== undefined && isProtectedPath(path, inputs.protectedPaths);
  const standingDeny = inputs.standing.find(
    (r) => r.action === 'deny' && matchPolicy([r], tool, path),
  );
  if (configured === 'deny') return { action: 'deny', protected: prot, standing: undefined };
  if (standingDeny) return { action: 'deny', protected: prot, standing: standingDeny };
  const standingAllow = prot
    ? undefined
    : inputs.standing.find((r) => r.action === 'allow' && matchPolicy([r], tool, path));
  if (standingAllow) return { action: 'allow', protected: false, standing: standingAllow };
  return { action: configured, protected: prot, standing: undefined };
}

/** The globs a standing rule made with this cover holds for (undefined: the whole tool). */
export function coverPaths(cover: RuleCover, path: string | undefined): string[] | undefined {
  if (cover === 'tool' || path === undefined) return undefined;
  const rel = normalize(path);
  if (cover === 'file') return [escapeGlob(rel)];
  const slash = rel.lastIndexOf('/');
  const dir = slash < 0 ? '' : rel.slice(0, slash);
  return [dir ? `${escapeGlob(dir)}/**` : '*'];
}

/** A literal path as a glob (see glob.ts): picomatch's special characters escaped. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]{}()!+@\\]/g, '\\$&');
}
