// The readable transcript `airlock run` / `resume` print without --json. Every string comes from
// already-redacted events, and every one of them is untrusted: it reaches the terminal only
// through `one` / `many` (controls as \uXXXX, hidden characters as ⟨U+XXXX⟩, SPEC §9). Our own
// colour codes (`paint`) are the only escape sequences printed.
import type { ApprovalEvent, InteractionEvent, RunEvent } from '../protocol/events.js';
import { clipText, countControls, countHidden, visibleText } from '../shown-text.js';

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

/** An untrusted one-line field (a path, a prompt, a question): line breaks shown too. */
export const one = (text: string): string => visibleText(text);
/** Untrusted multi-line content (model text, a tool's output): real line breaks and tabs. */
export const many = (text: string): string => visibleText(text, { multiline: true });

/** Untrusted text made visible, then clipped with the count of what was cut. */
function clip(text: string, max = 400): string {
  return clipText(one(text), max);
}

/** Untrusted multi-line text made visible, then clipped with the count of what was cut. */
function clipMany(text: string, max = 400): string {
  return clipText(many(text), max);
}

const plural = (n: number, singular: string, several: string) =>
  `${n} ${n === 1 ? singular : several}`;

/** The whole diff, never clipped; each line's controls and hidden characters made visible. */
export function formatDiff(out: Out, diff: string): string {
  return diff
    .split('\n')
    .filter((line) => !line.startsWith('===') && !line.startsWith('Index:'))
    .map(one)
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

/**
 * What the card must say about the proposal itself: hidden characters (GitHub's "hidden or
 * bidirectional Unicode text" warning), control characters, masked values and secret-like
 * values too long to mask.
 */
function proposalNotes(out: Out, e: ApprovalEvent): string[] {
  const lines: string[] = [];
  const proposal = [e.input, e.preview?.diff ?? ''];
  const hidden = Math.max(
    e.hidden_chars ?? 0,
    countHidden(e.input),
    countHidden(e.preview?.diff ?? ''),
  );
  if (hidden > 0) {
    lines.push(
      yellow(
        out,
        `  ! This proposal contains ${plural(hidden, 'hidden or bidirectional Unicode character', 'hidden or bidirectional Unicode characters')}: the text may run or compile differently than it reads. ${hidden === 1 ? 'It is' : 'They are'} shown as ⟨U+XXXX⟩.`,
      ),
    );
  }
  const controls = Math.max(...proposal.map((p) => countControls(p)));
  if (controls > 0) {
    lines.push(
      yellow(
        out,
        `  ! This proposal contains ${plural(controls, 'control character', 'control characters')} (terminal escapes among them), shown as \\uXXXX.`,
      ),
    );
  }
  const masked = e.redaction?.masked ?? 0;
  const tooLong = e.redaction?.too_long ?? 0;
  if (masked > 0) {
    lines.push(dim(out, `  ${plural(masked, 'secret', 'secrets')} masked (shown as ***)`));
  }
  if (tooLong > 0) {
    lines.push(
      yellow(
        out,
        `  ! ${plural(tooLong, 'secret-like value was', 'secret-like values were')} too long to mask and ${tooLong === 1 ? 'is' : 'are'} shown in full`,
      ),
    );
  }
  return lines;
}

export function formatApproval(out: Out, e: ApprovalEvent): string {
  // Arguments are clipped (saying how much was cut); the diff below never is.
  const full = one(JSON.stringify(e.input) ?? 'undefined');
  const input = clipText(full, 400);
  const complete = e.preview && input !== full ? ' (the diff below is complete)' : '';
  const lines = [
    `${yellow(out, '‖ approval')} ${bold(out, e.approval_id)}  ${one(e.prompt)}`,
    `  tool ${one(e.tool)}  input ${input}${complete}`,
    ...proposalNotes(out, e),
  ];
  if (e.protected) {
    lines.push(
      yellow(out, '  protected path: always asks; "always allow" never covers it (SPEC §9)'),
    );
  }
  if (e.preview) {
    const p = e.preview;
    if (p.stale)
      lines.push(
        yellow(out, `  ${one(p.path)} changed since it was proposed: here is the fresh diff.`),
      );
    lines.push(dim(out, `  ${p.kind} ${one(p.path)}  ${p.before_bytes} → ${p.after_bytes} bytes`));
    lines.push(formatDiff(out, p.diff.trimEnd()).replace(/^/gm, '  '));
  }
  if (e.command) {
    const c = e.command;
    if (c.interrupted) {
      lines.push(
        yellow(
          out,
          '  Airlock stopped while this command ran: it may have run partly. --approve runs it again, --deny skips it (the agent is told), --cancel ends the run.',
        ),
      );
    }
    lines.push(`  $ ${one(c.command)}`, dim(out, `  in ${one(c.cwd)}`));
    for (const sub of c.subcommands) {
      const mark =
        sub.action === 'allow'
          ? green(out, 'allowed')
          : sub.action === 'deny'
            ? red(out, 'denied ')
            : yellow(out, 'asks   ');
      lines.push(`  ${mark} ${one(sub.text)}  ${dim(out, one(sub.rule))}`);
    }
    for (const note of c.notes) lines.push(yellow(out, `  ${one(note)}`));
  }
  if (e.expires_at) lines.push(dim(out, `  expires ${e.expires_at}`));
  return lines.join('\n');
}

export function formatInteraction(out: Out, e: InteractionEvent): string {
  const lines = [`${yellow(out, '? question')} ${bold(out, e.interaction_id)}  ${one(e.prompt)}`];
  for (const q of e.questions) {
    const options = q.options ? `  [${q.options.map(one).join(' | ')}]` : '';
    lines.push(`  ${one(q.id)}: ${one(q.question)}${options}`);
  }
  return lines.join('\n');
}

/** Where the transcript is between events. */
export interface PrintState {
  midLine: boolean;
  /** Characters of the model's reasoning so far while it streams; undefined otherwise. */
  thinking?: number | undefined;
}

/**
 * Prints one event as it happens; model text streams inline. The model's reasoning is never
 * printed: one dim line `thinking… (N chars)` stands for it (`show --json` has it whole).
 */
export function printEvent(out: Out, e: RunEvent, state: PrintState): void {
  const thinking = e.type === 'delta' && e.thinking === true;
  if (state.thinking !== undefined && !thinking) {
    out.write(`${dim(out, ` (${plural(state.thinking, 'char', 'chars')})`)}\n`);
    state.thinking = undefined;
    state.midLine = false;
  }
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
          `▶ ${e.parent_segment_id ? 'resuming' : 'run'} ${e.run_id}${e.prompt ? `: ${one(e.prompt)}` : ''}`,
        ),
      );
      return;
    case 'delta':
      if (e.thinking) {
        if (!e.text) return;
        if (state.thinking === undefined) {
          if (state.midLine) out.write('\n');
          out.write(dim(out, 'thinking…'));
          state.midLine = true;
          state.thinking = 0;
        }
        state.thinking += [...e.text].length;
        return;
      }
      // Streamed as it comes: each control is escaped on its own, so a sequence split over two
      // deltas is as visible as a whole one.
      out.write(many(e.text));
      state.midLine = !e.text.endsWith('\n');
      return;
    case 'tool_call':
      line(cyan(out, `→ ${one(e.tool)} ${clip(JSON.stringify(e.input) ?? 'undefined', 200)}`));
      return;
    case 'tool_output':
      // A command's output as it comes; every control is escaped, as in the model's text.
      if (state.midLine === false) out.write(dim(out, '│ '));
      out.write(many(e.text).replace(/\n(?=.)/g, `\n${dim(out, '│ ')}`));
      state.midLine = !e.text.endsWith('\n');
      return;
    case 'tool_result':
      line(`${e.ok ? green(out, '✓') : red(out, '✗')} ${one(e.tool)}: ${clipMany(e.output)}`);
      return;
    case 'file_change': {
      const counts = `+${e.added} -${e.removed}`;
      const verb = e.reverts
        ? `reverted ${one(e.reverts)}${e.by ? ` (by ${one(e.by)})` : ''}:`
        : { create: 'created', edit: 'changed', delete: 'deleted' }[e.kind];
      line(dim(out, `  ${one(e.change_id)} ${verb} ${one(e.path)} ${counts}`));
      return;
    }
    case 'approval':
      line(formatApproval(out, e));
      return;
    case 'interaction':
      line(formatInteraction(out, e));
      return;
    case 'warning':
      // The approval card that follows says it, with the count and how the markers look.
      if (e.code === 'hidden_characters') return;
      line(yellow(out, `! ${many(e.message)}`));
      return;
    case 'output': {
      const st = e.status;
      const mark =
        st.code === 'success'
          ? green(out, '■ done')
          : st.code === 'error'
            ? red(out, '■ error')
            : yellow(out, `■ ${st.reason}`);
      line(`${mark}  ${many(st.message)}`);
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
