// The words of the badge, the status bar item and the notification. Pure.
import type { PendingItem } from './decisions.js';
import { pendingCount, type Snapshot } from './pending-model.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Untrusted text (a prompt naming a path the model chose) for a notification, which renders
 * markdown links and `$(icon)` syntax: brackets are swapped so no `[label](command:…)` link can
 * be formed, and `$(` is broken with a zero-width space; one line.
 */
export function plainText(text: string, max = 200): string {
  const flat = text
    .replace(/\[/g, '(')
    .replace(/\]/g, ')')
    .replace(/\$\(/g, '$\u200b(')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

export function pendingTooltip(snapshot: Snapshot): string {
  const approvals = snapshot.pending.approvals.length;
  const questions = snapshot.pending.interactions.length;
  if (approvals + questions === 0) return 'Airlock: nothing waits for you';
  const parts = [
    ...(approvals ? [plural(approvals, 'approval')] : []),
    ...(questions ? [plural(questions, 'question')] : []),
  ];
  return `Airlock: ${parts.join(' and ')} waiting`;
}

export type StatusBarText =
  { tag: 'hidden' } | { tag: 'shown'; text: string; tooltip: string; error: boolean };

export function statusBarText(snapshot: Snapshot, hostError: string | null): StatusBarText {
  if (hostError) {
    return {
      tag: 'shown',
      text: '$(shield) Airlock: stopped',
      tooltip: `${plainText(hostError, 500)}\nClick to restart the host.`,
      error: true,
    };
  }
  const count = pendingCount(snapshot);
  if (count === 0) return { tag: 'hidden' };
  return {
    tag: 'shown',
    text: `$(shield) ${count} pending`,
    tooltip: pendingTooltip(snapshot),
    error: false,
  };
}

export interface GateNotice {
  message: string;
  actions: string[];
  /** The item Approve / Deny / Answer act on; none when several arrived at once. */
  item: PendingItem | undefined;
}

/** One notification for the gates that just arrived while the sidebar was hidden. */
export function gateNotice(fresh: readonly PendingItem[]): GateNotice | undefined {
  const [only] = fresh;
  if (!only) return undefined;
  if (fresh.length > 1) {
    return {
      message: `Airlock: ${plural(fresh.length, 'item')} wait for your decision.`,
      actions: ['Review'],
      item: undefined,
    };
  }
  if (only.tag === 'approval') {
    return {
      message: `Airlock: ${plainText(only.event.prompt)}`,
      actions: ['Review', 'Approve', 'Deny'],
      item: only,
    };
  }
  return {
    message: `Airlock asks: ${plainText(only.event.prompt)}`,
    actions: ['Review', 'Answer'],
    item: only,
  };
}
