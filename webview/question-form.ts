// A question from the agent (an InteractionEvent) as a form: one control per field of its JSON
// Schema, validated here before posting `answer`; the host's own validation error comes back in
// the reply and shows on the form. Unsent answers are remembered while the sidebar is hidden.
import { ActionStatus } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, on, uid } from './dom.js';
import type { InteractionEvent } from '../host/protocol/events.js';
import { formModel, validate, type Field, type RawValue } from './schema-form.js';

interface FieldControl {
  field: Field;
  el: HTMLElement;
  read(): RawValue;
  /** The control to focus when the field is invalid. */
  focusTarget(): HTMLElement;
  setError(message: string | null): void;
}

function labelText(field: Field, hideLabel: boolean): HTMLElement {
  return h('span', { class: hideLabel ? 'visually-hidden' : 'label-text' }, [
    field.label,
    field.required ? null : h('span', { class: 'optional' }, ' (optional)'),
  ]);
}

function errorSlot(): { el: HTMLElement; set(message: string | null): void } {
  const el = h('p', { class: 'field-error', id: uid('err'), hidden: true });
  return {
    el,
    set(message) {
      el.textContent = message ?? '';
      el.hidden = !message;
    },
  };
}

/** Radio buttons or checkboxes in a fieldset with a legend. */
function optionGroup(
  field: Field,
  type: 'radio' | 'checkbox',
  options: { value: string; label: string }[],
  initial: RawValue | undefined,
  hideLabel: boolean,
  onChange: () => void,
): FieldControl {
  const name = uid('q');
  const error = errorSlot();
  const picked = new Set(Array.isArray(initial) ? initial : initial ? [initial] : []);
  const inputs = options.map((option) =>
    on(
      h('input', {
        type,
        name,
        value: option.value,
        id: uid('opt'),
        checked: picked.has(option.value),
      }),
      'change',
      onChange,
    ),
  );
  const fieldset = h(
    'fieldset',
    {
      class: `field options ${type}`,
      role: type === 'radio' ? 'radiogroup' : null,
      'aria-required': type === 'radio' && field.required ? 'true' : null,
      'aria-describedby': error.el.id,
    },
    [
      h('legend', {}, labelText(field, hideLabel)),
      ...inputs.map((input, i) =>
        h('div', { class: 'option' }, [
          input,
          h('label', { for: input.id }, options[i]?.label ?? input.value),
        ]),
      ),
      error.el,
    ],
  );
  return {
    field,
    el: fieldset,
    read: () => {
      const checked = inputs.filter((i) => i.checked).map((i) => i.value);
      return type === 'radio' ? (checked[0] ?? '') : checked;
    },
    focusTarget: () => inputs.find((i) => i.checked) ?? inputs[0] ?? fieldset,
    setError(message) {
      error.set(message);
      for (const input of inputs) {
        if (message) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    },
  };
}

/** A text area, or a number input with the schema's bounds. */
function inputField(
  field: Extract<Field, { kind: 'text' | 'number' | 'json' }>,
  initial: RawValue | undefined,
  hideLabel: boolean,
  onChange: () => void,
): FieldControl {
  const id = uid('answer');
  const error = errorSlot();
  const value = typeof initial === 'string' ? initial : '';
  const common = {
    id,
    'aria-describedby': error.el.id,
    'aria-required': field.required ? 'true' : null,
  };
  const input =
    field.kind === 'number'
      ? h('input', {
          ...common,
          type: 'number',
          inputmode: field.integer ? 'numeric' : 'decimal',
          step: field.integer ? 1 : 'any',
          min: field.minimum ?? null,
          max: field.maximum ?? null,
          value,
        })
      : h('textarea', {
          ...common,
          rows: field.kind === 'json' ? 4 : 2,
          maxlength: field.kind === 'text' ? (field.maxLength ?? null) : null,
          placeholder: field.kind === 'json' ? 'JSON' : null,
          value,
        });
  on(input, 'input', onChange);
  return {
    field,
    el: h('div', { class: 'field' }, [
      h('label', { for: id }, labelText(field, hideLabel)),
      input,
      error.el,
    ]),
    read: () => input.value,
    focusTarget: () => input,
    setError(message) {
      error.set(message);
      if (message) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

export function questionForm(event: InteractionEvent, ctx: Ctx): HTMLElement {
  const owner = event.interaction_id;
  const model = formModel(event.prompt, event.questions, event.schema);
  const card = h('section', {
    class: 'card question',
    'aria-label': `Question: ${event.prompt}`,
    'data-interaction-id': owner,
  });
  const form = h('form', { class: 'question-form', novalidate: true });
  const status = new ActionStatus(form);

  const controls: FieldControl[] = [];
  for (const field of model.fields) {
    const initial = ctx.ui.field(owner, `answer:${field.key}`);
    // A lone question whose text is the card's prompt needs no second visible label.
    const hideLabel = model.shape === 'single' && field.label === event.prompt;
    let control: FieldControl;
    const onChange = () => {
      ctx.ui.setField(owner, `answer:${field.key}`, control.read());
      control.setError(null);
    };
    switch (field.kind) {
      case 'choice':
        control = optionGroup(
          field,
          'radio',
          field.options.map((o) => ({ value: o, label: o })),
          initial,
          hideLabel,
          onChange,
        );
        break;
      case 'multi':
        control = optionGroup(
          field,
          'checkbox',
          field.options.map((o) => ({ value: o, label: o })),
          initial,
          hideLabel,
          onChange,
        );
        break;
      case 'boolean':
        control = optionGroup(
          field,
          'radio',
          [
            { value: 'yes', label: 'Yes' },
            { value: 'no', label: 'No' },
          ],
          initial,
          hideLabel,
          onChange,
        );
        break;
      default:
        control = inputField(field, initial, hideLabel, onChange);
    }
    controls.push(control);
  }

  const submit = h('button', { type: 'submit', class: 'primary' }, 'Send answer');
  const cancel = button(
    'Cancel run',
    () =>
      ctx.requests.send(
        { type: 'cancelRun', run_id: event.run_id },
        status.track('decision', cancel),
      ),
    { class: 'secondary', 'aria-label': 'Cancel this run' },
  );

  on(form, 'submit', (e) => {
    e.preventDefault();
    const raw = Object.fromEntries(controls.map((c) => [c.field.key, c.read()]));
    const result = validate(model, raw);
    if (!result.ok) {
      for (const c of controls) c.setError(result.errors[c.field.key] ?? null);
      status.error(
        Object.keys(result.errors).length === 1
          ? 'Check the highlighted answer.'
          : 'Check the highlighted answers.',
      );
      controls
        .find((c) => result.errors[c.field.key])
        ?.focusTarget()
        .focus();
      return;
    }
    for (const c of controls) c.setError(null);
    ctx.requests.send(
      { type: 'answer', run_id: event.run_id, interaction_id: owner, value: result.value },
      status.track('decision', submit, () => ctx.ui.clearFields(owner)),
    );
  });

  form.append(
    ...controls.map((c) => c.el),
    h('div', { class: 'actions' }, [submit, cancel]),
    status.el,
  );
  card.append(
    h('header', { class: 'card-head' }, [
      h('span', { class: 'badge kind-question' }, 'Question'),
      h('span', { class: 'tool' }, event.tool),
    ]),
    h('p', { class: 'prompt' }, event.prompt),
    form,
  );
  return card;
}
