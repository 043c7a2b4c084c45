// Every JSON-RPC method between the extension and the host, declared once: its literal method
// name, its message type, its direction, a one-line doc, and zod schemas that both sides parse
// on receipt. The host also answers LSP's initialize / shutdown / exit (vscode-languageclient).
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { ApprovalEvent, InteractionEvent, ResumeMap, RunEvent } from './events.js';
import { Settings } from '../settings-schema.js';
import { StandingRule } from '../runtime/policy.js';

type Direction = 'client → host' | 'host → client';

function request<P extends z.ZodType, R extends z.ZodType>(
  method: `airlock/${string}`,
  params: P,
  result: R,
  doc: string,
  direction: Direction = 'client → host',
) {
  return {
    method,
    params,
    result,
    doc,
    direction,
    // What both ends register and send (as vscode-eslint does): the params as sent (already
    // parsed), the result unknown until the receiver's zod schema has read it.
    type: new RequestType<z.output<P>, unknown, void>(method),
  };
}

function notification<P extends z.ZodType>(
  method: `airlock/${string}`,
  params: P,
  doc: string,
  direction: Direction = 'host → client',
) {
  return {
    method,
    params,
    doc,
    direction,
    type: new NotificationType<z.output<P>>(method),
  };
}

/** Error codes beyond JSON-RPC's own (-32602 invalid params is used for schema failures). */
export const RpcErrors = {
  InvalidParams: -32602,
  /** A resume whose values do not fit: nothing ran, everything is still pending. */
  ResumeRefused: -32001,
  UnknownRun: -32002,
  NotConfigured: -32003,
} as const;

export const RunId = z.string().min(1).max(200);

/** What the extension sends at `initialize` (initializationOptions) and on setting changes. */
export const HostOptions = z
  .object({
    workspace: z.string().min(1),
    /**
     * Empty: the per-workspace default (or AIRLOCK_DB). A `postgres://` URL is a team's server
     * (the setting `airlock.database`, which only user settings can set).
     */
    db: z.string().default(''),
    /** The PostgreSQL password, from VS Code's SecretStorage; empty: PGPASSWORD or the URL's. */
    dbPassword: z.string().optional(),
    settings: Settings,
    /** From VS Code's SecretStorage; empty falls back to OPENAI_API_KEY. */
    apiKey: z.string().default(''),
    /**
     * VS Code's Restricted Mode: the workspace file only tightens, even a version trusted before,
     * and it cannot be trusted from this window.
     */
    restricted: z.boolean().default(false),
  })
  .strict();
export type HostOptions = z.infer<typeof HostOptions>;

export const RunSummary = z.object({
  run_id: z.string(),
  agent: z.string(),
  workspace: z.string().nullable(),
  prompt: z.string().nullable(),
  status: z.enum(['running', 'paused', 'success', 'error', 'cancelled', 'interrupted']),
  reason: z.string(),
  message: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  pending: z.number(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export const Pending = z.object({
  approvals: z.array(ApprovalEvent),
  interactions: z.array(InteractionEvent),
  /** Runs whose process died mid-step: resumable with no decision. */
  interrupted: z.array(z.string()),
});
export type Pending = z.infer<typeof Pending>;

export const RunTrace = z.object({
  run: RunSummary.omit({ pending: true }),
  segments: z.array(
    z.object({
      segment_id: z.string(),
      parent_segment_id: z.string().nullable(),
      kind: z.enum(['start', 'resume']),
      started_at: z.string(),
    }),
  ),
  events: z.array(RunEvent),
  decisions: z.array(z.object({ id: z.string(), resolution: z.unknown(), decided_at: z.string() })),
});
export type RunTrace = z.infer<typeof RunTrace>;

export const Proposal = z.object({
  path: z.string(),
  /** The file as it is now (null: it does not exist); redacted. */
  current: z.string().nullable(),
  /** The file as the call would leave it (null: deleted); redacted. */
  proposed: z.string().nullable(),
  /** True when redaction masked something: an edit must not write the masks back. */
  masked: z.boolean(),
});
export type Proposal = z.infer<typeof Proposal>;

export const StartRun = request(
  'airlock/startRun',
  z
    .object({
      prompt: z.string().trim().min(1, 'Type a prompt first.'),
      /** Who starts it (the window's approver name): the two-person rule's "someone else". */
      started_by: z.string().max(100).optional(),
    })
    .strict(),
  z.object({ run_id: RunId }),
  'Starts a run of the workspace agent; its events follow as airlock/event.',
);

export const Resume = request(
  'airlock/resume',
  z.object({ run_id: RunId, resume: ResumeMap }).strict(),
  z.object({ run_id: RunId }),
  'Resumes a paused, interrupted or model_error run with decisions and answers (none: continue or retry); refused (nothing runs) when a value does not fit.',
);

export const CancelRun = request(
  'airlock/cancelRun',
  z.object({ run_id: RunId, reason: z.string().optional() }).strict(),
  z.object({ run_id: RunId }),
  'Cancels a run: a paused one ends cancelled, a running one stops at its next step.',
);

export const ListRuns = request(
  'airlock/listRuns',
  z.object({}).strict(),
  z.object({ runs: z.array(RunSummary) }),
  'Every top-level run in the database, newest first.',
);

export const GetRun = request(
  'airlock/getRun',
  z.object({ run_id: RunId }).strict(),
  RunTrace,
  'One run with its segments, events and decisions (the trace).',
);

export const GetPending = request(
  'airlock/pending',
  z.object({}).strict(),
  Pending,
  'Every pending approval and question, and the interrupted runs, from the database.',
);

export const GetProposal = request(
  'airlock/proposal',
  z.object({ run_id: RunId, approval_id: z.string().min(1) }).strict(),
  Proposal,
  "A pending file gate's current and proposed content, for the diff editor and edit-then-approve.",
);

export const Configure = request(
  'airlock/configure',
  HostOptions.omit({ workspace: true, db: true, dbPassword: true }).strict(),
  z.object({}),
  'New settings or API key: used by runs started or resumed from now on.',
);

export const ListRules = request(
  'airlock/rules',
  z.object({}).strict(),
  z.object({ rules: z.array(StandingRule) }),
  'Every standing always-allow / always-deny rule of this workspace and of its runs that are not finished.',
);

export const RevokeRule = request(
  'airlock/revokeRule',
  z.object({ rule_id: z.string().min(1).max(200) }).strict(),
  z.object({}),
  'Revokes a standing rule: later calls are judged without it. Unknown ids are an error.',
);

/** The workspace's airlock.config.json as Airlock applies it (SPEC §9). */
export const WorkspaceConfigStatus = z.object({
  /** Absolute path of the file; null when the workspace has none. */
  file: z.string().nullable(),
  /** SHA-256 of the file's bytes as read (what a trust decision is bound to). */
  sha256: z.string().nullable(),
  trusted: z.boolean(),
  /** What the file asks for that would loosen Airlock, one line each (shown before trusting). */
  loosening: z.array(z.string()),
  /** What was ignored and why, one line each (empty when trusted or nothing loosens). */
  ignored: z.array(z.string()),
});
export type WorkspaceConfigStatus = z.infer<typeof WorkspaceConfigStatus>;

export const GetWorkspaceConfig = request(
  'airlock/workspaceConfig',
  z.object({}).strict(),
  WorkspaceConfigStatus,
  "The workspace's airlock.config.json: whether it is trusted, and what of it is ignored until it is.",
);

export const TrustWorkspaceConfig = request(
  'airlock/trustWorkspaceConfig',
  z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  WorkspaceConfigStatus,
  'Trusts the workspace file at exactly this hash (the version the developer was shown); refused if it changed since.',
);

/** One applied change of a run, or a revert of one (issue 16). */
export const ChangeInfo = z.object({
  change_id: z.string(),
  path: z.string(),
  kind: z.enum(['create', 'edit', 'delete']),
  /** Set on a revert: the change it undid. */
  reverts: z.string().nullable(),
  /** Set once a later change reverted this one. */
  reverted_by: z.string().nullable(),
  by: z.string().nullable(),
  at: z.string(),
  /** Its effect stands: "revert the run" would undo it. */
  standing: z.boolean(),
});
export type ChangeInfo = z.infer<typeof ChangeInfo>;

const ChangeRef = { change_id: z.string(), path: z.string(), message: z.string() };

/** What reverting one change did. */
export const RevertOutcome = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('reverted'),
    ...ChangeRef,
    /** The revert's own change id (revert it to apply the change again). */
    revert_id: z.string(),
  }),
  z.object({ status: z.enum(['already_reverted', 'refused']), ...ChangeRef }),
  /** The file changed since the change: nothing was written. Redacted texts, for a 3-way view. */
  z.object({
    status: z.literal('conflict'),
    ...ChangeRef,
    before: z.string().nullable(),
    applied: z.string().nullable(),
    now: z.string().nullable(),
    masked: z.boolean(),
  }),
]);
export type RevertOutcome = z.infer<typeof RevertOutcome>;

export const ListChanges = request(
  'airlock/changes',
  z.object({ run_id: RunId }).strict(),
  z.object({ changes: z.array(ChangeInfo) }),
  "A run's applied file changes and reverts, oldest first.",
);

export const RevertChanges = request(
  'airlock/revert',
  z
    .object({
      run_id: RunId,
      /** One change (a revert too: reverting it applies the change again); none: the run's. */
      change_id: z.string().min(1).max(200).optional(),
      /** Restore the content from before even where the file changed since. */
      force: z.boolean().optional(),
      /** Who reverts (the window's approver name), for the transcript and the audit. */
      approver: z.string().max(200).optional(),
    })
    .strict(),
  z.object({ results: z.array(RevertOutcome) }),
  'Reverts one change, or every change of the run that stands (newest first), each exactly once; a file changed since is left alone (a conflict with before / applied / now) unless `force`.',
);

export const EventNotification = notification(
  'airlock/event',
  z.object({ event: RunEvent }),
  'An event of a run this host drives, as it happens.',
);

export const ChangedNotification = notification(
  'airlock/changed',
  z.object({}),
  'The database changed (maybe from another window or the CLI): re-read pending and runs.',
);

/** The editor's documents with unsaved changes (SPEC §7): absolute paths, the whole list. */
export const DirtyBuffers = notification(
  'airlock/dirtyBuffers',
  z
    .object({
      buffers: z
        .array(z.object({ path: z.string().min(1), version: z.number().int() }).strict())
        .max(10_000),
    })
    .strict(),
  'The files open in this window with unsaved changes and their document versions, the whole list each time it or a version changes: tools read and change them there, never behind them on disk, and pending cards whose file changed go stale.',
  'client → host',
);

export const ReadBuffer = request(
  'airlock/readBuffer',
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ text: z.string().nullable() }),
  'The text of an open document with unsaved changes (null: it is no longer dirty), what a file tool reads instead of the disk.',
  'host → client',
);

export const ApplyBuffer = request(
  'airlock/applyBuffer',
  z
    .object({
      path: z.string().min(1),
      /** The text the approved change was computed against. */
      expected: z.string(),
      /** The document's new text. */
      text: z.string(),
    })
    .strict(),
  z.object({ status: z.enum(['applied', 'changed', 'clean']) }),
  "Applies an approved change to an open document as an undoable edit, only if it still holds `expected` ('changed' otherwise; 'clean': it has no unsaved changes any more, the disk is the truth).",
  'host → client',
);
