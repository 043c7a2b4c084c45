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

export interface SelectFieldOptions<V extends string> {
  owner: string;
  key: string;
  label: string;
  ui: UiStore;
  options: readonly { value: V; label: string }[];
}

export interface SelectField<V extends string> {
  el: HTMLElement;
  select: HTMLSelectElement;
  value(): V;
}

/** A labelled drop-down whose choice is remembered like typed text (a stale one is dropped). */
export function selectField<V extends string>(options: SelectFieldOptions<V>): SelectField<V> {
  const id = uid('field');
  const first = options.options[0];
  if (!first) throw new Error('selectField: no options');
  const saved = options.ui.text(options.owner, options.key);
  const initial = options.options.find((o) => o.value === saved) ?? first;
  const select = h(
    'select',
    { id },
    options.options.map((o) =>
      h('option', { value: o.value, selected: o.value === initial.value }, o.label),
    ),
  );
  select.value = initial.value;
  on(select, 'change', () => options.ui.setField(options.owner, options.key, select.value));
  const el = h('div', { class: 'field inline' }, [h('label', { for: id }, options.label), select]);
  const value = (): V =>
    options.options.find((o) => o.value === select.value)?.value ?? first.value;
  return { el, select, value };
}
