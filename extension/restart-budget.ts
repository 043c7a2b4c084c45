// How often a crashed host is restarted: at most `max` times within `windowMs`, then not again
// until the user asks (vscode-eslint's error handler, which stops restart loops).
export class RestartBudget {
  private restarts: number[] = [];

  constructor(
    private readonly max = 4,
    private readonly windowMs = 3 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a restart and says whether it may happen. */
  allow(): boolean {
    const now = this.now();
    this.restarts = this.restarts.filter((at) => now - at < this.windowMs);
    if (this.restarts.length >= this.max) return false;
    this.restarts.push(now);
    return true;
  }

  reset(): void {
    this.restarts = [];
  }

  describe(): string {
    return `more than ${this.max} times within ${Math.round(this.windowMs / 60_000)} minutes`;
  }
}
