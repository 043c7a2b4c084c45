// Busy and error state for one group of controls (a card, a form, the prompt box). While a
// request is out its controls are disabled; a failed reply re-enables them and shows the error
// right there; an accepted decision keeps them disabled until the card leaves the list.
import { h, replaceChildren } from './dom.js';
import type { ReplyMessage } from './protocol.js';
import type { ReplyTarget } from './requests.js';

const CONTROLS = 'button, input, textarea, select';

export type RequestKind =
  /** Approve, deny, answer, cancel: on success the item goes away, so the controls stay off. */
  | 'decision'
  /** Open diff, open trace, edit first: on success the controls come back. */
  | 'command';

export class ActionStatus {
  /** Where the status or error shows; place it next to the controls. */
  readonly el: HTMLElement = h('div', { class: 'action-status' });
  private disabledByUs: HTMLElement[] = [];

  constructor(private readonly scope: HTMLElement) {}

  /** A reply target for one request started by `trigger` (focus returns there on failure). */
  track(kind: RequestKind, trigger?: HTMLElement, onOk?: () => void): ReplyTarget {
    return {
      sending: () => {
        this.setBusy(true);
        this.show(kind === 'decision' ? 'Sending…' : '', false);
      },
      settled: (reply: ReplyMessage) => {
        if (reply.ok && kind === 'decision') {
          this.show('Sent. Waiting for the run to continue…', false);
        } else {
          this.setBusy(false);
          if (reply.ok) this.show('', false);
          else this.show(reply.error ?? 'The request failed.', true);
          // The disabled trigger dropped focus to the body: give it back, but only while the
          // sidebar has focus. A command that opened an editor (Open diff, Edit then approve) gave
          // the keyboard to that editor, and taking it back would swallow what the user types.
          const focus = document.activeElement;
          const lost = !focus || focus === document.body;
          if (trigger?.isConnected && lost && document.hasFocus()) trigger.focus();
        }
        if (reply.ok) onOk?.();
      },
    };
  }

  /** Shows an error that never left the webview (e.g. an empty prompt). */
  error(message: string): void {
    this.show(message, true);
  }

  /** Replaces the status with a note (e.g. what an accepted "always" decision made). */
  note(message: string): void {
    this.show(message, false);
  }

  clear(): void {
    this.show('', false);
  }

  private setBusy(busy: boolean): void {
    if (busy) {
      this.disabledByUs = Array.from(this.scope.querySelectorAll<HTMLElement>(CONTROLS)).filter(
        (el) => !(el as HTMLButtonElement).disabled,
      );
      for (const el of this.disabledByUs) (el as HTMLButtonElement).disabled = true;
      this.scope.setAttribute('aria-busy', 'true');
    } else {
      for (const el of this.disabledByUs) (el as HTMLButtonElement).disabled = false;
      this.disabledByUs = [];
      this.scope.removeAttribute('aria-busy');
    }
  }

  private show(message: string, isError: boolean): void {
    if (!message) return replaceChildren(this.el, []);
    replaceChildren(
      this.el,
      isError
        ? h('p', { class: 'error', role: 'alert' }, message)
        : h('p', { class: 'note', role: 'status' }, message),
    );
  }
}
