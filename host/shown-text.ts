// Untrusted text (a repository's file, a model's path) as a terminal or a message may show it:
// control and bidirectional characters made visible as \uXXXX escapes, length bounded, so it
// can neither move the cursor nor reorder what the reader sees (SPEC §9).

const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

export function shownText(text: string, max = 200): string {
  const safe = text.replace(
    INVISIBLE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
