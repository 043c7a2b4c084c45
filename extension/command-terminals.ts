// A running shell command's output in a VS Code terminal named after its run (issue 15): read-only
// (typing into it does nothing), shown (without taking the focus) on the run's first output. The text
// is the host's redacted output with every control sequence removed: a command's output must
// never drive the terminal (move the cursor, set the title, write to the clipboard).
import * as vscode from 'vscode';
import type { RunEvent } from '../host/protocol/events.js';

/** C0 controls but tab and newline, DEL, C1 controls, and ESC sequences with their parameters. */
const CONTROLS =
  /\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/** The output as plain text for a terminal: controls removed, each newline a line break. */
export function terminalText(text: string): string {
  return text.replace(CONTROLS, '').replace(/\n/g, '\r\n');
}

interface Entry {
  terminal: vscode.Terminal;
  write: vscode.EventEmitter<string>;
  /** Output that came before the terminal opened; null once it is open. */
  held: string | null;
}

export class CommandTerminals implements vscode.Disposable {
  private readonly terminals = new Map<string, Entry>();

  onEvent(event: RunEvent): void {
    if (event.type !== 'tool_output') return;
    const entry = this.open(event.run_id);
    const text = terminalText(event.text);
    // VS Code drops what a pseudoterminal writes before it is open: held until then.
    if (entry.held === null) entry.write.fire(text);
    else entry.held += text;
  }

  private open(runId: string): Entry {
    const entry = this.terminals.get(runId);
    if (entry) return entry;
    const write = new vscode.EventEmitter<string>();
    const pty: vscode.Pseudoterminal = {
      onDidWrite: write.event,
      open: () => {
        const held = created.held;
        created.held = null;
        if (held) write.fire(held);
      },
      close: () => {
        this.terminals.delete(runId);
        write.dispose();
      },
      // Read-only: what the developer types goes nowhere.
      handleInput: () => undefined,
    };
    const created: Entry = { terminal: undefined!, write, held: '' };
    created.terminal = vscode.window.createTerminal({ name: `Airlock ${runId}`, pty });
    created.terminal.show(true); // in view, the focus stays where the developer is
    this.terminals.set(runId, created);
    return created;
  }

  dispose(): void {
    for (const { terminal, write } of this.terminals.values()) {
      terminal.dispose();
      write.dispose();
    }
    this.terminals.clear();
  }
}
