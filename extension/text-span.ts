// The smallest single replacement that turns one text into another: an approved change applied to
// an open document touches only what changed, so the cursor, selections and folding outside it
// stay where the developer left them (and Ctrl+Z undoes exactly the agent's edit). A prefix and
// suffix scan, not a diff library: a diff would split the change into several edits.

/** The span of `before` that differs from `after` (offsets into `before`) and its replacement. */
export function changedMiddle(
  before: string,
  after: string,
): { start: number; end: number; middle: string } {
  let start = 0;
  const shorter = Math.min(before.length, after.length);
  while (start < shorter && before[start] === after[start]) start++;
  // Never split a surrogate pair: the edit starts and ends on whole characters.
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) start--;
  let tail = 0;
  while (
    tail < shorter - start &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) {
    tail++;
  }
  if (tail > 0 && isLow(before.charCodeAt(before.length - tail))) tail--;
  return { start, end: before.length - tail, middle: after.slice(start, after.length - tail) };
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;
