// The run loop shared by agents and direct tool calls: model turns, gates, suspends, decisions,
// claims and durable checkpoints. Every non-delta event is committed to the store before it is
// yielded, so an event anyone saw is never lost.
import { z } from 'zod';
import type {
  ApprovalEvent,
  FilePreview,
  InteractionEvent,
  OutputEvent,
  ResumeMap,
  RunEvent,
  RunStatus,
  StatusReason,
  Usage,
} from '../protocol/events.js';
import type { ChatMessage, Model, ModelLimits, ModelTurn } from '../model/model.js';
import {
  argumentsTooLarge,
  DEFAULT_MODEL_LIMITS,
  ModelError,
  settingHint,
  tooManyToolCalls,
} from '../model/model.js';
import type { CommitResult, PendingRow, RunState, Store, StoreOp } from '../store/store.js';
import { selfOwner } from '../store/file-lock.js';
import { StateBaseline } from '../store/state-delta.js';
import { approvalId, newSegmentId, sha256 } from './ids.js';
import { coverPaths, judge, type Policy, type StandingRule, type Verdict } from './policy.js';
import { hiddenChars, hiddenWarning, InputMasks } from './input-masks.js';
import { emptyTally, StreamRedactor, type Redactor } from './redact.js';
import { planResume, ResumeRefusedError } from './resume-plan.js';
import { parseRunState, type CallState, type RunStateDoc } from './run-state.js';
import { SuspendSignal, withSuspendScope } from './suspend.js';
import { NestedPause, resultText, StaleBaseError, type Tool } from './tool.js';
import { addUsage, bump, emptyUsage } from './usage.js';

export interface EngineConfig {
  agent: string;
  kind: 'agent' | 'tool';
  tools: ReadonlyMap<string, Tool>;
  store: Store;
  redactor: Redactor;
  /** Configured layers (the developer's, the workspace's): the strictest match wins. */
  policy: readonly Policy[];
  /** Globs of paths that always ask before a change (defaults included). */
  protectedPaths: readonly string[];
  workspace: string | null;
  approvalTimeoutMs: number | null;
  maxTurns: number;
  /** Bounds on each model reply (SPEC §9); unset ones are DEFAULT_MODEL_LIMITS. */
  limits?: Partial<ModelLimits>;
  /** Resolved lazily: a resumed run that only settles gates never needs the model. */
  model: (() => Promise<Model>) | null;
}

export interface RunRequest {
  runId: string;
  /** Set when a parent run's tool drives this run. */
  nestedIn?: string;
  prompt: string | null;
  resume: ResumeMap | null;
  /** A fresh run's state; ignored when the run exists. */
  initial: () => Omit<RunStateDoc, 'segment_id'>;
  signal?: AbortSignal;
}

class PolicyError extends Error {}

/** Ends the run: thrown inside the loop, turned into the output event. */
class Finish extends Error {
  constructor(readonly status: RunStatus) {
    super(status.message);
  }
}

interface Opening {
  ops: StoreOp[];
  events: RunEvent[];
  /** Set when the resume map cancels the run: its reason. */
  cancel: string | null;
}

const ALREADY_CLAIMED = status(
  'cancelled',
  'approval_already_claimed',
  'Another resume already consumed this decision; nothing ran here.',
);

function status(code: RunStatus['code'], reason: StatusReason, message: string): RunStatus {
  return { code, reason, message };
}

export async function* execute(cfg: EngineConfig, req: RunRequest): AsyncGenerator<RunEvent, void> {
  const run = new RunDriver(cfg, req);
  yield* run.drive();
}

class RunDriver {
  private state!: RunStateDoc;
  private createdAt = new Date().toISOString();
  private parentSegment: string | null = null;
  private readonly segmentId = newSegmentId();
  private readonly runId: string;
  private fresh = false;
  /** The run row's version as this process last wrote or read it (optimistic concurrency). */
  private version = 0;
  /**
   * The state and pending rows as stored at `version`: a commit writes only what changed since
   * (the journal grows with the work, not the state's size per commit). Null: a new run, whose
   * first commit writes its whole state.
   */
  private committed: { state: StateBaseline; pending: Map<string, PendingRow> } | null = null;
  /** What `committed` becomes when the commit being built succeeds. */
  private staged: typeof this.committed = null;
  private pendingRows = new Map<string, PendingRow>();
  /** The gates open when the run was loaded, by approval id (to mask the resume map). */
  private readonly openGates = new Map<string, CallState>();
  private readonly masks: InputMasks;

  constructor(
    private readonly cfg: EngineConfig,
    private readonly req: RunRequest,
  ) {
    this.runId = req.runId;
    this.masks = new InputMasks(cfg.redactor, cfg.tools);
  }

  async *drive(): AsyncGenerator<RunEvent, void> {
    const opening = this.open();
    if (opening === 'claimed') {
      yield this.output(ALREADY_CLAIMED);
      return;
    }
    try {
      const segment: StoreOp = {
        op: 'addSegment',
        row: {
          segment_id: this.segmentId,
          run_id: this.runId,
          parent_segment_id: this.parentSegment,
          kind: this.fresh ? 'start' : 'resume',
          resume: this.req.resume ? this.masks.resume(this.req.resume, this.openGates) : null,
          started_at: new Date().toISOString(),
        },
      };
      // One atomic commit takes the claims, records the decisions and the new segment: if any
      // claim is taken or the run moved on in another process, nothing here is written.
      await this.cfg.store.ready();
      const first = this.tryCommit([
        segment,
        ...opening.ops,
        ...this.runOps('running', 'running', 'The run is in progress.'),
        this.eventsOp([this.startEvent(), ...opening.events]),
      ]);
      if (!first.ok) {
        yield this.output(ALREADY_CLAIMED);
        return;
      }
      yield this.startEvent();
      yield* opening.events;
      if (opening.cancel) throw new Finish(status('cancelled', 'cancelled', opening.cancel));
      yield* this.loop();
    } catch (err) {
      const finish = this.asFinish(err);
      yield* this.finish(finish.status);
    }
  }

  /**
   * Loads or creates the run and turns the resume map into store operations, validating every
   * value before anything is written (an invalid one throws ResumeRefusedError).
   */
  private open(): Opening | 'claimed' {
    const nothing: Opening = { ops: [], events: [], cancel: null };
    const existing = this.cfg.store.getRun(this.runId);
    if (!existing) {
      if (this.req.resume && Object.keys(this.req.resume).length) {
        throw new ResumeRefusedError(`There is no run ${this.runId} to resume in this database.`);
      }
      this.fresh = true;
      this.state = { ...this.req.initial(), segment_id: this.segmentId };
      return nothing;
    }
    const { row, state } = existing;
    this.createdAt = row.created_at;
    this.version = row.version;
    this.state = parseRunState(state, this.runId);
    this.parentSegment = this.state.segment_id;
    this.state.segment_id = this.segmentId;
    for (const p of this.cfg.store.pending(this.runId)) this.pendingRows.set(p.id, p);
    // Compared with the state as stored, not as parsed: whatever parsing changed is written too.
    this.committed = { state: StateBaseline.of(state), pending: new Map(this.pendingRows) };
    for (const call of this.state.calls) {
      if (call.gate) this.openGates.set(call.gate.approval_id, call);
    }
    const claimed = new Set(this.cfg.store.claims(this.runId).map((c) => c.id));
    const resumeIds = Object.keys(this.req.resume ?? {});
    const visible = this.cfg.store.statusOf(row);
    const retry = retryable(row);
    if (visible === 'success' || visible === 'error' || visible === 'cancelled') {
      if (resumeIds.some((id) => claimed.has(id))) return 'claimed';
      if (!retry) {
        throw new ResumeRefusedError(
          `Run ${this.runId} already ended (${row.status}: ${row.reason}); there is nothing to resume.`,
        );
      }
      if (this.state.kind === 'agent' && !this.state.messages.length) {
        // Ended by an Airlock that dropped a failed run's conversation: nothing to repeat.
        throw new ResumeRefusedError(
          `Run ${this.runId} failed on a model call, but its conversation was not kept (an older Airlock); start it again.`,
        );
      }
    }
    if (visible === 'running' && row.owner !== selfOwner) {
      if (resumeIds.some((id) => claimed.has(id))) return 'claimed';
      throw new ResumeRefusedError(
        `Run ${this.runId} is being driven by process ${row.owner}; wait until it pauses.`,
      );
    }
    if (this.state.nested_in && this.state.nested_in !== this.req.nestedIn) {
      throw new ResumeRefusedError(
        `Run ${this.runId} runs inside run ${this.state.nested_in}; resume that run instead.`,
      );
    }
    if (!this.req.resume) return nothing;
    const plan = planResume(
      this.runId,
      this.state.calls,
      this.req.resume,
      this.cfg.tools,
      claimed,
      new Date(),
    );
    if (plan.alreadyClaimed.length) return 'claimed';
    this.validateForwards(plan.forwards);
    return this.applyPlan(plan);
  }

  /** Values for nested runs are checked by those runs' own rules before anything is written. */
  private validateForwards(forwards: ReturnType<typeof planResume>['forwards']): void {
    const byCall = new Map<CallState, ResumeMap>();
    for (const f of forwards) byCall.set(f.call, { ...byCall.get(f.call), [f.id]: f.value });
    for (const [call, values] of byCall) {
      const hook = this.cfg.tools.get(call.tool)?.nested;
      if (!hook || !call.nested)
        throw new ResumeRefusedError(`No nested run takes ${Object.keys(values).join(', ')}.`);
      hook.validate(call.nested.run_id, values);
    }
  }

  private applyPlan(plan: ReturnType<typeof planResume>): Opening {
    const events: RunEvent[] = plan.unknown.map((id) => ({
      type: 'warning',
      run_id: this.runId,
      code: 'unknown_id',
      message: `Ignored ${id}: it matches no pending approval or question of this run.`,
    }));
    if (plan.cancel) {
      if (plan.cancel.kind === 'approval') bump(this.state.usage, 'approvals:cancelled');
      for (const call of this.state.calls) {
        if (!call.done) call.done = { ok: false, output: 'Cancelled by the developer.' };
      }
      this.pendingRows.clear();
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
      bump(this.state.usage, d.approved ? 'approvals:approved' : 'approvals:denied');
      if (d.scope !== 'once') {
        const rule = this.standingRule(d, now);
        ops.push({ op: 'addRule', rule });
        events.push({
          type: 'warning',
          run_id: this.runId,
          code: 'rule_added',
          message: describeRule(rule),
        });
      }
      ops.push({
        op: 'decide',
        run_id: this.runId,
        id: d.id,
        resolution: this.masks.resolution(d.call, d.record),
        at: now,
      });
      this.pendingRows.delete(d.id);
      ids.push(d.id);
    }
    for (const a of plan.answers) {
      a.call.answers[a.id] = a.value;
      delete a.call.waiting;
      ops.push({
        op: 'decide',
        run_id: this.runId,
        id: a.id,
        resolution: this.cfg.redactor.value({ answer: a.value }),
        at: now,
      });
      this.pendingRows.delete(a.id);
      ids.push(a.id);
    }
    for (const f of plan.forwards) {
      // Claimed here too, so a second resume of this run finds it taken; the nested run records
      // the decision itself when the handler hands it down.
      f.call.forward = { ...f.call.forward, [f.id]: f.value };
      this.pendingRows.delete(f.id);
      ids.push(f.id);
    }
    if (ids.length) ops.push({ op: 'claim', run_id: this.runId, ids, owner: selfOwner, at: now });
    for (const e of plan.expired) {
      bump(this.state.usage, 'approvals:expired');
      delete e.call.gate; // the loop emits it again with a new time limit
      this.pendingRows.delete(e.id);
      events.push({
        type: 'warning',
        run_id: this.runId,
        code: 'approval_expired',
        message: `The decision on ${e.id} arrived after it expired; it was ignored and the approval is asked again.`,
      });
    }
    return { ops, events, cancel: null };
  }

  /** The standing rule an "always allow / deny" decision makes, as narrow as chosen. */
  private standingRule(d: ReturnType<typeof planResume>['decisions'][number], now: string) {
    const tool = this.cfg.tools.get(d.call.tool);
    const path = tool?.policyPath?.(d.input);
    const paths = coverPaths(d.cover, path);
    const rule: StandingRule = {
      // Derived from the decision, so a replayed commit cannot add the rule twice.
      rule_id: `rule_${sha256(`${this.runId}\n${d.id}`).slice(0, 20)}`,
      workspace: this.cfg.workspace ?? '',
      run_id: d.scope === 'run' ? this.runId : null,
      tool: d.call.tool,
      ...(paths ? { paths } : {}),
      action: d.approved ? 'allow' : 'deny',
      cover: paths ? d.cover : 'tool',
      created_by: d.approver ?? null,
      created_at: now,
      approval_id: d.id,
      // Stored like every readable column: redacted (SPEC §2).
      ...(d.reason ? { reason: this.cfg.redactor.text(d.reason) } : {}),
    };
    return rule;
  }

  private async *loop(): AsyncGenerator<RunEvent, void> {
    for (;;) {
      if (this.req.signal?.aborted) {
        throw new Finish(status('cancelled', 'cancelled', 'The run was stopped.'));
      }
      if (this.state.calls.length) {
        yield* this.settleCalls();
        const waiting = this.state.calls.filter((c) => !c.done);
        if (waiting.length) throw this.pause();
        if (this.cfg.kind === 'tool') {
          const only = this.state.calls[0]!.done!;
          this.state.output = only.output;
          if (!only.ok) throw new Finish(status('error', 'tool_error', only.output));
          throw new Finish(status('success', 'completed', 'The tool ran.'));
        }
        for (const call of this.state.calls) {
          this.state.messages.push({
            role: 'tool',
            tool_call_id: call.call_id,
            content: call.done!.output,
          });
        }
        this.state.calls = [];
        yield* this.commit([], 'running', 'running', 'The run is in progress.');
      } else if (answered(this.state.messages)) {
        // The model's answer was stored but the process died before the run ended: finish
        // with it rather than ask the model again.
        throw new Finish(status('success', 'completed', 'The agent finished.'));
      }
      yield* this.modelTurn();
      if (!this.state.calls.length) {
        throw new Finish(status('success', 'completed', 'The agent finished.'));
      }
    }
  }

  private async *modelTurn(): AsyncGenerator<RunEvent, void> {
    if (this.state.turns >= this.cfg.maxTurns) {
      throw new Finish(
        status(
          'error',
          'max_turns',
          `The agent used all ${this.cfg.maxTurns} turns; raise ${settingHint('maxTurns')} to let it go further.`,
        ),
      );
    }
    const turn = yield* this.callModel();
    const limits = { ...DEFAULT_MODEL_LIMITS, ...this.cfg.limits };
    // Past a limit nothing of the turn is kept or run (the model client enforces these too).
    if (turn.toolCalls.length > limits.maxToolCalls) {
      throw tooManyToolCalls(turn.toolCalls.length, limits.maxToolCalls);
    }
    const refused = turn.toolCalls.map((c) => {
      const bytes = c.tooLarge ?? Buffer.byteLength(c.arguments);
      return bytes > limits.maxArgumentBytes
        ? argumentsTooLarge(c.name, bytes, limits.maxArgumentBytes)
        : null;
    });
    const toolCalls = turn.toolCalls.map((c, i) => (refused[i] ? { ...c, arguments: '{}' } : c));
    // Everything that can fail is done before the state changes: a turn that fails leaves the
    // run as it was before the model call, so a retry repeats exactly that call (SPEC §2).
    const args = toolCalls.map((c) =>
      c.arguments.trim() ? (JSON.parse(c.arguments) as unknown) : {},
    );
    this.state.turns++;
    bump(this.state.usage, 'prompt_tokens', turn.usage.prompt_tokens);
    bump(this.state.usage, 'completion_tokens', turn.usage.completion_tokens);
    // The provider's own fields (`reasoning_content`, Gemini's `extra_content`, …) go back
    // verbatim on the next request (SPEC §3); Airlock's fields win over a clash.
    this.state.messages.push({
      ...turn.extra,
      role: 'assistant',
      content: turn.text || null,
      ...(toolCalls.length
        ? {
            tool_calls: toolCalls.map((c) => ({
              ...c.extra,
              id: c.id,
              type: 'function',
              function: { name: c.name, arguments: c.arguments },
            })),
          }
        : {}),
    });
    // The answer only: the reasoning is shown collapsed, never passed on as the run's output.
    if (turn.text) this.state.output = turn.text;
    this.state.calls = toolCalls.map((c, i) => ({
      call_id: c.id,
      tool: c.name,
      args: args[i],
      answers: {},
      ...(refused[i] ? { done: { ok: false, output: refused[i] } } : {}),
    }));
    const events: RunEvent[] = [];
    // The whole turn's text is kept as one delta so a replayed trace reads like the live one;
    // its reasoning likewise, as one thinking delta before it.
    if (turn.reasoning) {
      events.push({
        type: 'delta',
        run_id: this.runId,
        text: this.cfg.redactor.text(turn.reasoning),
        thinking: true,
      });
    }
    if (turn.text)
      events.push({ type: 'delta', run_id: this.runId, text: this.cfg.redactor.text(turn.text) });
    for (const call of this.state.calls) {
      const tool = this.cfg.tools.get(call.tool);
      events.push({
        type: 'tool_call',
        run_id: this.runId,
        call_id: call.call_id,
        tool: call.tool,
        input: this.masks.callInput(tool, call.args),
      });
    }
    for (const call of this.state.calls) {
      if (!call.done) continue; // refused above: its result is known already
      events.push({
        type: 'tool_result',
        run_id: this.runId,
        call_id: call.call_id,
        tool: call.tool,
        ok: false,
        output: this.cfg.redactor.text(call.done.output),
      });
    }
    yield* this.commit(events, 'running', 'running', 'The run is in progress.', [], false);
  }

  /**
   * One model call, its text and reasoning streamed as redacted deltas (each through its own
   * StreamRedactor, so a secret split across chunks is masked in either). Whatever fails in the
   * call is a ModelError: the run ends `model_error` and stays resumable.
   */
  private async *callModel(): AsyncGenerator<RunEvent, ModelTurn> {
    if (!this.cfg.model) throw new Error('This run has no model.');
    const tools = [...this.cfg.tools.values()].map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.jsonSchema,
    }));
    const answer = new StreamRedactor(this.cfg.redactor);
    const thinking = new StreamRedactor(this.cfg.redactor);
    let reasoning = '';
    let last: 'delta' | 'reasoning' | null = null;
    const delta = (text: string, isThinking: boolean): RunEvent => ({
      type: 'delta',
      run_id: this.runId,
      text,
      ...(isThinking ? { thinking: true } : {}),
    });
    try {
      const model = await this.cfg.model();
      // Only the configured limits: the model keeps its own defaults (e.g. its timeoutMs).
      const stream = model.stream(
        {
          messages: this.state.messages as unknown as ChatMessage[],
          tools,
          limits: this.cfg.limits,
        },
        this.req.signal,
      );
      let step = await stream.next();
      while (!step.done) {
        const chunk = step.value;
        const isThinking = chunk.type === 'reasoning';
        // What one stream holds back is released before the other one speaks: order is kept.
        if (last && last !== chunk.type) {
          const held = (isThinking ? answer : thinking).flush();
          if (held) yield delta(held, !isThinking);
        }
        last = chunk.type;
        if (isThinking) reasoning += chunk.text;
        const text = (isThinking ? thinking : answer).push(chunk.text);
        if (text) yield delta(text, isThinking);
        step = await stream.next();
      }
      for (const [redactor, isThinking] of [
        [thinking, true],
        [answer, false],
      ] as const) {
        const tail = redactor.flush();
        if (tail) yield delta(tail, isThinking);
      }
      const turn = step.value;
      return reasoning && !turn.reasoning ? { ...turn, reasoning } : turn;
    } catch (err) {
      if (err instanceof ModelError || err instanceof SyntaxError || this.req.signal?.aborted)
        throw err;
      throw new ModelError(`The model call failed: ${errorText(err)}`, 'connection');
    }
  }

  /** Settles every unfinished call of the turn; calls that need no decision still run. */
  private async *settleCalls(): AsyncGenerator<RunEvent, void> {
    for (const call of this.state.calls) {
      if (call.done) continue;
      yield* this.settle(call);
      const done = settled(call);
      if (done) {
        yield* this.commit(
          [
            {
              type: 'tool_result',
              run_id: this.runId,
              call_id: call.call_id,
              tool: call.tool,
              ok: done.ok,
              output: this.cfg.redactor.text(done.output),
            },
          ],
          'running',
          'running',
          'The run is in progress.',
        );
      }
    }
  }

  private async *settle(call: CallState): AsyncGenerator<RunEvent, void> {
    const tool = this.cfg.tools.get(call.tool);
    if (!tool) {
      call.done = {
        ok: false,
        output: `Unknown tool "${call.tool}". Available tools: ${[...this.cfg.tools.keys()].join(', ')}.`,
      };
      return;
    }
    const parsed = tool.params.safeParse(call.args);
    if (!parsed.success) {
      call.done = {
        ok: false,
        output: `Invalid arguments for ${tool.name}: ${z.prettifyError(parsed.error)}`,
      };
      return;
    }
    let input: unknown = parsed.data;
    let approval: { approvalId: string; baseSha256: string | null } | null = null;
    if (call.decision) {
      if (!call.decision.approved) {
        const reason = call.decision.reason ? `: ${call.decision.reason}` : '.';
        if (this.cfg.kind === 'tool') {
          call.done = { ok: false, output: `Denied${reason}` };
          throw new Finish(
            status('cancelled', 'approval_denied', `The developer denied ${tool.name}${reason}`),
          );
        }
        call.done = { ok: false, output: `The developer denied this ${tool.name} call${reason}` };
        return;
      }
      input = call.decision.input;
      approval = { approvalId: call.decision.approval_id, baseSha256: call.decision.base_sha256 };
    } else {
      const verdict = await this.policyAction(tool, input);
      if (verdict.action === 'deny') {
        const output = denialText(tool.name, verdict.standing, !!call.asked);
        if (call.asked) {
          this.pendingRows.delete(call.gate?.approval_id ?? '');
          delete call.gate;
          yield* this.emit([
            { type: 'warning', run_id: this.runId, code: 'denied_while_waiting', message: output },
          ]);
        }
        if (this.cfg.kind === 'tool') {
          call.done = { ok: false, output };
          throw new Finish(status('cancelled', 'approval_denied', output));
        }
        call.done = { ok: false, output };
        return;
      }
      // A gate that was shown runs only after a decision for it, whatever the policy says now.
      if (verdict.action === 'ask' || call.asked) {
        yield* this.gate(call, tool, input, false, verdict.protected);
        return;
      }
    }
    yield* this.runHandler(call, tool, input, approval);
  }

  /** The policy's verdict; without a matching rule, the tool's own `requiresApproval`. */
  private async policyAction(tool: Tool, input: unknown): Promise<Verdict> {
    const verdict = judge(
      this.policyInputs(),
      tool.name,
      tool.policyPath?.(input),
      !!tool.changesFiles,
    );
    if (verdict.action !== undefined) {
      return verdict.protected && verdict.action === 'allow'
        ? { ...verdict, action: 'ask' }
        : verdict;
    }
    const gate = tool.requiresApproval ?? false;
    let ask: boolean;
    if (typeof gate === 'boolean') ask = gate;
    else {
      try {
        ask = await gate(input);
      } catch (err) {
        throw new PolicyError(`The approval policy of ${tool.name} failed: ${errorText(err)}`);
      }
    }
    return { ...verdict, action: ask || verdict.protected ? 'ask' : 'allow' };
  }

  private policyInputs() {
    // Keyed like addRule: a run without a workspace shares the store's '' bucket.
    const standing = this.cfg.store
      .rules(this.cfg.workspace ?? '')
      .filter((r) => r.run_id === null || r.run_id === this.runId);
    return { layers: this.cfg.policy, standing, protectedPaths: this.cfg.protectedPaths };
  }

  /** Whether a listing or search by `tool` may show this path (SPEC §9: reads honour rules). */
  private visibleTo(tool: string): (rel: string) => boolean {
    const inputs = this.policyInputs();
    return (rel) =>
      judge(inputs, tool, rel, false).action !== 'deny' &&
      judge(inputs, 'read_file', rel, false).action !== 'deny';
  }

  /** Emits the approval gate for a call (again, when stale or expired). */
  private async *gate(
    call: CallState,
    tool: Tool,
    input: unknown,
    stale: boolean,
    isProtected = call.gate?.protected ?? false,
  ): AsyncGenerator<RunEvent, void> {
    let preview: FilePreview | null = null;
    try {
      preview = (await tool.preview?.(input)) ?? null;
    } catch (err) {
      call.done = { ok: false, output: `Error: ${errorText(err)}` };
      return;
    }
    const path = this.cfg.kind === 'agent' ? `${this.cfg.agent}.${tool.name}` : tool.name;
    const id = approvalId(
      this.runId,
      call.call_id,
      path,
      input,
      preview?.base_sha256 ?? null,
      call.regates,
    );
    if (call.gate?.approval_id === id && this.pendingRows.has(id)) return; // still waiting
    let prompt: string;
    try {
      const p = tool.approvalPrompt;
      prompt = typeof p === 'function' ? await p(input) : (p ?? `Allow ${tool.name}?`);
    } catch (err) {
      throw new PolicyError(`The approval prompt of ${tool.name} failed: ${errorText(err)}`);
    }
    const timeout = tool.approvalTimeoutMs ?? this.cfg.approvalTimeoutMs;
    const expires = timeout ? new Date(Date.now() + timeout).toISOString() : null;
    call.gate = {
      approval_id: id,
      expires_at: expires,
      base_sha256: preview?.base_sha256 ?? null,
      ...(isProtected ? { protected: true } : {}),
    };
    call.asked = true;
    // What redaction did, counted once over what the card shows (SPEC §2): the input by its own
    // masks, the rest by the patterns.
    const tally = emptyTally();
    const event: ApprovalEvent = this.cfg.redactor.strings(
      {
        type: 'approval',
        run_id: this.runId,
        approval_id: id,
        call_id: call.call_id,
        tool: tool.name,
        path,
        prompt,
        input: null,
        preview: preview ? { ...preview, ...(stale ? { stale: true } : {}) } : null,
        expires_at: expires,
        ...(isProtected ? { protected: true } : {}),
      },
      tally,
    );
    event.input = this.masks.input(tool, input, tally);
    if (tally.masked || tally.too_long) {
      event.redaction = { masked: tally.masked, too_long: tally.too_long };
    }
    // Counted, never changed: the displays mark them, the proposal stays exact (SPEC §9).
    const hidden = hiddenChars(event.input, event.preview);
    if (hidden) event.hidden_chars = hidden;
    bump(this.state.usage, 'approvals:required');
    this.addPending(id, event);
    yield* this.emit([
      ...(hidden ? [hiddenWarning(this.runId, event.preview?.path ?? path, hidden)] : []),
      event,
    ]);
  }

  private async *runHandler(
    call: CallState,
    tool: Tool,
    input: unknown,
    approval: { approvalId: string; baseSha256: string | null } | null,
  ): AsyncGenerator<RunEvent, void> {
    const ctx = {
      runId: this.runId,
      callId: call.call_id,
      approval,
      signal: this.req.signal ?? new AbortController().signal,
      forwarded: call.forward ?? {},
      reportUsage: (childRunId: string, usage: Usage) => {
        this.state.child_usage[childRunId] = usage;
      },
      visible: this.visibleTo(tool.name),
    };
    try {
      const value = await withSuspendScope(this.runId, call.call_id, call.answers, () =>
        tool.handler(input, ctx),
      );
      delete call.forward;
      delete call.nested;
      call.done = { ok: true, output: resultText(value) };
    } catch (err) {
      if (err instanceof NestedPause) {
        yield* this.nestedPause(call, tool, err);
        return;
      }
      // A nested agent's model call failed: this run ends `model_error` too, the call unsettled,
      // so a retry re-runs the handler, which resumes the nested run (SPEC §2).
      if (err instanceof ModelError) throw err;
      if (err instanceof SuspendSignal) {
        const id = err.interaction.interactionId;
        if (call.waiting?.interaction_id === id && this.pendingRows.has(id)) return;
        call.waiting = { interaction_id: id, schema: err.interaction.schema };
        const event: InteractionEvent = this.cfg.redactor.strings({
          type: 'interaction',
          run_id: this.runId,
          interaction_id: id,
          call_id: call.call_id,
          tool: tool.name,
          prompt: err.interaction.prompt,
          questions: err.interaction.questions,
          schema: err.interaction.schema,
        });
        bump(this.state.usage, 'suspends:required');
        this.addPending(id, event);
        yield* this.emit([event]);
        return;
      }
      if (err instanceof StaleBaseError) {
        // The file changed under the approved diff: ask again on the fresh content.
        delete call.decision;
        delete call.gate;
        call.regates = (call.regates ?? 0) + 1;
        yield* this.emit([
          { type: 'warning', run_id: this.runId, code: 'stale_diff', message: err.message },
        ]);
        yield* this.gate(call, tool, input, true);
        return;
      }
      call.done = { ok: false, output: `Error: ${errorText(err)}` };
    }
  }

  /** A nested run paused: this run waits on the same ids and shows their events as its own. */
  private async *nestedPause(
    call: CallState,
    tool: Tool,
    pause: NestedPause,
  ): AsyncGenerator<RunEvent, void> {
    delete call.forward;
    for (const id of call.nested?.ids ?? []) {
      if (!pause.pendingIds.includes(id)) this.pendingRows.delete(id);
    }
    call.nested = { run_id: pause.childRunId, ids: pause.pendingIds };
    const fresh: RunEvent[] = [];
    for (const inner of pause.events) {
      const id = inner.type === 'approval' ? inner.approval_id : inner.interaction_id;
      if (this.pendingRows.has(id) || !pause.pendingIds.includes(id)) continue;
      const event =
        inner.type === 'approval'
          ? { ...inner, run_id: this.runId, path: `${this.cfg.agent}.${tool.name}.${inner.path}` }
          : { ...inner, run_id: this.runId };
      this.addPending(id, event);
      fresh.push(event);
    }
    if (fresh.length) yield* this.emit(fresh);
  }

  /** A gate or question this run now waits on (written with the next commit). */
  private addPending(id: string, event: ApprovalEvent | InteractionEvent): void {
    const kind = event.type;
    this.pendingRows.set(id, {
      id,
      run_id: this.runId,
      kind,
      event,
      created_at: new Date().toISOString(),
    });
  }

  private pause(): Finish {
    const ids = [...this.pendingRows.values()];
    const approvals = ids.filter((p) => p.kind === 'approval').length;
    const reason: StatusReason = approvals ? 'approval_required' : 'input_required';
    const message =
      [
        approvals ? plural(approvals, 'approval', 'approvals') : '',
        ids.length - approvals ? plural(ids.length - approvals, 'question', 'questions') : '',
      ]
        .filter(Boolean)
        .join(' and ') + ' waiting for the developer.';
    return new Finish(status('cancelled', reason, message));
  }

  private asFinish(err: unknown): Finish {
    if (err instanceof Finish) return err;
    if (this.req.signal?.aborted) {
      const why = this.req.signal.reason as unknown;
      return new Finish(
        status('cancelled', 'cancelled', typeof why === 'string' ? why : 'The run was stopped.'),
      );
    }
    if (err instanceof ResumeRefusedError) throw err;
    if (err instanceof PolicyError)
      return new Finish(status('cancelled', 'approval_policy_error', err.message));
    if (err instanceof ModelError) return new Finish(status('error', 'model_error', err.message));
    if (err instanceof SyntaxError) {
      return new Finish(
        status(
          'error',
          'model_error',
          `The model returned unreadable tool-call arguments: ${err.message}`,
        ),
      );
    }
    return new Finish(status('error', 'tool_error', `The run failed: ${errorText(err)}`));
  }

  private output(st: RunStatus): OutputEvent {
    const paused = st.reason === 'approval_required' || st.reason === 'input_required';
    return this.cfg.redactor.strings({
      type: 'output',
      run_id: this.runId,
      status: st,
      output: st.code === 'success' ? this.state.output : null,
      pending: paused ? [...this.pendingRows.keys()] : [],
      usage: [this.state.usage, ...Object.values(this.state.child_usage)].reduce(
        (sum, u) => addUsage(sum, u),
        emptyUsage(),
      ),
    });
  }

  private async *finish(st: RunStatus): AsyncGenerator<RunEvent, void> {
    const paused = st.reason === 'approval_required' || st.reason === 'input_required';
    // A failed model call ends the run `error` but keeps it live (SPEC §2): its raw state and
    // anything still pending stay, so `resume RUN` repeats only that call.
    if (!paused && st.reason !== 'model_error') {
      this.pendingRows.clear();
      // A finished run never continues: its conversation lives on in the (redacted) events, so
      // its raw state is dropped (SPEC §2): the state keeps only its redacted result, and
      // finished runs cost the database little.
      this.state.messages = [];
      this.state.calls = [];
      if (this.state.output !== null) this.state.output = this.cfg.redactor.text(this.state.output);
    }
    yield* this.commit([this.output(st)], paused ? 'paused' : st.code, st.reason, st.message);
  }

  private startEvent(): RunEvent {
    return {
      type: 'start',
      run_id: this.runId,
      segment_id: this.segmentId,
      parent_segment_id: this.parentSegment,
      agent: this.cfg.agent,
      prompt: this.req.prompt === null ? null : this.cfg.redactor.text(this.req.prompt),
    };
  }

  private runOps(
    stored: 'running' | 'paused' | 'success' | 'error' | 'cancelled',
    reason: string,
    message: string,
  ): StoreOp[] {
    const now = new Date().toISOString();
    // Only what changed since the last commit (the store applies it to the stored state).
    const change = this.committed?.state.diff(this.state);
    // A nested run's items are listed under the run that drives it, which is resumed instead.
    const pending = new Map(this.state.nested_in ? [] : this.pendingRows);
    const before = this.committed?.pending ?? new Map<string, PendingRow>();
    const put = [...pending.values()].filter((p) => before.get(p.id) !== p);
    const drop = [...before.keys()].filter((id) => !pending.has(id));
    this.staged = { state: change?.next ?? StateBaseline.of(this.state), pending };
    const ops: StoreOp[] = [
      {
        op: 'putRun',
        row: {
          run_id: this.runId,
          agent: this.cfg.agent,
          workspace: this.cfg.workspace,
          prompt: this.req.prompt === null ? null : this.cfg.redactor.text(this.req.prompt),
          status: stored,
          reason,
          message,
          created_at: this.createdAt,
          updated_at: now,
          owner: stored === 'running' ? selfOwner : null,
          version: this.version + 1,
          nested_in: this.state.nested_in,
        },
        expect_version: this.fresh && this.version === 0 ? null : this.version,
        ...(change ? { delta: change.delta } : { state: this.state }),
      },
    ];
    if (put.length || drop.length) ops.push({ op: 'updatePending', run_id: this.runId, put, drop });
    return ops;
  }

  /** Commits the run's state with these events, then yields them. */
  private async *commit(
    events: RunEvent[],
    stored: 'running' | 'paused' | 'success' | 'error' | 'cancelled',
    reason: string,
    message: string,
    extra: StoreOp[] = [],
    yieldEvents = true,
  ): AsyncGenerator<RunEvent, void> {
    const ops: StoreOp[] = [...extra, ...this.runOps(stored, reason, message)];
    if (events.length) ops.push(this.eventsOp(events));
    // Waits for another process's commit with the event loop free; the commit then takes the
    // lock without waiting (nothing runs between the two).
    await this.cfg.store.ready();
    const result = this.tryCommit(ops);
    if (!result.ok) {
      throw new Error(
        `Run ${this.runId} was changed by another process while this one drove it; stopped here.`,
      );
    }
    // Deltas were already streamed live; their coalesced copy is only for the stored trace.
    for (const e of events) if (yieldEvents || e.type !== 'delta') yield e;
  }

  private tryCommit(ops: StoreOp[]): CommitResult {
    const result = this.cfg.store.commit(ops);
    if (result.ok) {
      this.version++;
      this.committed = this.staged;
    }
    return result;
  }

  private eventsOp(events: RunEvent[]): StoreOp {
    return {
      op: 'appendEvents',
      run_id: this.runId,
      segment_id: this.segmentId,
      events: events as Record<string, unknown>[],
    };
  }

  private async *emit(events: RunEvent[]): AsyncGenerator<RunEvent, void> {
    yield* this.commit(events, 'running', 'running', 'The run is in progress.');
  }
}

/**
 * A run that ended on a failed model call (stored `error`, reason `model_error`): it kept its raw
 * state and resumes without decisions, repeating that call. Interrupted runs resume too (they
 * read `interrupted`, not finished).
 */
export function retryable(row: { status: string; reason: string }): boolean {
  return row.status === 'error' && row.reason === 'model_error';
}

/**
 * The status of a run whose driving process died mid-step (SPEC §2, §6): resumable with no
 * decision, from its last durable step.
 */
export function interruptedStatus(runId: string): RunStatus {
  return status(
    'error',
    'interrupted',
    `The process driving run ${runId} stopped mid-step; nothing durable was lost. Continue it with \`airlock resume ${runId}\` (in VS Code: Airlock: Continue Run).`,
  );
}

/**
 * A run as readers show it: one whose driving process died reads `interrupted` in its reason and
 * message too (the stored row still says what it was doing), in the CLI and over JSON-RPC alike.
 */
export function asRead<R extends { run_id: string; reason: string; message: string }>(
  row: R,
  status: RunState,
): Omit<R, 'status'> & { status: RunState } {
  if (status !== 'interrupted') return { ...row, status };
  const { reason, message } = interruptedStatus(row.run_id);
  return { ...row, status, reason, message };
}

/**
 * The output event an interrupted run never wrote: its status, what it had counted up to its last
 * durable step, and whatever is still pending.
 */
export function interruptedOutput(
  runId: string,
  state: RunStateDoc,
  pending: readonly string[],
): OutputEvent {
  return {
    type: 'output',
    run_id: runId,
    status: interruptedStatus(runId),
    output: null,
    pending: [...pending],
    usage: [state.usage, ...Object.values(state.child_usage)].reduce(
      (sum, u) => addUsage(sum, u),
      emptyUsage(),
    ),
  };
}

/** The conversation ends in the model's final answer: an assistant turn calling no tool. */
function answered(messages: RunStateDoc['messages']): boolean {
  const last = messages.at(-1);
  return last?.role === 'assistant' && !last.tool_calls;
}

/** Read through a function: TypeScript's narrowing does not see the mutation in `settle`. */
function settled(call: CallState): CallState['done'] {
  return call.done;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * What the model reads for a call the policy denied: a standing "always deny" passes on the
 * reviewer's reason (SPEC §4), a configured rule says the tool is not allowed here.
 */
function denialText(tool: string, rule: StandingRule | undefined, asked: boolean): string {
  const by = rule ? 'a standing rule' : 'policy';
  const when = asked ? ' while it waited for the developer' : '';
  const why = rule?.reason?.trim() ? rule.reason.trim() : `${tool} is not allowed here`;
  const which = rule ? ` (standing rule ${rule.rule_id})` : '';
  return `Denied by ${by}${when}: ${why.replace(/[.\s]+$/, '')}${which}.`;
}

/** One line naming a standing rule, for the transcript and the card. */
function describeRule(rule: StandingRule): string {
  const what = rule.paths ? `${rule.tool} on ${rule.paths.join(', ')}` : `every ${rule.tool} call`;
  const scope = rule.run_id ? 'for this run' : 'for this workspace';
  const who = rule.created_by ? ` (by ${rule.created_by})` : '';
  return `Always ${rule.action} ${what} ${scope}${who}: standing rule ${rule.rule_id}; revoke it with \`airlock rules --revoke ${rule.rule_id}\`.`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type { Usage };
