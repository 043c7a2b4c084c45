// Decisions as the host's `resume` takes them, and the check that an id is still pending. Pure.
import type { ApprovalEvent, InteractionEvent, ResumeMap } from '../host/protocol/events.js';
import type { Pending, Proposal } from '../host/protocol/rpc.js';

export type Scope = 'once' | 'run' | 'workspace';
/** What an "always" rule covers: the gate's file, its folder, or every call of the tool. */
export type Cover = 'file' | 'folder' | 'tool' | 'command' | 'program';

export interface DecisionOptions {
  scope?: Scope;
  cover?: Cover;
  /** Who decides: kept with the decision and any standing rule it makes (the audit log). */
  approver?: string;
}

export const NO_LONGER_PENDING = 'This is no longer pending; the list was refreshed.';

export type PendingItem =
  { tag: 'approval'; event: ApprovalEvent } | { tag: 'interaction'; event: InteractionEvent };

/** The approval or question `id` of run `runId`, if it is pending right now. */
export function findPending(pending: Pending, runId: string, id: string): PendingItem | undefined {
  const approval = pending.approvals.find((a) => a.run_id === runId && a.approval_id === id);
  if (approval) return { tag: 'approval', event: approval };
  const question = pending.interactions.find((i) => i.run_id === runId && i.interaction_id === id);
  if (question) return { tag: 'interaction', event: question };
  return undefined;
}

export function requireApproval(pending: Pending, runId: string, id: string): ApprovalEvent {
  const found = findPending(pending, runId, id);
  if (found?.tag !== 'approval') throw new Error(NO_LONGER_PENDING);
  return found.event;
}

export function requireInteraction(pending: Pending, runId: string, id: string): InteractionEvent {
  const found = findPending(pending, runId, id);
  if (found?.tag !== 'interaction') throw new Error(NO_LONGER_PENDING);
  return found.event;
}

const text = (value: string | undefined) => (value && value.trim() ? value.trim() : undefined);

/** An "always" decision's scope and cover (the host's default cover is the file: say it). */
function always(opts: DecisionOptions) {
  if (!opts.scope || opts.scope === 'once') return {};
  return { scope: opts.scope, cover: opts.cover ?? ('file' as const) };
}

function approverOf(opts: DecisionOptions) {
  const approver = text(opts.approver);
  return approver ? { approver_id: approver } : {};
}

export function approval(opts: { comment?: string; command?: string } & DecisionOptions = {}) {
  const comment = text(opts.comment);
  return {
    approved: true as const,
    ...(comment ? { comment } : {}),
    // A shell command the developer edited on the card runs instead of the proposal.
    ...(opts.command ? { override_input: { command: opts.command } } : {}),
    ...always(opts),
    ...approverOf(opts),
  };
}

export function denial(opts: { reason?: string } & DecisionOptions = {}) {
  const reason = text(opts.reason);
  return {
    approved: false as const,
    ...(reason ? { reason } : {}),
    ...always(opts),
    ...approverOf(opts),
  };
}

export const PROTECTED_NO_ALWAYS =
  'This change touches a protected path: Airlock always asks about it, so no "always allow" covers it. Approve it once instead.';

/**
 * Refuses an "always" decision broader or looser than the card offered: no always-allow on a
 * protected path, and no file or folder cover on a gate without a file (the host would make that
 * a rule for every call of the tool).
 */
export function checkAlways(gate: ApprovalEvent, approved: boolean, opts: DecisionOptions): void {
  if (!opts.scope || opts.scope === 'once') return;
  if (approved && gate.protected) throw new Error(PROTECTED_NO_ALWAYS);
  if (gate.command) {
    // A command's rule holds its sub-commands (exactly or by program), never every command.
    const cover = opts.cover ?? 'command';
    if ((cover !== 'command' && cover !== 'program') || !gate.command.always[cover]) {
      throw new Error(
        'An "always" rule for this command can cover its commands exactly or by program, as its card offers; approve it once otherwise.',
      );
    }
    return;
  }
  const cover = opts.cover ?? 'file';
  if (cover !== 'tool' && !gate.preview) {
    throw new Error(
      `${gate.tool} has no file to narrow an "always" rule to; choose every ${gate.tool} call instead.`,
    );
  }
}

/** One resume deciding every gate of a turn the same way. */
export function decideAll(
  ids: readonly string[],
  approved: boolean,
  reason?: string,
  approver?: string,
): ResumeMap {
  const who = approver === undefined ? {} : { approver };
  const decision = approved
    ? approval(who)
    : denial(reason === undefined ? who : { reason, ...who });
  return Object.fromEntries(ids.map((id) => [id, decision]));
}

/**
 * The `override_input` that makes the gated call write `edited` instead of the proposal:
 * write_file takes the whole content; edit_file replaces the whole current file (the host
 * re-validates both against the tool's parameters, and the file's hash against the approval).
 */
export function editedOverride(
  tool: string,
  proposal: Proposal,
  edited: string,
): Record<string, unknown> {
  if (tool === 'write_file') return { content: edited };
  if (tool === 'edit_file') {
    if (proposal.current === null) throw new Error(`${proposal.path} does not exist any more.`);
    if (proposal.current === '') {
      throw new Error(`${proposal.path} is empty, so an edit cannot express new content.`);
    }
    if (edited === proposal.current) {
      throw new Error(
        `The edited text is the same as the current ${proposal.path}: deny the change instead.`,
      );
    }
    return { old_string: proposal.current, new_string: edited };
  }
  throw new Error(`${tool} does not write a file, so there is nothing to edit.`);
}

/** Tools whose proposal can be edited before approving. */
export function isEditable(tool: string): boolean {
  return tool === 'write_file' || tool === 'edit_file';
}
