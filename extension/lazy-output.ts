// The "Airlock" log channel, created on the first write rather than at activation
// (rust-analyzer's LazyOutputChannel). The language client logs the host's messages into it too.
import * as vscode from 'vscode';

export class LazyOutputChannel implements vscode.LogOutputChannel {
  private channel: vscode.LogOutputChannel | undefined;
  private readonly levelChanged = new vscode.EventEmitter<vscode.LogLevel>();
  readonly onDidChangeLogLevel = this.levelChanged.event;

  constructor(readonly name: string) {}

  private get real(): vscode.LogOutputChannel {
    if (!this.channel) {
      this.channel = vscode.window.createOutputChannel(this.name, { log: true });
      this.channel.onDidChangeLogLevel((level) => this.levelChanged.fire(level));
    }
    return this.channel;
  }

  get logLevel(): vscode.LogLevel {
    return this.channel?.logLevel ?? vscode.LogLevel.Info;
  }

  trace(message: string, ...args: unknown[]): void {
    this.real.trace(message, ...args);
  }
  debug(message: string, ...args: unknown[]): void {
    this.real.debug(message, ...args);
  }
  info(message: string, ...args: unknown[]): void {
    this.real.info(message, ...args);
  }
  warn(message: string, ...args: unknown[]): void {
    this.real.warn(message, ...args);
  }
  error(error: string | Error, ...args: unknown[]): void {
    this.real.error(error, ...args);
  }
  append(value: string): void {
    this.real.append(value);
  }
  appendLine(value: string): void {
    this.real.appendLine(value);
  }
  replace(value: string): void {
    this.real.replace(value);
  }
  clear(): void {
    this.channel?.clear();
  }
  show(columnOrPreserveFocus?: vscode.ViewColumn | boolean, preserveFocus?: boolean): void {
    if (typeof columnOrPreserveFocus === 'boolean') this.real.show(columnOrPreserveFocus);
    else this.real.show(columnOrPreserveFocus, preserveFocus);
  }
  hide(): void {
    this.channel?.hide();
  }
  dispose(): void {
    this.channel?.dispose();
    this.channel = undefined;
    this.levelChanged.dispose();
  }
}
