// Every decision the user can make, from the sidebar, the palette or a notification. Each one
// re-reads pending from the host first and acts only on an id that is pending right now in that
// run. No VS Code import: editor work goes through `Editors`, so this is tested with fakes.
import type { ApprovalEvent, ResumeMap } from '../host/protocol/events.js';
import type { StandingRule } from '../host/runtime/policy.js';
import {
  CancelRun,
  GetPending,
  GetProposal,
  ListChanges,
  ListRules,
  ListRuns,
  Resume,
  RevertChanges,
  RevokeRule,
  StartRun,
  type Pending,
  type ChangeInfo,
  type Proposal,
  type RevertOutcome,
  type RunSummary,
} from '../host/protocol/rpc.js';
import {
  approval,
  checkAlways,
  decideAll,
  denial,
  editedOverride,
  isEditable,
  NO_LONGER_PENDING,
  requireApproval,
  requireInteraction,
  type DecisionOptions,
} from './decisions.js';
import type { HostApi } from './rpc-call.js';

/**
 * The editor side of some actions (diff editor, edit-then-approve document, trace document,
 * VS Code's workspace trust, the review of the workspace's airlock.config.json).
 */
export interface Editors {
  openDiff(gate: ApprovalEvent): Promise<void>;
  editThenApprove(gate: ApprovalEvent): Promise<void>;
  openTrace(runId: string): Promise<void>;
  manageTrust(): Promise<void>;
  reviewWorkspaceConfig(): Promise<void>;
  /**
   * A file changed since the change to revert: shows before / applied / now and asks whether to
   * restore the content from before anyway (`restore`) or keep the file (`keep`, or dismissed).
   */
  revertConflict(runId: string, conflict: RevertConflict): Promise<'restore' | 'keep'>;
}

export type RevertConflict = Extract<RevertOutcome, { status: 'conflict' }>;

const CANCELLABLE: ReadonlySet<RunSummary['status']> = new Set([
  'running',
  'paused',
  'interrupted',
]);

/** A run that resumes with no decision: interrupted, or ended by a failed model call. */
export function continuable(run: Pick<RunSummary, 'status' | 'reason'>): boolean {
  return run.status === 'interrupted' || (run.status === 'error' && run.reason === 'model_error');
}

/** An always-rule on a shell command covers its sub-commands exactly unless told otherwise. */
function commandCover<T extends DecisionOptions>(gate: ApprovalEvent, opts: T): T {
  if (!gate.command || opts.cover || !opts.scope || opts.scope === 'once') return opts;
  return { ...opts, cover: 'command' };
}

export class Actions {
  constructor(
    private readonly host: HostApi,
    private readonly editors: Editors,
    /** Called after anything that changes the database, to refresh the sidebar and badge. */
    private readonly changed: () => void = () => undefined,
    /** Who decides in this window (recorded with each decision and standing rule). */
    private readonly approver: () => string | undefined | Promise<string | undefined> = () =>
      undefined,
  ) {}

  private async who(): Promise<{ approver?: string }> {
    const approver = await this.approver();
    return approver === undefined ? {} : { approver };
  }

  pending(): Promise<Pending> {
    return this.host.request(GetPending, {});
  }

  async runs(): Promise<RunSummary[]> {
    return (await this.host.request(ListRuns, {})).runs;
  }

  proposal(runId: string, approvalId: string): Promise<Proposal> {
    return this.host.request(GetProposal, { run_id: runId, approval_id: approvalId });
  }

  async startRun(prompt: string): Promise<string> {
    // Who starts it is recorded, like who decides: the two-person rule's "someone else".
    const { approver } = await this.who();
    const { run_id } = await this.host.request(StartRun, {
      prompt,
      ...(approver ? { started_by: approver } : {}),
    });
    this.changed();
    return run_id;
  }

  async approve(
    runId: string,
    id: string,
    opts: { comment?: string; command?: string } & DecisionOptions = {},
  ) {
    const gate = requireApproval(await this.pending(), runId, id);
    if (opts.command !== undefined && !gate.command) {
      throw new Error('Only a shell command can be edited on its card; this gate is not one.');
    }
    checkAlways(gate, true, opts);
    await this.resume(runId, {
      [id]: approval({ ...(await this.who()), ...commandCover(gate, opts) }),
    });
  }

  async deny(runId: string, id: string, opts: { reason?: string } & DecisionOptions = {}) {
    const gate = requireApproval(await this.pending(), runId, id);
    checkAlways(gate, false, opts);
    await this.resume(runId, {
      [id]: denial({ ...(await this.who()), ...commandCover(gate, opts) }),
    });
  }

  /** Approves or denies every listed gate of one run in a single resume. */
  async decideAll(runId: string, ids: readonly string[], approved: boolean, reason?: string) {
    const pending = await this.pending();
    for (const id of ids) requireApproval(pending, runId, id);
    await this.resume(runId, decideAll(ids, approved, reason, await this.approver()));
  }

  /** Approves with the user's edited content instead of the proposal (the host re-validates). */
  async approveEdited(runId: string, id: string, edited: string) {
    const gate = requireApproval(await this.pending(), runId, id);
    const proposal = await this.proposal(runId, id);
    const override_input = editedOverride(gate.tool, proposal, edited);
    await this.resume(runId, { [id]: { ...approval(await this.who()), override_input } });
  }

  async answer(runId: string, id: string, value: unknown) {
    requireInteraction(await this.pending(), runId, id);
    await this.resume(runId, { [id]: value });
  }

  async cancelRun(runId: string, reason?: string) {
    const run = (await this.runs()).find((r) => r.run_id === runId);
    if (!run || !CANCELLABLE.has(run.status)) throw new Error(NO_LONGER_PENDING);
    await this.host.request(CancelRun, {
      run_id: runId,
      ...(reason && reason.trim() ? { reason: reason.trim() } : {}),
    });
    this.changed();
  }

  /**
   * Continues a run whose process died mid-step, or retries one whose model call failed (a
   * resume with no decision: only the failed step repeats, no tool that ran runs again).
   */
  async continueRun(runId: string) {
    const [pending, runs] = await Promise.all([this.pending(), this.runs()]);
    const run = runs.find((r) => r.run_id === runId);
    if (!pending.interrupted.includes(runId) && !(run && continuable(run)))
      throw new Error(NO_LONGER_PENDING);
    await this.resume(runId, {});
  }

  async openDiff(runId: string, id: string) {
    await this.editors.openDiff(requireApproval(await this.pending(), runId, id));
  }

  async editThenApprove(runId: string, id: string) {
    const gate = requireApproval(await this.pending(), runId, id);
    if (!isEditable(gate.tool) && !gate.command) {
      throw new Error(`${gate.tool} does not write a file, so there is nothing to edit.`);
    }
    await this.editors.editThenApprove(gate);
  }

  async openTrace(runId: string) {
    await this.editors.openTrace(runId);
  }

  async rules(): Promise<StandingRule[]> {
    return (await this.host.request(ListRules, {})).rules;
  }

  /** Revokes a standing rule that is listed right now (later calls are judged without it). */
  async revokeRule(ruleId: string) {
    if (!(await this.rules()).some((r) => r.rule_id === ruleId)) {
      throw new Error('This rule is no longer in force; the list was refreshed.');
    }
    try {
      await this.host.request(RevokeRule, { rule_id: ruleId });
    } finally {
      this.changed();
    }
  }

  async changes(runId: string): Promise<ChangeInfo[]> {
    return (await this.host.request(ListChanges, { run_id: runId })).changes;
  }

  /**
   * Reverts one change, or every change of the run that stands. Each file changed since is shown
   * (before / applied / now) and restored only if the developer says so. Throws what was not
   * reverted (already reverted elsewhere, refused), to show where the developer acted.
   */
  async revert(runId: string, changeId?: string): Promise<RevertOutcome[]> {
    const outcomes: RevertOutcome[] = [];
    try {
      const who = await this.who();
      const first = await this.host.request(RevertChanges, {
        run_id: runId,
        ...(changeId ? { change_id: changeId } : {}),
        ...who,
      });
      for (const outcome of first.results) {
        if (outcome.status !== 'conflict') {
          outcomes.push(outcome);
          continue;
        }
        this.changed(); // the others are reverted already: the sidebar shows it meanwhile
        const choice = await this.editors.revertConflict(runId, outcome);
        if (choice === 'keep') {
          outcomes.push(outcome);
          continue;
        }
        const forced = await this.host.request(RevertChanges, {
          run_id: runId,
          change_id: outcome.change_id,
          force: true,
          ...who,
        });
        outcomes.push(...forced.results);
      }
    } finally {
      this.changed();
    }
    const failed = outcomes.filter(
      (o) => o.status === 'refused' || o.status === 'already_reverted',
    );
    if (failed.length) throw new Error(failed.map((o) => o.message).join(' '));
    if (changeId && !outcomes.length) throw new Error('Nothing to revert.');
    return outcomes;
  }

  manageTrust(): Promise<void> {
    return this.editors.manageTrust();
  }

  reviewWorkspaceConfig(): Promise<void> {
    return this.editors.reviewWorkspaceConfig();
  }

  private async resume(runId: string, resume: ResumeMap) {
    try {
      await this.host.request(Resume, { run_id: runId, resume });
    } finally {
      this.changed(); // a refusal changed nothing, but the list may be stale (another window)
    }
  }
}
