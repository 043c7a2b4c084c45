// Deterministic ids: the same call with the same input always derives the same id, so a retried
// or resumed run finds its earlier decision; approval and interaction ids live in disjoint spaces.
import { createHash, randomBytes } from 'node:crypto';

/** JSON with sorted object keys, so equal inputs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
          a < b ? -1 : a > b ? 1 : 0,
        ),
      );
    }
    return v;
  });
}

function digest(parts: unknown[]): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex').slice(0, 24);
}

export function approvalId(
  runId: string,
  callId: string,
  path: string,
  input: unknown,
  baseSha256: string | null,
  /** How often the gate was asked again after a stale base (0: the id is as it always was). */
  regates = 0,
): string {
  const parts = ['approval', runId, callId, path, input, baseSha256];
  return `apr_${digest(regates ? [...parts, regates] : parts)}`;
}

export function interactionId(
  runId: string,
  callId: string,
  index: number,
  prompt: string,
): string {
  return `int_${digest(['interaction', runId, callId, index, prompt])}`;
}

export function newRunId(): string {
  // Hex, not base64url: an id starting with '-' would read as a flag on the command line.
  return `run_${randomBytes(8).toString('hex')}`;
}

export function newSegmentId(): string {
  return `seg_${randomBytes(8).toString('hex')}`;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
