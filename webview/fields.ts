// Labelled text inputs whose unsent value is remembered (per owner and key) while the sidebar is
// hidden.
import { h, on, uid } from './dom.js';
import type { UiStore } from './ui-state.js';

export interface TextFieldOptions {
  owner: string;
  key: string;
  label: string;
  ui: UiStore;
  rows?: number;
  placeholder?: string;
  hint?: string;
}

export interface TextField {
  el: HTMLElement;
  input: HTMLTextAreaElement;
  value(): string;
}

export function textField(options: TextFieldOptions): TextField {
  const id = uid('field');
  const hintId = options.hint ? uid('hint') : null;
  const input = h('textarea', {
    id,
    rows: options.rows ?? 2,
    placeholder: options.placeholder,
    'aria-describedby': hintId,
    value: options.ui.text(options.owner, options.key),
  });
  on(input, 'input', () => options.ui.setField(options.owner, options.key, input.value));
  const el = h('div', { class: 'field' }, [
    h('label', { for: id }, options.label),
    input,
    hintId ? h('p', { class: 'hint', id: hintId }, options.hint) : null,
  ]);
  return { el, input, value: () => input.value.trim() };
}
