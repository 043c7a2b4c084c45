// Command-line parsing for `airlock`. Decision flags are order-sensitive (`--comment` belongs
// to the `--approve` before it), so this walks node's parseArgs tokens in order.
import { parseArgs } from 'node:util';
import type { ResumeMap } from '../protocol/events.js';
import { MAX_REQUEST_TIMEOUT } from '../settings-schema.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  airlock run PROMPT [--workspace DIR] [--db FILE|URL] [--model M] [--base-url URL] [--config FILE] [--timeout SECONDS] [--json]
  airlock pending [--watch] [--db FILE|URL] [--json]
  airlock resume RUN_ID [--approve ID [--comment T] [--approver NAME] [--override JSON] [--always run|workspace [--cover file|folder|tool|command|program]]]...
                        [--deny ID [--reason T] [--always run|workspace]]... [--answer ID JSON]... [--cancel REASON]
                        [--db FILE|URL] [--timeout SECONDS] [--json]
  airlock runs [--db FILE|URL] [--json]
  airlock show RUN_ID [--db FILE|URL] [--json]
  airlock compact [--keep-runs N] [--keep-days D] [--db FILE|URL]
  airlock trust [FILE] [--workspace DIR]
  airlock rules [--revoke RULE_ID] [--workspace DIR] [--db FILE|URL] [--json]
  airlock revert RUN_ID [--change CHANGE_ID] [--force] [--list] [--db FILE|URL] [--json]
  airlock wait RUN_ID [--timeout SECONDS] [--db FILE|URL] [--json]

Team mode: with --db postgres://… (or AIRLOCK_DB) runs live on a shared PostgreSQL server.
wait blocks until every decision the run waits on is made, by anyone, anywhere (while it
waits, resume elsewhere records the decision for it), then continues the run here; it exits
with the run's code, or 3 when --timeout passes first.

Exit codes: 0 success, 3 paused for a decision, 4 cancelled or already claimed, 1 run error, 2 bad usage.
revert: 0 reverted, 4 already reverted, 1 a file changed since (nothing written; --force restores it anyway).
Environment: OPENAI_API_KEY, OPENAI_BASE_URL, AIRLOCK_MODEL, AIRLOCK_DB, XDG_CONFIG_HOME.
Your settings: $XDG_CONFIG_HOME/airlock/config.json (default ~/.config/airlock/), or --config FILE.
The workspace's airlock.config.json can only tighten them (ask/deny rules, more redaction, ...);
what it asks that would loosen them (allow rules, baseURL, ...) is ignored until you trust it.`;

export interface Common {
  db: string | undefined;
  workspace: string | undefined;
  json: boolean;
  model: string | undefined;
  baseURL: string | undefined;
  config: string | undefined;
  /** `--timeout SECONDS`: the model request timeout, over the settings' requestTimeout. */
  timeout: number | undefined;
}

export type Command =
  | ({ cmd: 'run'; prompt: string } & Common)
  | ({
      cmd: 'resume';
      runId: string;
      resume: ResumeMap;
      /** Ids decided by `--approve` / `--deny` without `--approver`: the default approver's. */
      unnamed: string[];
    } & Common)
  /** `--watch`: stays, printing each gate or question as it comes and goes, until Ctrl+C. */
  | ({ cmd: 'pending'; watch: boolean } & Common)
  | ({ cmd: 'runs' } & Common)
  | ({ cmd: 'show'; runId: string } & Common)
  /** `--timeout`: how long to wait for the decisions (seconds), not a model timeout. */
  | ({ cmd: 'wait'; runId: string } & Common)
  | ({ cmd: 'compact'; keepRuns: number | undefined; keepDays: number | undefined } & Common)
  | ({ cmd: 'trust'; file: string | undefined } & Common)
  | ({ cmd: 'rules'; revoke: string | undefined } & Common)
  | ({
      cmd: 'revert';
      runId: string;
      change: string | undefined;
      force: boolean;
      list: boolean;
    } & Common)
  | { cmd: 'help' };

const OPTIONS = {
  db: { type: 'string' },
  workspace: { type: 'string' },
  json: { type: 'boolean' },
  model: { type: 'string' },
  'base-url': { type: 'string' },
  config: { type: 'string' },
  timeout: { type: 'string' },
  approve: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  comment: { type: 'string', multiple: true },
  approver: { type: 'string', multiple: true },
  override: { type: 'string', multiple: true },
  reason: { type: 'string', multiple: true },
  always: { type: 'string', multiple: true },
  cover: { type: 'string', multiple: true },
  revoke: { type: 'string' },
  change: { type: 'string' },
  force: { type: 'boolean' },
  list: { type: 'boolean' },
  watch: { type: 'boolean' },
  answer: { type: 'string', multiple: true },
  cancel: { type: 'string' },
  'keep-runs': { type: 'string' },
  'keep-days': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseJson(flag: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(
      `${flag} expects JSON, got ${JSON.stringify(text)}. Quote strings: '"yes"'.`,
    );
  }
}

function count(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`${flag} takes a number ≥ 0, got "${text}".`);
  return n;
}

/** `airlock wait --timeout`: how long a pipeline waits for its reviewers, up to a week. */
const MAX_WAIT = 7 * 86_400;

/** A timeout in seconds: more than 0, at most `max` (a model request's: what Node's fetch waits anyway). */
function seconds(
  flag: string,
  text: string | undefined,
  max = MAX_REQUEST_TIMEOUT,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new UsageError(
      `${flag} takes a number of seconds above 0 and up to ${max}, got "${text}".`,
    );
  }
  return n;
}

export function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      tokens: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals, tokens } = parsed;
  if (values.help || positionals.length === 0 || positionals[0] === 'help') return { cmd: 'help' };
  const common: Common = {
    db: values.db,
    workspace: values.workspace,
    json: values.json ?? false,
    model: values.model,
    baseURL: values['base-url'],
    config: values.config,
    timeout:
      positionals[0] === 'wait'
        ? seconds('--timeout', values.timeout, MAX_WAIT)
        : seconds('--timeout', values.timeout),
  };
  const [cmd, ...rest] = positionals;
  const one = (what: string): string => {
    if (rest.length !== 1 || !rest[0])
      throw new UsageError(`airlock ${cmd} takes one ${what}.\n\n${USAGE}`);
    return rest[0];
  };
  switch (cmd) {
    case 'run':
      if (rest.length < 1) throw new UsageError(`airlock run needs a PROMPT.\n\n${USAGE}`);
      return { cmd: 'run', prompt: rest.join(' '), ...common };
    case 'pending':
      if (rest.length) throw new UsageError(`airlock pending takes no arguments.\n\n${USAGE}`);
      return { cmd, watch: values.watch ?? false, ...common };
    case 'runs':
      if (rest.length) throw new UsageError(`airlock ${cmd} takes no arguments.\n\n${USAGE}`);
      return { cmd, ...common };
    case 'show':
      return { cmd: 'show', runId: one('RUN_ID'), ...common };
    case 'wait':
      return { cmd: 'wait', runId: one('RUN_ID'), ...common };
    case 'compact': {
      if (rest.length) throw new UsageError(`airlock compact takes no arguments.\n\n${USAGE}`);
      const keepRuns = count('--keep-runs', values['keep-runs']);
      const keepDays = count('--keep-days', values['keep-days']);
      return { cmd: 'compact', keepRuns, keepDays, ...common };
    }
    case 'rules':
      if (rest.length) throw new UsageError(`airlock rules takes no arguments.\n\n${USAGE}`);
      return { cmd: 'rules', revoke: values.revoke, ...common };
    case 'revert': {
      const runId = one('RUN_ID');
      if (values.list && (values.change !== undefined || values.force)) {
        throw new UsageError('--list only lists the changes: give it without --change or --force.');
      }
      return {
        cmd: 'revert',
        runId,
        change: values.change,
        force: values.force ?? false,
        list: values.list ?? false,
        ...common,
      };
    }
    case 'trust':
      if (rest.length > 1) {
        throw new UsageError(`airlock trust takes at most one FILE.\n\n${USAGE}`);
      }
      return { cmd: 'trust', file: rest[0], ...common };
    case 'resume': {
      const { map: resume, unnamed } = resumeMap(tokens, positionals);
      if (!rest[0]) throw new UsageError(`airlock resume needs a RUN_ID.\n\n${USAGE}`);
      return { cmd: 'resume', runId: rest[0], resume, unnamed, ...common };
    }
    default:
      throw new UsageError(`Unknown command "${cmd}".\n\n${USAGE}`);
  }
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/**
 * Refuses a second decision for one id: `--deny X --approve X` must not let the last flag win
 * silently, so any repeat is refused, even an identical one.
 */
function oneDecision(decided: Map<string, string>, id: string, flag: string): void {
  const earlier = decided.get(id);
  if (earlier === undefined) {
    decided.set(id, flag);
    return;
  }
  throw new UsageError(
    earlier === flag
      ? `${flag} ${id} is given twice; give each id one decision.`
      : `${earlier} ${id} and ${flag} ${id} both decide ${id}; give each id one decision.`,
  );
}

/**
 * Builds the resume map from decision flags, attaching modifiers to the decision before them;
 * `unnamed` lists the `--approve` / `--deny` ids given no `--approver`.
 */
function resumeMap(tokens: Token[], positionals: string[]): { map: ResumeMap; unnamed: string[] } {
  const map: ResumeMap = {};
  let current: { id: string; flag: 'approve' | 'deny'; value: Record<string, unknown> } | null =
    null;
  let answerId: string | null = null;
  const answerPositionals = new Set<number>();
  const decided = new Map<string, string>(); // id → the flag that decides it
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (answerId !== null) {
        map[answerId] = parseJson(`--answer ${answerId}`, token.value);
        answerPositionals.add(token.index);
        answerId = null;
      }
      continue;
    }
    if (token.kind !== 'option') continue;
    const value = token.value ?? '';
    switch (token.name) {
      case 'approve':
      case 'deny':
        oneDecision(decided, value, `--${token.name}`);
        current = { id: value, flag: token.name, value: { approved: token.name === 'approve' } };
        map[value] = current.value;
        break;
      case 'comment':
      case 'approver':
      case 'override':
      case 'reason':
      case 'always':
      case 'cover': {
        if (!current)
          throw new UsageError(`--${token.name} must follow an --approve ID or --deny ID.`);
        if (token.name === 'comment') current.value.comment = value;
        if (token.name === 'approver') current.value.approver_id = value;
        if (token.name === 'reason') current.value.reason = value;
        if (token.name === 'override') {
          if (current.flag !== 'approve') throw new UsageError('--override goes with --approve.');
          current.value.override_input = parseJson('--override', value);
        }
        if (token.name === 'always') {
          if (value !== 'run' && value !== 'workspace') {
            throw new UsageError('--always takes "run" or "workspace".');
          }
          current.value.scope = value;
        }
        if (token.name === 'cover') {
          if (!['file', 'folder', 'tool', 'command', 'program'].includes(value)) {
            throw new UsageError(
              '--cover takes "file", "folder" or "tool" (for a file tool), or "command" or "program" (for run_command).',
            );
          }
          current.value.cover = value;
        }
        break;
      }
      case 'answer':
        oneDecision(decided, value, '--answer');
        answerId = value;
        break;
      case 'cancel':
        if ('__cancel__' in map) throw new UsageError('--cancel is given twice; give it once.');
        map.__cancel__ = { type: 'cancel', reason: value };
        break;
    }
  }
  if (answerId !== null)
    throw new UsageError(`--answer ${answerId} needs a JSON value after the id.`);
  if ('__cancel__' in map && Object.keys(map).length > 1) {
    throw new UsageError(
      '--cancel ends the whole run: give it alone, without --approve, --deny or --answer.',
    );
  }
  if (positionals.length - 2 !== answerPositionals.size) {
    throw new UsageError(
      `airlock resume takes one RUN_ID; decisions go in --approve / --deny / --answer flags.`,
    );
  }
  for (const [id, value] of Object.entries(map)) {
    if (!id) throw new UsageError(`A decision flag is missing its ID.`);
    if (
      typeof value === 'object' &&
      value &&
      'approved' in value &&
      !(value as { comment?: unknown }).comment
    ) {
      delete (value as { comment?: unknown }).comment;
    }
  }
  const unnamed = [...decided]
    .filter(([id, flag]) => flag !== '--answer' && map[id] !== undefined)
    .filter(([id]) => {
      const named = (map[id] as { approver_id?: unknown }).approver_id;
      return typeof named !== 'string' || !named.trim(); // `--approver ''` names nobody either
    })
    .map(([id]) => id);
  return { map, unnamed };
}
