// The runs list: each run's status (with a working indicator while it runs), prompt and outcome,
// its live output (streamed model text, tool calls and results) and its actions: open the trace,
// cancel a running or paused run, continue an interrupted one.
import { ActionStatus, type RequestKind } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, replaceChildren } from './dom.js';
import type { RunEvent } from '../host/protocol/events.js';
import type { RunRow } from './protocol.js';
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
const MAX_TOOL_TEXT = 200;

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

/** A nested run's events belong to the run that drives it (`run~call~call`). */
export function topRunId(runId: string): string {
  const cut = runId.indexOf('~');
  return cut === -1 ? runId : runId.slice(0, cut);
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
  private shownStatus: Status | null = null;
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
    if (this.shownStatus !== row.status) {
      this.shownStatus = row.status;
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
    ]);
  }

  event(event: RunEvent): void {
    switch (event.type) {
      case 'delta':
        if (!event.text) return;
        if (!this.streaming) {
          this.streaming = document.createTextNode('');
          this.push(h('p', { class: 'model-text' }, this.streaming));
        }
        this.streaming.appendData(event.text);
        return;
      case 'tool_call':
        this.line('call', 'arrow-right', `${event.tool} ${clip(compactJson(event.input))}`);
        return;
      case 'tool_result':
        this.line(
          event.ok ? 'ok' : 'failed',
          event.ok ? 'check' : 'close',
          `${event.tool}: ${clip(event.output)}`,
        );
        return;
      case 'approval':
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
        return;
      case 'start':
        this.streaming = null;
        return;
    }
  }

  /** A line the sidebar adds itself, e.g. the standing rule an "always" decision made. */
  note(text: string): void {
    this.line('decided', 'law', text);
  }

  /** One line of the run's output: a codicon (decoration only: the text says it all) and text. */
  private line(kind: string, icon: string, text: string): void {
    this.streaming = null;
    const glyph = h('span', { class: `codicon codicon-${icon}`, 'aria-hidden': 'true' });
    this.push(h('p', { class: `tool-line ${kind}` }, [glyph, text]));
  }

  private push(el: HTMLElement): void {
    this.output.hidden = false;
    this.output.append(el);
    while (this.output.childElementCount > MAX_OUTPUT_ITEMS)
      this.output.firstElementChild?.remove();
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
