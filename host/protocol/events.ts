// The event vocabulary of a run. The same objects flow out of `agent.run()`, over JSON-RPC
// notifications and as CLI `--json` lines, so this module is the single definition.
import { z } from 'zod';

export const Usage = z.record(z.string(), z.number());
export type Usage = z.infer<typeof Usage>;

export const StatusCode = z.enum(['success', 'error', 'cancelled']);
export const StatusReason = z.enum([
  'completed',
  'approval_required',
  'input_required',
  'approval_denied',
  'approval_already_claimed',
  'approval_policy_error',
  'cancelled',
  'interrupted',
  'model_error',
  'tool_error',
  'max_turns',
]);
export type StatusReason = z.infer<typeof StatusReason>;

export const RunStatus = z.object({
  code: StatusCode,
  reason: StatusReason,
  message: z.string(),
});
export type RunStatus = z.infer<typeof RunStatus>;

export const FilePreview = z.object({
  kind: z.enum(['edit', 'create', 'delete']),
  path: z.string(),
  base_sha256: z.string().nullable(),
  before_bytes: z.number(),
  after_bytes: z.number(),
  diff: z.string(),
  stale: z.boolean().optional(),
  /** Computed against the developer's open document with unsaved changes, not the disk. */
  unsaved: z.boolean().optional(),
});
export type FilePreview = z.infer<typeof FilePreview>;

/** A shell command's card (issue 15): the line, where it runs, and each sub-command's verdict. */
export const CommandPreview = z.object({
  command: z.string(),
  /** Workspace-relative working directory ("." for the root). */
  cwd: z.string(),
  subcommands: z.array(
    z.object({ text: z.string(), action: z.enum(['allow', 'ask', 'deny']), rule: z.string() }),
  ),
  /** Why the line asks beyond its sub-commands: unreadable, writes to a protected path… */
  notes: z.array(z.string()),
  /** What "always allow" adds: each sub-command exactly, or by program (null: not offered). */
  always: z.object({
    command: z.array(z.string()).nullable(),
    program: z.array(z.string()).nullable(),
  }),
  /**
   * The host stopped while this command ran: it may have run partly. Approve runs it again,
   * deny skips it (the agent is told), cancel ends the run.
   */
  interrupted: z.boolean().optional(),
});
export type CommandPreview = z.infer<typeof CommandPreview>;

const base = { run_id: z.string() };

export const StartEvent = z.object({
  type: z.literal('start'),
  ...base,
  segment_id: z.string(),
  parent_segment_id: z.string().nullable(),
  agent: z.string(),
  prompt: z.string().nullable(),
});
export const DeltaEvent = z.object({
  type: z.literal('delta'),
  ...base,
  text: z.string(),
  /** The model's reasoning ("thinking"), not its answer: shown collapsed. */
  thinking: z.boolean().optional(),
});
export const ToolCallEvent = z.object({
  type: z.literal('tool_call'),
  ...base,
  call_id: z.string(),
  tool: z.string(),
  input: z.unknown(),
});
export const ToolResultEvent = z.object({
  type: z.literal('tool_result'),
  ...base,
  call_id: z.string(),
  tool: z.string(),
  ok: z.boolean(),
  output: z.string(),
});
/** A piece of a running tool's output (a shell command's), live only: the result holds its tail. */
export const ToolOutputEvent = z.object({
  type: z.literal('tool_output'),
  ...base,
  call_id: z.string(),
  tool: z.string(),
  text: z.string(),
});
/**
 * A file change applied (issue 16): by the agent's call, or by the developer reverting an earlier
 * change (`reverts`). Recorded with the call's result; every change can be reverted.
 */
export const FileChangeEvent = z.object({
  type: z.literal('file_change'),
  ...base,
  change_id: z.string(),
  /** The call that made it; null for a revert. */
  call_id: z.string().nullable(),
  path: z.string(),
  kind: z.enum(['create', 'edit', 'delete']),
  added: z.number().int(),
  removed: z.number().int(),
  /** Set on a revert: the change it undid. */
  reverts: z.string().optional(),
  /** Who reverted (a revert only). */
  by: z.string().optional(),
});
export type FileChangeEvent = z.infer<typeof FileChangeEvent>;
export const ApprovalEvent = z.object({
  type: z.literal('approval'),
  ...base,
  approval_id: z.string(),
  call_id: z.string(),
  tool: z.string(),
  path: z.string(),
  prompt: z.string(),
  input: z.unknown(),
  preview: FilePreview.nullable(),
  /** For run_command: the command line and its sub-commands' verdicts. */
  command: CommandPreview.optional(),
  expires_at: z.string().nullable(),
  /** The call changes a protected path (SPEC §9): it always asks, and no always-allow covers it. */
  protected: z.boolean().optional(),
  /**
   * What redaction did to this card (SPEC §2: it hides secrets, never intent): values masked,
   * and secret-like matches longer than a pattern's cap that were left visible and flagged.
   */
  redaction: z.object({ masked: z.number().int(), too_long: z.number().int() }).optional(),
  /** Bidirectional or zero-width characters in the proposal, shown as visible markers (SPEC §9). */
  hidden_chars: z.number().int().optional(),
});
export type ApprovalEvent = z.infer<typeof ApprovalEvent>;

export const Question = z.object({
  id: z.string(),
  question: z.string(),
  options: z.array(z.string()).optional(),
});
export type Question = z.infer<typeof Question>;

export const InteractionEvent = z.object({
  type: z.literal('interaction'),
  ...base,
  interaction_id: z.string(),
  call_id: z.string(),
  tool: z.string(),
  prompt: z.string(),
  questions: z.array(Question),
  schema: z.record(z.string(), z.unknown()),
});
export type InteractionEvent = z.infer<typeof InteractionEvent>;

export const WarningEvent = z.object({
  type: z.literal('warning'),
  ...base,
  code: z.string(),
  message: z.string(),
});
export const OutputEvent = z.object({
  type: z.literal('output'),
  ...base,
  status: RunStatus,
  output: z.string().nullable(),
  pending: z.array(z.string()),
  usage: Usage,
});
export type OutputEvent = z.infer<typeof OutputEvent>;

export const RunEvent = z.discriminatedUnion('type', [
  StartEvent,
  DeltaEvent,
  ToolCallEvent,
  ToolResultEvent,
  ToolOutputEvent,
  FileChangeEvent,
  ApprovalEvent,
  InteractionEvent,
  WarningEvent,
  OutputEvent,
]);
export type RunEvent = z.infer<typeof RunEvent>;

/** A resolution for an approval gate: a bare boolean or the full object (SPEC §2). */
export const ApprovalResolution = z.union([
  z.boolean(),
  z
    .object({
      approved: z.boolean(),
      approver_id: z.string().optional(),
      comment: z.string().optional(),
      reason: z.string().optional(),
      override_input: z.record(z.string(), z.unknown()).optional(),
      expires_at: z.string().optional(),
      /** "always allow / deny": for the rest of this run, or for this workspace. */
      scope: z.enum(['once', 'run', 'workspace']).optional(),
      /**
       * What an always-rule covers: this file (the default), its folder, or the whole tool; for
       * run_command, each sub-command exactly (`command`, its default) or by program (`program`).
       */
      cover: z.enum(['file', 'folder', 'tool', 'command', 'program']).optional(),
    })
    .strict(),
]);
export type ApprovalResolution = z.infer<typeof ApprovalResolution>;

export const Cancel = z
  .object({ type: z.literal('cancel'), reason: z.string().optional() })
  .strict();
export type Cancel = z.infer<typeof Cancel>;

/** `resume` maps a pending id (apr_… or int_…) to a decision, an answer, or a Cancel. */
export const ResumeMap = z.record(z.string(), z.unknown());
export type ResumeMap = z.infer<typeof ResumeMap>;

export function isCancel(value: unknown): value is Cancel {
  return Cancel.safeParse(value).success;
}
