// Redaction for every public surface (events, webview, logs, CLI, readable DB columns).
// The handler always receives the unredacted input; only copies leave the runtime.

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

export class Redactor {
  private readonly keys: Set<string>;
  private readonly pattern: RegExp | null;

  constructor(config: RedactionConfig = DEFAULT_REDACTION) {
    this.keys = new Set(config.keys.map((k) => k.toLowerCase()));
    for (const p of config.patterns) {
      try {
        new RegExp(p);
      } catch (err) {
        throw new Error(
          `Redaction pattern ${JSON.stringify(p)} is not a valid regular expression (${String(err)}); fix airlock.redactPatterns.`,
          { cause: err },
        );
      }
    }
    this.pattern = config.patterns.length
      ? new RegExp(config.patterns.map((p) => `(?:${p})`).join('|'), 'g')
      : null;
  }

  /** Masks credential-shaped substrings in one string. */
  text(value: string): string {
    return this.pattern ? value.replace(this.pattern, MASK) : value;
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
