// Quick pick items for the palette commands, built from what the host reported. Pure.
import type { ApprovalEvent, InteractionEvent } from '../host/protocol/events.js';
import type { ChangeInfo, Pending, RunSummary } from '../host/protocol/rpc.js';
import type { StandingRule } from '../host/runtime/policy.js';
import { ruleSentence } from '../webview/rule-text.js';
import { plainText } from './indicator-text.js';
import { toRulesMessage } from './rules-model.js';

export interface Item<T> {
  label: string;
  description?: string;
  detail?: string;
  value: T;
}

function previewDetail(gate: ApprovalEvent): string {
  const p = gate.preview;
  if (!p) return `run ${gate.run_id}`;
  const size =
    p.kind === 'delete' ? `${p.before_bytes} bytes` : `${p.before_bytes} → ${p.after_bytes} bytes`;
  return `${p.kind} ${p.path} (${size})${p.stale ? ' · the file changed since' : ''} · run ${gate.run_id}`;
}

export function approvalItems(pending: Pending, onlyFiles = false): Item<ApprovalEvent>[] {
  return pending.approvals
    .filter((gate) => !onlyFiles || gate.preview !== null)
    .map((gate) => ({
      label: plainText(gate.prompt, 120),
      description: gate.tool,
      detail: previewDetail(gate),
      value: gate,
    }));
}

export function interactionItems(pending: Pending): Item<InteractionEvent>[] {
  return pending.interactions.map((question) => ({
    label: plainText(question.prompt, 120),
    description: question.tool,
    detail: `run ${question.run_id}`,
    value: question,
  }));
}

export function runItems(
  runs: readonly RunSummary[],
  statuses?: ReadonlySet<RunSummary['status']>,
): Item<RunSummary>[] {
  return runs
    .filter((run) => !statuses || statuses.has(run.status))
    .map((run) => ({
      label: plainText(run.prompt ?? run.run_id, 120),
      description: `${run.status}${run.pending ? ` · ${run.pending} pending` : ''}`,
      detail: `${run.run_id} · ${run.updated_at}`,
      value: run,
    }));
}

const CHANGE_VERB: Record<ChangeInfo['kind'], string> = {
  create: 'Created',
  edit: 'Changed',
  delete: 'Deleted',
};

/** A run's changes, newest first: what each did, and whether it stands or was reverted. */
export function changeItems(changes: readonly ChangeInfo[]): Item<ChangeInfo>[] {
  return [...changes].reverse().map((c) => ({
    label: `${c.reverts ? 'Reverted' : CHANGE_VERB[c.kind]} ${plainText(c.path, 120)}`,
    description: c.reverted_by
      ? 'reverted'
      : c.reverts
        ? 'revert it to apply the change again'
        : 'applied',
    detail: [c.change_id, c.by ? `by ${plainText(c.by, 60)}` : null, c.at]
      .filter(Boolean)
      .join(' · '),
    value: c,
  }));
}

/** Standing rules, newest first: what each does, for how long, who made it and when. */
export function ruleItems(
  rules: readonly StandingRule[],
  runs: readonly Pick<RunSummary, 'run_id' | 'prompt'>[] = [],
): Item<StandingRule>[] {
  const byId = new Map(rules.map((r) => [r.rule_id, r]));
  return toRulesMessage({ rules: [...rules], error: null }, runs).rules.map((row) => ({
    label: plainText(ruleSentence(row), 160),
    description: row.action === 'deny' ? 'deny' : 'allow',
    detail: [
      row.run_id === null
        ? 'this workspace'
        : `run ${row.run_prompt ? plainText(row.run_prompt, 60) : row.run_id}`,
      row.created_by ? `by ${plainText(row.created_by, 60)}` : null,
      row.created_at,
    ]
      .filter(Boolean)
      .join(' · '),
    value: byId.get(row.rule_id)!,
  }));
}
