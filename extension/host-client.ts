// The host process (dist/host.js) behind a LanguageClient: started lazily on first need, restarted
// after a crash at most 4 times in 3 minutes (then it stays stopped until "Airlock: Restart Host"),
// every request checked, time-limited and its reply parsed. Listeners that belong to one
// connection live in `connection` and are dropped when the host is restarted by hand.
import * as vscode from 'vscode';
import {
  CancellationTokenSource,
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { z } from 'zod';
import type { RunEvent } from '../host/protocol/events.js';
import {
  ApplyBuffer,
  ChangedNotification,
  Configure,
  DirtyBuffers,
  EventNotification,
  ReadBuffer,
  Resume,
  StartRun,
  type HostOptions,
} from '../host/protocol/rpc.js';
import type { DirtyBuffer, OpenDocuments } from './open-documents.js';
import { OptionsSync } from './options-sync.js';
import { RestartBudget } from './restart-budget.js';
import {
  checkParams,
  errorMessage,
  parseReply,
  REQUEST_TIMEOUT_MS,
  withTimeout,
  type HostApi,
  type RpcMethod,
} from './rpc-call.js';

/** Requests that start or resume a run: the host gets the current settings first. */
const RUN_METHODS: ReadonlySet<string> = new Set([StartRun.method, Resume.method]);

export type HostStatus =
  | { tag: 'stopped' }
  | { tag: 'starting' }
  | { tag: 'running' }
  | { tag: 'failed'; message: string };

/**
 * The library's own error notifications (several per crash while starting) are logged only:
 * the status bar, the sidebar and one "Restart" notification say what happened instead.
 */
class QuietLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, _showNotification?: boolean | 'force'): void {
    super.error(message, data, false);
  }
}

export class HostClient implements HostApi, vscode.Disposable {
  private client: LanguageClient | undefined;
  private starting: Promise<LanguageClient> | undefined;
  /** Listeners of the current client's connection, dropped with it (the client: see stop()). */
  private connection: vscode.Disposable[] = [];
  /**
   * The options, kept in order: sent at initialize (so an automatic restart gets current
   * settings) and by airlock/configure, and brought up to date before a run starts or resumes.
   */
  private readonly sync: OptionsSync<HostOptions>;
  /** Set when the restart budget ran out: nothing starts the host again but the user. */
  private halted: string | undefined;
  private readonly budget = new RestartBudget(4, 3 * 60_000);
  private state: HostStatus = { tag: 'stopped' };
  private readonly events = new vscode.EventEmitter<RunEvent>();
  private readonly changes = new vscode.EventEmitter<void>();
  private readonly statuses = new vscode.EventEmitter<HostStatus>();
  /** A run event as it happens (model text streams through these). */
  readonly onEvent = this.events.event;
  /** The database changed (this host, another window or the CLI). */
  readonly onChanged = this.changes.event;
  readonly onStatus = this.statuses.event;

  constructor(
    private readonly serverModule: string,
    private readonly output: vscode.LogOutputChannel,
    readOptions: () => Promise<HostOptions>,
    /** The window's unsaved documents, which the host reads and changes through this client. */
    private readonly documents?: OpenDocuments,
  ) {
    this.sync = new OptionsSync({ read: readOptions, send: (options) => this.send(options) });
    this.documentsListener = documents?.onDidEdit((buffers) => this.sendDirty(buffers));
  }

  private readonly documentsListener: vscode.Disposable | undefined;

  /** The dirty list to the running host; messages keep their order, so it precedes any resume. */
  private sendDirty(buffers: readonly DirtyBuffer[]): void {
    const client = this.client;
    if (client?.state !== State.Running) return; // sent once it runs (stateChanged)
    void client
      .sendNotification(DirtyBuffers.type, { buffers: [...buffers] })
      .catch((err: unknown) => {
        this.output.warn(`Could not tell the host about unsaved files: ${errorMessage(err)}`);
      });
  }

  get status(): HostStatus {
    return this.state;
  }

  async request<M extends RpcMethod>(
    m: M,
    params: z.input<M['params']>,
  ): Promise<z.output<M['result']>> {
    const checked = checkParams(m, params);
    const cancel = new CancellationTokenSource();
    try {
      // A run uses the settings as they are now: a change made just before it (its configure
      // may still be on its way) reaches the host first, and the host handles messages in order.
      const ready = RUN_METHODS.has(m.method) ? this.sync.refresh() : Promise.resolve();
      // The deadline covers starting the host too (a host hanging in initialize is an error).
      const sent = ready
        .then(() => this.ensureStarted())
        .then((client) => client.sendRequest(m.type, checked, cancel.token));
      const raw = await withTimeout(sent, REQUEST_TIMEOUT_MS, m.method, () => cancel.cancel());
      return parseReply(m, raw);
    } finally {
      cancel.dispose();
    }
  }

  /** New settings or API key: sent now if the host runs, else used when it starts. */
  configure(options: HostOptions): Promise<void> {
    return this.sync.configure(options);
  }

  /** Reads the options again and sends them if the host does not have them yet. */
  refresh(): Promise<void> {
    return this.sync.refresh();
  }

  ensureStarted(): Promise<LanguageClient> {
    if (this.halted) return Promise.reject(new Error(this.halted));
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /** The options the running host was initialized with; undefined when none runs. */
  startedWith(): HostOptions | undefined {
    return this.sync.startedWith();
  }

  /** "Airlock: Restart Host": a new process and a new connection, with a fresh restart budget. */
  async restart(): Promise<void> {
    this.halted = undefined;
    this.budget.reset();
    await this.stop();
    await this.ensureStarted();
  }

  /** Graceful shutdown (shutdown/exit), then the client kills the process if it lingers. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.starting = undefined;
    this.sync.stopped();
    for (const disposable of this.connection.splice(0)) disposable.dispose();
    // A client whose start failed has no process left to stop (and its dispose() would throw).
    if (client?.needsStop()) {
      try {
        await client.dispose(2000);
      } catch (err) {
        this.output.warn(`Stopping the Airlock host: ${errorMessage(err)}`);
      }
    }
    this.setStatus(this.halted ? { tag: 'failed', message: this.halted } : { tag: 'stopped' });
  }

  dispose(): void {
    this.documentsListener?.dispose();
    void this.stop();
    this.events.dispose();
    this.changes.dispose();
    this.statuses.dispose();
  }

  private async start(): Promise<LanguageClient> {
    if (this.client?.state === State.Running) return this.client;
    // A client whose start failed cannot start again: the next need gets a fresh one.
    if (this.client?.state === State.StartFailed) await this.stop();
    if (!this.client) {
      await this.sync.readForStart();
      this.client ??= this.create();
    }
    const client = this.client;
    try {
      this.setStatus({ tag: 'starting' });
      await client.start();
      return client;
    } catch (err) {
      // The client may be restarting itself (the process died while starting): leave it be.
      const message = this.halted ?? `The Airlock host did not start: ${errorMessage(err)}`;
      this.output.error(message);
      if (client.state !== State.Starting && client.state !== State.Running) {
        this.setStatus({ tag: 'failed', message });
      }
      throw new Error(message, { cause: err });
    }
  }

  private create(): LanguageClient {
    const server: ServerOptions = { module: this.serverModule, transport: TransportKind.ipc };
    const options: LanguageClientOptions = {
      documentSelector: [],
      initializationOptions: () => this.sync.initializing(),
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationFailedHandler: (error) => {
        this.output.error(`The Airlock host refused to initialize: ${errorMessage(error)}`);
        return false;
      },
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
        }),
        closed: () => {
          if (this.budget.allow()) {
            this.output.warn('The Airlock host stopped; restarting it.');
            return { action: CloseAction.Restart, handled: true };
          }
          if (!this.halted) {
            this.halted = `The Airlock host stopped ${this.budget.describe()}; it was not restarted.`;
            this.output.error(this.halted);
            void this.offerRestart(this.halted);
          }
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new QuietLanguageClient('airlock', 'Airlock Host', server, options);
    this.connection.push(
      client.onDidChangeState(({ newState }) => this.stateChanged(newState)),
      client.onNotification(EventNotification.type, (raw: unknown) => {
        const parsed = EventNotification.params.safeParse(raw);
        if (parsed.success) this.events.fire(parsed.data.event);
        else this.output.warn(`Ignored a malformed ${EventNotification.method} notification.`);
      }),
      client.onNotification(ChangedNotification.type, () => this.changes.fire()),
    );
    const documents = this.documents;
    if (documents) {
      this.connection.push(
        client.onRequest(ReadBuffer.type, (raw: unknown) => {
          const { path } = ReadBuffer.params.parse(raw);
          return { text: documents.read(path) };
        }),
        client.onRequest(ApplyBuffer.type, async (raw: unknown) => {
          const { path, expected, text } = ApplyBuffer.params.parse(raw);
          return { status: await documents.apply(path, expected, text) };
        }),
      );
    }
    return client;
  }

  /** airlock/configure to the running host, once a start under way is done; false if none runs. */
  private async send(options: HostOptions): Promise<boolean> {
    await this.starting?.catch(() => undefined);
    const client = this.client;
    if (client?.state === State.Starting) {
      // The client is restarting the host by itself: it initializes it with these options, or
      // with older ones (so they are sent once it runs).
      await withTimeout(settled(client), REQUEST_TIMEOUT_MS, 'a restart').catch(() => undefined);
    }
    if (client?.state !== State.Running) return false;
    await this.request(Configure, {
      settings: options.settings,
      apiKey: options.apiKey,
      restricted: options.restricted,
    });
    return true;
  }

  private stateChanged(state: State): void {
    // A new host process (first start or restart) learns the window's unsaved files first.
    if (state === State.Running && this.documents) this.sendDirty(this.documents.dirtyBuffers());
    if (state === State.Running) this.setStatus({ tag: 'running' });
    else if (state === State.Starting) this.setStatus({ tag: 'starting' });
    else if (this.halted) this.setStatus({ tag: 'failed', message: this.halted });
    else if (state === State.StartFailed) {
      this.setStatus({ tag: 'failed', message: 'The Airlock host did not start.' });
    } else this.setStatus({ tag: 'stopped' });
  }

  private setStatus(status: HostStatus): void {
    if (JSON.stringify(status) === JSON.stringify(this.state)) return;
    this.state = status;
    this.statuses.fire(status);
  }

  private async offerRestart(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'Restart', 'Show Log');
    if (choice === 'Restart') await vscode.commands.executeCommand('airlock.restartHost');
    else if (choice === 'Show Log') this.output.show(true);
  }
}

/** Resolves once the client is no longer starting. */
function settled(client: LanguageClient): Promise<void> {
  return new Promise((resolve) => {
    if (client.state !== State.Starting) return resolve();
    const listener = client.onDidChangeState(({ newState }) => {
      if (newState === State.Starting) return;
      listener.dispose();
      resolve();
    });
  });
}
