// What the sidebar remembers while it is hidden (VS Code destroys a hidden webview; we do not use
// retainContextWhenHidden): the prompt draft, unsent reasons / comments / answers per pending id,
// expanded diffs and values, the scroll position, and the next request id. Stored with
// `vscode.setState`, restored on load.
import type { VsCodeApi } from './vscode-api.js';

export type FieldValue = string | string[];

export interface UiState {
  v: 1;
  draft: string;
  /** Unsent input per owner (a pending id, or a run id for "deny all"), then per field. */
  fields: Record<string, Record<string, FieldValue>>;
  /** Expanded diffs and argument values per owner. */
  expanded: Record<string, string[]>;
  scrollY: number;
  /** Request ids keep counting across reloads so a late reply never matches a new request. */
  nextId: number;
}

function empty(): UiState {
  return { v: 1, draft: '', fields: {}, expanded: {}, scrollY: 0, nextId: 1 };
}

function isFieldValue(value: unknown): value is FieldValue {
  return (
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string'))
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** Reads what `setState` stored, keeping only well-formed parts (it may come from an older build). */
export function parseUiState(raw: unknown): UiState {
  const state = empty();
  if (!isRecord(raw)) return state;
  if (typeof raw.draft === 'string') state.draft = raw.draft;
  if (isRecord(raw.fields)) {
    for (const [owner, fields] of Object.entries(raw.fields)) {
      if (!isRecord(fields)) continue;
      const kept = Object.entries(fields).filter(([, value]) => isFieldValue(value));
      if (kept.length) state.fields[owner] = Object.fromEntries(kept) as Record<string, FieldValue>;
    }
  }
  if (isRecord(raw.expanded)) {
    for (const [owner, keys] of Object.entries(raw.expanded)) {
      if (Array.isArray(keys)) {
        state.expanded[owner] = keys.filter((k): k is string => typeof k === 'string');
      }
    }
  }
  if (typeof raw.scrollY === 'number' && Number.isFinite(raw.scrollY) && raw.scrollY >= 0) {
    state.scrollY = raw.scrollY;
  }
  if (typeof raw.nextId === 'number' && Number.isInteger(raw.nextId) && raw.nextId > 0) {
    state.nextId = raw.nextId;
  }
  return state;
}

export class UiStore {
  private readonly state: UiState;

  constructor(private readonly api: VsCodeApi) {
    this.state = parseUiState(api.getState());
  }

  get draft(): string {
    return this.state.draft;
  }

  set draft(text: string) {
    this.state.draft = text;
    this.save();
  }

  get scrollY(): number {
    return this.state.scrollY;
  }

  set scrollY(y: number) {
    if (y === this.state.scrollY) return;
    this.state.scrollY = y;
    this.save();
  }

  takeRequestId(): number {
    const id = this.state.nextId;
    this.state.nextId += 1;
    this.save();
    return id;
  }

  field(owner: string, key: string): FieldValue | undefined {
    return this.state.fields[owner]?.[key];
  }

  text(owner: string, key: string): string {
    const value = this.field(owner, key);
    return typeof value === 'string' ? value : '';
  }

  setField(owner: string, key: string, value: FieldValue): void {
    const fields = { ...this.state.fields[owner] };
    if (value === '' || (Array.isArray(value) && value.length === 0)) delete fields[key];
    else fields[key] = value;
    if (Object.keys(fields).length) this.state.fields[owner] = fields;
    else delete this.state.fields[owner];
    this.save();
  }

  /** Forgets everything typed for one owner (after its decision was accepted). */
  clearFields(owner: string): void {
    if (!(owner in this.state.fields)) return;
    delete this.state.fields[owner];
    this.save();
  }

  isExpanded(owner: string, key: string): boolean {
    return this.state.expanded[owner]?.includes(key) ?? false;
  }

  setExpanded(owner: string, key: string, expanded: boolean): void {
    const others = (this.state.expanded[owner] ?? []).filter((k) => k !== key);
    const next = expanded ? [...others, key] : others;
    if (next.length) this.state.expanded[owner] = next;
    else delete this.state.expanded[owner];
    this.save();
  }

  /** Forgets drafts and expansions of pending items and runs that are gone. */
  prune(liveOwners: ReadonlySet<string>): void {
    let changed = false;
    for (const table of [this.state.fields, this.state.expanded]) {
      for (const owner of Object.keys(table)) {
        if (!liveOwners.has(owner)) {
          delete table[owner];
          changed = true;
        }
      }
    }
    if (changed) this.save();
  }

  private save(): void {
    this.api.setState(this.state);
  }
}
