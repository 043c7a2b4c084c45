// `airlock`: run the workspace agent headless, list and decide pending gates, inspect runs.
// Each process runs one command, so what only some commands need (the agent and its tools, the
// model client, the terminal prompts) loads where that command needs it, not at start-up.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Model } from '../model/model.js';
import { OutputEvent, type ResumeMap, type RunEvent } from '../protocol/events.js';
import { asRead, interruptedOutput, retryable } from '../runtime/run-status.js';
import { ResumeRefusedError } from '../runtime/resume-plan.js';
import { parseRunState, startedOnOf } from '../runtime/run-state.js';
import { defaultDbPath, localDbFile, retentionOf } from '../settings.js';
import { shownLocation } from '../store/location.js';
import {
  DeferError,
  deferDecisions,
  readyDecisions,
  registerWaiter,
  waiterOf,
} from '../runtime/deferred.js';
import type { PendingRow, Store } from '../store/store.js';
import { loadConfig, trustWorkspaceFile, type LoadedConfig } from '../workspace-config.js';
import { parseCommand, USAGE, UsageError, type Command, type Common } from './args.js';
import { many, one, printEvent, type Out } from './transcript.js';
import { shownText } from '../shown-text.js';

export const EXIT = { success: 0, error: 1, usage: 2, paused: 3, cancelled: 4 } as const;

export function exitCodeOf(output: OutputEvent): number {
  const { code, reason } = output.status;
  if (code === 'success') return EXIT.success;
  if (reason === 'approval_required' || reason === 'input_required') return EXIT.paused;
  if (reason === 'approval_policy_error' || code === 'error') return EXIT.error;
  return EXIT.cancelled;
}

interface Io {
  stdout: Out;
  stderr: (text: string) => void;
  interactive: boolean;
}

function workspaceOf(opts: Common, fallback?: string | null): string {
  const dir = path.resolve(opts.workspace ?? fallback ?? process.cwd());
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UsageError(`The workspace ${dir} is not a directory; pass --workspace DIR.`);
  }
  return dir;
}

/**
 * The developer's settings (the user config file, or `--config FILE` outside the workspace) with
 * the workspace's airlock.config.json applied as far as its trust allows (SPEC §9).
 */
function configOf(workspace: string, configFlag: string | undefined): LoadedConfig {
  try {
    return loadConfig({ workspace, ...(configFlag !== undefined ? { configFlag } : {}) });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** `airlock trust [FILE]`: shows what the file loosens and its hash, and records the trust. */
function trust(command: Extract<Command, { cmd: 'trust' }>, io: Io): number {
  const workspace = workspaceOf(command);
  let trusted: ReturnType<typeof trustWorkspaceFile>;
  try {
    trusted = trustWorkspaceFile({
      workspace,
      ...(command.file !== undefined ? { configFlag: command.file } : {}),
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { file, loosening } = trusted;
  io.stdout.write(`${file.file}\nsha256 ${file.sha256}\n`);
  if (loosening.length) {
    io.stdout.write('What it asks beyond your own settings, which now applies:\n');
    for (const line of loosening) io.stdout.write(`  ${line}\n`);
  } else {
    io.stdout.write('It loosens nothing of your own settings.\n');
  }
  io.stdout.write('Trusted. Any change to the file revokes this trust.\n');
  return EXIT.success;
}

async function openStore(opts: Common, workspace: string, io: Io): Promise<Store> {
  const { openStore: open } = await import('../store/open-store.js');
  const store = await open(opts.db ?? defaultDbPath(workspace));
  for (const w of store.warnings) io.stderr(`airlock: ${w}\n`);
  return store;
}

/**
 * Drops finished runs beyond the limits given (flags) or configured (retention setting), if any,
 * then always rewrites the database files so that nothing dropped (finished runs' raw state,
 * deleted runs) remains in them: the snapshot, FILE.prev and the journal (docs/store.md).
 */
async function compact(command: Extract<Command, { cmd: 'compact' }>, io: Io): Promise<number> {
  const workspace = workspaceOf(command);
  const configured = retentionOf(configOf(workspace, command.config).settings);
  const retention = {
    ...configured,
    ...(command.keepRuns !== undefined ? { keepRuns: command.keepRuns } : {}),
    ...(command.keepDays !== undefined ? { keepDays: command.keepDays } : {}),
  };
  const limited = retention.keepRuns !== undefined || retention.keepDays !== undefined;
  const store = await openStore(command, workspace, io);
  try {
    if (limited) {
      const dropped = store.compact(retention);
      io.stdout.write(
        `Dropped ${dropped} finished ${dropped === 1 ? 'run' : 'runs'} and their undo data; paused and running runs are always kept. A kept run's changes can still be reverted.\n`,
      );
    } else {
      io.stdout.write(
        'No retention limits (--keep-runs, --keep-days): every run is kept, and the undo data of its changes with it.\n',
      );
    }
    store.scrub();
    io.stdout.write(
      "Rewrote the database files: finished runs' conversations and dropped runs are gone from disk.\n",
    );
    return EXIT.success;
  } finally {
    store.close();
  }
}

async function main(argv: string[], io: Io): Promise<number> {
  const command = parseCommand(argv);
  if (command.cmd === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.success;
  }
  switch (command.cmd) {
    case 'run':
    case 'resume':
      return drive(command, io);
    case 'pending':
      return listPending(command, io);
    case 'runs':
      return listRuns(command, io);
    case 'show':
      return showRun(command, io);
    case 'compact':
      return compact(command, io);
    case 'trust':
      return trust(command, io);
    case 'rules':
      return rules(command, io);
    case 'revert':
      return revertRun(command, io);
    case 'wait':
      return waitRun(command, io);
  }
}

/**
 * `airlock revert RUN_ID`: reverts every change of the run that stands (or `--change ID`), or
 * lists them (`--list`). A file changed since is left alone unless `--force`.
 */
async function revertRun(command: Extract<Command, { cmd: 'revert' }>, io: Io): Promise<number> {
  let workspace = workspaceOf(command);
  const store = await openStore(command, workspace, io);
  try {
    const run = store.getRun(command.runId);
    if (!run) {
      throw new UsageError(`No run ${command.runId}; list them with \`airlock runs\`.`);
    }
    workspace = workspaceOf(command, run.row.workspace);
    const [{ listChanges, revert, UnknownChangeError }, { registryBuffers }, { Workspace }] =
      await Promise.all([
        import('../tools/revert.js'),
        import('../tools/open-buffers.js'),
        import('../tools/workspace.js'),
      ]);
    if (command.list) {
      // The same list, in the same shape, as the host's airlock/changes.
      const changes = listChanges(store, command.runId);
      if (command.json) {
        io.stdout.write(`${JSON.stringify({ changes })}\n`);
        return EXIT.success;
      }
      if (!changes.length) io.stdout.write('This run changed no file.\n');
      for (const c of changes) {
        const what = c.reverts ? `revert of ${c.reverts}` : c.kind;
        const state = c.reverted_by ? `reverted by ${c.reverted_by}` : 'applied';
        io.stdout.write(
          `${c.change_id}  ${what.padEnd(6)}  ${shownText(c.path)}  ${state}  ${c.at}\n`,
        );
      }
      return EXIT.success;
    }
    const { settings } = configOf(workspace, command.config);
    const { sharedRedactor } = await import('../runtime/redact.js');
    const redactor = sharedRedactor({
      keys: settings.redactKeys,
      patterns: settings.redactPatterns,
    });
    const dbFile = localDbFile(workspace, command.db ?? defaultDbPath(workspace));
    // No editor here: a file some VS Code window holds with unsaved changes is not written.
    const buffers = registryBuffers(dbFile, fs.realpathSync(workspace));
    let outcomes;
    try {
      outcomes = await revert(
        {
          store,
          workspace: new Workspace(workspace, buffers),
          redactor,
          by: `${(await approverOf(workspace)) ?? os.userInfo().username} via the CLI`,
        },
        command.runId,
        { ...(command.change ? { changeId: command.change } : {}), force: command.force },
      );
    } catch (err) {
      if (err instanceof UnknownChangeError) throw new UsageError(err.message);
      throw err;
    }
    if (command.json) {
      io.stdout.write(`${JSON.stringify({ results: outcomes })}\n`);
    } else {
      if (!outcomes.length) io.stdout.write('Nothing to revert: no change of this run stands.\n');
      for (const o of outcomes) {
        io.stdout.write(
          `${o.status.padEnd(16)} ${shownText(o.path)}  ${shownText(o.message, 400)}\n`,
        );
        if (o.status === 'conflict') {
          const { createTwoFilesPatch } = await import('diff');
          const since = createTwoFilesPatch(
            `applied/${o.path}`,
            `now/${o.path}`,
            o.applied ?? '',
            o.now ?? '',
          );
          io.stdout.write(`  Changed since it was applied:\n${many(since)}\n`);
          io.stdout.write(
            `  To restore the content from before anyway: airlock revert ${command.runId} --change ${o.change_id} --force\n`,
          );
        }
      }
    }
    if (outcomes.some((o) => o.status === 'conflict' || o.status === 'refused')) return EXIT.error;
    if (outcomes.some((o) => o.status === 'already_reverted')) return EXIT.cancelled;
    return EXIT.success;
  } finally {
    store.close();
  }
}

/** Lists the workspace's standing always-allow / always-deny rules, or revokes one. */
async function rules(command: Extract<Command, { cmd: 'rules' }>, io: Io): Promise<number> {
  const workspace = workspaceOf(command);
  const store = await openStore(command, workspace, io);
  try {
    const active = store.rules(workspace);
    if (command.revoke !== undefined) {
      const rule = active.find((r) => r.rule_id === command.revoke);
      if (!rule) {
        throw new UsageError(
          `No active standing rule ${shownText(command.revoke)} in ${workspace}; list them with \`airlock rules\`.`,
        );
      }
      await store.ready();
      store.commit([
        { op: 'revokeRule', rule_id: rule.rule_id, at: new Date().toISOString(), by: null },
      ]);
      io.stdout.write(
        command.json ? `${JSON.stringify({ revoked: rule })}\n` : `Revoked ${rule.rule_id}.\n`,
      );
      return EXIT.success;
    }
    if (command.json) {
      io.stdout.write(`${JSON.stringify({ rules: active })}\n`);
      return EXIT.success;
    }
    if (!active.length) io.stdout.write('No standing rules: every gate asks.\n');
    for (const r of active) {
      const covered = r.commands ?? r.paths;
      const what = covered ? covered.map((p) => shownText(p)).join(', ') : '(every call)';
      const scope = r.run_id ? `run ${r.run_id}` : 'workspace';
      const who = r.created_by ? ` by ${shownText(r.created_by)}` : '';
      const why = r.reason ? `: ${shownText(r.reason, 200)}` : '';
      io.stdout.write(
        `${r.rule_id}  ${r.action.padEnd(5)} ${shownText(r.tool)} ${what}  [${scope}]  ${r.created_at}${who}${why}\n`,
      );
    }
    return EXIT.success;
  } finally {
    store.close();
  }
}

/** Runs or resumes, printing events; with a terminal, asks for decisions inline and continues. */
async function drive(
  command: Extract<Command, { cmd: 'run' | 'resume' }>,
  io: Io,
): Promise<number> {
  let workspace = workspaceOf(command);
  const store = await openStore(command, workspace, io);
  let runId: string | undefined;
  let resume: ResumeMap | undefined;
  let modelName = command.model;
  if (command.cmd === 'resume') {
    const existing = store.getRun(command.runId);
    if (!existing)
      throw new UsageError(
        `No run ${command.runId} in ${shownLocation(command.db ?? defaultDbPath(workspace))}; check the id with \`airlock runs\`.`,
      );
    // Team mode: while `airlock wait` continues this run elsewhere, the decision is its to apply.
    const waiter = waiterOf(store, command.runId);
    if (waiter) return deferToWaiter(store, waiter, command, workspace, io);
    // Its tools work in its own machine's folder, never in one of the same path here.
    const on = startedOnOf(existing.state);
    if (!(await import('../tools/workspace.js')).startedHere(on)) {
      throw new UsageError(
        `Run ${command.runId} runs on ${on}: continue it there (\`airlock resume\`, or \`airlock wait ${command.runId}\` there, which then takes decisions made here).`,
      );
    }
    workspace = workspaceOf(command, existing.row.workspace);
    modelName ??= parseRunState(existing.state, command.runId).labels.model;
    runId = command.runId;
    resume = keyCancel(await namedDecisions(command, workspace), store, runId);
  }
  const config = configOf(workspace, command.config);
  for (const line of config.status.ignored) io.stderr(`airlock: warning: ${line}\n`);
  const { workspacePolicy } = config;
  // `--timeout` is the developer's own choice for this command: it beats every config file.
  const settings =
    command.timeout === undefined
      ? config.settings
      : { ...config.settings, requestTimeout: command.timeout };
  const retention = retentionOf(settings);
  if (retention.keepRuns !== undefined || retention.keepDays !== undefined)
    store.compact(retention);
  let resolved: { model: Model; close(): Promise<void> } | undefined;
  const model = async () => {
    const { resolveModel } = await import('../model/resolve.js');
    resolved ??= await resolveModel({
      model: modelName ?? settings.model,
      baseURL: command.baseURL ?? settings.baseURL,
      onNotice: (message) => io.stderr(`airlock: ${one(message)}\n`),
    });
    return resolved.model;
  };
  const [{ workspaceAgent }, { registryBuffers }] = await Promise.all([
    import('../workspace-agent.js'),
    import('../tools/open-buffers.js'),
  ]);
  // No editor here: a file some VS Code window holds with unsaved changes is not written (SPEC §7).
  const buffers = registryBuffers(
    localDbFile(workspace, command.db ?? defaultDbPath(workspace)),
    fs.realpathSync(workspace),
  );
  const agent = workspaceAgent({ workspace, store, settings, workspacePolicy, model, buffers });
  const rl =
    io.interactive && !command.json
      ? (await import('node:readline/promises')).createInterface({
          input: process.stdin,
          output: process.stdout,
        })
      : null;
  try {
    let output: OutputEvent;
    let prompt: string | undefined = command.cmd === 'run' ? command.prompt : undefined;
    let approver: string | undefined;
    // Who starts a run (git's user.name, the OS user), for the two-person rule when it is on.
    const startedBy =
      command.cmd === 'run' && settings.twoPersonRule ? await approverOf(workspace) : undefined;
    const shown = new Set<string>();
    const label = modelName || settings.model || process.env.AIRLOCK_MODEL || '';
    for (;;) {
      const printed = { midLine: false };
      output = await agent
        .run({
          ...(prompt ? { prompt } : {}),
          ...(runId ? { runId } : {}),
          ...(resume ? { resume } : {}),
          labels: {
            ...(label ? { model: label } : {}),
            ...(startedBy ? { started_by: startedBy } : {}),
          },
        })
        .collect((event: RunEvent) => {
          if (command.json) io.stdout.write(`${JSON.stringify(event)}\n`);
          else printEvent(io.stdout, event, printed);
          if (event.type === 'approval') shown.add(event.approval_id);
          if (event.type === 'interaction') shown.add(event.interaction_id);
        });
      runId = output.run_id;
      prompt = undefined;
      if (!rl || exitCodeOf(output) !== EXIT.paused) break;
      const state = parseRunState(store.getRun(runId)?.state, runId);
      const proposal = (callId: string) => {
        const args = state.calls.find((c) => c.call_id === callId)?.args;
        return args && typeof args === 'object' ? (args as Record<string, unknown>) : undefined;
      };
      const { decideInline } = await import('./decide.js');
      resume = await decideInline(rl, io.stdout, store.pending(runId), proposal, shown);
      if (!Object.keys(resume).length) break;
      // Decided at this terminal: named like `--approver`'s default (git user.name, OS user).
      approver ??= (await approverOf(workspace)) ?? '';
      resume = withApprover(resume, approver);
    }
    const db = dbFlag(command);
    if (output.status.reason === 'model_error' && !command.json) {
      io.stdout.write(
        `Nothing is lost: the run kept its progress. Fix the cause above, then repeat the failed model call with:\n  airlock resume ${output.run_id}${db}\n`,
      );
    }
    if (exitCodeOf(output) === EXIT.paused && !command.json) {
      io.stdout.write('Paused. Decide with:\n');
      for (const p of store.pending(output.run_id)) {
        const how =
          p.kind === 'approval'
            ? `--approve ${p.id}   (or --deny ${p.id} --reason "...")`
            : `--answer ${p.id} '<JSON answer>'`;
        io.stdout.write(`  airlock resume ${output.run_id}${db} ${how}\n`);
      }
    }
    return exitCodeOf(output);
  } finally {
    rl?.close();
    await resolved?.close();
    store.close();
  }
}

/** `resume` while another process waits on the run: the decisions are recorded for it. */
async function deferToWaiter(
  store: Store,
  waiter: string,
  command: Extract<Command, { cmd: 'resume' }>,
  workspace: string,
  io: Io,
): Promise<number> {
  try {
    const ids = deferDecisions(
      store,
      command.runId,
      keyCancel(await namedDecisions(command, workspace), store, command.runId),
    );
    const where = one(waiter.split(':').slice(0, 2).join(' pid '));
    if (command.json) {
      io.stdout.write(`${JSON.stringify({ deferred: ids, run_id: command.runId, waiter })}\n`);
    } else {
      io.stdout.write(
        `Decided ${ids.join(', ')}. Run ${command.runId} goes on where \`airlock wait\` waits on it (${where}).\n`,
      );
    }
    return EXIT.success;
  } catch (err) {
    if (!(err instanceof DeferError)) throw err;
    io.stderr(`airlock: ${err.message}\n`);
    return err.kind === 'claimed' ? EXIT.cancelled : EXIT.usage;
  } finally {
    store.close();
  }
}

/**
 * `airlock wait RUN`: waits (told by the store, no polling) until every gate and question of the
 * run has a decision, made by anyone anywhere, continues the run here, and so on until it ends;
 * exits with the run's code, or 3 once `--timeout` passes with decisions still to make.
 */
async function waitRun(command: Extract<Command, { cmd: 'wait' }>, io: Io): Promise<number> {
  const store = await openStore(command, workspaceOf(command), io);
  const deadline = command.timeout === undefined ? Infinity : Date.now() + command.timeout * 1000;
  let wake: () => void = () => undefined;
  const watch = store.watch(() => wake());
  try {
    if (!store.getRun(command.runId)) {
      throw new UsageError(
        `No run ${command.runId} in ${shownLocation(command.db ?? defaultDbPath(workspaceOf(command)))}; check the id with \`airlock runs\`.`,
      );
    }
    registerWaiter(store, command.runId);
    let told = '';
    for (;;) {
      const { row } = store.getRun(command.runId)!;
      const status = store.statusOf(row);
      const output = lastOutput(store, command.runId);
      if (status === 'success' || status === 'error' || status === 'cancelled') {
        if (!command.json) io.stdout.write(`Run ${command.runId} ended: ${row.reason}.\n`);
        return output ? exitCodeOf(output) : EXIT.error;
      }
      if (status === 'interrupted') {
        // Its process died mid-step: continuing it is a developer's call, as anywhere else.
        io.stderr(
          `airlock: run ${command.runId} was interrupted (its process died mid-step); continue it with \`airlock resume ${command.runId}${dbFlag(command)}\`, then wait again.\n`,
        );
        return EXIT.error;
      }
      const decided = status === 'paused' ? readyDecisions(store, command.runId) : undefined;
      if (decided) {
        const ids = Object.keys(decided);
        if (!command.json)
          io.stdout.write(`Decided: ${ids.join(', ')}. Continuing the run here.\n`);
        const code = await drive(
          { ...command, cmd: 'resume', resume: decided, unnamed: [], timeout: undefined },
          io,
        );
        // Applied (or refused: a decision that does not fit the gate is dropped and asked again).
        store.commit([{ op: 'dropDeferred', run_id: command.runId, ids }]);
        if (code === EXIT.usage)
          io.stderr('airlock: those decisions were refused; waiting for new ones.\n');
        continue;
      }
      const waiting = store.pending(command.runId).map((p) => p.id);
      const line = `Waiting for ${waiting.length === 1 ? 'a decision' : `${waiting.length} decisions`} on run ${command.runId}: ${waiting.join(', ')}`;
      if (line !== told && !command.json) io.stdout.write(`${line}\n`);
      told = line;
      const left = deadline - Date.now();
      if (left <= 0) {
        if (!command.json)
          io.stdout.write('Gave up waiting (--timeout); the run is still paused.\n');
        return EXIT.paused;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 2 ** 31 - 1));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    watch.close();
    store.close();
  }
}

/** The run's last `output` event (what its drive ended on), if it has one. */
function lastOutput(store: Store, runId: string): OutputEvent | undefined {
  const events = store.events(runId);
  for (let i = events.length - 1; i >= 0; i--) {
    const parsed = OutputEvent.safeParse(events[i]!.event);
    if (parsed.success) return parsed.data;
  }
  return undefined;
}

/** A hint must reach the same database: ` --db FILE` when it was given, else nothing. */
function dbFlag(command: Common): string {
  return command.db ? ` --db ${shellQuote(shownLocation(command.db))}` : '';
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `--approver` defaults like the editor's `airlock.approverName`: `git config user.name` in the
 * run's workspace, else the OS user (asked only when some decision names nobody).
 */
async function namedDecisions(
  command: Extract<Command, { cmd: 'resume' }>,
  workspace: string,
): Promise<ResumeMap> {
  if (!command.unnamed.length) return command.resume;
  const approver = await approverOf(workspace);
  if (!approver) return command.resume;
  const map: ResumeMap = { ...command.resume };
  for (const id of command.unnamed) {
    map[id] = { ...(map[id] as Record<string, unknown>), approver_id: approver };
  }
  return map;
}

/** The default approver (git's user.name, the OS user): asked only when a decision names nobody. */
async function approverOf(workspace: string): Promise<string | undefined> {
  const { resolveApprover } = await import('../approver.js');
  return resolveApprover({ workspace });
}

/** Names the approvals and denials in `map` that name nobody (answers carry no approver). */
function withApprover(map: ResumeMap, approver: string): ResumeMap {
  if (!approver) return map;
  const named: ResumeMap = {};
  for (const [id, value] of Object.entries(map)) {
    const decision =
      typeof value === 'object' && value !== null && !Array.isArray(value) && 'approved' in value;
    named[id] = decision && !('approver_id' in value) ? { ...value, approver_id: approver } : value;
  }
  return named;
}

/** `--cancel REASON` applies to the whole run: key it to any pending id, as the runtime expects. */
function keyCancel(map: ResumeMap, store: Store, runId: string): ResumeMap {
  if (!('__cancel__' in map)) return map;
  const { __cancel__: cancel, ...rest } = map;
  const first = store.pending(runId)[0];
  if (!first) throw new UsageError(`Run ${runId} has nothing pending to cancel.`);
  return { ...rest, [first.id]: cancel };
}

async function listPending(command: Extract<Command, { cmd: 'pending' }>, io: Io): Promise<number> {
  const store = await openStore(command, workspaceOf(command), io);
  try {
    // The pending table and the runs stored as running or failed (by the status index), as the
    // host's session reads them: never every run.
    const rows = store.pending();
    const interrupted = store.interruptedRuns();
    const failed = store.retryableRuns();
    if (command.json) {
      io.stdout.write(
        `${JSON.stringify({
          approvals: rows.filter((r) => r.kind === 'approval').map((r) => r.event),
          interactions: rows.filter((r) => r.kind === 'interaction').map((r) => r.event),
          interrupted,
          model_error: failed.map((r) => r.run_id),
        })}\n`,
      );
    } else {
      if (!rows.length && !interrupted.length && !failed.length && !command.watch)
        io.stdout.write('Nothing is waiting for a decision.\n');
      const db = dbFlag(command);
      for (const r of rows) io.stdout.write(pendingLine(r));
      for (const runId of interrupted) {
        io.stdout.write(`${runId}  interrupted  (continue with: airlock resume ${runId}${db})\n`);
      }
      for (const r of failed) {
        io.stdout.write(
          `${r.run_id}  model_error  ${shownText(r.message, 400)}  (retry with: airlock resume ${r.run_id}${db})\n`,
        );
      }
    }
    if (command.watch) await watchPending(store, rows, command.json, io);
    return EXIT.success;
  } finally {
    store.close();
  }
}

function pendingLine(r: PendingRow): string {
  const e = r.event as { prompt?: string; tool?: string };
  return `${r.run_id}  ${r.id}  ${r.kind}  ${one(e.tool ?? '')}  ${shownText(e.prompt ?? '', 400)}\n`;
}

/**
 * `pending --watch`: after the list, each gate or question as it comes (the same line, or with
 * --json `{"type":"pending",…}`) and as it goes (`… decided`, `{"type":"resolved",…}`), told by
 * the store (its folder watched, or PostgreSQL's notifications) rather than by polling. Ends on
 * Ctrl+C or SIGTERM.
 */
async function watchPending(
  store: Store,
  shown: PendingRow[],
  json: boolean,
  io: Io,
): Promise<void> {
  const known = new Map(shown.map((r) => [r.id, r]));
  let timer: NodeJS.Timeout | undefined;
  const refresh = () => {
    const now = new Map(store.pending().map((r) => [r.id, r]));
    for (const [id, r] of now) {
      if (known.has(id)) continue;
      io.stdout.write(
        json
          ? `${JSON.stringify({ type: 'pending', kind: r.kind, run_id: r.run_id, id, event: r.event })}\n`
          : pendingLine(r),
      );
    }
    for (const [id, r] of known) {
      if (now.has(id)) continue;
      io.stdout.write(
        json
          ? `${JSON.stringify({ type: 'resolved', run_id: r.run_id, id })}\n`
          : `${r.run_id}  ${id}  decided\n`,
      );
    }
    known.clear();
    for (const [id, r] of now) known.set(id, r);
  };
  const watch = store.watch(() => {
    // One read for a burst (a commit touches several files; a drive commits a few times).
    clearTimeout(timer);
    timer = setTimeout(() => {
      try {
        refresh();
      } catch (err) {
        io.stderr(`airlock: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }, 50);
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearTimeout(timer);
  watch.close();
}

async function listRuns(command: Common, io: Io): Promise<number> {
  const store = await openStore(command, workspaceOf(command), io);
  try {
    const runs = store.listRuns().map((r) => ({ ...asRead(r, r.status), pending: r.pending }));
    if (command.json) {
      io.stdout.write(`${JSON.stringify(runs)}\n`);
      return EXIT.success;
    }
    if (!runs.length) io.stdout.write('No runs yet. Start one with `airlock run "PROMPT"`.\n');
    const db = dbFlag(command);
    for (const r of runs) {
      const waiting = r.pending ? `  ${r.pending} pending` : '';
      const next =
        r.status === 'interrupted'
          ? `  (continue with: airlock resume ${r.run_id}${db})`
          : retryable(r)
            ? `  (retry with: airlock resume ${r.run_id}${db})`
            : '';
      io.stdout.write(
        `${r.run_id}  ${r.status.padEnd(11)} ${r.reason.padEnd(24)} ${r.updated_at}${waiting}  ${shownText(r.prompt ?? '', 60)}${next}\n`,
      );
    }
    return EXIT.success;
  } finally {
    store.close();
  }
}

async function showRun(command: Extract<Command, { cmd: 'show' }>, io: Io): Promise<number> {
  const store = await openStore(command, workspaceOf(command), io);
  try {
    const run = store.getRun(command.runId);
    if (!run) throw new UsageError(`No run ${command.runId}; list them with \`airlock runs\`.`);
    const row = asRead(run.row, store.statusOf(run.row));
    const events = store.events(command.runId).map((e) => e.event);
    const pending = store.pending(command.runId);
    // The run's output event: the one it wrote last, or for a run whose process died (it never
    // wrote one) the `interrupted` one it would have.
    const output =
      row.status === 'interrupted'
        ? interruptedOutput(
            command.runId,
            parseRunState(run.state, command.runId),
            pending.map((p) => p.id),
          )
        : (([...events].reverse().find((e) => e.type === 'output') as OutputEvent | undefined) ??
          null);
    const trace = {
      run: row,
      segments: store.segments(command.runId),
      events,
      output,
      decisions: store.decisions(command.runId),
      claims: store.claims(command.runId),
      pending: pending.map((p) => p.event),
    };
    if (command.json) {
      io.stdout.write(`${JSON.stringify(trace)}\n`);
      return EXIT.success;
    }
    const r = trace.run;
    io.stdout.write(
      `${r.run_id}  ${r.status} (${r.reason})  ${one(r.message)}\n  created ${r.created_at}  updated ${r.updated_at}  segments ${trace.segments.length}\n`,
    );
    const printed = { midLine: false };
    for (const e of trace.events) printEvent(io.stdout, e as RunEvent, printed);
    if (r.status === 'interrupted' && output) printEvent(io.stdout, output, printed);
    for (const d of trace.decisions)
      io.stdout.write(
        `decision ${d.id} at ${d.decided_at}: ${one(JSON.stringify(d.resolution) ?? '')}\n`,
      );
    return EXIT.success;
  } finally {
    store.close();
  }
}

/**
 * A run row as readers see it: one whose process died reads `interrupted` in its status and its
 * reason alike (SPEC §2), with a message that says how to continue it.
 */
export async function cli(argv: string[]): Promise<number> {
  const io: Io = {
    stdout: {
      write: (t) => void process.stdout.write(t),
      color: !!process.stdout.isTTY && !process.env.NO_COLOR,
    },
    stderr: (t) => void process.stderr.write(t),
    interactive: !!process.stdin.isTTY && !!process.stdout.isTTY,
  };
  try {
    return await main(argv, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ResumeRefusedError) {
      io.stderr(`airlock: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`airlock: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.error;
  }
}

/** The command line's command, run by dist/cli.js (launch.ts). */
export function runCommandLine(): void {
  void cli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
