// The readable transcript `airlock run` / `resume` print without --json. Every string comes from
// already-redacted events.
import type { ApprovalEvent, InteractionEvent, RunEvent } from '../protocol/events.js';

export interface Out {
  write(text: string): void;
  color: boolean;
}

const paint = (code: number) => (out: Out, text: string) =>
  out.color ? `\x1b[${code}m${text}\x1b[0m` : text;
const dim = paint(2);
const red = paint(31);
const green = paint(32);
const yellow = paint(33);
const cyan = paint(36);
const bold = paint(1);

function clip(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

export function formatDiff(out: Out, diff: string): string {
  return diff
    .split('\n')
    .filter((line) => !line.startsWith('===') && !line.startsWith('Index:'))
    .map((line) =>
      line.startsWith('+') && !line.startsWith('+++')
        ? green(out, line)
        : line.startsWith('-') && !line.startsWith('---')
          ? red(out, line)
          : line.startsWith('@@')
            ? cyan(out, line)
            : line,
    )
    .join('\n');
}

export function formatApproval(out: Out, e: ApprovalEvent): string {
  const lines = [
    `${yellow(out, '‖ approval')} ${bold(out, e.approval_id)}  ${e.prompt}`,
    `  tool ${e.tool}  input ${clip(JSON.stringify(e.input))}`,
  ];
  if (e.protected) {
    lines.push(
      yellow(out, '  protected path: always asks; "always allow" never covers it (SPEC §9)'),
    );
  }
  if (e.preview) {
    const p = e.preview;
    if (p.stale)
      lines.push(yellow(out, `  ${p.path} changed since it was proposed: here is the fresh diff.`));
    lines.push(dim(out, `  ${p.kind} ${p.path}  ${p.before_bytes} → ${p.after_bytes} bytes`));
    lines.push(formatDiff(out, p.diff.trimEnd()).replace(/^/gm, '  '));
  }
  if (e.expires_at) lines.push(dim(out, `  expires ${e.expires_at}`));
  return lines.join('\n');
}

export function formatInteraction(out: Out, e: InteractionEvent): string {
  const lines = [`${yellow(out, '? question')} ${bold(out, e.interaction_id)}  ${e.prompt}`];
  for (const q of e.questions) {
    lines.push(`  ${q.id}: ${q.question}${q.options ? `  [${q.options.join(' | ')}]` : ''}`);
  }
  return lines.join('\n');
}

/** Prints one event as it happens; model text streams inline. */
export function printEvent(out: Out, e: RunEvent, state: { midLine: boolean }): void {
  const line = (text: string) => {
    if (state.midLine) out.write('\n');
    state.midLine = false;
    out.write(`${text}\n`);
  };
  switch (e.type) {
    case 'start':
      line(
        dim(
          out,
          `▶ ${e.parent_segment_id ? 'resuming' : 'run'} ${e.run_id}${e.prompt ? `: ${e.prompt}` : ''}`,
        ),
      );
      return;
    case 'delta':
      out.write(e.text);
      state.midLine = !e.text.endsWith('\n');
      return;
    case 'tool_call':
      line(cyan(out, `→ ${e.tool} ${clip(JSON.stringify(e.input), 200)}`));
      return;
    case 'tool_result':
      line(`${e.ok ? green(out, '✓') : red(out, '✗')} ${e.tool}: ${clip(e.output)}`);
      return;
    case 'approval':
      line(formatApproval(out, e));
      return;
    case 'interaction':
      line(formatInteraction(out, e));
      return;
    case 'warning':
      line(yellow(out, `! ${e.message}`));
      return;
    case 'output': {
      const st = e.status;
      const mark =
        st.code === 'success'
          ? green(out, '■ done')
          : st.code === 'error'
            ? red(out, '■ error')
            : yellow(out, `■ ${st.reason}`);
      line(`${mark}  ${st.message}`);
      const u = e.usage;
      line(
        dim(
          out,
          `  tokens ${u.prompt_tokens ?? 0} in / ${u.completion_tokens ?? 0} out · approvals ${u['approvals:approved'] ?? 0} approved, ${u['approvals:denied'] ?? 0} denied, ${u['approvals:required'] ?? 0} asked`,
        ),
      );
      return;
    }
  }
}
