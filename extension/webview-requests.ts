// Inbound webview messages: parsed with the protocol's zod schema (anything else is ignored), and
// each request mapped to one action, answered with a `reply`. Pure: tested with a fake Actions.
import { z } from 'zod';
import { FromWebview, type ReplyMessage, type WebviewRequest } from '../webview/protocol.js';
import type { Actions } from './actions.js';
import { errorMessage } from './rpc-call.js';

export type Inbound =
  | { tag: 'ready' }
  | { tag: 'request'; request: WebviewRequest }
  | { tag: 'invalid'; problem: string };

export function parseInbound(raw: unknown): Inbound {
  const parsed = FromWebview.safeParse(raw);
  if (!parsed.success) return { tag: 'invalid', problem: z.prettifyError(parsed.error) };
  if (parsed.data.type === 'ready') return { tag: 'ready' };
  return { tag: 'request', request: parsed.data };
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
    case 'revokeRule':
      return actions.revokeRule(r.rule_id);
    case 'manageTrust':
      return actions.manageTrust();
    case 'reviewConfig':
      return actions.reviewWorkspaceConfig();
  }
}
