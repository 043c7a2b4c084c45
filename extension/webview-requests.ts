// Inbound webview messages: parsed with the protocol's zod schema (anything else is ignored), and
// each request mapped to one action, answered with a `reply`. Pure: tested with a fake Actions.
import { z } from 'zod';
import type { RunEvent } from '../host/protocol/events.js';
import {
  FromWebview,
  type ReplyMessage,
  type TranscriptMessage,
  type WebviewRequest,
} from '../webview/protocol.js';
import type { Actions } from './actions.js';
import { errorMessage } from './rpc-call.js';

export type Inbound =
  | { tag: 'ready' }
  | { tag: 'loadTranscripts'; runIds: string[] }
  | { tag: 'request'; request: WebviewRequest }
  | { tag: 'invalid'; problem: string };

export function parseInbound(raw: unknown): Inbound {
  const parsed = FromWebview.safeParse(raw);
  if (!parsed.success) return { tag: 'invalid', problem: z.prettifyError(parsed.error) };
  if (parsed.data.type === 'ready') return { tag: 'ready' };
  if (parsed.data.type === 'loadTranscripts')
    return { tag: 'loadTranscripts', runIds: parsed.data.run_ids };
  return { tag: 'request', request: parsed.data };
}

/** Reads a run's stored events (the host's `airlock/getRun`). */
export type LoadRunEvents = (runId: string) => Promise<RunEvent[]>;

/** Events of one run sent to the sidebar at most (the tail: its output keeps fewer lines). */
export const MAX_TRANSCRIPT_EVENTS = 600;

/** One run's transcript message: the tail of its stored events, or why it could not be read. */
export async function transcriptMessage(
  runId: string,
  load: LoadRunEvents,
): Promise<TranscriptMessage> {
  try {
    const events = await load(runId);
    const omitted = Math.max(0, events.length - MAX_TRANSCRIPT_EVENTS);
    return {
      type: 'transcript',
      run_id: runId,
      events: events.slice(omitted),
      omitted,
      error: null,
    };
  } catch (err) {
    return { type: 'transcript', run_id: runId, events: [], omitted: 0, error: errorMessage(err) };
  }
}

type WebviewActions = Pick<
  Actions,
  | 'startRun'
  | 'approve'
  | 'deny'
  | 'decideAll'
  | 'answer'
  | 'cancelRun'
  | 'continueRun'
  | 'openDiff'
  | 'editThenApprove'
  | 'openTrace'
  | 'revert'
  | 'revokeRule'
  | 'manageTrust'
  | 'reviewWorkspaceConfig'
>;

/** Runs one request; the reply carries the error to show where the user acted. */
export async function handleRequest(
  request: WebviewRequest,
  actions: WebviewActions,
): Promise<ReplyMessage> {
  try {
    await perform(request, actions);
    return { type: 'reply', id: request.id, ok: true };
  } catch (err) {
    return { type: 'reply', id: request.id, ok: false, error: errorMessage(err) };
  }
}

async function perform(r: WebviewRequest, actions: WebviewActions): Promise<void> {
  switch (r.type) {
    case 'startRun':
      await actions.startRun(r.prompt);
      return;
    case 'approve':
      return actions.approve(r.run_id, r.approval_id, {
        comment: r.comment,
        scope: r.scope,
        ...(r.cover ? { cover: r.cover } : {}),
        ...(r.command ? { command: r.command } : {}),
      });
    case 'deny':
      return actions.deny(r.run_id, r.approval_id, {
        reason: r.reason,
        scope: r.scope,
        ...(r.cover ? { cover: r.cover } : {}),
      });
    case 'decideAll':
      return actions.decideAll(r.run_id, r.approval_ids, r.approved, r.reason);
    case 'answer':
      return actions.answer(r.run_id, r.interaction_id, r.value);
    case 'cancelRun':
      return actions.cancelRun(r.run_id, r.reason);
    case 'continueRun':
      return actions.continueRun(r.run_id);
    case 'openDiff':
      return actions.openDiff(r.run_id, r.approval_id);
    case 'editThenApprove':
      return actions.editThenApprove(r.run_id, r.approval_id);
    case 'openTrace':
      return actions.openTrace(r.run_id);
    case 'revert':
      await actions.revert(r.run_id, r.change_id);
      return;
    case 'revokeRule':
      return actions.revokeRule(r.rule_id);
    case 'manageTrust':
      return actions.manageTrust();
    case 'reviewConfig':
      return actions.reviewWorkspaceConfig();
  }
}
