// Rows as both backends read them back (sql.js and PostgreSQL hold the same columns): one reader
// per row type, so the two stores cannot drift apart in what they return.
import { StandingRule } from '../runtime/policy.js';
import { sha256 } from '../runtime/ids.js';
import type { ChangeRow, PendingRow, Retention, RunRow, SegmentRow, StoreOp } from './store.js';

/** A value as both stores bind it. */
export type Bound = string | number | null;

type Row = Readonly<Record<string, unknown>>;

const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** The bytes a `putContent` carries in its record (none when they are in a content file). */
export function contentBytes(op: Extract<StoreOp, { op: 'putContent' }>): Buffer | null {
  if (op.text !== undefined) return Buffer.from(op.text, 'utf8');
  if (op.base64 !== undefined) return Buffer.from(op.base64, 'base64');
  return null;
}

export function toChangeRow(r: Row): ChangeRow {
  const kind = r.kind === 'create' || r.kind === 'delete' ? r.kind : 'edit';
  return {
    change_id: String(r.change_id),
    run_id: String(r.run_id),
    call_id: text(r.call_id),
    path: String(r.path),
    kind,
    before: text(r.before),
    after: text(r.after),
    reverts: text(r.reverts),
    reverted_by: text(r.reverted_by),
    by: text(r.by),
    mode: r.mode === null || r.mode === undefined ? null : Number(r.mode),
    at: String(r.at),
  };
}

/** A pending row; `event` is its body already parsed (the file store may keep it in a blob). */
export function toPendingRow(r: Row, event: Record<string, unknown>): PendingRow {
  return {
    id: String(r.id),
    run_id: String(r.run_id),
    kind: r.kind === 'interaction' ? 'interaction' : 'approval',
    event,
    created_at: String(r.created_at),
  };
}

export function toSegmentRow(r: Row): SegmentRow {
  return {
    segment_id: String(r.segment_id),
    run_id: String(r.run_id),
    parent_segment_id: text(r.parent_segment_id),
    kind: r.kind === 'resume' ? 'resume' : 'start',
    resume: r.resume === null ? null : (JSON.parse(String(r.resume)) as Record<string, unknown>),
    started_at: String(r.started_at),
  };
}

export function toDecision(r: Row): { id: string; resolution: unknown; decided_at: string } {
  return {
    id: String(r.id),
    resolution: JSON.parse(String(r.resolution)) as unknown,
    decided_at: String(r.decided_at),
  };
}

export function toStandingRule(r: Row): StandingRule {
  return StandingRule.parse({
    rule_id: r.rule_id,
    workspace: r.workspace,
    run_id: r.run_id,
    tool: r.tool,
    ...(r.paths === null
      ? {}
      : {
          // A command rule's patterns share the paths column; its cover tells them apart.
          [r.cover === 'command' || r.cover === 'program' ? 'commands' : 'paths']: JSON.parse(
            String(r.paths),
          ) as unknown,
        }),
    action: r.action,
    cover: r.cover,
    created_by: r.created_by,
    created_at: r.created_at,
    approval_id: r.approval_id,
    ...(r.reason === null || r.reason === undefined ? {} : { reason: r.reason }),
  });
}

/** The `paths` column of a rule: a command rule's patterns share it; its cover tells them apart. */
export function rulePatterns(r: StandingRule): string | null {
  return r.commands ? JSON.stringify(r.commands) : r.paths ? JSON.stringify(r.paths) : null;
}

/** An `addRule` as schema-2 Airlock journaled it: no id, covering the whole tool. */
export interface LegacyRule {
  workspace: string;
  tool: string;
  paths?: string[];
  action: 'allow' | 'deny';
}

export function upgradeRule(rule: StandingRule | LegacyRule, op: { at?: string }): StandingRule {
  if ('rule_id' in rule) return rule;
  const at = op.at ?? new Date(0).toISOString();
  return {
    rule_id: `rule_legacy_${sha256(`${rule.workspace}\n${rule.tool}\n${at}`).slice(0, 16)}`,
    workspace: rule.workspace,
    run_id: null,
    tool: rule.tool,
    ...(rule.paths ? { paths: rule.paths } : {}),
    action: rule.action,
    cover: rule.paths ? 'file' : 'tool',
    created_by: null,
    created_at: at,
    approval_id: null,
  };
}

/**
 * Which finished runs retention drops: `finished` newest first (by `updated_at`), each beyond
 * `keepRuns` or older than `keepDays`.
 */
export function retentionDrops(
  finished: readonly { run_id: string; updated_at: string }[],
  retention: Retention,
): string[] {
  const now = retention.now ?? new Date();
  const cutoff =
    retention.keepDays === undefined ? null : now.getTime() - retention.keepDays * 86_400_000;
  return finished
    .filter(
      (r, i) =>
        (retention.keepRuns !== undefined && i >= retention.keepRuns) ||
        (cutoff !== null && Date.parse(r.updated_at) < cutoff),
    )
    .map((r) => r.run_id);
}

/** The tables whose rows belong to a run (by `run_id`): a dropped run leaves none behind. */
export const RUN_TABLES = [
  'runs',
  'segments',
  'events',
  'pending',
  'decisions',
  'claims',
  'rules',
  'changes',
  'deferred',
] as const;

// Rows as both stores write them: the values in the column order of their INSERTs.

/** A run's row with its state (JSON bytes), as both stores' INSERT names the columns. */
export function runValues(r: RunRow, state: Uint8Array): (Bound | Uint8Array)[] {
  return [
    r.run_id,
    r.agent,
    r.workspace,
    r.prompt,
    r.status,
    r.reason,
    r.message,
    r.created_at,
    r.updated_at,
    r.owner,
    r.version,
    state,
    r.nested_in,
  ];
}

export function segmentValues(s: SegmentRow): Bound[] {
  const resume = s.resume ? JSON.stringify(s.resume) : null;
  return [s.segment_id, s.run_id, s.parent_segment_id, s.kind, resume, s.started_at];
}

export function ruleValues(r: StandingRule): Bound[] {
  return [
    r.rule_id,
    r.workspace,
    r.run_id,
    r.tool,
    rulePatterns(r),
    r.action,
    r.cover,
    r.created_by,
    r.created_at,
    r.approval_id,
    r.reason ?? null,
  ];
}

export function changeValues(c: ChangeRow): Bound[] {
  return [
    c.change_id,
    c.run_id,
    c.call_id,
    c.path,
    c.kind,
    c.before,
    c.after,
    c.reverts,
    c.reverted_by,
    c.by,
    c.mode,
    c.at,
  ];
}
