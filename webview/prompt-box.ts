// The prompt box: describe a task, press Run (or Ctrl/Cmd+Enter) to start a run. The draft is
// remembered while the sidebar is hidden and cleared once the extension accepts the run.
import { ActionStatus } from './action-status.js';
import type { Ctx } from './context.js';
import { h, on } from './dom.js';

export function promptBox(ctx: Ctx): HTMLElement {
  const textarea = h('textarea', {
    id: 'prompt-input',
    rows: 3,
    placeholder: 'Describe a change for the agent… (Ctrl+Enter to run)',
    'aria-describedby': 'prompt-hint',
    value: ctx.ui.draft,
  });
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run');
  const form = h('form', { class: 'prompt-box', 'aria-label': 'Start a run', novalidate: true }, [
    h('label', { for: 'prompt-input' }, 'Ask the agent'),
    textarea,
    h('div', { class: 'actions' }, [
      run,
      h(
        'span',
        { class: 'hint', id: 'prompt-hint' },
        'Every edit and command waits for your approval.',
      ),
    ]),
  ]);
  const status = new ActionStatus(form);
  form.append(status.el);

  on(textarea, 'input', () => {
    ctx.ui.draft = textarea.value;
    status.clear();
  });
  on(textarea, 'keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  on(form, 'submit', (e) => {
    e.preventDefault();
    const prompt = textarea.value.trim();
    if (!prompt) {
      status.error('Describe what the agent should do first.');
      textarea.focus();
      return;
    }
    ctx.requests.send(
      { type: 'startRun', prompt },
      status.track('command', run, () => {
        textarea.value = '';
        ctx.ui.draft = '';
      }),
    );
  });
  return form;
}
