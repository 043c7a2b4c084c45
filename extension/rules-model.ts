// The standing "always allow / deny" rules the sidebar lists and the palette revokes (SPEC §9),
// re-read from the host whenever they may have changed (a decision, a revoke, the host's
// `airlock/changed`). Pure: `load` is the host call, so this is tested with a fake.
import type { RunSummary } from '../host/protocol/rpc.js';
import type { StandingRule } from '../host/runtime/policy.js';
import type { RuleRow, RulesMessage } from '../webview/protocol.js';
import { errorMessage } from './rpc-call.js';
import { coalesce } from './pending-model.js';

export interface RulesSnapshot {
  rules: StandingRule[];
  error: string | null;
}

type Listener = (snapshot: RulesSnapshot) => void;

/** Newest first; a run's prompt beside a rule that holds for that run. */
export function toRulesMessage(
  snapshot: RulesSnapshot,
  runs: readonly Pick<RunSummary, 'run_id' | 'prompt'>[],
): RulesMessage {
  const prompts = new Map(runs.map((r) => [r.run_id, r.prompt]));
  const rows: RuleRow[] = [...snapshot.rules]
    .sort((a, b) => b.created_at.localeCompare(a.created_at))
    .map((r) => ({
      rule_id: r.rule_id,
      tool: r.tool,
      paths: (r.commands ?? r.paths)?.length ? (r.commands ?? r.paths)! : null,
      action: r.action,
      cover: r.cover,
      run_id: r.run_id,
      run_prompt: r.run_id === null ? null : (prompts.get(r.run_id) ?? null),
      created_by: r.created_by,
      created_at: r.created_at,
    }));
  return { type: 'rules', rules: rows, error: snapshot.error };
}

export class RulesModel {
  private snapshot: RulesSnapshot = { rules: [], error: null };
  private readonly listeners = new Set<Listener>();
  readonly refresh: () => Promise<void>;

  constructor(private readonly load: () => Promise<StandingRule[]>) {
    this.refresh = coalesce(() => this.reload());
  }

  get current(): RulesSnapshot {
    return this.snapshot;
  }

  onDidChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private async reload(): Promise<void> {
    try {
      this.snapshot = { rules: await this.load(), error: null };
    } catch (err) {
      // Keep the last list (revoking from it still checks with the host) and say why it is old.
      this.snapshot = {
        rules: this.snapshot.rules,
        error: `The standing rules could not be read: ${errorMessage(err)}`,
      };
    }
    for (const listener of [...this.listeners]) listener(this.snapshot);
  }
}
