// "Standing rules": every "always allow / deny" rule of this workspace and of its unfinished runs
// (SPEC §9: visible and revocable), each with what it covers, for how long, who made it and when,
// and a Revoke button. Hidden while there are none. Rows are keyed by rule id and kept across
// updates, so focus and a Revoke in flight survive a refresh.
import { ActionStatus } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, replaceChildren } from './dom.js';
import type { RuleRow, RulesMessage } from './protocol.js';
import { ruleSentence, ruleSubject, scopeLabel } from './rule-text.js';

function when(iso: string): HTMLElement {
  const date = new Date(iso);
  return h('time', { datetime: iso }, Number.isNaN(date.getTime()) ? iso : date.toLocaleString());
}

function clip(text: string, max = 60): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function ruleItem(rule: RuleRow, ctx: Ctx): HTMLElement {
  const sentence = ruleSentence(rule);
  const item = h('li', { class: `rule action-${rule.action}`, 'data-rule-id': rule.rule_id });
  const status = new ActionStatus(item);
  const scope =
    rule.run_id === null
      ? scopeLabel(false)
      : `${scopeLabel(true)}${rule.run_prompt ? `: ${clip(rule.run_prompt)}` : ''}`;
  item.append(
    h('p', { class: 'rule-what' }, [
      h('span', { class: `badge rule-action ${rule.action}` }, rule.action),
      ' ',
      h('span', { class: 'rule-subject' }, ruleSubject(rule.tool, rule.paths, rule.cover)),
    ]),
    h('p', { class: 'rule-meta' }, [
      scope,
      rule.created_by ? ` · by ${rule.created_by}` : '',
      ' · ',
      when(rule.created_at),
    ]),
    h('div', { class: 'actions' }, [
      button(
        'Revoke',
        (e) =>
          ctx.requests.send(
            { type: 'revokeRule', rule_id: rule.rule_id },
            status.track('decision', e.currentTarget as HTMLElement),
          ),
        { class: 'secondary', 'aria-label': `Revoke: ${sentence}` },
      ),
    ]),
    status.el,
  );
  return item;
}

export class RulesView {
  readonly el: HTMLElement;
  private readonly list = h('ul', { class: 'rules-list' });
  private readonly problem = h('p', { class: 'error', role: 'alert', hidden: true });
  private readonly items = new Map<string, { key: string; el: HTMLElement }>();

  constructor(private readonly ctx: Ctx) {
    this.el = h('section', { class: 'rules', 'aria-labelledby': 'rules-heading', hidden: true }, [
      h('h2', { id: 'rules-heading' }, 'Standing rules'),
      h(
        'p',
        { class: 'hint' },
        'Made by "always allow / deny" on a card. They never cover a protected path.',
      ),
      this.problem,
      this.list,
    ]);
  }

  update(message: RulesMessage): void {
    this.el.hidden = message.rules.length === 0 && message.error === null;
    this.problem.hidden = message.error === null;
    replaceChildren(this.problem, message.error ?? '');
    const live = new Set(message.rules.map((r) => r.rule_id));
    for (const [id, item] of this.items) {
      if (!live.has(id)) {
        item.el.remove();
        this.items.delete(id);
      }
    }
    message.rules.forEach((rule, i) => {
      const key = JSON.stringify(rule);
      let item = this.items.get(rule.rule_id);
      if (item && item.key !== key) {
        const fresh = ruleItem(rule, this.ctx);
        item.el.replaceWith(fresh);
        item = { key, el: fresh };
        this.items.set(rule.rule_id, item);
      }
      if (!item) {
        item = { key, el: ruleItem(rule, this.ctx) };
        this.items.set(rule.rule_id, item);
      }
      if (this.list.children[i] !== item.el) {
        this.list.insertBefore(item.el, this.list.children[i] ?? null);
      }
    });
  }
}
