// The workspace's trust at the top of the sidebar (SPEC §9): a banner in VS Code's Restricted Mode
// saying what that changes and offering "Manage Workspace Trust", and a warning strip listing what
// the repository's airlock.config.json asks for that Airlock ignores until that version is trusted.
import { ActionStatus } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, replaceChildren } from './dom.js';
import type { WorkspaceMessage } from './protocol.js';

export const RESTRICTED_TEXT =
  "this folder is not trusted. Airlock still runs and still stops at its gates, but it will not offer to trust this folder's airlock.config.json, so only the rules in it that tighten Airlock apply. The endpoint, policy and redaction come from your user settings only.";

export const TRUSTED_EARLIER_TEXT =
  'This exact version of its airlock.config.json was trusted earlier, so all of its rules apply.';

export class TrustView {
  readonly el: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly bannerText = h('div', { class: 'trust-text' });
  private readonly strip: HTMLElement;
  private readonly stripBody = h('div', { class: 'trust-text' });

  constructor(private readonly ctx: Ctx) {
    this.banner = h('section', {
      class: 'trust-banner restricted',
      'aria-label': 'Restricted Mode',
      hidden: true,
    });
    const bannerStatus = new ActionStatus(this.banner);
    this.banner.append(
      h('span', { class: 'codicon codicon-workspace-untrusted', 'aria-hidden': 'true' }),
      h('div', { class: 'trust-body' }, [
        this.bannerText,
        h('div', { class: 'actions' }, [
          button(
            'Manage Workspace Trust',
            (e) =>
              ctx.requests.send(
                { type: 'manageTrust' },
                bannerStatus.track('command', e.currentTarget as HTMLElement),
              ),
            { class: 'secondary' },
          ),
        ]),
        bannerStatus.el,
      ]),
    );

    this.strip = h('section', {
      class: 'trust-banner ignored',
      'aria-label': 'airlock.config.json: ignored rules',
      hidden: true,
    });
    this.el = h('div', { class: 'trust', hidden: true }, [this.banner, this.strip]);
  }

  update(message: WorkspaceMessage): void {
    const config = message.config;
    this.banner.hidden = !message.restricted;
    replaceChildren(this.bannerText, [
      h('p', {}, [h('strong', {}, 'Restricted Mode:'), ' ', RESTRICTED_TEXT]),
      message.restricted && config?.trusted ? h('p', {}, TRUSTED_EARLIER_TEXT) : null,
    ]);

    const ignored = config && !config.trusted ? config.ignored : [];
    this.strip.hidden = ignored.length === 0;
    this.el.hidden = this.banner.hidden && this.strip.hidden;
    if (!config || ignored.length === 0) {
      replaceChildren(this.strip, []);
      return;
    }
    const status = new ActionStatus(this.strip);
    replaceChildren(this.strip, [
      h('span', { class: 'codicon codicon-warning', 'aria-hidden': 'true' }),
      h('div', { class: 'trust-body' }, [
        h('p', {}, [
          h('strong', {}, 'airlock.config.json'),
          ' asks for more than Airlock applies. Ignored until you trust this version:',
        ]),
        h(
          'ul',
          { class: 'ignored-lines' },
          ignored.map((line) => h('li', {}, line)),
        ),
        message.restricted
          ? h('p', { class: 'hint' }, 'Trust the folder first to review it.')
          : h('div', { class: 'actions' }, [
              button(
                'Review…',
                (e) =>
                  this.ctx.requests.send(
                    { type: 'reviewConfig' },
                    status.track('command', e.currentTarget as HTMLElement),
                  ),
                { class: 'secondary', 'aria-label': 'Review airlock.config.json and trust it' },
              ),
            ]),
        status.el,
      ]),
    ]);
  }
}
