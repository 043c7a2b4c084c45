// What the JSON-RPC host does, independent of the connection: drives runs of the workspace
// agent, reads the database for pending items and traces, and computes proposals for the diff
// editor. Runs continue in the background; their events go to `notify.event` as they happen.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Model } from '../model/model.js';
import { resolveModel } from '../model/resolve.js';
import type { ResumeMap, RunEvent } from '../protocol/events.js';
import { ApprovalEvent, InteractionEvent } from '../protocol/events.js';
import type { HostOptions, Pending, Proposal, RunSummary, RunTrace } from '../protocol/rpc.js';
import { Redactor } from '../runtime/redact.js';
import { ResumeRefusedError } from '../runtime/resume-plan.js';
import { parseRunState } from '../runtime/run-state.js';
import type { RunStream } from '../runtime/run-stream.js';
import { defaultDbPath, retentionOf, type Settings } from '../settings.js';
import { SqlJsStore } from '../store/sqljs-store.js';
import type { Store } from '../store/store.js';
import { workspaceAgent } from '../workspace-agent.js';
import { fileTools } from '../tools/files.js';

export class UnknownRunError extends Error {
  override name = 'UnknownRunError';
}

export interface SessionEvents {
  event(event: RunEvent): void;
  /** The database changed; the client re-reads pending items and runs. */
  changed(): void;
  log(message: string): void;
}

export class HostSession {
  private settings: Settings;
  private apiKey: string;
  private model: Promise<{ model: Model; close(): Promise<void> }> | undefined;
  /** Runs this host is driving right now, to stop them on cancel. */
  private readonly active = new Map<string, AbortController>();
  private watcher: fs.FSWatcher | undefined;
  private changedTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly options: HostOptions,
    readonly store: Store,
    private readonly dbFile: string,
    private readonly notify: SessionEvents,
  ) {
    this.settings = options.settings;
    this.apiKey = options.apiKey;
  }

  static async open(options: HostOptions, notify: SessionEvents): Promise<HostSession> {
    const dbFile = options.db || defaultDbPath(options.workspace);
    const store = await SqlJsStore.open(dbFile);
    const session = new HostSession(options, store, dbFile, notify);
    for (const warning of store.warnings) notify.log(warning);
    const retention = retentionOf(options.settings);
    if (retention.keepRuns !== undefined || retention.keepDays !== undefined) {
      const dropped = store.compact(retention);
      if (dropped) notify.log(`Retention dropped ${dropped} finished run(s).`);
    }
    session.watch();
    return session;
  }

  /** Other windows and the CLI write the same database: tell the client when it changes. */
  private watch(): void {
    const dir = path.dirname(this.dbFile);
    const base = path.basename(this.dbFile);
    try {
      this.watcher = fs.watch(dir, (_kind, name) => {
        if (!name || !name.startsWith(base) || name.endsWith('.lock')) return;
        clearTimeout(this.changedTimer);
        this.changedTimer = setTimeout(() => this.notify.changed(), 100);
      });
    } catch (err) {
      this.notify.log(`Not watching ${dir} for changes from other windows: ${String(err)}`);
    }
  }

  configure(settings: Settings, apiKey: string): void {
    this.settings = settings;
    this.apiKey = apiKey;
    const old = this.model;
    this.model = undefined;
    void old?.then((m) => m.close());
  }

  private agent() {
    return workspaceAgent({
      workspace: this.options.workspace,
      store: this.store,
      settings: this.settings,
      model: async () => {
        this.model ??= resolveModel({
          model: this.settings.model,
          baseURL: this.settings.baseURL,
          apiKey: this.apiKey,
        });
        return (await this.model).model;
      },
    });
  }

  async startRun(prompt: string): Promise<string> {
    const controller = new AbortController();
    const stream = this.agent().run({ prompt, signal: controller.signal });
    return this.drive(stream, controller);
  }

  /** Starts the resume and returns once it was accepted (refusals throw, nothing ran). */
  async resume(runId: string, resume: ResumeMap): Promise<string> {
    if (!this.store.getRun(runId)) throw new UnknownRunError(`There is no run ${runId}.`);
    const controller = new AbortController();
    const stream = this.agent().run({ runId, resume, signal: controller.signal });
    return this.drive(stream, controller);
  }

  private async drive(stream: RunStream, controller: AbortController): Promise<string> {
    const events = stream[Symbol.asyncIterator]();
    const first = await events.next(); // a refused resume throws here, before anything ran
    if (first.done) throw new Error('The run produced no events.');
    const runId = first.value.run_id;
    this.active.set(runId, controller);
    this.notify.event(first.value);
    void (async () => {
      try {
        for (let next = await events.next(); !next.done; next = await events.next()) {
          this.notify.event(next.value);
        }
      } catch (err) {
        this.notify.log(
          `Run ${runId} stopped: ${err instanceof Error ? err.message : String(err)}`,
        );
      } finally {
        if (this.active.get(runId) === controller) this.active.delete(runId);
        this.notify.changed();
      }
    })();
    return runId;
  }

  async cancelRun(runId: string, reason = 'Cancelled from the editor.'): Promise<void> {
    const running = this.active.get(runId);
    if (running) {
      running.abort(reason);
      return;
    }
    const first = this.store.pending(runId)[0];
    if (!first) {
      if (!this.store.getRun(runId)) throw new UnknownRunError(`There is no run ${runId}.`);
      throw new ResumeRefusedError(`Run ${runId} has nothing pending to cancel.`);
    }
    await this.resume(runId, { [first.id]: { type: 'cancel', reason } });
  }

  listRuns(): RunSummary[] {
    return this.store.listRuns();
  }

  getRun(runId: string): RunTrace {
    const found = this.store.getRun(runId);
    if (!found) throw new UnknownRunError(`There is no run ${runId}.`);
    return {
      run: { ...found.row, status: this.store.statusOf(found.row) },
      segments: this.store.segments(runId),
      events: this.store.events(runId).map((e) => e.event) as RunEvent[],
      decisions: this.store.decisions(runId),
    };
  }

  pending(): Pending {
    const rows = this.store.pending();
    return {
      approvals: rows.filter((r) => r.kind === 'approval').map((r) => ApprovalEvent.parse(r.event)),
      interactions: rows
        .filter((r) => r.kind === 'interaction')
        .map((r) => InteractionEvent.parse(r.event)),
      interrupted: this.store
        .listRuns()
        .filter((r) => r.status === 'interrupted')
        .map((r) => r.run_id),
    };
  }

  /** The current and proposed file behind a pending file gate, redacted. */
  async proposal(runId: string, approvalId: string): Promise<Proposal> {
    const found = this.store.getRun(runId);
    if (!found) throw new UnknownRunError(`There is no run ${runId}.`);
    const state = parseRunState(found.state, runId);
    const call = state.calls.find((c) => c.gate?.approval_id === approvalId && !c.decision);
    if (!call) throw new UnknownRunError(`${approvalId} is not pending in run ${runId}.`);
    const tool = fileTools(this.options.workspace).find((t) => t.name === call.tool);
    if (!tool?.proposal) throw new UnknownRunError(`${call.tool} does not change a file.`);
    const { path: rel, before, after } = await tool.proposal(tool.params.parse(call.args));
    const redactor = new Redactor({
      keys: this.settings.redactKeys,
      patterns: this.settings.redactPatterns,
    });
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
    for (const controller of this.active.values()) controller.abort('The host is shutting down.');
    await (await this.model)?.close();
    this.store.close();
  }
}
