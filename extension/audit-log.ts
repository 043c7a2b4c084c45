// The audit log export: JSON Lines built from the host's traces (already redacted by the host).
// Per run, oldest run first: a `run` line, one line per event in order, then one `decision`
// line per recorded decision. Pure.
import type { RunTrace } from '../host/protocol/rpc.js';

export function auditLogLines(traces: readonly RunTrace[]): string {
  const lines: string[] = [];
  for (const trace of traces) {
    const { run } = trace;
    lines.push(JSON.stringify({ type: 'run', ...run, segments: trace.segments }));
    for (const event of trace.events) lines.push(JSON.stringify(event));
    for (const decision of trace.decisions) {
      lines.push(JSON.stringify({ type: 'decision', run_id: run.run_id, ...decision }));
    }
  }
  return lines.length > 0 ? lines.join('\n') + '\n' : '';
}

/** A default file name for the export, e.g. airlock-audit-2025-01-31.jsonl. */
export function auditLogFileName(now: Date): string {
  return `airlock-audit-${now.toISOString().slice(0, 10)}.jsonl`;
}
