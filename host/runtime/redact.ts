// Redaction for every public surface (events, webview, logs, CLI, readable DB columns).
// The handler always receives the unredacted input; only copies leave the runtime.
import { RegExpParser, visitRegExpAST } from '@eslint-community/regexpp';
import { RE2JS } from 're2js';

export const MASK = '***';

export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'api_key',
  'apiKey',
  'password',
  'secret',
  'token',
  'authorization',
];

/** Common credential formats, masked wherever they appear in a string (diffs included). */
export const DEFAULT_REDACT_PATTERNS: readonly string[] = [
  String.raw`sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}`,
  String.raw`gh[pousr]_[A-Za-z0-9]{20,}`,
  String.raw`github_pat_[A-Za-z0-9_]{20,}`,
  String.raw`(?:AKIA|ASIA)[0-9A-Z]{16}`,
  String.raw`xox[abprs]-[A-Za-z0-9-]{10,}`,
  String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`,
];

export interface RedactionConfig {
  keys: readonly string[];
  patterns: readonly string[];
}

export const DEFAULT_REDACTION: RedactionConfig = {
  keys: DEFAULT_REDACT_KEYS,
  patterns: DEFAULT_REDACT_PATTERNS,
};

/**
 * Redaction patterns are written as JavaScript regular expressions and run by RE2 (re2js), which
 * matches in time linear in the text whatever the pattern: a pattern such as `(a+)+$` that would
 * backtrack catastrophically in a backtracking engine cannot hang the host. What RE2 cannot run
 * in linear time (backreferences, lookaround, repeat counts above 1000) is refused when loaded,
 * for every source of patterns: settings, config files, defaults.
 */
export function compileRedactPattern(pattern: string): RE2JS {
  const refuse = (what: string, fix: string, cause?: unknown): Error =>
    new Error(
      `Redaction pattern ${JSON.stringify(pattern)} ${what}; ${fix} in airlock.redactPatterns (redactPatterns in airlock.config.json).`,
      { cause },
    );
  try {
    new RegExp(pattern);
  } catch (err) {
    throw refuse(`is not a valid regular expression (${String(err)})`, 'fix it', err);
  }
  const backtracking = backtrackingOnly(pattern);
  if (backtracking) {
    throw refuse(
      `uses ${backtracking}, which only a backtracking matcher can run (redaction runs in linear time, with RE2, so that no pattern can hang Airlock)`,
      'rewrite it without it',
    );
  }
  try {
    return RE2JS.compile(RE2JS.translateRegExp(pattern));
  } catch (err) {
    throw refuse(
      `cannot run in linear time (RE2: ${err instanceof Error ? err.message : String(err)})`,
      'rewrite it without backreferences or lookaround, with repeat counts of at most 1000,',
      err,
    );
  }
}

/** Why a redaction pattern is refused (the message of compileRedactPattern), or null. */
export function redactPatternProblem(pattern: string): string | null {
  try {
    compileRedactPattern(pattern);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The first construct of a (valid) pattern that RE2 lacks, named for the message, or null. */
function backtrackingOnly(pattern: string): string | null {
  let found: string | null = null;
  const ast = new RegExpParser().parsePattern(pattern, 0, pattern.length, { unicode: false });
  visitRegExpAST(ast, {
    onBackreferenceEnter(node) {
      found ??= `a backreference (${node.raw})`;
    },
    onAssertionEnter(node) {
      if (node.kind === 'lookahead' || node.kind === 'lookbehind') {
        found ??= `a ${node.kind} (${node.raw})`;
      }
    },
  });
  return found;
}

export class Redactor {
  private readonly keys: Set<string>;
  private readonly patterns: readonly RE2JS[];

  constructor(config: RedactionConfig = DEFAULT_REDACTION) {
    this.keys = new Set(config.keys.map((k) => k.toLowerCase()));
    this.patterns = config.patterns.map(compileRedactPattern);
  }

  /**
   * Masks credential-shaped substrings in one string. Each pattern finds its matches in one
   * linear pass over the original text; matches that overlap are masked as one.
   */
  text(value: string): string {
    const spans: [number, number][] = [];
    for (const pattern of this.patterns) {
      const m = pattern.matcher(value);
      while (m.find()) if (m.end() > m.start()) spans.push([m.start(), m.end()]);
    }
    if (!spans.length) return value;
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let done = 0;
    for (const [start, end] of spans) {
      if (start >= done) out += value.slice(done, start) + MASK;
      done = Math.max(done, end);
    }
    return out + value.slice(done);
  }

  /** Masks configured keys (plus `extraKeys`) at any depth and patterns in every string. */
  value<T>(value: T, extraKeys: readonly string[] = []): T {
    const keys = extraKeys.length
      ? new Set([...this.keys, ...extraKeys.map((k) => k.toLowerCase())])
      : this.keys;
    return this.walk(value, keys) as T;
  }

  /** Patterns only: for whole events, whose inputs were key-redacted where they were made. */
  strings<T>(value: T): T {
    return this.walk(value, new Set()) as T;
  }

  private walk(value: unknown, keys: Set<string>): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v, keys));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out[k] = keys.has(k.toLowerCase()) && v !== undefined ? MASK : this.walk(v, keys);
      }
      return out;
    }
    return value;
  }
}

/**
 * Redacts streamed text. A secret may arrive split across chunks, so text is released only up
 * to the last whitespace (credentials contain none), and nothing while a PEM block is open.
 */
export class StreamRedactor {
  private held = '';

  constructor(private readonly redactor: Redactor) {}

  push(chunk: string): string {
    this.held += chunk;
    let cut = Math.max(
      this.held.lastIndexOf(' '),
      this.held.lastIndexOf('\n'),
      this.held.lastIndexOf('\t'),
    );
    const open = this.held.lastIndexOf('-----BEGIN');
    if (open !== -1) {
      const end = /-----END [A-Z ]*-----/.exec(this.held.slice(open));
      if (!end) return '';
      // The END line has spaces of its own: release the block whole.
      cut = Math.max(cut, open + end.index + end[0].length - 1);
    }
    if (cut === -1) return '';
    const ready = this.held.slice(0, cut + 1);
    this.held = this.held.slice(cut + 1);
    return this.redactor.text(ready);
  }

  flush(): string {
    const rest = this.redactor.text(this.held);
    this.held = '';
    return rest;
  }
}
