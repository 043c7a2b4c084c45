// The runs list: each run's status (with a working indicator while it runs), prompt and outcome,
// its live output (streamed model text, the model's reasoning collapsed under "Thinking", tool
// calls and results) and its actions: open the trace, cancel a running or paused run, continue
// an interrupted one, retry one whose model call failed.
import { ActionStatus, type RequestKind } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, replaceChildren } from './dom.js';
import type { ApprovalEvent, FileChangeEvent, RunEvent } from '../host/protocol/events.js';
import { standingChanges } from '../host/protocol/change-chain.js';
import { diffStats, parseUnifiedDiff } from './diff-parse.js';
import type { RunRow, TranscriptMessage } from './protocol.js';
import type { RequestBody } from './requests.js';

type Status = RunRow['status'];

const STATUS_TEXT: Record<Status, string> = {
  running: 'working…',
  paused: 'waiting for you',
  success: 'done',
  error: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

/** Output lines kept per run; older ones scroll away. */
const MAX_OUTPUT_ITEMS = 400;
/** Characters of a running command's output kept in view (its result holds the tail too). */
const MAX_COMMAND_OUTPUT = 20_000;
const MAX_TOOL_TEXT = 200;
/** Transcripts asked for in one message (the list is newest first). */
const MAX_TRANSCRIPTS = 20;

function clip(text: string, max = MAX_TOOL_TEXT): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function compactJson(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

const str = (input: unknown, key: string): string | null => {
  const v = input && typeof input === 'object' ? (input as Record<string, unknown>)[key] : null;
  return typeof v === 'string' ? v : null;
};

const lineCount = (text: string): number =>
  text === '' ? 0 : text.replace(/\n$/, '').split('\n').length;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/**
 * A tool call as a sentence ("Edit src/greet.js (+1 −1)", "Read src/x.ts", "Search for "foo"",
 * "Ask: Which greeting…"); unknown tools as their name and compact arguments.
 */
export function toolSentence(tool: string, input: unknown): string {
  const path = str(input, 'path');
  switch (tool) {
    case 'read_file':
      if (path) return `Read ${path}`;
      break;
    case 'run_command': {
      const command = str(input, 'command');
      if (command !== null) return `Run \`${clip(command, 200)}\``;
      break;
    }
    case 'list_files':
      return `List ${path || 'the workspace'}${str(input, 'glob') ? ` (${str(input, 'glob')})` : ''}`;
    case 'search_text': {
      const query = str(input, 'query');
      if (query !== null)
        return `Search for "${clip(query, 80)}"${str(input, 'glob') ? ` in ${str(input, 'glob')}` : ''}`;
      break;
    }
    case 'write_file': {
      const content = str(input, 'content');
      if (path && content !== null)
        return `Write ${path} (${plural(lineCount(content), 'line', 'lines')})`;
      break;
    }
    case 'edit_file': {
      const before = str(input, 'old_string');
      const after = str(input, 'new_string');
      if (path && before !== null && after !== null)
        return `Edit ${path} (+${lineCount(after)} −${lineCount(before)})`;
      break;
    }
    case 'delete_file':
      if (path) return `Delete ${path}`;
      break;
    case 'ask_user':
    case 'ask_user_multi':
    case 'confirm': {
      const question = str(input, 'question') ?? str(input, 'prompt') ?? str(input, 'title');
      if (question) return `Ask: ${clip(question, 120)}`;
      break;
    }
  }
  return `${tool} ${clip(compactJson(input))}`;
}

/** A gated file call, once its preview is known: "Create docs/a.md (3 lines)", "Edit … (+1 −1)". */
function previewSentence(event: ApprovalEvent): string | null {
  const p = event.preview;
  if (!p) return null;
  if (p.kind === 'delete') return `Delete ${p.path}`;
  const { added, removed } = diffStats(parseUnifiedDiff(p.diff));
  if (p.kind === 'create') return `Create ${p.path} (${plural(added, 'line', 'lines')})`;
  return `Edit ${p.path} (+${added} −${removed})`;
}

/** A run whose model call failed: it kept its progress and resumes with no decision. */
function retryable(row: RunRow): boolean {
  return row.status === 'error' && row.reason === 'model_error';
}

/** A nested run's events belong to the run that drives it (`run~call~call`). */
export function topRunId(runId: string): string {
  const cut = runId.indexOf('~');
  return cut === -1 ? runId : runId.slice(0, cut);
}

const CHANGE_VERB: Record<FileChangeEvent['kind'], string> = {
  create: 'Created',
  edit: 'Changed',
  delete: 'Deleted',
};

interface ChangeLine {
  change_id: string;
  reverts: string | null;
  reverted_by: string | null;
  line: HTMLElement;
  button: HTMLElement;
}

class RunView {
  readonly el: HTMLLIElement;
  private readonly section: HTMLElement;
  private readonly statusEl = h('span', { class: 'run-status' });
  private readonly promptEl = h('p', { class: 'run-prompt' });
  private readonly messageEl = h('p', { class: 'run-message' });
  private readonly output: HTMLElement;
  private readonly actions = h('div', { class: 'actions' });
  private readonly status: ActionStatus;
  /** The text node model deltas append to; null after a tool line. */
  private streaming: Text | null = null;
  /** The collapsed "Thinking" block reasoning deltas append to; null after anything else. */
  private thinking: { text: Text; size: HTMLElement; chars: number } | null = null;
  /** Status and reason the actions were rendered for. */
  private shownActions: string | null = null;
  /** A running command's live output (the end of it), by call id. */
  private readonly commandOutput = new Map<string, Text>();
  /** The run's file changes and reverts seen in its transcript, by change id (issue 16). */
  private readonly changes = new Map<string, ChangeLine>();
  /** Tool-call lines by call id, to say more once the gate's preview is known. */
  private readonly calls = new Map<string, HTMLElement>();
  /** Whether the output follows its end (false once the developer scrolls up). */
  private follow = true;
  /** The stored transcript: still to ask for, asked for, or shown (or not needed). */
  transcript: 'needed' | 'asked' | 'done' = 'needed';
  row: RunRow;

  constructor(
    row: RunRow,
    private readonly ctx: Ctx,
  ) {
    this.row = row;
    this.output = h('div', {
      class: 'output',
      role: 'log',
      'aria-live': 'polite',
      'aria-label': 'Run output',
      hidden: true,
    });
    this.output.addEventListener(
      'scroll',
      () => {
        const o = this.output;
        this.follow = o.scrollHeight - o.scrollTop - o.clientHeight < 8;
      },
      { passive: true },
    );
    this.section = h('section', { class: 'run', 'data-run-id': row.run_id }, [
      h('header', { class: 'run-head' }, [this.statusEl]),
      this.promptEl,
      this.messageEl,
      this.output,
      this.actions,
    ]);
    this.status = new ActionStatus(this.section);
    this.section.append(this.status.el);
    this.el = h('li', {}, this.section);
    this.update(row);
  }

  update(row: RunRow): void {
    this.row = row;
    const prompt = row.prompt ?? '(no prompt)';
    this.section.setAttribute('aria-label', `Run: ${prompt} (${STATUS_TEXT[row.status]})`);
    this.section.className = `run status-${row.status}`;
    this.promptEl.textContent = prompt;
    this.promptEl.title = prompt;
    replaceChildren(this.statusEl, [
      row.status === 'running' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
      h(
        'span',
        { class: 'status-text' },
        row.status === 'paused' && row.pending > 0
          ? `${STATUS_TEXT[row.status]} (${row.pending})`
          : STATUS_TEXT[row.status],
      ),
    ]);
    const detail = row.status === 'running' ? '' : row.message;
    this.messageEl.textContent = detail;
    this.messageEl.hidden = !detail;
    this.messageEl.title = row.reason;
    const actions = `${row.status} ${row.reason} ${this.standing()}`;
    if (this.shownActions !== actions) {
      this.shownActions = actions;
      this.renderActions();
    }
  }

  private renderActions(): void {
    const row = this.row;
    const send = (body: RequestBody, kind: RequestKind) => (e: MouseEvent) =>
      this.ctx.requests.send(body, this.status.track(kind, e.currentTarget as HTMLElement));
    const label = row.prompt ? `: ${clip(row.prompt, 60)}` : '';
    replaceChildren(this.actions, [
      button('Open trace', send({ type: 'openTrace', run_id: row.run_id }, 'command'), {
        class: 'secondary',
        'aria-label': `Open trace of run${label}`,
      }),
      row.status === 'running' || row.status === 'paused'
        ? button('Cancel', send({ type: 'cancelRun', run_id: row.run_id }, 'command'), {
            class: 'secondary',
            'aria-label': `Cancel run${label}`,
          })
        : null,
      row.status === 'interrupted'
        ? button('Continue', send({ type: 'continueRun', run_id: row.run_id }, 'command'), {
            class: 'primary',
            'aria-label': `Continue run${label}`,
          })
        : null,
      row.status !== 'running' && this.standing() > 0
        ? button('Revert run', send({ type: 'revert', run_id: row.run_id }, 'command'), {
            class: 'secondary',
            title:
              "Undo every file change of this run that stands; a file changed since is shown before it's touched.",
            'aria-label': `Revert the changes of run${label}`,
          })
        : null,
      retryable(row)
        ? button('Retry', send({ type: 'continueRun', run_id: row.run_id }, 'command'), {
            class: 'primary',
            title: 'Repeat the failed model call; nothing that already ran runs again.',
            'aria-label': `Retry the failed model call of run${label}`,
          })
        : null,
    ]);
  }

  event(event: RunEvent): void {
    switch (event.type) {
      case 'delta':
        if (!event.text) return;
        if (event.thinking) {
          this.think(event.text);
          return;
        }
        this.thinking = null;
        if (!this.streaming) {
          this.streaming = document.createTextNode('');
          this.push(h('p', { class: 'model-text' }, this.streaming));
        }
        this.streaming.appendData(event.text);
        this.stick();
        return;
      case 'tool_call': {
        // A sentence; the raw arguments on hover.
        const line = this.line('call', 'arrow-right', toolSentence(event.tool, event.input));
        line.title = `${event.tool} ${clip(compactJson(event.input), 2000)}`;
        this.calls.set(event.call_id, line);
        return;
      }
      case 'tool_output': {
        // A shell command's output as it comes, as text, keeping its last MAX_COMMAND_OUTPUT.
        let text = this.commandOutput.get(event.call_id);
        if (!text) {
          text = document.createTextNode('');
          this.commandOutput.set(event.call_id, text);
          this.push(
            h('pre', { class: 'command-output', 'aria-label': `Output of ${event.tool}` }, text),
          );
          this.streaming = null;
          this.thinking = null;
        }
        text.appendData(event.text);
        if (text.length > MAX_COMMAND_OUTPUT) text.deleteData(0, text.length - MAX_COMMAND_OUTPUT);
        this.stick();
        return;
      }
      case 'tool_result':
        this.commandOutput.delete(event.call_id);
        this.line(
          event.ok ? 'ok' : 'failed',
          event.ok ? 'check' : 'close',
          `${event.tool}: ${clip(event.output)}`,
        );
        return;
      case 'file_change':
        this.fileChange(event);
        return;
      case 'approval': {
        const sentence = previewSentence(event);
        const call = this.calls.get(event.call_id);
        const text = call?.lastChild;
        if (sentence && text instanceof Text) text.data = sentence;
        this.line('waiting', 'debug-pause', `Waiting for you: ${clip(event.prompt)}`);
        return;
      }
      case 'interaction':
        this.line('waiting', 'debug-pause', `Waiting for you: ${clip(event.prompt)}`);
        return;
      case 'warning':
        this.line('warning', 'warning', clip(event.message));
        return;
      case 'output':
        if (event.status.code !== 'success' && event.pending.length === 0) {
          this.line('failed', 'error', clip(event.status.message));
        }
        this.streaming = null;
        this.thinking = null;
        return;
      case 'start':
        this.streaming = null;
        this.thinking = null;
        return;
    }
  }

  /** How many of the run's changes stand (what "Revert run" would undo). */
  private standing(): number {
    return standingChanges([...this.changes.values()]).length;
  }

  /** A change or revert: a line with its own Revert button; a revert marks what it undid. */
  private fileChange(event: FileChangeEvent): void {
    const counts = `(+${event.added} −${event.removed})`;
    const text = event.reverts
      ? `Reverted ${event.path}${event.by ? ` (${event.by})` : ''}`
      : `${CHANGE_VERB[event.kind]} ${event.path} ${counts}`;
    const line = this.line('change', event.reverts ? 'discard' : 'diff', clip(text));
    const status = this.status;
    const revert = button(
      event.reverts ? 'Undo revert' : 'Revert',
      (e: MouseEvent) =>
        this.ctx.requests.send(
          { type: 'revert', run_id: event.run_id, change_id: event.change_id },
          status.track('command', e.currentTarget as HTMLElement),
        ),
      {
        class: 'secondary inline',
        'aria-label': event.reverts
          ? `Undo the revert of ${event.path} (apply the change again)`
          : `Revert the change to ${event.path}`,
      },
    );
    line.append(revert);
    this.changes.set(event.change_id, {
      change_id: event.change_id,
      reverts: event.reverts ?? null,
      reverted_by: null,
      line,
      button: revert,
    });
    const undone = event.reverts ? this.changes.get(event.reverts) : undefined;
    if (undone) {
      undone.reverted_by = event.change_id;
      undone.button.remove();
      undone.line.classList.add('reverted');
      undone.line.append(h('span', { class: 'change-state' }, ' — reverted'));
    }
    this.update(this.row);
  }

  /** The model's reasoning: text in a collapsed "Thinking" block, never shown as its answer. */
  private think(text: string): void {
    if (!this.thinking) {
      this.streaming = null;
      const node = document.createTextNode('');
      const size = h('span', { class: 'thinking-size' });
      this.push(
        h('details', { class: 'thinking' }, [
          h('summary', {}, ['Thinking', size]),
          h('p', { class: 'thinking-text' }, node),
        ]),
      );
      this.thinking = { text: node, size, chars: 0 };
    }
    this.thinking.text.appendData(text);
    this.thinking.chars += [...text].length;
    this.thinking.size.textContent = ` (${this.thinking.chars} chars)`;
    this.stick();
  }

  /**
   * The stored transcript in place of what was shown (it holds all of it: every non-delta event
   * is stored before it is sent); the tail when long, with a line saying how much was left out.
   */
  replay(message: TranscriptMessage): void {
    this.transcript = 'done';
    if (message.error) {
      this.line('failed', 'error', `The earlier output could not be read: ${clip(message.error)}`);
      return;
    }
    if (message.events.length === 0) return;
    this.output.replaceChildren();
    this.calls.clear();
    this.changes.clear();
    this.streaming = null;
    this.thinking = null;
    if (message.omitted > 0)
      this.line(
        'note',
        'ellipsis',
        `${plural(message.omitted, 'earlier event', 'earlier events')} not shown (Open trace has them all).`,
      );
    for (const event of message.events) this.event(event);
  }

  /** A line the sidebar adds itself, e.g. the standing rule an "always" decision made. */
  note(text: string): void {
    this.line('decided', 'law', text);
  }

  /** One line of the run's output: a codicon (decoration only: the text says it all) and text. */
  private line(kind: string, icon: string, text: string): HTMLElement {
    this.streaming = null;
    this.thinking = null;
    const glyph = h('span', { class: `codicon codicon-${icon}`, 'aria-hidden': 'true' });
    const el = h('p', { class: `tool-line ${kind}` }, [glyph, text]);
    this.push(el);
    return el;
  }

  private push(el: HTMLElement): void {
    this.output.hidden = false;
    this.output.append(el);
    while (this.output.childElementCount > MAX_OUTPUT_ITEMS)
      this.output.firstElementChild?.remove();
    this.stick();
  }

  /** Keeps the end in view, unless the developer scrolled up to read. */
  private stick(): void {
    if (this.follow) this.output.scrollTop = this.output.scrollHeight;
  }
}

export class RunsList {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'runs-list' });
  private readonly empty = h(
    'p',
    { class: 'empty' },
    'No runs yet. Describe a task above to start one.',
  );
  private readonly views = new Map<string, RunView>();
  /** Runs known from live events only (their row has not arrived in a state message yet). */
  private readonly provisional = new Set<string>();
  private rows: RunRow[] = [];

  constructor(private readonly ctx: Ctx) {
    this.el = h('section', { class: 'runs', 'aria-labelledby': 'runs-heading' }, [
      h('h2', { id: 'runs-heading' }, 'Runs'),
      this.empty,
      this.list,
    ]);
  }

  /** The prompt of a run, for labelling its pending group. */
  prompt(runId: string): string | null {
    return this.views.get(runId)?.row.prompt ?? null;
  }

  update(rows: readonly RunRow[]): void {
    this.rows = [...rows];
    for (const row of rows) this.provisional.delete(row.run_id);
    this.render();
    this.askTranscripts();
  }

  /** A run's stored events, asked for by askTranscripts. */
  transcript(message: TranscriptMessage): void {
    this.views.get(message.run_id)?.replay(message);
  }

  /**
   * Asks once for the stored transcript of each listed run not seen from its start (after a
   * reload every run): the most recent MAX_TRANSCRIPTS at a time.
   */
  private askTranscripts(): void {
    const wanted: RunView[] = [];
    for (const row of this.rows) {
      const view = this.views.get(row.run_id);
      if (view?.transcript === 'needed') wanted.push(view);
      if (wanted.length >= MAX_TRANSCRIPTS) break;
    }
    if (wanted.length === 0) return;
    for (const view of wanted) view.transcript = 'asked';
    this.ctx.requests.notify({
      type: 'loadTranscripts',
      run_ids: wanted.map((v) => v.row.run_id),
    });
  }

  event(event: RunEvent): void {
    const runId = topRunId(event.run_id);
    let view = this.views.get(runId);
    if (!view) {
      this.provisional.add(runId);
      view = new RunView(
        {
          run_id: runId,
          prompt: event.type === 'start' ? event.prompt : null,
          status: 'running',
          reason: '',
          message: '',
          updated_at: new Date().toISOString(),
          pending: 0,
        },
        this.ctx,
      );
      // Seen from its start: the live events are the whole transcript.
      if (event.type === 'start') view.transcript = 'done';
      this.views.set(runId, view);
      this.render();
    }
    view.event(event);
  }

  /** Adds a line to a run's output (nothing when the run is not listed). */
  note(runId: string, text: string): void {
    this.views.get(topRunId(runId))?.note(text);
  }

  private render(): void {
    const ordered: RunView[] = [];
    for (const id of this.provisional) {
      const view = this.views.get(id);
      if (view) ordered.push(view);
    }
    for (const row of this.rows) {
      let view = this.views.get(row.run_id);
      if (view) view.update(row);
      else {
        view = new RunView(row, this.ctx);
        this.views.set(row.run_id, view);
      }
      ordered.push(view);
    }
    const keep = new Set(ordered);
    for (const [id, view] of this.views) {
      if (!keep.has(view)) {
        view.el.remove();
        this.views.delete(id);
      }
    }
    // Reorder in place so focused controls and streamed text survive updates.
    ordered.forEach((view, i) => {
      if (this.list.children[i] !== view.el)
        this.list.insertBefore(view.el, this.list.children[i] ?? null);
    });
    this.empty.hidden = ordered.length > 0;
    this.list.hidden = ordered.length === 0;
  }
}
