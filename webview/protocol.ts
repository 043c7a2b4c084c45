// Every message between the sidebar webview and the extension, declared once with zod. The
// webview sends `ready` first (the extension posts nothing before it); requests carry an id and
// get a `reply` (ok, or the error to show where the user acted). Browser-safe: no Node imports.
import { z } from 'zod';
import { ApprovalEvent, InteractionEvent, RunEvent } from '../host/protocol/events.js';

const RunId = z.string().min(1).max(200);
const PendingId = z.string().min(1).max(200);
const RequestId = z.number().int().nonnegative();
/** "Always allow / deny this tool": for this run or for this workspace. */
const Scope = z.enum(['once', 'run', 'workspace']);

// ---------------------------------------------------------------------------------------------
// Webview → extension

export const Ready = z.object({ type: z.literal('ready') }).strict();

export const StartRunRequest = z
  .object({ type: z.literal('startRun'), id: RequestId, prompt: z.string().trim().min(1) })
  .strict();

export const ApproveRequest = z
  .object({
    type: z.literal('approve'),
    id: RequestId,
    run_id: RunId,
    approval_id: PendingId,
    comment: z.string().max(10_000).optional(),
    scope: Scope.default('once'),
  })
  .strict();

export const DenyRequest = z
  .object({
    type: z.literal('deny'),
    id: RequestId,
    run_id: RunId,
    approval_id: PendingId,
    reason: z.string().max(10_000).optional(),
    scope: Scope.default('once'),
  })
  .strict();

/** Approve or deny every gate of one model turn (a run pauses on one turn at a time). */
export const DecideAllRequest = z
  .object({
    type: z.literal('decideAll'),
    id: RequestId,
    run_id: RunId,
    approval_ids: z.array(PendingId).min(1),
    approved: z.boolean(),
    reason: z.string().max(10_000).optional(),
  })
  .strict();

export const AnswerRequest = z
  .object({
    type: z.literal('answer'),
    id: RequestId,
    run_id: RunId,
    interaction_id: PendingId,
    value: z.unknown(),
  })
  .strict();

export const CancelRunRequest = z
  .object({
    type: z.literal('cancelRun'),
    id: RequestId,
    run_id: RunId,
    reason: z.string().max(10_000).optional(),
  })
  .strict();

/** Continue a run whose process died mid-step. */
export const ContinueRunRequest = z
  .object({ type: z.literal('continueRun'), id: RequestId, run_id: RunId })
  .strict();

export const OpenDiffRequest = z
  .object({ type: z.literal('openDiff'), id: RequestId, run_id: RunId, approval_id: PendingId })
  .strict();

export const EditThenApproveRequest = z
  .object({
    type: z.literal('editThenApprove'),
    id: RequestId,
    run_id: RunId,
    approval_id: PendingId,
  })
  .strict();

export const OpenTraceRequest = z
  .object({ type: z.literal('openTrace'), id: RequestId, run_id: RunId })
  .strict();

export const FromWebview = z.discriminatedUnion('type', [
  Ready,
  StartRunRequest,
  ApproveRequest,
  DenyRequest,
  DecideAllRequest,
  AnswerRequest,
  CancelRunRequest,
  ContinueRunRequest,
  OpenDiffRequest,
  EditThenApproveRequest,
  OpenTraceRequest,
]);
export type FromWebview = z.infer<typeof FromWebview>;
export type WebviewRequest = Exclude<FromWebview, { type: 'ready' }>;

// ---------------------------------------------------------------------------------------------
// Extension → webview

export const RunRow = z.object({
  run_id: z.string(),
  prompt: z.string().nullable(),
  status: z.enum(['running', 'paused', 'success', 'error', 'cancelled', 'interrupted']),
  reason: z.string(),
  message: z.string(),
  updated_at: z.string(),
  pending: z.number(),
});
export type RunRow = z.infer<typeof RunRow>;

/** Everything the sidebar shows that lives in the database; sent whole on every change. */
export const StateMessage = z
  .object({
    type: z.literal('state'),
    runs: z.array(RunRow),
    approvals: z.array(ApprovalEvent),
    interactions: z.array(InteractionEvent),
    /** False while the host is (re)starting: the sidebar says so instead of going blank. */
    connected: z.boolean(),
    error: z.string().nullable(),
  })
  .strict();
export type StateMessage = z.infer<typeof StateMessage>;

/** A live event of a run this window drives (model text streams through these). */
export const EventMessage = z.object({ type: z.literal('event'), event: RunEvent }).strict();

export const ReplyMessage = z
  .object({
    type: z.literal('reply'),
    id: RequestId,
    ok: z.boolean(),
    /** Shown where the user acted (the form, the card); already redacted. */
    error: z.string().optional(),
  })
  .strict();
export type ReplyMessage = z.infer<typeof ReplyMessage>;

export const ToWebview = z.discriminatedUnion('type', [StateMessage, EventMessage, ReplyMessage]);
export type ToWebview = z.infer<typeof ToWebview>;
