// A tool call's (redacted) arguments as a two-column table: name, value. Long values show their
// beginning and an expand button; the expanded state is remembered per pending id.
import { markedText } from './diff-view.js';
import { button, h, replaceChildren, uid } from './dom.js';
import type { UiStore } from './ui-state.js';

const MAX_CHARS = 240;
const MAX_LINES = 6;

/** How a value reads in the table: strings as they are, everything else as indented JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The shortened form of a long value, or null when it is short enough to show whole. */
export function truncated(text: string): string | null {
  const lines = text.split('\n');
  if (text.length <= MAX_CHARS && lines.length <= MAX_LINES) return null;
  const head = lines.slice(0, MAX_LINES).join('\n');
  return `${head.length > MAX_CHARS ? head.slice(0, MAX_CHARS) : head}…`;
}

function valueCell(text: string, owner: string, key: string, ui: UiStore): HTMLElement {
  const short = truncated(text);
  // Hidden and control characters as markers (SPEC §9).
  const pre = h('pre', { class: 'value', id: uid('arg') }, markedText(short ?? text));
  if (short === null) return h('td', {}, pre);
  const expandKey = `arg:${key}`;
  let expanded = ui.isExpanded(owner, expandKey);
  const toggle = button('', () => {
    expanded = !expanded;
    ui.setExpanded(owner, expandKey, expanded);
    update();
  });
  toggle.classList.add('link-button');
  toggle.setAttribute('aria-controls', pre.id);
  const update = () => {
    replaceChildren(pre, markedText(expanded ? text : short));
    toggle.textContent = expanded ? 'Show less' : `Show all ${text.length} characters`;
    toggle.setAttribute('aria-expanded', String(expanded));
    toggle.setAttribute('aria-label', `${toggle.textContent} of ${key}`);
  };
  update();
  return h('td', {}, [pre, toggle]);
}

export function argsTable(input: unknown, owner: string, ui: UiStore): HTMLElement {
  const entries: [string, unknown][] =
    input && typeof input === 'object' && !Array.isArray(input)
      ? Object.entries(input as Record<string, unknown>)
      : [['input', input]];
  if (entries.length === 0) return h('p', { class: 'args-empty' }, 'No arguments.');
  return h('table', { class: 'args' }, [
    h('caption', {}, 'Arguments'),
    h(
      'tbody',
      {},
      entries.map(([key, value]) =>
        h('tr', {}, [
          h('th', { scope: 'row' }, key),
          valueCell(formatValue(value), owner, key, ui),
        ]),
      ),
    ),
  ]);
}
