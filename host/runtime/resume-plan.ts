// Turning a `resume` map into decisions, before anything runs. Every value is validated first:
// an invalid resolution or answer refuses the whole resume (nothing runs, the gate stays
// pending), so a resume either applies cleanly or not at all.
import { z } from 'zod';
import { ApprovalResolution, isCancel, type ResumeMap } from '../protocol/events.js';
import type { RuleCover } from './policy.js';
import type { CallState } from './run-state.js';
import type { Tool } from './tool.js';

export class ResumeRefusedError extends Error {
  override name = 'ResumeRefusedError';
}

export interface PlannedDecision {
  call: CallState;
  id: string;
  approved: boolean;
  input: unknown;
  reason: string | undefined;
  scope: 'once' | 'run' | 'workspace';
  /** What an always-rule covers (the file unless the developer chose wider). */
  cover: RuleCover;
  approver: string | undefined;
  /** The redacted-later resolution as given, stamped with decided_at, for the audit trail. */
  record: Record<string, unknown>;
}

export interface ResumePlan {
  cancel: { id: string; kind: 'approval' | 'interaction'; reason: string } | null;
  decisions: PlannedDecision[];
  answers: { call: CallState; id: string; value: unknown }[];
  expired: { call: CallState; id: string }[];
  /** Ids that match nothing pending (warned about, never fatal). */
  unknown: string[];
  /** Ids some resume already consumed: this one must not run anything. */
  alreadyClaimed: string[];
  /** Values for a nested run's pending ids, handed to the call that drives it. */
  forwards: { call: CallState; id: string; value: unknown }[];
}

export function planResume(
  runId: string,
  calls: CallState[],
  resume: ResumeMap,
  tools: ReadonlyMap<string, Tool>,
  claimed: ReadonlySet<string>,
  now: Date,
): ResumePlan {
  const plan: ResumePlan = {
    cancel: null,
    decisions: [],
    answers: [],
    expired: [],
    unknown: [],
    alreadyClaimed: [],
    forwards: [],
  };
  const gates = new Map<string, CallState>();
  const waits = new Map<string, CallState>();
  const nested = new Map<string, CallState>();
  for (const call of calls) {
    if (call.done) continue;
    if (call.gate && !call.decision) gates.set(call.gate.approval_id, call);
    if (call.waiting) waits.set(call.waiting.interaction_id, call);
    for (const id of call.nested?.ids ?? []) nested.set(id, call);
  }
  for (const [id, value] of Object.entries(resume)) {
    const gate = gates.get(id);
    const wait = waits.get(id);
    const inner = nested.get(id);
    if (inner && !isCancel(value)) {
      plan.forwards.push({ call: inner, id, value });
      continue;
    }
    if (isCancel(value)) {
      if (gate || wait || inner) {
        plan.cancel ??= {
          id,
          kind: gate || (inner && id.startsWith('apr_')) ? 'approval' : 'interaction',
          reason: value.reason ?? 'Cancelled by the developer.',
        };
      } else if (claimed.has(id)) plan.alreadyClaimed.push(id);
      else plan.unknown.push(id);
      continue;
    }
    if (gate) plan.decisions.push(...decide(runId, gate, id, value, tools, now, plan));
    else if (wait) plan.answers.push({ call: wait, id, value: validateAnswer(id, wait, value) });
    else if (claimed.has(id)) plan.alreadyClaimed.push(id);
    else plan.unknown.push(id);
  }
  return plan;
}

function decide(
  runId: string,
  call: CallState,
  id: string,
  value: unknown,
  tools: ReadonlyMap<string, Tool>,
  now: Date,
  plan: ResumePlan,
): PlannedDecision[] {
  const parsed = ApprovalResolution.safeParse(value);
  if (!parsed.success) {
    throw new ResumeRefusedError(
      `The resolution for ${id} is invalid: give true, false, { "approved": true|false, ... } or { "type": "cancel" } (${z.prettifyError(parsed.error)}).`,
    );
  }
  const resolution = typeof parsed.data === 'boolean' ? { approved: parsed.data } : parsed.data;
  const tool = tools.get(call.tool);
  if (!tool) throw new ResumeRefusedError(`Run ${runId} calls an unknown tool "${call.tool}".`);
  let input: unknown = tool.params.parse(call.args);
  if (resolution.approved && resolution.override_input) {
    // Over the model's own arguments, so the schema's transforms apply once (not to their output).
    refuseUnknownKeys(id, tool, resolution.override_input);
    const proposal = call.args && typeof call.args === 'object' ? call.args : {};
    const merged = { ...(proposal as Record<string, unknown>), ...resolution.override_input };
    const checked = tool.params.safeParse(merged);
    if (!checked.success) {
      throw new ResumeRefusedError(
        `override_input for ${id} does not fit ${tool.name}'s parameters; nothing ran and the approval is still pending: ${z.prettifyError(checked.error)}`,
      );
    }
    input = checked.data;
  }
  if (resolution.expires_at !== undefined && Number.isNaN(Date.parse(resolution.expires_at))) {
    throw new ResumeRefusedError(
      `expires_at for ${id} is not an ISO date: ${JSON.stringify(resolution.expires_at)}.`,
    );
  }
  const scope = resolution.scope ?? 'once';
  if (scope !== 'once' && resolution.approved && call.gate?.protected) {
    throw new ResumeRefusedError(
      `${id} changes a protected path: approve it once; "always allow" never covers protected paths (SPEC §9). Nothing ran; it is still pending.`,
    );
  }
  if (tool.command && scope !== 'once') {
    // A shell command's always-rule holds its sub-commands' patterns, never every command.
    const cover = resolution.cover ?? 'command';
    if (cover !== 'command' && cover !== 'program') {
      throw new ResumeRefusedError(
        `${id} runs a shell command: an always-rule covers its commands exactly (cover "command") or by program and subcommand (cover "program"), never every command. Nothing ran; it is still pending.`,
      );
    }
    if (!call.gate?.always?.[cover]) {
      throw new ResumeRefusedError(
        `${id}: this command cannot be covered by an always-rule with cover "${cover}" (a part of it is only known when it runs, or it is denied or protected); approve it once. Nothing ran; it is still pending.`,
      );
    }
  } else if (resolution.cover === 'command' || resolution.cover === 'program') {
    throw new ResumeRefusedError(
      `cover "${resolution.cover}" is for shell commands (run_command); ${id} is a ${tool.name} call. Nothing ran; it is still pending.`,
    );
  }
  if (
    (resolution.cover === 'file' || resolution.cover === 'folder') &&
    tool.policyPath?.(input) === undefined
  ) {
    throw new ResumeRefusedError(
      `${id} has no file: an always-rule for it can only cover the whole tool (cover "tool"). Nothing ran; it is still pending.`,
    );
  }
  if (resolution.cover !== undefined && scope === 'once') {
    throw new ResumeRefusedError(
      `cover for ${id} needs scope "run" or "workspace": it says what an always-rule covers.`,
    );
  }
  const lapsed =
    (resolution.expires_at !== undefined && Date.parse(resolution.expires_at) <= now.getTime()) ||
    (call.gate?.expires_at != null && Date.parse(call.gate.expires_at) <= now.getTime());
  if (lapsed) {
    plan.expired.push({ call, id });
    return [];
  }
  return [
    {
      call,
      id,
      approved: resolution.approved,
      input,
      reason: resolution.reason,
      scope,
      cover: resolution.cover ?? (tool.command ? 'command' : 'file'),
      approver: resolution.approver_id,
      record: { ...resolution, decided_at: now.toISOString() },
    },
  ];
}

/**
 * A key the tool's parameters do not take is refused (SPEC §2): zod would strip it, and the
 * model's own value would run in place of the developer's correction. Judged on the input JSON
 * Schema (what the model sees), so transforms and pipes do not hide the object's keys; a schema
 * that takes any key (a catchall, a record, no object at the top) is left to zod alone.
 */
function refuseUnknownKeys(id: string, tool: Tool, override: Record<string, unknown>): void {
  const schema = tool.jsonSchema;
  const props = schema.properties;
  if (schema.type !== 'object' || !props || typeof props !== 'object') return;
  if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) return;
  if (schema.patternProperties !== undefined) return;
  const known = Object.keys(props);
  const unknown = Object.keys(override).filter((k) => !known.includes(k));
  if (!unknown.length) return;
  const names = (keys: string[]) => keys.map((k) => JSON.stringify(k)).join(', ');
  throw new ResumeRefusedError(
    `override_input for ${id} has ${unknown.length === 1 ? 'a key' : 'keys'} ${tool.name} does not take: ${names(unknown)} (${tool.name} takes ${known.length ? names(known) : 'no keys'}); nothing ran and the approval is still pending.`,
  );
}

function validateAnswer(id: string, call: CallState, value: unknown): unknown {
  const schema = z.fromJSONSchema(call.waiting!.schema as Parameters<typeof z.fromJSONSchema>[0]);
  const checked = schema.safeParse(value);
  if (!checked.success) {
    throw new ResumeRefusedError(
      `The answer for ${id} does not fit the question's schema; the question is still pending: ${z.prettifyError(checked.error)}`,
    );
  }
  return checked.data;
}
