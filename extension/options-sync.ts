// Settings reach the host before the next action that uses them. A change of the settings or
// the API key is sent (`airlock/configure`) from an event handler, after an asynchronous read
// (the key is in SecretStorage), so a run started right after the change could reach the host
// first and use the old values. Here every configure goes through one queue, in order, and an
// action that starts or resumes a run first re-reads the options behind whatever is in flight,
// sending them if the host does not hold them yet. The host handles its messages in order, so
// the run sees them. No VS Code import: HostClient supplies the channel; tests supply fakes.

export interface OptionsChannel<O> {
  /** The options as the editor has them now (settings, API key, trust). */
  read(): Promise<O>;
  /** Sends them to the running host (after a start under way); false when no host runs. */
  send(options: O): Promise<boolean>;
}

export class OptionsSync<O> {
  private tail: Promise<unknown> = Promise.resolve();
  /** The newest options read or given: what a host that starts now is initialized with. */
  private latest: O | undefined;
  /** The options the running host holds (as JSON); undefined when unknown or none runs. */
  private held: string | undefined;
  private started: O | undefined;
  /** Counts changes of `latest`, so a slower read never replaces a newer one. */
  private version = 0;

  constructor(private readonly channel: OptionsChannel<O>) {}

  /** The options a starting host is initialized with; from then on it holds them. */
  initializing(): O | undefined {
    this.held = this.latest === undefined ? undefined : JSON.stringify(this.latest);
    this.started = this.latest;
    return this.latest;
  }

  /** The options the running host was initialized with (later configures aside). */
  startedWith(): O | undefined {
    return this.held === undefined ? undefined : this.started;
  }

  /** The host stopped: nothing holds any options until one starts. */
  stopped(): void {
    this.held = undefined;
  }

  /**
   * Reads the options for a host about to start. Outside the queue (a send waits for a start
   * under way, so the queue may be waiting for this very start); a configure that lands while
   * it reads wins.
   */
  async readForStart(): Promise<void> {
    const version = this.version;
    const options = await this.channel.read();
    if (this.version === version) this.set(options);
  }

  /** Sends these options, after any in flight, even if the host already holds them. */
  configure(options: O): Promise<void> {
    return this.enqueue(() => this.deliver(options, true));
  }

  /**
   * Re-reads the options and sends them if the host does not hold them yet, after any configure
   * in flight: once this resolves, the host has the options as they are now.
   */
  refresh(): Promise<void> {
    return this.enqueue(async () => this.deliver(await this.channel.read(), false));
  }

  private set(options: O): void {
    this.latest = options;
    this.version++;
  }

  private async deliver(options: O, always: boolean): Promise<void> {
    this.set(options);
    const json = JSON.stringify(options);
    if (!always && json === this.held) return;
    this.held = undefined; // unknown until the host has answered
    if (await this.channel.send(options)) this.held = json;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.tail.then(work);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
