// The run loop's steps and what each returns: the next step to take, or how the drive ends.
// Control flow travels by these values; exceptions are left for what went wrong.
import type { RunStatus } from '../protocol/events.js';

export type Next =
  /** Settle the current turn's calls: gates, questions, handlers. */
  | { step: 'settle' }
  /** Ask the model for the next turn. */
  | { step: 'turn' }
  /** The drive ends: the run pauses (waiting for the developer) or finishes. */
  | { step: 'end'; status: RunStatus };

export function end(status: RunStatus): Next {
  return { step: 'end', status };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A tool's own approval policy or prompt function failed: the run ends `approval_policy_error`. */
export class PolicyError extends Error {}
