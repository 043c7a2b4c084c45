// A question from the agent (an InteractionEvent) as a form: one control per field of the shared
// form model (host/protocol/answer-form.ts), validated here against the question's schema before
// posting `answer`; the host's own validation error comes back in the reply and shows on the form.
// Suggested options (ask_user) end with "Other…" and a box for the developer's own answer.
// Unsent answers are remembered while the sidebar is hidden.
import { ActionStatus } from './action-status.js';
import type { Ctx } from './context.js';
import { button, h, on, uid } from './dom.js';
import type { InteractionEvent } from '../host/protocol/events.js';
import {
  defaultRaw,
  formModel,
  validate,
  type Field,
  type RawValue,
} from '../host/protocol/answer-form.js';

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

/**
 * Radio buttons or checkboxes in a fieldset with a legend. With `other` (suggested options), a
 * last radio "Other…" and a text box for the developer's own answer; typing there picks it.
 */
function optionGroup(
  field: Field,
  type: 'radio' | 'checkbox',
  options: { value: string; label: string }[],
  initial: RawValue | undefined,
  hideLabel: boolean,
  onChange: () => void,
  other = false,
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
  // The developer's own answer: kept when it is none of the options.
  const own =
    other &&
    typeof initial === 'string' &&
    initial !== '' &&
    !options.some((o) => o.value === initial)
      ? initial
      : '';
  const otherRadio = other
    ? on(
        h('input', { type: 'radio', name, value: '', id: uid('opt'), checked: own !== '' }),
        'change',
        onChange,
      )
    : null;
  const otherBox = other
    ? on(
        h('input', {
          type: 'text',
          id: uid('own'),
          'aria-label': 'Your own answer',
          'aria-describedby': error.el.id,
          placeholder: 'Your own answer',
          value: own,
        }),
        'input',
        () => {
          if (otherRadio) otherRadio.checked = true;
          onChange();
        },
      )
    : null;
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
      otherRadio && otherBox
        ? h('div', { class: 'other-answer' }, [
            h('div', {}, [otherRadio, h('label', { for: otherRadio.id }, 'Other…')]),
            otherBox,
          ])
        : null,
      error.el,
    ],
  );
  const all = otherRadio ? [...inputs, otherRadio] : inputs;
  return {
    field,
    el: fieldset,
    read: () => {
      if (otherRadio?.checked) return otherBox?.value ?? '';
      const checked = inputs.filter((i) => i.checked).map((i) => i.value);
      return type === 'radio' ? (checked[0] ?? '') : checked;
    },
    focusTarget: () =>
      otherRadio?.checked && otherBox
        ? otherBox
        : (all.find((i) => i.checked) ?? inputs[0] ?? fieldset),
    setError(message) {
      error.set(message);
      for (const input of otherBox ? [...all, otherBox] : all) {
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
    const initial = ctx.ui.field(owner, `answer:${field.key}`) ?? defaultRaw(field);
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
          field.other,
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
      const whole = result.errors[''];
      status.error(
        whole !== undefined
          ? `The answer does not fit the question: ${whole}`
          : Object.keys(result.errors).length === 1
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
