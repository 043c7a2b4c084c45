// Every message between the sidebar webview and the extension, declared once with zod. The
// webview sends `ready` first (the extension posts nothing before it); requests carry an id and
// get a `reply` (ok, or the error to show where the user acted). Browser-safe: no Node imports.
import { z } from 'zod';
import { ApprovalEvent, InteractionEvent, RunEvent } from '../host/protocol/events.js';

const RunId = z.string().min(1).max(200);
const PendingId = z.string().min(1).max(200);
const RequestId = z.number().int().nonnegative();
/** "Always allow / deny": for this run or for this workspace ('once': just this decision). */
export const Scope = z.enum(['once', 'run', 'workspace']);
export type Scope = z.infer<typeof Scope>;
/** What an "always" rule covers: this file, its folder, or every call of the tool. */
export const Cover = z.enum(['file', 'folder', 'tool', 'command', 'program']);
export type Cover = z.infer<typeof Cover>;

/** An "always" decision names what it covers; a one-off decision covers nothing. */
const coverGoesWithScope = {
  check: (v: { scope: Scope; cover?: Cover | undefined }) =>
    (v.scope === 'once') === (v.cover === undefined),
  message: 'An "always" decision (scope run or workspace) names its cover; a one-off one does not.',
};

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
    cover: Cover.optional(),
    /** A shell command as the developer edited it: it runs instead of the proposal. */
    command: z.string().trim().min(1).max(16_384).optional(),
  })
  .strict()
  .refine(coverGoesWithScope.check, { message: coverGoesWithScope.message, path: ['cover'] })
  .refine((v) => v.command === undefined || v.scope === 'once', {
    message: 'An edited command is approved once; an always-rule covers the proposal as shown.',
    path: ['command'],
  });

export const DenyRequest = z
  .object({
    type: z.literal('deny'),
    id: RequestId,
    run_id: RunId,
    approval_id: PendingId,
    reason: z.string().max(10_000).optional(),
    scope: Scope.default('once'),
    cover: Cover.optional(),
  })
  .strict()
  .refine(coverGoesWithScope.check, { message: coverGoesWithScope.message, path: ['cover'] });

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

/** Continue a run whose process died mid-step, or retry one whose model call failed (Retry). */
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

/**
 * Revert one applied change (a revert too: that applies the change again), or every change of a
 * run that stands (no change_id). A file changed since opens a before / applied / now view.
 */
export const RevertRequest = z
  .object({
    type: z.literal('revert'),
    id: RequestId,
    run_id: RunId,
    change_id: z.string().min(1).max(200).optional(),
  })
  .strict();

/** Revoke a standing "always allow / deny" rule. */
export const RevokeRuleRequest = z
  .object({ type: z.literal('revokeRule'), id: RequestId, rule_id: z.string().min(1).max(200) })
  .strict();

/** VS Code's "Manage Workspace Trust" (from the Restricted Mode banner). */
export const ManageTrustRequest = z
  .object({ type: z.literal('manageTrust'), id: RequestId })
  .strict();

/** "Review Workspace Config…": the loosening lines of airlock.config.json, to trust or not. */
export const ReviewConfigRequest = z
  .object({ type: z.literal('reviewConfig'), id: RequestId })
  .strict();

/**
 * The stored transcripts of runs the list shows but has not seen from their start (after a
 * reload): answered with one `transcript` message per run. Not a request: no id, no reply.
 */
export const LoadTranscripts = z
  .object({ type: z.literal('loadTranscripts'), run_ids: z.array(RunId).min(1).max(20) })
  .strict();
export type LoadTranscripts = z.infer<typeof LoadTranscripts>;

export const FromWebview = z.discriminatedUnion('type', [
  Ready,
  LoadTranscripts,
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
  RevertRequest,
  RevokeRuleRequest,
  ManageTrustRequest,
  ReviewConfigRequest,
]);
export type FromWebview = z.infer<typeof FromWebview>;
export type WebviewRequest = Exclude<FromWebview, { type: 'ready' } | { type: 'loadTranscripts' }>;

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

/** A run's stored events (the tail when long), to show its whole output after a reload. */
export const TranscriptMessage = z
  .object({
    type: z.literal('transcript'),
    run_id: RunId,
    events: z.array(RunEvent),
    /** How many earlier events were left out (the sidebar keeps the tail). */
    omitted: z.number().int().nonnegative(),
    /** Why it could not be read; null when it was. */
    error: z.string().nullable(),
  })
  .strict();
export type TranscriptMessage = z.infer<typeof TranscriptMessage>;

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

/** A standing "always allow / deny" rule as the sidebar lists it (host: StandingRule). */
export const RuleRow = z.object({
  rule_id: z.string(),
  tool: z.string(),
  /** Globs the rule holds for; null: every call of the tool. */
  paths: z.array(z.string()).nullable(),
  action: z.enum(['allow', 'deny']),
  cover: Cover,
  /** The run it holds for; null: the whole workspace. */
  run_id: z.string().nullable(),
  /** That run's prompt, when known. */
  run_prompt: z.string().nullable(),
  created_by: z.string().nullable(),
  created_at: z.string(),
});
export type RuleRow = z.infer<typeof RuleRow>;

/** Every standing rule of this workspace; sent whole whenever it may have changed. */
export const RulesMessage = z
  .object({
    type: z.literal('rules'),
    rules: z.array(RuleRow),
    /** Why the list could not be read (shown in its place); null when it was. */
    error: z.string().nullable(),
  })
  .strict();
export type RulesMessage = z.infer<typeof RulesMessage>;

/** The workspace's trust (SPEC §9): VS Code's Restricted Mode and the airlock.config.json. */
export const WorkspaceMessage = z
  .object({
    type: z.literal('workspace'),
    /** VS Code's Restricted Mode: the folder is not trusted. */
    restricted: z.boolean(),
    /** The workspace's airlock.config.json as the host applies it; null: none (or unknown). */
    config: z
      .object({
        /** Workspace-relative (or absolute) path of the file, for display. */
        file: z.string(),
        trusted: z.boolean(),
        /** What the file asks for that loosens Airlock, one line each. */
        loosening: z.array(z.string()),
        /** What is ignored until this version is trusted, one line each. */
        ignored: z.array(z.string()),
      })
      .strict()
      .nullable(),
  })
  .strict();
export type WorkspaceMessage = z.infer<typeof WorkspaceMessage>;

/** Workspace-relative paths of the files open in the editor with unsaved changes (SPEC §7). */
export const UnsavedMessage = z
  .object({ type: z.literal('unsaved'), paths: z.array(z.string()).max(10_000) })
  .strict();
export type UnsavedMessage = z.infer<typeof UnsavedMessage>;

export const ToWebview = z.discriminatedUnion('type', [
  StateMessage,
  EventMessage,
  TranscriptMessage,
  ReplyMessage,
  RulesMessage,
  WorkspaceMessage,
  UnsavedMessage,
]);
export type ToWebview = z.infer<typeof ToWebview>;
