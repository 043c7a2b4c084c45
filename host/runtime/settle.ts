// The settle step: every unfinished call of the turn is judged by policy and either denied,
// stopped at an approval gate or a question, or run; calls that need no decision still run, and
// the run pauses once all have settled and some wait for the developer (SPEC §2).
import { z } from 'zod';
import type {
  ApprovalEvent,
  CommandPreview,
  FilePreview,
  InteractionEvent,
  RunEvent,
  RunStatus,
  Usage,
} from '../protocol/events.js';
import { ModelError } from '../model/model.js';
import { approvalId } from './ids.js';
import { callChangeId, changeEvent, recordChange, type FileChange } from './changes.js';
import { hiddenChars, hiddenWarning } from './input-masks.js';
import { coverPatterns, judgeCommand, type CommandVerdict } from './command-policy.js';
import { judge, type StandingRule, type Verdict } from './policy.js';
import { emptyTally } from './redact.js';
import type { RunContext } from './run-context.js';
import type { CallState } from './run-state.js';
import { pauseStatus, status } from './run-status.js';
import { end, errorText, PolicyError, type Next } from './step.js';
import { SuspendSignal, withSuspendScope } from './suspend.js';
import {
  NestedPause,
  resultText,
  StaleBaseError,
  ToolError,
  type CommandTarget,
  type Tool,
} from './tool.js';
import { bump } from './usage.js';

/**
 * Settles the turn's calls in order; each settled call's result joins the step. Ends the drive
 * when calls wait for the developer, when a direct tool run has its result, or when a direct
 * run's call is denied; otherwise hands the results to the model's next turn.
 */
export async function* settleStep(run: RunContext): AsyncGenerator<RunEvent, Next> {
  for (const call of run.state.calls) {
    if (call.done) continue;
    const denied = yield* settle(run, call);
    if (denied) return end(denied);
    const done = settled(call);
    if (done) {
      run.persistence.stage([
        {
          type: 'tool_result',
          run_id: run.runId,
          call_id: call.call_id,
          tool: call.tool,
          ok: done.ok,
          output: run.cfg.redactor.text(done.output),
        },
      ]);
    }
  }
  if (run.state.calls.some((c) => !c.done)) return end(pauseStatus([...run.pendingRows.values()]));
  if (run.cfg.kind === 'tool') {
    const only = run.state.calls[0]!.done!;
    run.state.output = only.output;
    return end(
      only.ok
        ? status('success', 'completed', 'The tool ran.')
        : status('error', 'tool_error', only.output),
    );
  }
  for (const call of run.state.calls) {
    run.state.messages.push({
      role: 'tool',
      tool_call_id: call.call_id,
      content: call.done!.output,
    });
  }
  run.state.calls = [];
  return { step: 'turn' };
}

/** Settles one call; returns the status that ends a direct tool run its denial stops. */
async function* settle(
  run: RunContext,
  call: CallState,
): AsyncGenerator<RunEvent, RunStatus | undefined> {
  const tool = run.cfg.tools.get(call.tool);
  if (!tool) {
    call.done = {
      ok: false,
      output: `Unknown tool "${call.tool}". Available tools: ${[...run.cfg.tools.keys()].join(', ')}.`,
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
  if (tool.once && call.started) {
    // The handler started in a drive that never finished: the host died while the command ran.
    // It is not run again unasked; the developer decides (issue 15).
    if (call.decision?.approved) input = call.decision.input;
    delete call.started;
    delete call.decision;
    delete call.gate;
    call.regates = (call.regates ?? 0) + 1;
    call.interrupted = true;
    // What it left running is stopped first: "run again" must not run it twice at once.
    const stopped = (await tool.stopLeftovers?.({ runId: run.runId, callId: call.call_id })) ?? 0;
    const left = stopped
      ? ` ${stopped === 1 ? 'One process it started was' : `${stopped} processes it started were`} still running and ${stopped === 1 ? 'was' : 'were'} stopped.`
      : '';
    run.persistence.stage([
      {
        type: 'warning',
        run_id: run.runId,
        code: 'interrupted_command',
        message: `Airlock stopped while ${tool.name} ran; it may have run partly.${left} It runs again only if you approve it again.`,
      },
    ]);
    await gate(run, call, tool, input, false);
    return;
  }
  if (call.decision) {
    if (!call.decision.approved) {
      const reason = call.decision.reason ? `: ${call.decision.reason}` : '.';
      if (call.interrupted) {
        call.done = {
          ok: false,
          output: `The developer chose not to run this ${tool.name} call again${reason} It was cut off when Airlock stopped and may have run partly: check its effects before relying on them.`,
        };
        return;
      }
      if (run.cfg.kind === 'tool') {
        call.done = { ok: false, output: `Denied${reason}` };
        return status('cancelled', 'approval_denied', `The developer denied ${tool.name}${reason}`);
      }
      call.done = { ok: false, output: `The developer denied this ${tool.name} call${reason}` };
      return;
    }
    input = call.decision.input;
    approval = { approvalId: call.decision.approval_id, baseSha256: call.decision.base_sha256 };
  } else {
    let verdict: Verdict & { command?: CommandVerdict };
    try {
      verdict = await policyAction(run, tool, input);
    } catch (err) {
      if (!(err instanceof ToolError)) throw err;
      call.done = { ok: false, output: `Error: ${err.message}` };
      return;
    }
    if (verdict.action === 'deny') {
      const output = denialText(tool.name, verdict.standing, !!call.asked, verdict.command);
      if (call.asked) {
        run.pendingRows.delete(call.gate?.approval_id ?? '');
        delete call.gate;
        run.persistence.stage([
          { type: 'warning', run_id: run.runId, code: 'denied_while_waiting', message: output },
        ]);
      }
      if (run.cfg.kind === 'tool') {
        call.done = { ok: false, output };
        return status('cancelled', 'approval_denied', output);
      }
      call.done = { ok: false, output };
      return;
    }
    // A gate that was shown runs only after a decision for it, whatever the policy says now.
    if (verdict.action === 'ask' || call.asked) {
      await gate(run, call, tool, input, false, verdict.protected);
      return;
    }
  }
  yield* runHandler(run, call, tool, input, approval);
}

/**
 * The policy's verdict; without a matching rule, the tool's own `requiresApproval`. A shell
 * command is judged per sub-command, and only asks or denies unless every part is allowed.
 */
async function policyAction(
  run: RunContext,
  tool: Tool,
  input: unknown,
): Promise<Verdict & { command?: CommandVerdict }> {
  if (tool.command) {
    const target = tool.command(input);
    const command = await judgeCommand(policyInputs(run), target.line, target.root, target.cwd);
    return {
      action: command.protected && command.action === 'allow' ? 'ask' : command.action,
      protected: command.protected,
      standing: command.standing,
      command,
    };
  }
  const verdict = judge(
    policyInputs(run),
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

function policyInputs(run: RunContext) {
  // Keyed like addRule: a run without a workspace shares the store's '' bucket.
  const standing = run.cfg.store
    .rules(run.cfg.workspace ?? '')
    .filter((r) => r.run_id === null || r.run_id === run.runId);
  return { layers: run.cfg.policy, standing, protectedPaths: run.cfg.protectedPaths };
}

/** Whether a listing or search by `tool` may show this path (SPEC §9: reads honour rules). */
function visibleTo(run: RunContext, tool: string): (rel: string) => boolean {
  const inputs = policyInputs(run);
  return (rel) =>
    judge(inputs, tool, rel, false).action !== 'deny' &&
    judge(inputs, 'read_file', rel, false).action !== 'deny';
}

/** Emits the approval gate for a call (again, when stale or expired). */
async function gate(
  run: RunContext,
  call: CallState,
  tool: Tool,
  input: unknown,
  stale: boolean,
  isProtected = call.gate?.protected ?? false,
): Promise<void> {
  let preview: FilePreview | null = null;
  let command: CommandPreview | undefined;
  try {
    preview = (await tool.preview?.(input)) ?? null;
    if (tool.command) command = await commandPreview(run, call, tool.command(input));
  } catch (err) {
    call.done = { ok: false, output: `Error: ${errorText(err)}` };
    return;
  }
  const path = run.cfg.kind === 'agent' ? `${run.cfg.agent}.${tool.name}` : tool.name;
  const id = approvalId(
    run.runId,
    call.call_id,
    path,
    input,
    preview?.base_sha256 ?? null,
    call.regates,
  );
  if (call.gate?.approval_id === id && run.pendingRows.has(id)) return; // still waiting
  let prompt: string;
  try {
    const p = tool.approvalPrompt;
    prompt = typeof p === 'function' ? await p(input) : (p ?? `Allow ${tool.name}?`);
  } catch (err) {
    throw new PolicyError(`The approval prompt of ${tool.name} failed: ${errorText(err)}`);
  }
  const timeout = tool.approvalTimeoutMs ?? run.cfg.approvalTimeoutMs;
  const expires = timeout ? new Date(Date.now() + timeout).toISOString() : null;
  call.gate = {
    approval_id: id,
    expires_at: expires,
    base_sha256: preview?.base_sha256 ?? null,
    ...(isProtected ? { protected: true } : {}),
    ...(command ? { always: command.always } : {}),
  };
  call.asked = true;
  // What redaction did, counted once over what the card shows (SPEC §2): the input by its own
  // masks, the rest by the patterns.
  const tally = emptyTally();
  const event: ApprovalEvent = run.cfg.redactor.strings(
    {
      type: 'approval',
      run_id: run.runId,
      approval_id: id,
      call_id: call.call_id,
      tool: tool.name,
      path,
      prompt,
      input: null,
      preview: preview ? { ...preview, ...(stale ? { stale: true } : {}) } : null,
      ...(command ? { command } : {}),
      expires_at: expires,
      ...(isProtected ? { protected: true } : {}),
    },
    tally,
  );
  event.input = run.masks.input(tool, input, tally);
  if (tally.masked || tally.too_long) {
    event.redaction = { masked: tally.masked, too_long: tally.too_long };
  }
  // Counted, never changed: the displays mark them, the proposal stays exact (SPEC §9).
  const hidden = hiddenChars(event.input, event.preview);
  if (hidden) event.hidden_chars = hidden;
  bump(run.state.usage, 'approvals:required');
  run.addPending(id, event);
  run.persistence.stage([
    ...(hidden ? [hiddenWarning(run.runId, event.preview?.path ?? path, hidden)] : []),
    event,
  ]);
}

/** A shell command's card: the line, where it runs, each sub-command's verdict, the always-rules. */
async function commandPreview(
  run: RunContext,
  call: CallState,
  target: CommandTarget,
): Promise<CommandPreview> {
  const verdict = await judgeCommand(policyInputs(run), target.line, target.root, target.cwd);
  const offered = !verdict.protected && verdict.action !== 'deny';
  // A rule is stored and listed as written: none is offered for a line holding a secret.
  const clean = (patterns: string[] | null) =>
    patterns?.every((p) => run.cfg.redactor.text(p) === p) ? patterns : null;
  return {
    command: target.line,
    cwd: target.cwdRel,
    subcommands: verdict.subcommands,
    notes: verdict.notes,
    always: {
      command: offered ? clean(await coverPatterns(target.line, 'command')) : null,
      program: offered ? clean(await coverPatterns(target.line, 'program')) : null,
    },
    ...(call.interrupted ? { interrupted: true } : {}),
  };
}

function isDeny(note: string): boolean {
  return note.includes('(default deny list)');
}

async function* runHandler(
  run: RunContext,
  call: CallState,
  tool: Tool,
  input: unknown,
  approval: { approvalId: string; baseSha256: string | null } | null,
): AsyncGenerator<RunEvent, void> {
  // What the run did so far is committed before the handler's effect, so a crash during it
  // resumes from here and no completed handler runs again (SPEC §2). A handler whose effect is
  // not idempotent is marked started in that same commit (see `settle`).
  if (tool.once) call.started = true;
  yield* run.persistence.step();
  // On the disk, not only in the journal, before an effect that must not run twice: after a
  // power cut too, the run knows the command may have run (one fdatasync per command).
  if (tool.once) await run.cfg.store.flush();
  const live: RunEvent[] = [];
  const changes: FileChange[] = [];
  let wake = null as (() => void) | null;
  const ctx = {
    runId: run.runId,
    callId: call.call_id,
    approval,
    signal: run.req.signal ?? new AbortController().signal,
    forwarded: call.forward ?? {},
    reportUsage: (childRunId: string, usage: Usage) => {
      run.state.child_usage[childRunId] = usage;
    },
    visible: visibleTo(run, tool.name),
    output: (text: string) => {
      live.push({
        type: 'tool_output',
        run_id: run.runId,
        call_id: call.call_id,
        tool: tool.name,
        text,
      });
      wake?.();
    },
    changed: (change: FileChange) => changes.push(change),
  };
  try {
    let finished = false;
    const handled = (async () =>
      withSuspendScope(run.runId, call.call_id, call.answers, () =>
        tool.handler(input, ctx),
      ))().finally(() => {
      finished = true;
      wake?.();
    });
    handled.catch(() => {}); // awaited below, after the live output
    // The handler's live output is shown as it comes (not stored: its result holds the tail).
    for (;;) {
      while (live.length) yield live.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
    const value = await handled;
    delete call.started;
    delete call.forward;
    delete call.nested;
    call.done = { ok: true, output: resultText(value) };
    // Undo data joins the result's commit: a change with a result can always be reverted.
    for (const change of changes) {
      const id = callChangeId(run.runId, call.call_id, change.path);
      const { row, ops } = recordChange(run.runId, call.call_id, change, {
        change_id: id,
        reverts: null,
        by: null,
      });
      run.persistence.stage([changeEvent(row, change.before, change.after, run.cfg.redactor)], ops);
    }
  } catch (err) {
    if (err instanceof NestedPause) {
      nestedPause(run, call, tool, err);
      return;
    }
    // A nested agent's model call failed: this run ends `model_error` too, the call unsettled,
    // so a retry re-runs the handler, which resumes the nested run (SPEC §2).
    if (err instanceof ModelError) throw err;
    if (err instanceof SuspendSignal) {
      const id = err.interaction.interactionId;
      if (call.waiting?.interaction_id === id && run.pendingRows.has(id)) return;
      call.waiting = { interaction_id: id, schema: err.interaction.schema };
      const event: InteractionEvent = run.cfg.redactor.strings({
        type: 'interaction',
        run_id: run.runId,
        interaction_id: id,
        call_id: call.call_id,
        tool: tool.name,
        prompt: err.interaction.prompt,
        questions: err.interaction.questions,
        schema: err.interaction.schema,
      });
      bump(run.state.usage, 'suspends:required');
      run.addPending(id, event);
      run.persistence.stage([event]);
      return;
    }
    delete call.started;
    if (err instanceof StaleBaseError) {
      // The file changed under the approved diff: ask again on the fresh content.
      delete call.decision;
      delete call.gate;
      call.regates = (call.regates ?? 0) + 1;
      run.persistence.stage([
        { type: 'warning', run_id: run.runId, code: 'stale_diff', message: err.message },
      ]);
      await gate(run, call, tool, input, true);
      return;
    }
    call.done = { ok: false, output: `Error: ${errorText(err)}` };
  }
}

/** A nested run paused: this run waits on the same ids and shows their events as its own. */
function nestedPause(run: RunContext, call: CallState, tool: Tool, pause: NestedPause): void {
  delete call.forward;
  for (const id of call.nested?.ids ?? []) {
    if (!pause.pendingIds.includes(id)) run.pendingRows.delete(id);
  }
  call.nested = { run_id: pause.childRunId, ids: pause.pendingIds };
  const fresh: RunEvent[] = [];
  for (const inner of pause.events) {
    const id = inner.type === 'approval' ? inner.approval_id : inner.interaction_id;
    if (run.pendingRows.has(id) || !pause.pendingIds.includes(id)) continue;
    const event =
      inner.type === 'approval'
        ? { ...inner, run_id: run.runId, path: `${run.cfg.agent}.${tool.name}.${inner.path}` }
        : { ...inner, run_id: run.runId };
    run.addPending(id, event);
    fresh.push(event);
  }
  if (fresh.length) run.persistence.stage(fresh);
}

/** Read through a function: TypeScript's narrowing does not see the mutation in `settle`. */
function settled(call: CallState): CallState['done'] {
  return call.done;
}

/**
 * What the model reads for a call the policy denied: a standing "always deny" passes on the
 * reviewer's reason (SPEC §4), a configured rule says the tool is not allowed here.
 */
function denialText(
  tool: string,
  rule: StandingRule | undefined,
  asked: boolean,
  command?: CommandVerdict,
): string {
  if (command) {
    const denied = [
      ...command.subcommands
        .filter((c) => c.action === 'deny')
        .map((c) => `\`${c.text}\` (${c.rule})`),
      ...command.notes.filter(isDeny),
    ];
    const when = asked ? ' while it waited for the developer' : '';
    return `Denied${when}: ${denied.join('; ')}. Nothing ran.`;
  }
  const by = rule ? 'a standing rule' : 'policy';
  const when = asked ? ' while it waited for the developer' : '';
  const why = rule?.reason?.trim() ? rule.reason.trim() : `${tool} is not allowed here`;
  const which = rule ? ` (standing rule ${rule.rule_id})` : '';
  return `Denied by ${by}${when}: ${why.replace(/[.\s]+$/, '')}${which}.`;
}
