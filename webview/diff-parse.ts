// A unified diff (as the host's file tools produce it) read into rows with old and new line
// numbers. Pure: no DOM, so it is easy to reason about and to test.

export type DiffRow =
  | { kind: 'hunk'; text: string }
  | { kind: 'add' | 'del' | 'ctx'; text: string; oldNo: number | null; newNo: number | null }
  /** "\ No newline at end of file", "Binary files … differ" and the like. */
  | { kind: 'note'; text: string };

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;
const FILE_HEADER = /^(--- |\+\+\+ |Index: |={3,}|diff )/;

export function parseUnifiedDiff(diff: string): DiffRow[] {
  const rows: DiffRow[] = [];
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let inHunk = false;
  let oldNo = 0;
  let newNo = 0;
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const hunk = HUNK.exec(line);
    if (hunk) {
      inHunk = true;
      oldNo = Number(hunk[1]);
      newNo = Number(hunk[2]);
      rows.push({ kind: 'hunk', text: line });
      continue;
    }
    if (!inHunk) {
      if (!FILE_HEADER.test(line) && line.trim() !== '') rows.push({ kind: 'note', text: line });
      continue;
    }
    const sign = line[0];
    const text = line.slice(1);
    if (sign === '+') {
      rows.push({ kind: 'add', text, oldNo: null, newNo: newNo++ });
    } else if (sign === '-') {
      rows.push({ kind: 'del', text, oldNo: oldNo++, newNo: null });
    } else if (sign === ' ' || line === '') {
      rows.push({ kind: 'ctx', text, oldNo: oldNo++, newNo: newNo++ });
    } else {
      rows.push({ kind: 'note', text: line });
    }
  }
  return rows;
}

/** Lines added and removed. */
export function diffStats(rows: readonly DiffRow[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const row of rows) {
    if (row.kind === 'add') added++;
    else if (row.kind === 'del') removed++;
  }
  return { added, removed };
}
