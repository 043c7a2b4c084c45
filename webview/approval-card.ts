// One approval gate as a card: what the tool wants to do (prompt, arguments, inline diff or the
// content a delete removes) and every decision the developer can make about it.
import { ActionStatus, type RequestKind } from './action-status.js';
import { argsTable } from './args-table.js';
import type { Ctx } from './context.js';
import { diffStats, parseUnifiedDiff } from './diff-parse.js';
import { diffView, isCollapsed, markedText } from './diff-view.js';
import { button, h } from './dom.js';
import { selectField, textField } from './fields.js';
import type { ApprovalEvent, FilePreview } from '../host/protocol/events.js';
import type { Cover } from './protocol.js';
import type { RequestBody } from './requests.js';
import { coverLabel, decidedSentence } from './rule-text.js';
import { countHidden, visibleText } from '../host/shown-text.js';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

const KIND_LABEL: Record<FilePreview['kind'], string> = {
  edit: 'Edit',
  create: 'Create',
  delete: 'Delete',
};

function kindLabel(event: ApprovalEvent): string {
  if (event.command) return 'Command';
  return event.preview ? KIND_LABEL[event.preview.kind] : 'Approval';
}

/** A command line in the card's head: its first line, at most 80 characters. */
function clipLine(line: string): string {
  const first = line.split('\n')[0]!;
  return first.length > 80 || first !== line ? `${first.slice(0, 79)}…` : first;
}

const ACTION_LABEL = { allow: 'allowed', ask: 'asks', deny: 'denied' } as const;

/**
 * A shell command: the line, where it runs, and each sub-command with the rule that decides it
 * (issue 15), so the reviewer sees that `npm test && curl … | sh` is three commands.
 */
function commandSection(event: ApprovalEvent): HTMLElement[] {
  const command = event.command;
  if (!command) return [];
  const parts: HTMLElement[] = [];
  if (command.interrupted) {
    parts.push(
      h(
        'p',
        { class: 'notice warning interrupted', role: 'note' },
        'Airlock stopped while this command ran: it may have run partly. Approve runs it again; Deny skips it and tells the agent; or cancel the run.',
      ),
    );
  }
  parts.push(
    h('pre', { class: 'command-line', 'aria-label': 'Command' }, markedText(command.command)),
    h('dl', { class: 'facts' }, [h('dt', {}, 'In'), h('dd', { class: 'path' }, command.cwd)]),
  );
  if (command.subcommands.length) {
    parts.push(
      h(
        'h4',
        {},
        command.subcommands.length === 1 ? 'Command' : `${command.subcommands.length} commands`,
      ),
      h(
        'ul',
        { class: 'subcommands' },
        command.subcommands.map((sub) =>
          h('li', { class: `subcommand ${sub.action}` }, [
            h('span', { class: `badge rule-action ${sub.action}` }, ACTION_LABEL[sub.action]),
            h('code', {}, markedText(sub.text)),
            h('span', { class: 'subcommand-rule' }, sub.rule),
          ]),
        ),
      ),
    );
  }
  for (const note of command.notes) {
    parts.push(h('p', { class: 'notice warning', role: 'note' }, note));
  }
  return parts;
}

/** "Expires 3/4/2026, 10:00:00 AM" (or "Expired …"), from the gate's `expires_at`. */
function expiry(expiresAt: string): HTMLElement {
  const when = new Date(expiresAt);
  const valid = !Number.isNaN(when.getTime());
  const past = valid && when.getTime() <= Date.now();
  return h('p', { class: `expires${past ? ' past' : ''}` }, [
    past ? 'Expired ' : 'Expires ',
    h('time', { datetime: expiresAt }, valid ? when.toLocaleString() : expiresAt),
  ]);
}

function previewSection(
  event: ApprovalEvent,
  ctx: Ctx,
  openDiff: HTMLElement | null,
): HTMLElement[] {
  const preview = event.preview;
  if (!preview) return [];
  const parts: HTMLElement[] = [];
  if (preview.stale) {
    parts.push(
      h(
        'p',
        { class: 'notice warning', role: 'note' },
        `${preview.path} changed since the agent proposed this. Below is the fresh diff against the file as it is now.`,
      ),
    );
  }
  if (preview.unsaved) {
    parts.push(
      h(
        'p',
        { class: 'notice', role: 'note' },
        preview.kind === 'delete'
          ? `${preview.path} has unsaved changes in the editor: save or revert them before approving this delete (Airlock never deletes unsaved text).`
          : `This diff is against your unsaved changes to ${preview.path}: approving changes the open document (Ctrl+Z undoes it) and leaves saving to you.`,
      ),
    );
  } else {
    // Shown while the file is dirty in the editor (the extension says which files are).
    const live = h(
      'p',
      { class: 'notice warning unsaved-live', role: 'note', 'data-path': preview.path },
      `${preview.path} has unsaved changes in the editor, and this diff is against the file on disk. Approving shows a fresh diff against your open document first; nothing is written behind it.`,
    );
    live.hidden = true;
    parts.push(live);
  }
  if (preview.kind === 'delete') {
    parts.push(
      h('dl', { class: 'facts' }, [
        h('dt', {}, 'Path'),
        h('dd', { class: 'path' }, preview.path),
        h('dt', {}, 'Size'),
        h('dd', {}, formatBytes(preview.before_bytes)),
      ]),
      h('h4', {}, 'Content to be deleted'),
      diffView({
        diff: preview.diff,
        label: `Content of ${preview.path}, to be deleted`,
        owner: event.approval_id,
        ui: ctx.ui,
        mode: 'removed',
        lead: openDiff,
      }),
    );
    return parts;
  }
  const { added, removed } = diffStats(parseUnifiedDiff(preview.diff));
  const sizes =
    preview.kind === 'create'
      ? `new file, ${formatBytes(preview.after_bytes)}`
      : `${formatBytes(preview.before_bytes)} → ${formatBytes(preview.after_bytes)}`;
  parts.push(
    h('p', { class: 'stats' }, [
      h('span', { class: 'added' }, `+${added}`),
      ' ',
      h('span', { class: 'removed' }, `−${removed}`),
      ` lines · ${sizes}`,
    ]),
    diffView({
      diff: preview.diff,
      label: `Changes to ${preview.path}`,
      owner: event.approval_id,
      ui: ctx.ui,
      lead: openDiff,
    }),
  );
  return parts;
}

const count = (n: number, singular: string, several: string) =>
  `${n} ${n === 1 ? singular : several}`;

/**
 * What the reviewer must know about the proposal itself, above its diff: hidden or bidirectional
 * characters (as GitHub warns about "hidden or bidirectional Unicode text"), how many values
 * redaction masked, and secret-like values too long to mask, left visible (SPEC §2, §9).
 */
function proposalNotes(event: ApprovalEvent): HTMLElement[] {
  const notes: HTMLElement[] = [];
  const hidden = Math.max(
    event.hidden_chars ?? 0,
    countHidden(event.input),
    countHidden(event.preview?.diff ?? ''),
  );
  if (hidden > 0) {
    notes.push(
      h('p', { class: 'notice warning hidden-chars', role: 'note' }, [
        h('span', { class: 'codicon codicon-warning', 'aria-hidden': 'true' }),
        `This proposal contains ${count(hidden, 'hidden or bidirectional Unicode character', 'hidden or bidirectional Unicode characters')} that may be interpreted or compiled differently than what appears. ${hidden === 1 ? 'It is' : 'Each is'} shown as a marker such as ⟨U+202E⟩; hover a marker for its name.`,
      ]),
    );
  }
  const masked = event.redaction?.masked ?? 0;
  const tooLong = event.redaction?.too_long ?? 0;
  if (masked > 0) {
    notes.push(
      h('p', { class: 'redaction-note' }, [
        h('span', { class: 'codicon codicon-eye-closed', 'aria-hidden': 'true' }),
        `${count(masked, 'secret', 'secrets')} masked (shown as ***).`,
      ]),
    );
  }
  if (tooLong > 0) {
    notes.push(
      h('p', { class: 'notice warning too-long', role: 'note' }, [
        h('span', { class: 'codicon codicon-warning', 'aria-hidden': 'true' }),
        `${count(tooLong, 'secret-like value was', 'secret-like values were')} too long to mask and ${tooLong === 1 ? 'is' : 'are'} shown in full.`,
      ]),
    );
  }
  return notes;
}

/** Why a protected card asks and offers no always-allow (SPEC §9). */
export const PROTECTED_WHY =
  'Changes to .git, .vscode/, workspace files, airlock.config.json, .env files, CI definitions and package-manager settings always ask; no "always allow" covers them.';

function protectedBadge(): HTMLElement {
  return h('span', { class: 'badge protected' }, [
    h('span', { class: 'codicon codicon-shield', 'aria-hidden': 'true' }),
    'Protected path',
  ]);
}

/**
 * "Always…": what the rule covers (this file, its folder, or every call of the tool) and for how
 * long (this run or this workspace), then Always allow / Always deny. A protected path offers no
 * always-allow; a gate without a file offers only the whole tool.
 */
function alwaysControl(
  event: ApprovalEvent,
  ctx: Ctx,
  decide: (
    approved: boolean,
    scope: 'run' | 'workspace',
    cover: Cover,
    trigger: HTMLElement,
  ) => void,
): HTMLElement | null {
  const owner = event.approval_id;
  const path = event.preview?.path ?? null;
  const always = event.command?.always;
  // A shell command's rule is its sub-commands' patterns, never every command.
  const covers: Cover[] = always
    ? (['command', 'program'] as const).filter((c) => always[c])
    : path === null
      ? ['tool']
      : ['file', 'folder', 'tool'];
  if (!covers.length) return null;
  const cover = selectField<Cover>({
    owner,
    key: 'always-cover',
    label: 'Covers',
    ui: ctx.ui,
    options: covers.map((c) => ({
      value: c,
      label: coverLabel(c, path, event.tool, always?.[c as 'command' | 'program']),
    })),
  });
  const scope = selectField<'run' | 'workspace'>({
    owner,
    key: 'always-scope',
    label: 'For',
    ui: ctx.ui,
    options: [
      { value: 'run', label: 'this run' },
      { value: 'workspace', label: 'this workspace' },
    ],
  });
  const allowed = !event.protected;
  const allow = allowed
    ? button(
        'Always allow',
        (e) => decide(true, scope.value(), cover.value(), e.currentTarget as HTMLElement),
        {
          class: 'secondary',
        },
      )
    : null;
  const deny = button(
    'Always deny',
    (e) => decide(false, scope.value(), cover.value(), e.currentTarget as HTMLElement),
    { class: 'secondary' },
  );
  // The buttons' names say exactly what the rule will be, and follow the selects.
  const label = () => {
    const c = cover.value();
    const patterns = c === 'command' || c === 'program' ? always?.[c] : null;
    const what = `${coverLabel(c, path, event.tool, patterns)} ${scope.value() === 'run' ? 'in this run' : 'in this workspace'}`;
    allow?.setAttribute('aria-label', `Always allow ${event.tool}: ${what}`);
    deny.setAttribute('aria-label', `Always deny ${event.tool}: ${what}`);
  };
  cover.select.addEventListener('change', label);
  scope.select.addEventListener('change', label);
  label();
  return h('fieldset', { class: 'always' }, [
    h('legend', {}, allowed ? 'Always allow or deny…' : 'Always deny…'),
    h('div', { class: 'always-choices' }, [cover.el, scope.el]),
    h('div', { class: 'actions' }, [allow, deny]),
  ]);
}

/** Tools whose arguments the card already shows (the diff, the deleted content, the command). */
const DIFF_TOOLS = new Set(['write_file', 'edit_file', 'delete_file', 'run_command']);

/**
 * A field behind a disclosure ("Add comment", "Deny with reason…"): closed until asked for, open
 * when it holds an unsent value (so a draft survives a reload in view).
 */
function disclosure(summary: string, field: { el: HTMLElement; value(): string }, cls: string) {
  const head = h('summary', {}, summary);
  const details = h('details', { class: `disclosure ${cls}` }, [
    head,
    field.el,
  ]) as HTMLDetailsElement;
  if (field.value()) details.open = true;
  // Opened by the developer (click, or Enter / Space on the summary): the field takes focus. Not
  // when opened for a remembered draft, which would scroll the sidebar.
  let asked = false;
  head.addEventListener('click', () => (asked = true));
  details.addEventListener('toggle', () => {
    if (details.open && asked) field.el.querySelector<HTMLElement>('textarea, input')?.focus();
    asked = false;
  });
  return details;
}

/** The arguments: behind "Show arguments" when the diff shows the same thing. */
function argsSection(event: ApprovalEvent, ctx: Ctx): HTMLElement {
  const table = argsTable(event.input, event.approval_id, ctx.ui);
  if ((!event.preview && !event.command) || !DIFF_TOOLS.has(event.tool)) return table;
  const details = h('details', { class: 'disclosure args-toggle' }, [
    h('summary', {}, 'Show arguments'),
    table,
  ]) as HTMLDetailsElement;
  details.open = ctx.ui.isExpanded(event.approval_id, 'args');
  details.addEventListener('toggle', () =>
    ctx.ui.setExpanded(event.approval_id, 'args', details.open),
  );
  return details;
}

export function approvalCard(event: ApprovalEvent, ctx: Ctx): HTMLElement {
  const owner = event.approval_id;
  const kind = kindLabel(event);
  const subject =
    event.preview?.path ?? (event.command ? clipLine(event.command.command) : event.path) ?? '';
  const card = h('section', {
    class: `card approval kind-${event.preview?.kind ?? 'tool'}`,
    'aria-label': `${kind}${subject ? ` ${subject}` : ''} (${event.tool})${event.protected ? ', protected path' : ''}`,
    'data-approval-id': owner,
  });
  const status = new ActionStatus(card);

  const comment = textField({
    owner,
    key: 'comment',
    label: 'Comment (optional)',
    ui: ctx.ui,
    rows: 1,
    hint: 'Kept with the decision in the audit log.',
  });
  const reason = textField({
    owner,
    key: 'reason',
    label: 'Reason, if you deny',
    ui: ctx.ui,
    rows: 2,
    placeholder: 'Tell the agent what to do instead',
  });

  const send = (body: RequestBody, kindOf: RequestKind, trigger: HTMLElement, sent?: string) => {
    ctx.requests.send(
      body,
      status.track(kindOf, trigger, () => {
        if (kindOf !== 'decision') return;
        ctx.ui.clearFields(owner);
        if (sent) {
          status.note(`${sent} Waiting for the run to continue…`);
          ctx.decided?.(event.run_id, sent);
        }
      }),
    );
  };
  const ids = { run_id: event.run_id, approval_id: owner };
  const approve = (trigger: HTMLElement) => {
    const text = comment.value();
    send(
      { type: 'approve', ...ids, scope: 'once', ...(text ? { comment: text } : {}) },
      'decision',
      trigger,
    );
  };
  const deny = (trigger: HTMLElement) => {
    const text = reason.value();
    send(
      { type: 'deny', ...ids, scope: 'once', ...(text ? { reason: text } : {}) },
      'decision',
      trigger,
    );
  };
  const always = (
    approved: boolean,
    scope: 'run' | 'workspace',
    cover: Cover,
    trigger: HTMLElement,
  ) => {
    const sentence = decidedSentence({
      approved,
      tool: event.tool,
      cover,
      path: event.preview?.path ?? null,
      scope,
      patterns: cover === 'command' || cover === 'program' ? event.command?.always[cover] : null,
    });
    if (approved) {
      const text = comment.value();
      send(
        { type: 'approve', ...ids, scope, cover, ...(text ? { comment: text } : {}) },
        'decision',
        trigger,
        sentence,
      );
    } else {
      const text = reason.value();
      send(
        { type: 'deny', ...ids, scope, cover, ...(text ? { reason: text } : {}) },
        'decision',
        trigger,
        sentence,
      );
    }
  };

  const approveButton = button('Approve', (e) => approve(e.currentTarget as HTMLElement), {
    class: 'primary',
    'aria-label': `Approve: ${event.prompt}`,
  });
  const denyButton = button('Deny', (e) => deny(e.currentTarget as HTMLElement), {
    class: 'secondary',
    'aria-label': `Deny: ${event.prompt}`,
  });

  const secondary: HTMLElement[] = [];
  // A command is edited in place: the edited line is what runs (override_input).
  const edited = event.command
    ? textField({
        owner,
        key: 'command',
        label: 'Command to run instead',
        ui: ctx.ui,
        rows: 2,
        hint: 'Approve runs this line instead of the proposal; no rule judges it again.',
      })
    : null;
  if (edited) {
    secondary.push(
      button(
        'Approve edited command',
        (e) => {
          const line = edited.value().trim();
          if (!line) {
            status.note('Type the command to run first.');
            return;
          }
          const text = comment.value();
          send(
            {
              type: 'approve',
              ...ids,
              scope: 'once',
              command: line,
              ...(text ? { comment: text } : {}),
            },
            'decision',
            e.currentTarget as HTMLElement,
          );
        },
        { class: 'secondary', 'aria-label': 'Approve the edited command instead of the proposal' },
      ),
    );
  }
  // A big diff is collapsed: "Open diff" is then its first action, above it.
  let leadOpenDiff: HTMLElement | null = null;
  if (event.preview) {
    const openDiff = button(
      'Open diff',
      (e) => send({ type: 'openDiff', ...ids }, 'command', e.currentTarget as HTMLElement),
      { class: 'secondary', 'aria-label': `Open diff of ${event.preview.path} in the editor` },
    );
    if (isCollapsed(event.preview.diff, event.preview.kind === 'delete' ? 'removed' : 'diff'))
      leadOpenDiff = openDiff;
    else secondary.push(openDiff);
    if (event.preview.kind !== 'delete') {
      secondary.push(
        button(
          'Edit, then approve',
          (e) =>
            send({ type: 'editThenApprove', ...ids }, 'command', e.currentTarget as HTMLElement),
          { class: 'secondary', 'aria-label': `Edit ${event.preview.path}, then approve` },
        ),
      );
    }
  }
  secondary.push(
    button(
      'Cancel run',
      (e) =>
        send(
          { type: 'cancelRun', run_id: event.run_id },
          'decision',
          e.currentTarget as HTMLElement,
        ),
      { class: 'secondary', 'aria-label': 'Cancel this run' },
    ),
  );

  // The head and the decision stay in view (sticky) while the rest of the card scrolls by.
  card.append(
    h('div', { class: 'card-top' }, [
      h('header', { class: 'card-head' }, [
        h('span', { class: `badge kind-${event.preview?.kind ?? 'tool'}` }, kind),
        event.protected ? protectedBadge() : null,
        h('span', { class: 'tool' }, event.tool),
        subject
          ? h('span', { class: 'path', title: visibleText(subject) }, markedText(subject))
          : null,
      ]),
      h('div', { class: 'actions primary-actions' }, [approveButton, denyButton]),
      status.el,
    ]),
    ...(event.protected
      ? [h('p', { class: 'notice protected', role: 'note' }, PROTECTED_WHY)]
      : []),
    h('p', { class: 'prompt' }, markedText(event.prompt)),
    ...(event.expires_at ? [expiry(event.expires_at)] : []),
    ...proposalNotes(event),
    ...previewSection(event, ctx, leadOpenDiff),
    ...commandSection(event),
    argsSection(event, ctx),
    h('div', { class: 'disclosures' }, [
      ...(edited ? [disclosure('Edit command…', edited, 'edit-command')] : []),
      disclosure('Add comment', comment, 'comment'),
      disclosure('Deny with reason…', reason, 'reason'),
    ]),
    h('div', { class: 'actions' }, secondary),
    alwaysControl(event, ctx, always) ?? '',
  );
  return card;
}
