// What the JSON-RPC host does, independent of the connection: drives runs of the workspace
// agent, reads the database for pending items and traces, and computes proposals for the diff
// editor. Runs continue in the background; their events go to `notify.event` as they happen.
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Model } from '../model/model.js';
import { resolveModel, type ResolveModelOptions } from '../model/resolve.js';
import type { ResumeMap, RunEvent } from '../protocol/events.js';
import { ApprovalEvent, InteractionEvent, isCancel } from '../protocol/events.js';
import type {
  ChangeInfo,
  HostOptions,
  Pending,
  Proposal,
  RevertOutcome,
  RunSummary,
  RunTrace,
  WorkspaceConfigStatus,
} from '../protocol/rpc.js';
import { sharedRedactor, type Redactor } from '../runtime/redact.js';
import { ResumeRefusedError } from '../runtime/resume-plan.js';
import { asRead } from '../runtime/engine.js';
import { parseRunState, startedOnOf } from '../runtime/run-state.js';
import type { RunStream } from '../runtime/run-stream.js';
import { defaultDbPath, localDbFile, retentionOf, type Settings } from '../settings.js';
import { openStore } from '../store/open-store.js';
import { cleanApproverName } from '../approver.js';
import { DeferError, deferDecisions, waiterOf } from '../runtime/deferred.js';
import type { Store, StoreWatch } from '../store/store.js';
import { workspaceAgent } from '../workspace-agent.js';
import { loadConfig, trustWorkspaceFile, type LoadedConfig } from '../workspace-config.js';
import { fileTools } from '../tools/files.js';
import { listChanges, revert, UnknownChangeError } from '../tools/revert.js';
import { Workspace, worksIn } from '../tools/workspace.js';
import type { StandingRule } from '../runtime/policy.js';
import { registryBuffers, type OpenBuffers } from '../tools/open-buffers.js';
import { EditorBuffers, type EditorLink } from './editor-buffers.js';
import { StaleGates } from './stale-gates.js';

export class UnknownRunError extends Error {
  override name = 'UnknownRunError';
}

export interface SessionEvents {
  event(event: RunEvent): void;
  /** The database changed; the client re-reads pending items and runs. */
  changed(): void;
  log(message: string): void;
  /** The editor holding the developer's buffers (none: the disk is the truth, SPEC §7). */
  editor?: EditorLink;
}

export type ModelResolver = (
  opts: ResolveModelOptions,
) => Promise<{ model: Model; close(): Promise<void> }>;

export class HostSession {
  /** The developer's settings as the extension sent them (user settings). */
  private settings: Settings;
  private apiKey: string;
  /** VS Code's Restricted Mode: the workspace file only tightens, trusted or not. */
  private restricted: boolean;
  /** Those settings with the workspace's airlock.config.json applied (SPEC §9); see `reload`. */
  private config: LoadedConfig | undefined;
  private loggedIgnored = '';
  /**
   * Models by what they were resolved from (name, baseURL, key): a run keeps the one it started
   * with, and one started after the file changed or was trusted gets its own.
   */
  private readonly models = new Map<string, Promise<{ model: Model; close(): Promise<void> }>>();
  /** Runs this host is driving right now, to stop them on cancel. */
  private readonly active = new Map<
    string,
    { controller: AbortController; ended: Promise<void> }
  >();
  private watcher: StoreWatch | undefined;
  private changedTimer: NodeJS.Timeout | undefined;
  /** The window's open documents with unsaved changes, and files other windows hold. */
  private readonly buffers: OpenBuffers & {
    update?(paths: readonly string[]): void;
    dispose?(): void;
  };
  /** Pending file gates whose file changed since: their fresh diffs (SPEC §7). */
  private readonly staleGates: StaleGates;
  /** The workspace folder, realpath'd. */
  private readonly root: string;

  private constructor(
    private readonly options: HostOptions,
    readonly store: Store,
    private readonly dbFile: string,
    private readonly notify: SessionEvents,
    private readonly resolve: ModelResolver,
  ) {
    this.settings = options.settings;
    this.apiKey = options.apiKey;
    this.restricted = options.restricted;
    const root = fs.realpathSync(options.workspace);
    this.root = root;
    this.buffers = notify.editor
      ? new EditorBuffers(options.workspace, dbFile, notify.editor)
      : registryBuffers(dbFile, root);
    this.staleGates = new StaleGates({
      store,
      root,
      tools: () => fileTools(this.options.workspace, {}, this.buffers),
      redact: (preview) => this.redactor.strings(preview),
      changed: () => this.notify.changed(),
      log: (message) => this.notify.log(message),
    });
  }

  /**
   * The editor's files with unsaved changes now, with their versions (the whole list each time):
   * tools read them there, and pending cards whose buffer changed are checked for staleness.
   */
  dirtyBuffers(buffers: readonly { path: string; version: number }[]): void {
    this.buffers.update?.(buffers.map((b) => b.path));
    this.staleGates.schedule();
  }

  /** `resolve`: how a model is reached (tests hand in their own). */
  static async open(
    options: HostOptions,
    notify: SessionEvents,
    resolve: ModelResolver = resolveModel,
  ): Promise<HostSession> {
    const location = options.db || defaultDbPath(options.workspace);
    const store = await openStore(location, { password: options.dbPassword });
    // Unsaved buffers are this machine's: with a team's server, the windows of this workspace
    // here share the registry beside its local database path.
    const dbFile = localDbFile(options.workspace, location);
    const session = new HostSession(options, store, dbFile, notify, resolve);
    for (const warning of store.warnings) notify.log(warning);
    session.tryReload();
    // A workspace file's retention never applies untrusted (it must not delete your history).
    const retention = retentionOf(session.effective());
    if (retention.keepRuns !== undefined || retention.keepDays !== undefined) {
      await store.ready();
      const dropped = store.compact(retention);
      if (dropped)
        notify.log(`Retention dropped ${dropped} finished ${dropped === 1 ? 'run' : 'runs'}.`);
    }
    session.watch();
    session.staleGates.schedule();
    return session;
  }

  /** Other windows, the CLI and (in team mode) other machines write the same runs: tell the client. */
  private watch(): void {
    try {
      this.watcher = this.store.watch(() => {
        clearTimeout(this.changedTimer);
        this.changedTimer = setTimeout(() => this.notify.changed(), 100);
        this.staleGates.schedule(); // a gate came or went: its file is watched, or no longer
      });
    } catch (err) {
      this.notify.log(`Not watching the database for changes from other windows: ${String(err)}`);
    }
  }

  configure(settings: Settings, apiKey: string, restricted: boolean): void {
    this.settings = settings;
    this.apiKey = apiKey;
    this.restricted = restricted;
    void this.closeModels();
    this.tryReload();
  }

  private closeModels(): Promise<unknown> {
    const old = [...this.models.values()];
    this.models.clear();
    return Promise.all(
      old.map((m) => m.then((resolved) => resolved.close()).catch(() => undefined)),
    );
  }

  /**
   * Reads the workspace's airlock.config.json again over the developer's settings: every run
   * and resume does, so an edit of the file (which revokes its trust) counts at once. Logs what
   * is ignored when that changes. An invalid file is an error: runs refuse until it is fixed.
   */
  private reload(): LoadedConfig {
    try {
      this.config = loadConfig({
        workspace: this.options.workspace,
        user: this.settings,
        restricted: this.restricted,
      });
    } catch (err) {
      this.config = undefined;
      throw err;
    }
    const ignored = this.config.status.ignored.join('\n');
    if (ignored !== this.loggedIgnored && ignored) this.notify.log(ignored);
    this.loggedIgnored = ignored;
    return this.config;
  }

  private tryReload(): void {
    try {
      this.reload();
    } catch (err) {
      this.notify.log(
        `Runs will refuse to start until this is fixed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  /** The settings in force: merged when the workspace file could be read, else the developer's. */
  private effective(): Settings {
    return this.config?.settings ?? this.settings;
  }

  /** Masks what this host shows and logs, with the merged redaction (a workspace can add some). */
  get redactor(): Redactor {
    const { redactKeys, redactPatterns } = this.effective();
    return sharedRedactor({ keys: redactKeys, patterns: redactPatterns });
  }

  /** The workspace file as Airlock applies it now. */
  workspaceConfig(): WorkspaceConfigStatus {
    return this.reload().status;
  }

  /**
   * Trusts the workspace file at exactly `sha256`, the version the developer was shown; refused
   * (nothing recorded) when the file changed since.
   */
  trustWorkspaceConfig(sha256: string): WorkspaceConfigStatus {
    if (this.restricted) {
      throw new Error(
        'This window is in Restricted Mode: trust the folder in VS Code before trusting its airlock.config.json.',
      );
    }
    trustWorkspaceFile({
      workspace: this.options.workspace,
      user: this.settings,
      expectedSha256: sha256,
    });
    return this.reload().status;
  }

  /**
   * The workspace agent with the settings in force. `cancelOnly`: the resume only cancels (no
   * handler, no model), so an unreadable workspace file must not keep the run from ending.
   */
  private agent(cancelOnly = false) {
    let loaded: Pick<LoadedConfig, 'settings' | 'workspacePolicy'>;
    try {
      loaded = this.reload();
    } catch (err) {
      if (!cancelOnly) throw err;
      loaded = { settings: this.settings, workspacePolicy: [] };
    }
    const { settings, workspacePolicy } = loaded;
    const apiKey = this.apiKey;
    const key = JSON.stringify([settings.model, settings.baseURL, apiKey]);
    return workspaceAgent({
      workspace: this.options.workspace,
      store: this.store,
      settings,
      workspacePolicy,
      buffers: this.buffers,
      model: async () => {
        let model = this.models.get(key);
        if (!model) {
          model = this.resolve({
            model: settings.model,
            baseURL: settings.baseURL,
            apiKey,
            // What the client learnt about the endpoint reaches the output channel (redacted).
            onNotice: (message) => this.notify.log(this.redactor.text(message)),
          });
          this.models.set(key, model);
        }
        return (await model).model;
      },
    });
  }

  async startRun(prompt: string, startedBy?: string): Promise<string> {
    const controller = new AbortController();
    const name = cleanApproverName(startedBy);
    const stream = this.agent().run({
      prompt,
      signal: controller.signal,
      ...(name ? { labels: { started_by: name } } : {}),
    });
    return this.drive(stream, controller);
  }

  /** Starts the resume and returns once it was accepted (refusals throw, nothing ran). */
  async resume(runId: string, resume: ResumeMap): Promise<string> {
    const run = this.store.getRun(runId);
    if (!run) throw new UnknownRunError(`There is no run ${runId}.`);
    // Team mode: while `airlock wait` continues this run elsewhere, the decision is recorded for
    // it (the tools run in that run's own workspace, once), and the windows are told.
    if (waiterOf(this.store, runId)) {
      try {
        deferDecisions(this.store, runId, resume);
      } catch (err) {
        if (err instanceof DeferError) throw new ResumeRefusedError(err.message);
        throw err;
      }
      this.notify.changed();
      return runId;
    }
    // A run of another folder (a shared database, a team's server) never goes on in this one:
    // its tools would change these files.
    const startedOn = startedOnOf(run.state);
    if (!worksIn(run.row.workspace, this.root, startedOn)) {
      throw new ResumeRefusedError(
        `Run ${runId} works in ${run.row.workspace}${startedOn ? ` on ${startedOn}` : ''}, not in this folder: continue it there (its window, \`airlock resume ${runId}\`, or \`airlock wait ${runId}\`, which then takes decisions made here).`,
      );
    }
    const controller = new AbortController();
    const cancelOnly = Object.values(resume).every(isCancel) && Object.keys(resume).length > 0;
    const stream = this.agent(cancelOnly).run({ runId, resume, signal: controller.signal });
    return this.drive(stream, controller);
  }

  private async drive(stream: RunStream, controller: AbortController): Promise<string> {
    const events = stream[Symbol.asyncIterator]();
    const first = await events.next(); // a refused resume throws here, before anything ran
    if (first.done) throw new Error('The run produced no events.');
    const runId = first.value.run_id;
    const ended = (async () => {
      try {
        for (let next = await events.next(); !next.done; next = await events.next()) {
          this.notify.event(next.value);
        }
      } catch (err) {
        this.notify.log(
          `Run ${runId} stopped: ${err instanceof Error ? err.message : String(err)}`,
        );
      } finally {
        if (this.active.get(runId)?.controller === controller) this.active.delete(runId);
        this.notify.changed();
      }
    })();
    this.active.set(runId, { controller, ended });
    this.notify.event(first.value);
    return runId;
  }

  async cancelRun(runId: string, reason = 'Cancelled from the editor.'): Promise<void> {
    const running = this.active.get(runId);
    if (running) {
      running.controller.abort(reason);
      await running.ended;
    }
    // A run still pending after the abort had paused just before it (its `output` event already
    // out, its stream still closing): the abort stopped nothing, so the pause is cancelled here.
    const first = this.store.pending(runId)[0];
    if (!first) {
      if (running) return; // the abort ended it
      if (!this.store.getRun(runId)) throw new UnknownRunError(`There is no run ${runId}.`);
      throw new ResumeRefusedError(`Run ${runId} has nothing pending to cancel.`);
    }
    await this.resume(runId, { [first.id]: { type: 'cancel', reason } });
  }

  listRuns(): RunSummary[] {
    return this.store.listRuns().map((r) => asRead(r, r.status));
  }

  getRun(runId: string): RunTrace {
    const found = this.store.getRun(runId);
    if (!found) throw new UnknownRunError(`There is no run ${runId}.`);
    return {
      run: asRead(found.row, this.store.statusOf(found.row)),
      segments: this.store.segments(runId),
      events: this.store.events(runId).map((e) => e.event) as RunEvent[],
      decisions: this.store.decisions(runId),
    };
  }

  pending(): Pending {
    const rows = this.store.pending();
    return {
      // A gate whose file changed since shows its fresh diff, marked stale (stale-gates.ts).
      approvals: this.staleGates.apply(
        rows.filter((r) => r.kind === 'approval').map((r) => ApprovalEvent.parse(r.event)),
      ),
      interactions: rows
        .filter((r) => r.kind === 'interaction')
        .map((r) => InteractionEvent.parse(r.event)),
      interrupted: this.store.interruptedRuns(),
    };
  }

  /** The standing always-allow / always-deny rules that apply in this workspace. */
  rules(): StandingRule[] {
    return this.store.rules(this.options.workspace);
  }

  /** Revokes a standing rule of this workspace; an unknown or already revoked id is an error. */
  async revokeRule(ruleId: string): Promise<void> {
    if (!this.rules().some((r) => r.rule_id === ruleId)) {
      throw new UnknownRunError(`There is no active standing rule ${ruleId} in this workspace.`);
    }
    await this.store.ready();
    this.store.commit([
      { op: 'revokeRule', rule_id: ruleId, at: new Date().toISOString(), by: null },
    ]);
    this.notify.changed();
  }

  /** A run's applied changes and reverts (issue 16). */
  changes(runId: string): ChangeInfo[] {
    if (!this.store.getRun(runId)) throw new UnknownRunError(`There is no run ${runId}.`);
    return listChanges(this.store, runId);
  }

  /**
   * Reverts one change or the run's standing ones, in this window's open documents where the
   * developer has unsaved changes (SPEC §7); each revert's transcript entry goes out as an event.
   */
  async revert(
    runId: string,
    opts: {
      changeId?: string | undefined;
      force?: boolean | undefined;
      approver?: string | undefined;
    },
  ): Promise<RevertOutcome[]> {
    const { changeId, force = false } = opts;
    const who = opts.approver?.trim() || os.userInfo().username;
    try {
      return await revert(
        {
          store: this.store,
          workspace: new Workspace(this.options.workspace, this.buffers),
          redactor: this.redactor,
          by: `${who} via VS Code`,
          onEvent: (event) => this.notify.event(event),
        },
        runId,
        { ...(changeId ? { changeId } : {}), force },
      );
    } catch (err) {
      if (err instanceof UnknownChangeError) throw new UnknownRunError(err.message);
      throw err;
    } finally {
      this.notify.changed();
    }
  }

  /** The current and proposed file behind a pending file gate, redacted. */
  async proposal(runId: string, approvalId: string): Promise<Proposal> {
    const found = this.store.getRun(runId);
    if (!found) throw new UnknownRunError(`There is no run ${runId}.`);
    const state = parseRunState(found.state, runId);
    const call = state.calls.find((c) => c.gate?.approval_id === approvalId && !c.decision);
    if (!call) throw new UnknownRunError(`${approvalId} is not pending in run ${runId}.`);
    const tool = fileTools(this.options.workspace, {}, this.buffers).find(
      (t) => t.name === call.tool,
    );
    if (!tool?.proposal) throw new UnknownRunError(`${call.tool} does not change a file.`);
    const { path: rel, before, after } = await tool.proposal(tool.params.parse(call.args));
    const redactor = this.redactor;
    const shown = (text: string | null) => (text === null ? null : redactor.text(text));
    return {
      path: rel,
      current: shown(before),
      proposed: shown(after),
      masked: after !== null && shown(after) !== after,
    };
  }

  async dispose(): Promise<void> {
    this.watcher?.close();
    clearTimeout(this.changedTimer);
    this.buffers.dispose?.();
    this.staleGates.dispose();
    for (const { controller } of this.active.values()) {
      controller.abort('The host is shutting down.');
    }
    await this.closeModels();
    this.store.close();
  }
}
