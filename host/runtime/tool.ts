// `Tool({...})`: a named, schema-validated function the agent may call, optionally behind an
// approval gate. The vocabulary follows the seeds (requires_approval, approval_prompt, …).
import { z } from 'zod';
import type {
  ApprovalEvent,
  FilePreview,
  InteractionEvent,
  ResumeMap,
  Usage,
} from '../protocol/events.js';
import type { FileChange } from './changes.js';

export interface ToolContext {
  readonly runId: string;
  readonly callId: string;
  /** Set when the call passed an approval gate: what the reviewer saw. */
  readonly approval: { readonly approvalId: string; readonly baseSha256: string | null } | null;
  readonly signal: AbortSignal;
  /** For a tool that runs a nested agent: resume values addressed to that run's pending ids. */
  readonly forwarded: Readonly<ResumeMap>;
  /** A nested run's usage so far; the parent's usage sums it in (replacing earlier reports). */
  reportUsage(childRunId: string, usage: Usage): void;
  /**
   * False for a workspace-relative path the policy denies to this tool or to read_file: listings
   * and searches leave it out and never read it (SPEC §9).
   */
  visible(rel: string): boolean;
  /** Streams a piece of the tool's output (redacted) to the run's live events; not stored. */
  output?(text: string): void;
  /** A file tool reports the change it applied: recorded with the result, for undo (issue 16). */
  changed?(change: FileChange): void;
}

/** A tool that drives a nested run: how the parent validates values routed to it. */
export interface NestedRunHook {
  /** Throws ResumeRefusedError when a value does not fit the nested run's pending item. */
  validate(childRunId: string, resume: ResumeMap): void;
}

type Awaitable<T> = T | Promise<T>;

export interface ToolConfig<P extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  params: P;
  handler: (input: z.output<P>, ctx: ToolContext) => Awaitable<unknown>;
  /** `true`, `false`, or a function of the validated input; evaluated before the handler. */
  requiresApproval?: boolean | ((input: z.output<P>) => Awaitable<boolean>);
  approvalPrompt?: string | ((input: z.output<P>) => Awaitable<string>);
  approvalRedactKeys?: readonly string[];
  approvalRedactor?: (input: z.output<P>) => unknown;
  approvalTimeoutMs?: number;
  /** For file tools: the diff the reviewer sees (SPEC §4). */
  preview?: (input: z.output<P>) => Awaitable<FilePreview | null>;
  /** For file tools: the whole file before and after the call, for a side-by-side diff editor. */
  proposal?: (input: z.output<P>) => Awaitable<FileProposal>;
  /** The workspace-relative path a call touches, for path-narrowed policy rules. */
  policyPath?: (input: z.output<P>) => string | undefined;
  /** The call changes the file at `policyPath`: protected paths always ask (SPEC §9). */
  changesFiles?: boolean;
  /**
   * For a shell tool: the command line and where it runs. Its policy judges each sub-command
   * (command-policy.ts) and its card lists them.
   */
  command?: (input: z.output<P>) => CommandTarget;
  /**
   * The effect is not idempotent: a call cut off mid-run (the host died) is not run again on
   * resume; the developer is asked whether to run it again, skip it, or cancel the run.
   */
  once?: boolean;
  /**
   * For a `once` tool: stops what a call cut off by the host's death left running (its process
   * group outlives the host); returns how many processes were stopped.
   */
  stopLeftovers?: (call: { runId: string; callId: string }) => Promise<number>;
  /** Set by `agent.asTool()`: the tool runs a nested agent whose pauses pause this run. */
  nested?: NestedRunHook;
}

export interface CommandTarget {
  line: string;
  /** The workspace root and the working directory, absolute; the latter also relative. */
  root: string;
  cwd: string;
  cwdRel: string;
}

export interface FileProposal {
  path: string;
  /** null: the file does not exist (or is binary). */
  before: string | null;
  /** null: the call deletes it. */
  after: string | null;
}

export interface Tool<P extends z.ZodType = z.ZodType> extends Readonly<ToolConfig<P>> {
  readonly kind: 'tool';
  /** The JSON Schema the model sees, from zod's own converter. */
  readonly jsonSchema: Record<string, unknown>;
}

export function Tool<P extends z.ZodType>(config: ToolConfig<P>): Tool<P> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(config.name)) {
    throw new Error(`Tool name "${config.name}" is invalid: use 1-64 letters, digits, "_" or "-".`);
  }
  const jsonSchema = z.toJSONSchema(config.params, { io: 'input' }) as Record<string, unknown>;
  delete jsonSchema.$schema;
  return { ...config, kind: 'tool', jsonSchema };
}

/** The handler result as the text the model reads. */
export function resultText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'ok';
  return JSON.stringify(value);
}

/**
 * Thrown by a file tool whose approved base no longer matches the file on disk: nothing was
 * written and the runtime re-emits the gate with a fresh diff.
 */
export class StaleBaseError extends Error {
  constructor(readonly path: string) {
    super(`${path} changed since the diff was approved; nothing was written.`);
    this.name = 'StaleBaseError';
  }
}

/**
 * Thrown by a nested-agent tool whose run paused: this run pauses on the same ids, and a resume
 * of this run routes their values down (the handler re-runs and continues the nested run).
 */
export class NestedPause extends Error {
  constructor(
    readonly childRunId: string,
    readonly pendingIds: string[],
    /** Approval and interaction events the nested run emitted in this segment. */
    readonly events: (ApprovalEvent | InteractionEvent)[],
  ) {
    super(`The nested run ${childRunId} is waiting for the developer.`);
    this.name = 'NestedPause';
  }
}

/** A tool error the model should read (bad path, missing old_string…): not a crash. */
export class ToolError extends Error {
  override name = 'ToolError';
}
