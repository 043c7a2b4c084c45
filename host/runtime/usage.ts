// Usage counters: token counts and pause-lifecycle counters, merged up through nested runs.
import type { Usage } from '../protocol/events.js';

export const USAGE_KEYS = [
  'approvals:required',
  'approvals:approved',
  'approvals:denied',
  'approvals:expired',
  'approvals:cancelled',
  'suspends:required',
  'prompt_tokens',
  'completion_tokens',
] as const;
export type UsageKey = (typeof USAGE_KEYS)[number];

export function emptyUsage(): Usage {
  return Object.fromEntries(USAGE_KEYS.map((k) => [k, 0]));
}

export function addUsage(into: Usage, from: Usage): Usage {
  for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  return into;
}

export function bump(usage: Usage, key: UsageKey, by = 1): void {
  usage[key] = (usage[key] ?? 0) + by;
}
