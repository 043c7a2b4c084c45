// The "Waiting for you" section: approval cards and question forms grouped by run. A run pauses
// on one model turn, so a group's approvals are that turn's; with two or more of them the group
// offers "Approve all" / "Deny all" beside the per-card decisions. Cards are keyed by pending id
// and kept across updates, so typed text and focus survive.
import { ActionStatus } from './action-status.js';
import { approvalCard } from './approval-card.js';
import type { Ctx } from './context.js';
import { button, h, replaceChildren } from './dom.js';
import { textField } from './fields.js';
import type { ApprovalEvent, InteractionEvent } from '../host/protocol/events.js';
import { questionForm } from './question-form.js';

type Pending = ApprovalEvent | InteractionEvent;

function pendingId(item: Pending): string {
  return item.type === 'approval' ? item.approval_id : item.interaction_id;
}

/** "Approve all" / "Deny all" (with a reason) for one run's approvals. */
class BulkBar {
  readonly el: HTMLElement;
  private ids: string[] = [];
  private readonly approveAll: HTMLButtonElement;
  private readonly denyAll: HTMLButtonElement;

  constructor(
    private readonly runId: string,
    scope: HTMLElement,
    ctx: Ctx,
  ) {
    const status = new ActionStatus(scope);
    const reason = textField({
      owner: runId,
      key: 'denyAll',
      label: 'Reason, if you deny all',
      ui: ctx.ui,
      rows: 1,
    });
    const decide = (approved: boolean) => (e: MouseEvent) => {
      const text = reason.value();
      ctx.requests.send(
        {
          type: 'decideAll',
          run_id: this.runId,
          approval_ids: [...this.ids],
          approved,
          ...(!approved && text ? { reason: text } : {}),
        },
        status.track('decision', e.currentTarget as HTMLElement, () => ctx.ui.clearFields(runId)),
      );
    };
    this.approveAll = button('Approve all', decide(true), { class: 'primary' });
    this.denyAll = button('Deny all', decide(false), { class: 'secondary' });
    this.el = h('div', { class: 'bulk' }, [
      reason.el,
      h('div', { class: 'actions' }, [this.approveAll, this.denyAll]),
      status.el,
    ]);
  }

  update(ids: string[]): void {
    this.ids = ids;
    this.approveAll.textContent = `Approve all ${ids.length}`;
    this.denyAll.textContent = `Deny all ${ids.length}`;
    this.approveAll.setAttribute('aria-label', `Approve all ${ids.length} changes of this turn`);
    this.denyAll.setAttribute('aria-label', `Deny all ${ids.length} changes of this turn`);
  }
}

class GroupView {
  readonly el: HTMLElement;
  private readonly title = h('h3', { class: 'group-title' });
  private readonly body = h('div', { class: 'group-items' });
  private readonly bulkSlot = h('div');
  private bulk: BulkBar | null = null;
  readonly cards = new Map<string, HTMLElement>();

  constructor(
    readonly runId: string,
    private readonly ctx: Ctx,
  ) {
    this.el = h('section', { class: 'group', 'data-run-id': runId }, [
      this.title,
      this.bulkSlot,
      this.body,
    ]);
  }

  update(items: readonly Pending[], prompt: string | null): void {
    const label = `Run: ${prompt ?? this.runId}`;
    this.el.setAttribute('aria-label', `${label}, ${items.length} waiting`);
    replaceChildren(this.title, [
      h('span', { class: 'group-prompt', title: prompt ?? this.runId }, prompt ?? this.runId),
      h('span', { class: 'count' }, ` · ${items.length} waiting`),
    ]);

    const approvals = items.filter((i): i is ApprovalEvent => i.type === 'approval');
    if (approvals.length >= 2) {
      this.bulk ??= new BulkBar(this.runId, this.el, this.ctx);
      this.bulk.update(approvals.map((a) => a.approval_id));
      if (!this.bulk.el.isConnected) this.bulkSlot.append(this.bulk.el);
    } else if (this.bulk) {
      this.bulk.el.remove();
      this.bulk = null;
    }

    const live = new Set(items.map(pendingId));
    for (const [id, card] of this.cards) {
      if (!live.has(id)) {
        card.remove();
        this.cards.delete(id);
      }
    }
    items.forEach((item, i) => {
      const id = pendingId(item);
      let card = this.cards.get(id);
      if (!card) {
        card =
          item.type === 'approval' ? approvalCard(item, this.ctx) : questionForm(item, this.ctx);
        this.cards.set(id, card);
      }
      if (this.body.children[i] !== card)
        this.body.insertBefore(card, this.body.children[i] ?? null);
    });
  }
}

export class PendingView {
  readonly el: HTMLElement;
  private readonly heading = h('h2', { id: 'pending-heading', tabindex: -1 }, 'Waiting for you');
  private readonly empty = h('p', { class: 'empty' }, 'Nothing waiting for you.');
  private readonly groupsEl = h('div', { class: 'groups' });
  /** Announces new cards to screen readers without moving focus. */
  private readonly announcer = h('div', {
    class: 'visually-hidden',
    'aria-live': 'polite',
    'aria-atomic': 'true',
  });
  private readonly groups = new Map<string, GroupView>();
  private seen: Set<string> | null = null;
  /** The last control focused in this section (a disabled button loses focus to the body). */
  private lastFocus: Element | null = null;

  constructor(private readonly ctx: Ctx) {
    this.el = h('section', { class: 'pending', 'aria-labelledby': 'pending-heading' }, [
      this.heading,
      this.empty,
      this.groupsEl,
      this.announcer,
    ]);
    this.el.addEventListener('focusin', (e) => {
      this.lastFocus = e.target instanceof Element ? e.target : null;
    });
  }

  /** Every pending id and run id with pending items (owners of remembered input). */
  owners(): Set<string> {
    const owners = new Set<string>();
    for (const [runId, group] of this.groups) {
      owners.add(runId);
      for (const id of group.cards.keys()) owners.add(id);
    }
    return owners;
  }

  update(
    approvals: readonly ApprovalEvent[],
    interactions: readonly InteractionEvent[],
    promptOf: (runId: string) => string | null,
  ): void {
    const byRun = new Map<string, Pending[]>();
    for (const item of [...approvals, ...interactions]) {
      const list = byRun.get(item.run_id) ?? [];
      list.push(item);
      byRun.set(item.run_id, list);
    }

    for (const [runId, group] of this.groups) {
      if (!byRun.has(runId)) {
        group.el.remove();
        this.groups.delete(runId);
      }
    }
    [...byRun].forEach(([runId, items], i) => {
      let group = this.groups.get(runId);
      if (!group) {
        group = new GroupView(runId, this.ctx);
        this.groups.set(runId, group);
      }
      group.update(items, promptOf(runId));
      if (this.groupsEl.children[i] !== group.el) {
        this.groupsEl.insertBefore(group.el, this.groupsEl.children[i] ?? null);
      }
    });
    // The user's decision removed the card they were in: keep focus in the section, on its
    // heading, rather than dropping it to the page (and never onto another card's button). Only
    // while the webview has focus: a gate never takes focus from the editor.
    const focus = document.activeElement;
    const focusLost = !focus || focus === document.body || !focus.isConnected;
    if (focusLost && document.hasFocus() && this.lastFocus && !this.lastFocus.isConnected) {
      this.lastFocus = null;
      this.heading.focus();
    }

    const all = [...approvals, ...interactions];
    this.empty.hidden = all.length > 0;
    this.announce(all);
  }

  private announce(items: readonly Pending[]): void {
    const ids = new Set(items.map(pendingId));
    if (this.seen) {
      const fresh = items.filter((i) => !this.seen?.has(pendingId(i)));
      if (fresh.length === 1)
        this.announcer.textContent = `Waiting for you: ${fresh[0]?.prompt ?? ''}`;
      else if (fresh.length > 1)
        this.announcer.textContent = `${fresh.length} new items waiting for you.`;
    } else if (items.length) {
      this.announcer.textContent = `${items.length} waiting for you.`;
    }
    this.seen = ids;
  }
}
