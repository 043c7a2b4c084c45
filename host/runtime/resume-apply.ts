// Opening a drive of a run ("resume apply"): load or create the run, check that it may be driven
// here, and turn the resume map into the decisions, answers and claims of the opening step,
// validating every value before anything is written.
import type { ResumeMap, RunEvent } from '../protocol/events.js';
import type { StoreOp } from '../store/store.js';
import { selfOwner } from '../store/file-lock.js';
import { sha256 } from './ids.js';
import { coverPaths, type StandingRule } from './policy.js';
import { planResume, ResumeRefusedError } from './resume-plan.js';
import type { RunContext } from './run-context.js';
import { parseRunState, type CallState } from './run-state.js';
import { retryable } from './run-status.js';
import { bump } from './usage.js';

type ResumePlan = ReturnType<typeof planResume>;

export interface Opening {
  ops: StoreOp[];
  events: RunEvent[];
  /** Set when the resume map cancels the run: its reason. */
  cancel: string | null;
}

/** The segment this drive adds to the run's trace: a start, or a resume with its (masked) map. */
export function segmentOp(run: RunContext): StoreOp {
  return {
    op: 'addSegment',
    row: {
      segment_id: run.segmentId,
      run_id: run.runId,
      parent_segment_id: run.parentSegment,
      kind: run.fresh ? 'start' : 'resume',
      resume: run.req.resume ? run.masks.resume(run.req.resume, run.openGates) : null,
      started_at: new Date().toISOString(),
    },
  };
}

/**
 * Loads or creates the run and turns the resume map into store operations, validating every
 * value before anything is written (an invalid one throws ResumeRefusedError).
 */
export function openRun(run: RunContext): Opening | 'claimed' {
  const nothing: Opening = { ops: [], events: [], cancel: null };
  const existing = run.cfg.store.getRun(run.runId);
  if (!existing) {
    if (run.req.resume && Object.keys(run.req.resume).length) {
      throw new ResumeRefusedError(`There is no run ${run.runId} to resume in this database.`);
    }
    run.fresh = true;
    run.state = { ...run.req.initial(), segment_id: run.segmentId };
    return nothing;
  }
  const { row, state } = existing;
  run.createdAt = row.created_at;
  run.state = parseRunState(state, run.runId);
  run.parentSegment = run.state.segment_id;
  run.state.segment_id = run.segmentId;
  for (const p of run.cfg.store.pending(run.runId)) run.pendingRows.set(p.id, p);
  run.persistence.loaded(row.version, state, row.status);
  for (const call of run.state.calls) {
    if (call.gate) run.openGates.set(call.gate.approval_id, call);
  }
  const claimed = new Set(run.cfg.store.claims(run.runId).map((c) => c.id));
  const resumeIds = Object.keys(run.req.resume ?? {});
  const visible = run.cfg.store.statusOf(row);
  const retry = retryable(row);
  if (visible === 'success' || visible === 'error' || visible === 'cancelled') {
    if (resumeIds.some((id) => claimed.has(id))) return 'claimed';
    if (!retry) {
      throw new ResumeRefusedError(
        `Run ${run.runId} already ended (${row.status}: ${row.reason}); there is nothing to resume.`,
      );
    }
    if (run.state.kind === 'agent' && !run.state.messages.length) {
      // Ended by an Airlock that dropped a failed run's conversation: nothing to repeat.
      throw new ResumeRefusedError(
        `Run ${run.runId} failed on a model call, but its conversation was not kept (an older Airlock); start it again.`,
      );
    }
  }
  if (visible === 'running' && row.owner !== selfOwner) {
    if (resumeIds.some((id) => claimed.has(id))) return 'claimed';
    throw new ResumeRefusedError(
      `Run ${run.runId} is being driven by process ${row.owner}; wait until it pauses.`,
    );
  }
  if (run.state.nested_in && run.state.nested_in !== run.req.nestedIn) {
    throw new ResumeRefusedError(
      `Run ${run.runId} runs inside run ${run.state.nested_in}; resume that run instead.`,
    );
  }
  if (!run.req.resume) return nothing;
  const plan = planResume(
    run.runId,
    run.state.calls,
    run.req.resume,
    run.cfg.tools,
    claimed,
    new Date(),
  );
  if (plan.alreadyClaimed.length) return 'claimed';
  if (run.cfg.twoPersonRule) checkTwoPersons(run, plan);
  validateForwards(run, plan.forwards);
  return applyPlan(run, plan);
}

/**
 * The two-person rule: an approval of a gate on a protected path names its approver, and that is
 * not who started the run (names compared without case or surrounding space). A denial, a
 * cancel, an answer and any other gate are anyone's.
 */
function checkTwoPersons(run: RunContext, plan: ResumePlan): void {
  const starter = run.state.labels.started_by?.trim().toLowerCase();
  for (const d of plan.decisions) {
    if (!d.approved || !d.call.gate?.protected) continue;
    const approver = d.approver?.trim();
    if (!approver) {
      throw new ResumeRefusedError(
        `${d.id} changes a protected path, and the two-person rule needs the approver's name (airlock.approverName, --approver). Nothing ran; it is still pending.`,
      );
    }
    if (starter && approver.toLowerCase() === starter) {
      throw new ResumeRefusedError(
        `${d.id} changes a protected path: under the two-person rule someone other than ${approver}, who started run ${run.runId}, approves it. Nothing ran; it is still pending.`,
      );
    }
  }
}

/** Values for nested runs are checked by those runs' own rules before anything is written. */
function validateForwards(run: RunContext, forwards: ResumePlan['forwards']): void {
  const byCall = new Map<CallState, ResumeMap>();
  for (const f of forwards) byCall.set(f.call, { ...byCall.get(f.call), [f.id]: f.value });
  for (const [call, values] of byCall) {
    const hook = run.cfg.tools.get(call.tool)?.nested;
    if (!hook || !call.nested)
      throw new ResumeRefusedError(`No nested run takes ${Object.keys(values).join(', ')}.`);
    hook.validate(call.nested.run_id, values);
  }
}

function applyPlan(run: RunContext, plan: ResumePlan): Opening {
  const events: RunEvent[] = plan.unknown.map((id) => ({
    type: 'warning',
    run_id: run.runId,
    code: 'unknown_id',
    message: `Ignored ${id}: it matches no pending approval or question of this run.`,
  }));
  if (plan.cancel) {
    if (plan.cancel.kind === 'approval') bump(run.state.usage, 'approvals:cancelled');
    for (const call of run.state.calls) {
      if (!call.done) call.done = { ok: false, output: 'Cancelled by the developer.' };
    }
    run.pendingRows.clear();
    return { ops: [], events, cancel: plan.cancel.reason };
  }
  const now = new Date().toISOString();
  const ops: StoreOp[] = [];
  const ids: string[] = [];
  for (const d of plan.decisions) {
    d.call.decision = {
      approval_id: d.id,
      approved: d.approved,
      input: d.input,
      base_sha256: d.call.gate?.base_sha256 ?? null,
      decided_at: now,
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
    };
    bump(run.state.usage, d.approved ? 'approvals:approved' : 'approvals:denied');
    if (d.scope !== 'once') {
      const rule = standingRule(run, d, now);
      ops.push({ op: 'addRule', rule });
      events.push({
        type: 'warning',
        run_id: run.runId,
        code: 'rule_added',
        message: describeRule(rule),
      });
    }
    ops.push({
      op: 'decide',
      run_id: run.runId,
      id: d.id,
      resolution: run.masks.resolution(d.call, d.record),
      at: now,
    });
    run.pendingRows.delete(d.id);
    ids.push(d.id);
  }
  for (const a of plan.answers) {
    a.call.answers[a.id] = a.value;
    delete a.call.waiting;
    ops.push({
      op: 'decide',
      run_id: run.runId,
      id: a.id,
      resolution: run.cfg.redactor.value({ answer: a.value }),
      at: now,
    });
    run.pendingRows.delete(a.id);
    ids.push(a.id);
  }
  for (const f of plan.forwards) {
    // Claimed here too, so a second resume of this run finds it taken; the nested run records
    // the decision itself when the handler hands it down.
    f.call.forward = { ...f.call.forward, [f.id]: f.value };
    run.pendingRows.delete(f.id);
    ids.push(f.id);
  }
  if (ids.length) ops.push({ op: 'claim', run_id: run.runId, ids, owner: selfOwner, at: now });
  for (const e of plan.expired) {
    bump(run.state.usage, 'approvals:expired');
    delete e.call.gate; // the loop emits it again with a new time limit
    run.pendingRows.delete(e.id);
    events.push({
      type: 'warning',
      run_id: run.runId,
      code: 'approval_expired',
      message: `The decision on ${e.id} arrived after it expired; it was ignored and the approval is asked again.`,
    });
  }
  return { ops, events, cancel: null };
}

/** The standing rule an "always allow / deny" decision makes, as narrow as chosen. */
function standingRule(run: RunContext, d: ResumePlan['decisions'][number], now: string) {
  const tool = run.cfg.tools.get(d.call.tool);
  const path = tool?.policyPath?.(d.input);
  const paths = coverPaths(d.cover, path);
  // A command's patterns were offered on its card (resume-plan checked they exist).
  const commands =
    d.cover === 'command' || d.cover === 'program' ? d.call.gate?.always?.[d.cover] : null;
  const rule: StandingRule = {
    // Derived from the decision, so a replayed commit cannot add the rule twice.
    rule_id: `rule_${sha256(`${run.runId}\n${d.id}`).slice(0, 20)}`,
    workspace: run.cfg.workspace ?? '',
    run_id: d.scope === 'run' ? run.runId : null,
    tool: d.call.tool,
    ...(commands ? { commands } : paths ? { paths } : {}),
    action: d.approved ? 'allow' : 'deny',
    cover: commands || paths ? d.cover : 'tool',
    created_by: d.approver ?? null,
    created_at: now,
    approval_id: d.id,
    // Stored like every readable column: redacted (SPEC §2).
    ...(d.reason ? { reason: run.cfg.redactor.text(d.reason) } : {}),
  };
  return rule;
}

/** One line naming a standing rule, for the transcript and the card. */
function describeRule(rule: StandingRule): string {
  const what = rule.commands
    ? `${rule.tool} of ${rule.commands.map((c) => `\`${c}\``).join(', ')}`
    : rule.paths
      ? `${rule.tool} on ${rule.paths.join(', ')}`
      : `every ${rule.tool} call`;
  const scope = rule.run_id ? 'for this run' : 'for this workspace';
  const who = rule.created_by ? ` (by ${rule.created_by})` : '';
  return `Always ${rule.action} ${what} ${scope}${who}: standing rule ${rule.rule_id}; revoke it with \`airlock rules --revoke ${rule.rule_id}\`.`;
}
