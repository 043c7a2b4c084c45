// An inline unified diff: old and new line numbers, +/- colouring, hunk headers; long lines scroll
// sideways instead of wrapping. Diffs longer than COLLAPSE_OVER lines are collapsed to their hunks
// (each hunk's header and first HUNK_ROWS lines, COLLAPSED_ROWS at most), with the caller's lead
// action ("Open diff") first and a "Show all N lines" button; the expanded state is remembered per
// pending id. Hidden and control characters in a line are
// shown as marker elements (markedText), never as themselves.
import { button, h, replaceChildren, uid, type Child } from './dom.js';
import { parseUnifiedDiff, type DiffRow } from './diff-parse.js';
import { shownPieces } from '../host/shown-text.js';
import type { UiStore } from './ui-state.js';

export const COLLAPSE_OVER = 80;
export const COLLAPSED_ROWS = 40;
export const HUNK_ROWS = 6;

export interface DiffViewOptions {
  diff: string;
  /** What the table shows, for screen readers ("Changes to src/app.ts"). */
  label: string;
  /** The pending id that owns the expanded state. */
  owner: string;
  ui: UiStore;
  /** 'removed': a deleted file's content, old line numbers only, no hunk headers. */
  mode?: 'diff' | 'removed';
  /** Shown first, above a collapsed diff (the card's "Open diff"); unused when not collapsed. */
  lead?: HTMLElement | null;
}

function rowsOf(diff: string, mode: 'diff' | 'removed'): DiffRow[] {
  const all = parseUnifiedDiff(diff);
  return mode === 'removed' ? all.filter((r) => r.kind !== 'hunk') : all;
}

/** Whether diffView shows this diff collapsed at first. */
export function isCollapsed(diff: string, mode: 'diff' | 'removed' = 'diff'): boolean {
  return rowsOf(diff, mode).length > COLLAPSE_OVER;
}

/** The collapsed view: every hunk's header and first lines, up to COLLAPSED_ROWS rows. */
function collapsedRows(rows: DiffRow[]): DiffRow[] {
  const shown: DiffRow[] = [];
  let inHunk = 0;
  for (const row of rows) {
    if (shown.length >= COLLAPSED_ROWS) break;
    if (row.kind === 'hunk') {
      inHunk = 0;
      shown.push(row);
    } else if (inHunk < HUNK_ROWS) {
      inHunk++;
      shown.push(row);
    }
  }
  return shown;
}

/**
 * Untrusted text as children: plain runs as text nodes, each hidden character (bidirectional,
 * zero-width, invisible) as a `⟨U+202E⟩` marker element naming it, each control character other
 * than those in `keep` as its `\u001b` escape in a marker too (SPEC §9). The characters
 * themselves never reach the DOM, so nothing is reordered or hidden. Text only: no markup.
 */
export function markedText(text: string, keep = '\n\t'): Child[] {
  return shownPieces(text, keep).map((p) =>
    p.kind === 'text'
      ? p.text
      : h(
          'span',
          {
            class: `hidden-char${p.kind === 'control' ? ' control-char' : ''}`,
            title: p.name,
          },
          p.kind === 'hidden' ? p.marker : p.escape,
        ),
  );
}

const SIGN: Record<'add' | 'del' | 'ctx', { mark: string; spoken: string }> = {
  add: { mark: '+', spoken: 'added: ' },
  del: { mark: '-', spoken: 'removed: ' },
  ctx: { mark: ' ', spoken: '' },
};

function rowElement(row: DiffRow, mode: 'diff' | 'removed'): HTMLTableRowElement {
  if (row.kind === 'hunk' || row.kind === 'note') {
    return h(
      'tr',
      { class: row.kind },
      h('td', { colspan: mode === 'diff' ? 3 : 2 }, markedText(row.text)),
    );
  }
  const sign = SIGN[row.kind];
  const code = h('td', { class: 'code' }, [
    mode === 'diff' ? h('span', { class: 'sign', 'aria-hidden': 'true' }, sign.mark) : null,
    mode === 'diff' && sign.spoken ? h('span', { class: 'visually-hidden' }, sign.spoken) : null,
    h('span', { class: 'line-text' }, markedText(row.text)),
  ]);
  return h('tr', { class: row.kind }, [
    h('td', { class: 'ln' }, row.oldNo ?? ''),
    mode === 'diff' ? h('td', { class: 'ln' }, row.newNo ?? '') : null,
    code,
  ]);
}

export function diffView(options: DiffViewOptions): HTMLElement {
  const mode = options.mode ?? 'diff';
  const rows = rowsOf(options.diff, mode);
  if (rows.length === 0) return h('p', { class: 'diff-empty' }, 'No changes.');

  const tableId = uid('diff');
  const body = h('tbody');
  const table = h(
    'table',
    { class: `diff diff-${mode}`, id: tableId, 'aria-label': options.label },
    [
      h(
        'thead',
        { class: 'visually-hidden' },
        h('tr', {}, [
          h('th', { scope: 'col' }, mode === 'diff' ? 'Old line' : 'Line'),
          mode === 'diff' ? h('th', { scope: 'col' }, 'New line') : null,
          h('th', { scope: 'col' }, 'Text'),
        ]),
      ),
      body,
    ],
  );
  const block = h('div', { class: 'diff-block' }, h('div', { class: 'diff-scroll' }, table));
  const collapsible = rows.length > COLLAPSE_OVER;

  const short = collapsible ? collapsedRows(rows) : rows;
  const render = (expanded: boolean) => {
    const shown = expanded ? rows : short;
    replaceChildren(
      body,
      shown.map((row) => rowElement(row, mode)),
    );
    return shown.length;
  };

  if (!collapsible) {
    render(true);
    return block;
  }
  let expanded = options.ui.isExpanded(options.owner, 'diff');
  const toggle = button('', () => {
    expanded = !expanded;
    options.ui.setExpanded(options.owner, 'diff', expanded);
    update();
  });
  toggle.classList.add('link-button', 'diff-toggle');
  toggle.setAttribute('aria-controls', tableId);
  const hiddenNote = h('p', { class: 'diff-more' });
  const update = () => {
    const count = render(expanded);
    toggle.textContent = expanded ? 'Show fewer lines' : `Show all ${rows.length} lines`;
    toggle.setAttribute('aria-expanded', String(expanded));
    hiddenNote.textContent = expanded ? '' : `${rows.length - count} more lines are hidden.`;
  };
  update();
  if (options.lead) block.prepend(h('div', { class: 'actions diff-lead' }, options.lead));
  block.append(hiddenNote, toggle);
  return block;
}
