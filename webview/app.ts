// The sidebar as a whole: connection banner, workspace trust (Restricted Mode banner, ignored
// lines of airlock.config.json), prompt box, pending section, standing rules, runs list. It applies
// each message from the extension: a `state` (everything in the database, sent whole), a live
// `event` (streamed model text and tool lines), `rules` and `workspace` (sent whole when they may
// have changed), or a `reply` to one of our requests.
import type { Ctx } from './context.js';
import { h, replaceChildren } from './dom.js';
import { PendingView } from './pending-view.js';
import { promptBox } from './prompt-box.js';
import type { StateMessage, ToWebview } from './protocol.js';
import { RulesView } from './rules-view.js';
import { RunsList } from './runs-list.js';
import { TrustView } from './trust-view.js';

export class App {
  private readonly banner = h('div', { class: 'banner', role: 'status' });
  private readonly pending: PendingView;
  private readonly runs: RunsList;
  private readonly trust: TrustView;
  private readonly rules: RulesView;
  private readonly ctx: Ctx;
  private restoredScroll = false;
  private unsaved = new Set<string>();

  constructor(root: HTMLElement, given: Ctx) {
    const ctx: Ctx = { ...given, decided: (runId, text) => this.runs.note(runId, text) };
    this.ctx = ctx;
    this.pending = new PendingView(ctx);
    this.runs = new RunsList(ctx);
    this.trust = new TrustView(ctx);
    this.rules = new RulesView(ctx);
    this.pending.el.hidden = true;
    this.showBanner('connecting', 'Starting the Airlock host…');
    root.append(
      h('main', { class: 'sidebar' }, [
        this.banner,
        this.trust.el,
        promptBox(ctx),
        this.pending.el,
        this.rules.el,
        this.runs.el,
      ]),
    );
    let queued = false;
    window.addEventListener(
      'scroll',
      () => {
        if (!this.restoredScroll || queued) return;
        queued = true;
        requestAnimationFrame(() => {
          queued = false;
          ctx.ui.scrollY = Math.round(window.scrollY);
        });
      },
      { passive: true },
    );
  }

  handle(message: ToWebview): void {
    switch (message.type) {
      case 'state':
        return this.state(message);
      case 'event':
        return this.runs.event(message.event);
      case 'transcript':
        return this.runs.transcript(message);
      case 'reply':
        return this.ctx.requests.reply(message);
      case 'rules':
        return this.rules.update(message);
      case 'workspace':
        return this.trust.update(message);
      case 'unsaved':
        this.unsaved = new Set(message.paths);
        return this.markUnsaved();
    }
  }

  /** Shows each card's "unsaved changes" note while its file is dirty in the editor. */
  private markUnsaved(): void {
    for (const note of Array.from(document.querySelectorAll<HTMLElement>('.unsaved-live'))) {
      note.hidden = !this.unsaved.has(note.dataset.path ?? '');
    }
  }

  private state(state: StateMessage): void {
    if (state.error) this.showBanner('error', state.error);
    else if (!state.connected) this.showBanner('connecting', 'Starting the Airlock host…');
    else this.showBanner(null, '');

    this.runs.update(state.runs);
    this.pending.el.hidden = false;
    this.pending.update(state.approvals, state.interactions, (id) => this.runs.prompt(id));
    this.markUnsaved();
    // A disconnected state may be empty only because the host is restarting: keep drafts.
    if (state.connected) this.ctx.ui.prune(this.pending.owners());

    // Restore the scroll position once the host's content is there to scroll to.
    if (!this.restoredScroll && state.connected) {
      this.restoredScroll = true;
      if (this.ctx.ui.scrollY > 0) window.scrollTo(0, this.ctx.ui.scrollY);
    }
  }

  private showBanner(kind: 'connecting' | 'error' | null, text: string): void {
    this.banner.className = `banner${kind ? ` ${kind}` : ''}`;
    this.banner.hidden = kind === null;
    this.banner.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    replaceChildren(this.banner, [
      kind === 'connecting' ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : null,
      text,
    ]);
  }
}
