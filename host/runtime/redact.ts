// Redaction for every public surface (events, webview, logs, CLI, readable DB columns).
// The handler always receives the unredacted input; only copies leave the runtime.
//
// Redaction hides secrets, never intent (SPEC §2). A mask covers one bounded secret value:
// - every built-in pattern has a cap, and a match that would have gone on past its cap (a token
//   followed by more token characters, a PEM BEGIN line without an END within the cap) is left
//   visible and flagged (counted as `too_long`) instead of masked;
// - a mask never covers a line break, except inside a PEM block that is properly terminated and
//   whose body is base64 (so no line of code can sit inside it);
// - a user pattern's match that spans a line break or is longer than MATCH_MAX_CHARS is flagged,
//   not masked;
// - `KEY=value`, `KEY: value`, `"key": "value"` in any text (file content, diffs, tool output)
//   mask the value only when KEY names a secret, so the reviewer still reads `DB_PASSWORD=***`.
import { BoundedCache } from './bounded-cache.js';
import { RegExpParser, visitRegExpAST } from '@eslint-community/regexpp';
import { RE2JS, type Matcher } from 're2js';

export const MASK = '***';

export const DEFAULT_REDACT_KEYS: readonly string[] = [
  'api_key',
  'apiKey',
  'password',
  'secret',
  'token',
  'authorization',
];

/**
 * The longest PEM block that is masked, BEGIN line to END line. OpenSSL makes RSA keys of at most
 * 16,384 bits (OPENSSL_RSA_MAX_MODULUS_BITS); such a key's PEM is about 12.6 KB, everyday keys
 * (RSA 2048–8192, EC, Ed25519, OpenSSH) 0.1–6.4 KB. 16 KB masks every real key, also with CRLF
 * line ends, a diff's `+` or YAML indentation on every line, or `\n` escapes in a JSON string,
 * while no mask can swallow more than that.
 */
export const PEM_MAX_CHARS = 16 * 1024;

/**
 * The longest match of any other pattern (a user's included) and the longest `KEY=value` value
 * that is masked: far above any credential (tokens are < 300 characters, a service account's
 * JSON-escaped PEM < 4 KB is caught by the PEM pattern), far below a screen of text.
 */
export const MATCH_MAX_CHARS = 4 * 1024;

/** A built-in token format: a fixed prefix, then between `min` and `max` characters of `chars`. */
interface TokenFormat {
  prefix: string;
  chars: string;
  min: number;
  max: number;
}

/**
 * Caps: OpenAI keys are 51–164 characters (`sk-proj-…`), Anthropic's 108; GitHub says its tokens
 * may grow to 255; AWS access key ids are exactly 20; Slack tokens are under 100.
 */
const TOKEN_FORMATS: readonly TokenFormat[] = [
  { prefix: 'sk-(?:proj-|ant-)?', chars: String.raw`[A-Za-z0-9_\-]`, min: 16, max: 256 },
  { prefix: 'gh[pousr]_', chars: '[A-Za-z0-9]', min: 20, max: 255 },
  { prefix: 'github_pat_', chars: '[A-Za-z0-9_]', min: 20, max: 255 },
  { prefix: '(?:AKIA|ASIA)', chars: '[0-9A-Z]', min: 16, max: 16 },
  { prefix: 'xox[abprs]-', chars: '[A-Za-z0-9-]', min: 10, max: 255 },
];

function tokenPattern(f: TokenFormat): string {
  return `${f.prefix}${f.chars}{${f.min === f.max ? f.min : `${f.min},${f.max}`}}`;
}

/**
 * A private key in PEM form: BEGIN line, a body of base64 lines (with the encryption headers of
 * an encrypted key), END line. Between lines: a line break with a diff's `+`/`-`/` ` and
 * indentation, or a JSON string's `\n`. No spaces inside a line; isPemKey then asks for lines
 * of one width, `=` only as final padding, BEGIN and END of one kind, and the length cap: no
 * command with arguments, no comment, no assignment can sit inside a masked block.
 */
const PEM_PATTERN = String.raw`-----BEGIN ([A-Z ]{0,40})PRIVATE KEY-----((?:[A-Za-z0-9+/=]|\\[rn]|\r?\n[+\- ]?[ \t]*|(?:Proc-Type|DEK-Info): [A-Za-z0-9,\-]{1,100})*?)-----END ([A-Z ]{0,40})PRIVATE KEY-----`;
const PEM_BEGIN = '-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----';

/** Common credential formats, masked wherever they appear in a string (diffs included). */
export const DEFAULT_REDACT_PATTERNS: readonly string[] = [
  ...TOKEN_FORMATS.map(tokenPattern),
  PEM_PATTERN,
];

/**
 * The unbounded defaults of earlier versions, which a developer's settings may still list (VS
 * Code copies the default list into settings.json when one item is added): each runs as the
 * bounded built-in it became.
 */
const LEGACY_PATTERNS: ReadonlyMap<string, string> = new Map([
  [String.raw`sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{16,}`, DEFAULT_REDACT_PATTERNS[0]!],
  [String.raw`gh[pousr]_[A-Za-z0-9]{20,}`, DEFAULT_REDACT_PATTERNS[1]!],
  [String.raw`github_pat_[A-Za-z0-9_]{20,}`, DEFAULT_REDACT_PATTERNS[2]!],
  [String.raw`xox[abprs]-[A-Za-z0-9-]{10,}`, DEFAULT_REDACT_PATTERNS[4]!],
  [
    String.raw`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)`,
    PEM_PATTERN,
  ],
]);

export interface RedactionConfig {
  keys: readonly string[];
  patterns: readonly string[];
}

export const DEFAULT_REDACTION: RedactionConfig = {
  keys: DEFAULT_REDACT_KEYS,
  patterns: DEFAULT_REDACT_PATTERNS,
};

/**
 * What redaction did to a value: distinct secret values masked (keys' values included; the same
 * secret in a proposal's input and in its diff counts once) and secret-like matches left visible
 * because they would have run past a cap (`too_long`).
 */
export interface RedactionTally {
  masked: number;
  too_long: number;
  /** The values masked so far, to count each once. */
  readonly seen: Set<string>;
}

export function emptyTally(): RedactionTally {
  return { masked: 0, too_long: 0, seen: new Set() };
}

function countMasked(tally: RedactionTally | undefined, secret: string): void {
  if (!tally || tally.seen.has(secret)) return;
  tally.seen.add(secret);
  tally.masked++;
}

/**
 * Redaction patterns are written as JavaScript regular expressions and run by RE2 (re2js), which
 * matches in time linear in the text whatever the pattern: a pattern such as `(a+)+$` that would
 * backtrack catastrophically in a backtracking engine cannot hang the host. What RE2 cannot run
 * in linear time (backreferences, lookaround, repeat counts above 1000) is refused when loaded,
 * for every source of patterns: settings, config files, defaults.
 */
export function compileRedactPattern(pattern: string): RE2JS {
  return patterns.get(pattern, compilePattern);
}

/**
 * Compiled RE2 programs by their source. Compiling the default patterns was a sixth of the CPU
 * of a pause→resume cycle (every run builds its Redactor); a program is immutable (each match
 * takes its own matcher), so runs share it.
 */
const patterns = new BoundedCache<string, RE2JS>(256);
const starts = new BoundedCache<string, RE2JS[]>(256);

function compilePattern(pattern: string): RE2JS {
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

// ---------------------------------------------------------------------------------------------
// Secret key names

/** The words of a name: `DB_PASSWORD` → db password, `apiKey` → api key, `x-api-key` → x api key. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * The configured keys, matched case-insensitively either as the whole name or as a run of its
 * words: `password` matches DB_PASSWORD, `api_key` matches API_KEY and x-api-key, `secret`
 * matches SECRET_KEY_BASE; `token` does not match `tokens` or `tokenizer`.
 */
class KeyNames {
  private readonly whole = new Set<string>();
  private readonly joined = new Set<string>();

  /** RE2 programs finding `KEY=` / `"key":` where KEY holds a key's words (see keyStarts). */
  get starts(): readonly RE2JS[] {
    // Compiled on first use: most texts hold no key's words (a CLI process often never needs
    // them), and compiling these programs was most of a cold Redactor's cost.
    this.programs ??= this.alternation ? starts.get(this.alternation, keyStarts) : [];
    return this.programs;
  }
  private programs: readonly RE2JS[] | undefined;
  private readonly alternation: string;
  /** Any key's words, to find the lines worth a look (a literal alternation: linear). */
  private readonly words: RegExp | null;

  constructor(private readonly keys: readonly string[]) {
    const alternatives = new Set<string>();
    for (const k of keys) {
      this.whole.add(k.toLowerCase());
      const words = nameWords(k);
      if (words.length) {
        this.joined.add(words.join(''));
        alternatives.add(words.join('[_. \\-]{0,3}'));
      }
    }
    const words = [...alternatives].join('|');
    this.alternation = words;
    this.words = words ? new RegExp(words, 'gi') : null;
  }

  /** The lines of a text that hold some key's words, as [start, end) offsets. */
  *lines(text: string): Generator<Span> {
    if (!this.words) return;
    const words = new RegExp(this.words);
    let m: RegExpExecArray | null;
    while ((m = words.exec(text))) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      let end = text.indexOf('\n', m.index);
      if (end === -1) end = text.length;
      yield [start, end];
      words.lastIndex = end;
    }
  }

  with(extra: readonly string[]): KeyNames {
    return new KeyNames([...this.keys, ...extra]);
  }

  matches(name: string): boolean {
    if (this.whole.has(name.toLowerCase())) return true;
    const words = nameWords(name).slice(0, 32);
    for (let i = 0; i < words.length; i++) {
      let run = '';
      for (let j = i; j < words.length; j++) {
        run += words[j];
        if (this.joined.has(run)) return true;
      }
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Rules: each finds spans to mask in a text and flags what it left visible.

type Span = [start: number, end: number];

interface Found {
  masks: Span[];
  flag: () => void;
}

type Rule = (text: string, found: Found, open?: boolean) => void;

/** A line break of any kind: a mask must not cover one (outside a terminated PEM block). */
const LINE_BREAK = /[\r\n\u2028\u2029]/;

/** A user's pattern: masked unless its match spans a line break or is longer than the cap. */
function userRule(re: RE2JS): Rule {
  return (text, found) => {
    const m = re.matcher(text);
    while (m.find()) {
      const start = m.start();
      const end = m.end();
      if (end <= start) continue;
      if (end - start > MATCH_MAX_CHARS || LINE_BREAK.test(text.slice(start, end))) found.flag();
      else found.masks.push([start, end]);
    }
  };
}

/**
 * What a built-in token format runs as: its run of `chars` unbounded and captured, the cap checked
 * on the match (tokenRule). RE2 compiles a counted repetition such as `{16,256}` into 256 copies
 * of the class: up to 20 ms a pattern, in every new process, for the same matches.
 */
function tokenRunPattern(f: TokenFormat): string {
  return `${f.prefix}(${f.chars}{${f.min},})`;
}

/** A built-in token: masked when its run of token characters fits the format's cap. */
function tokenRule(format: TokenFormat): Rule {
  const re = patterns.get(tokenRunPattern(format), (p) => RE2JS.compile(RE2JS.translateRegExp(p)));
  return (text, found) => {
    const m = re.matcher(text);
    while (m.find()) {
      // A run longer than the format's cap stays visible and counts once: no fragment of it is
      // masked.
      if (m.end(1) - m.start(1) > format.max) found.flag();
      else found.masks.push([m.start(), m.end()]);
    }
  };
}

const PEM_HEADER = /^(?:Proc-Type|DEK-Info): /;

/**
 * Whether a PEM match is a key: BEGIN and END name the same kind, the block fits the cap, the
 * body is base64 in lines of one width (the last may be shorter), `=` only as final padding.
 * In a diff every line starts with a mark (`+`, `-`, ` `) that is not part of the key; as a
 * base64 line may itself start with `+`, the body is read both with and without marks.
 */
function isPemKey(m: Matcher): boolean {
  if (m.end() - m.start() > PEM_MAX_CHARS) return false;
  if (m.group(1) !== m.group(3)) return false;
  const body = (m.group(2) ?? '').split(/\r?\n/);
  return [true, false].some((marked) => {
    const lines = body
      .map((line, i) => (i > 0 && marked ? line.slice(1) : line).replace(/^[ \t]+/, ''))
      .flatMap((line) => line.split(/\\r\\n|\\[rn]/))
      .filter((line) => line !== '' && !PEM_HEADER.test(line));
    const width = lines[0]?.length ?? 0;
    return (
      lines.length > 0 &&
      lines.every((line, i) =>
        i === lines.length - 1
          ? /^[A-Za-z0-9+/]*={0,2}$/.test(line) && line.length <= width
          : /^[A-Za-z0-9+/]+$/.test(line) && line.length === width,
      )
    );
  });
}

/** PEM private keys; a BEGIN line with no END (or not a key, or past the cap) is flagged. */
function pemRule(re: RE2JS): Rule {
  const begin = RE2JS.compile(PEM_BEGIN);
  return (text, found) => {
    if (!text.includes('-----BEGIN ')) return;
    const blocks: Span[] = [];
    const m = re.matcher(text);
    while (m.find()) {
      blocks.push([m.start(), m.end()]);
      if (isPemKey(m)) found.masks.push([m.start(), m.end()]);
      else found.flag();
    }
    const b = begin.matcher(text);
    let i = 0;
    while (b.find()) {
      const at = b.start();
      while (i < blocks.length && blocks[i]![1] <= at) i++;
      const inBlock = i < blocks.length && blocks[i]![0] <= at;
      if (!inBlock) found.flag();
    }
  };
}

function patternRule(source: string): Rule {
  const builtin = LEGACY_PATTERNS.get(source) ?? source;
  const index = DEFAULT_REDACT_PATTERNS.indexOf(builtin);
  // Airlock's own patterns are known to be valid and linear: only RE2 compiles them (checking
  // them like the developer's was a third of a cold process's redaction set-up).
  if (index === -1) return userRule(compileRedactPattern(source));
  const format = TOKEN_FORMATS[index];
  if (format) return tokenRule(format);
  return pemRule(patterns.get(builtin, (p) => RE2JS.compile(RE2JS.translateRegExp(p))));
}

// `KEY=value`, `KEY: value`, `"key": "value"`: the value is masked when KEY names a secret.
// RE2 finds the keys holding a secret key's words, with their separator; the value after one
// that KeyNames.matches is read by valueAt, in one pass, up to MATCH_MAX_CHARS.
const SEP = String.raw`[ \t]*(?P<sep>:=|=>|=|:)[ \t]*`;

/**
 * Bare keys at a line's start (after a diff's mark, indentation, a YAML dash, up to four words
 * such as `export`, `const`, `private static final String`: with `=` only, so that prose such
 * as "the password: …" is no key) or after `{ , ? & ;`, maybe with a type annotation
 * (`password: str = "…"`); quoted keys anywhere (JSON, Python, PHP). `words` is an alternation
 * of the keys' words, matched case-insensitively.
 */
function keyStarts(words: string): RE2JS[] {
  const bare =
    String.raw`(?m)(?:^[+\- ]?[ \t]*(?:-[ \t]+)?(?P<lead>(?:[A-Za-z_][A-Za-z0-9_]*[ \t]+){0,4})|[{,?&;][ \t]*)` +
    String.raw`(?P<key>[A-Za-z0-9_.\-]*(?i:${words})[A-Za-z0-9_.\-]*)` +
    String.raw`(?:[ \t]*:[ \t]*[A-Za-z_][A-Za-z0-9_.\[\]]*(?:[ \t]*\|[ \t]*[A-Za-z_][A-Za-z0-9_.\[\]]*)?)?`;
  const quoted =
    String.raw`(?P<lead>)(?:"(?P<key>[^"\\\r\n]*(?i:${words})[^"\\\r\n]*)"` +
    String.raw`|'(?P<skey>[^'\\\r\n]*(?i:${words})[^'\\\r\n]*)')`;
  return [bare, quoted].map((key) => RE2JS.compile(key + SEP));
}

/** A quote opening a string value, after a Python prefix (`f"…"`, `rb'…'`). */
const QUOTE = /[rRbBuUfF]{0,2}(["'])/y;
/**
 * One word of a literal value. Not a value (code, left visible): what starts with `$`, `#` or
 * `=`; a word runs up to whitespace, a quote, a bracket, `; | & < > ,`.
 */
const WORD = /[^\s"'`$(){}[\];|&<>,#=][^\s"'`(){}[\];|&<>,]*/y;
const BLANKS = /[ \t]+/y;

/** Values that are not secrets: masking them would only hide what the code does. */
const NOT_SECRET = new Set([
  ...['null', 'true', 'false', 'none', 'nil', 'undefined', MASK],
  // Type annotations (`password: string;`), not values.
  ...['string', 'number', 'boolean', 'str', 'int', 'bool', 'bytes', 'any', 'unknown', 'object'],
]);

/**
 * `process.env.API_KEY`, `config.db.password`: a reference to where the secret lives, which the
 * reviewer should see. (A JWT also has dots, but its segments start with `eyJ` or are long.)
 */
function isReference(value: string): boolean {
  const parts = value.split('.');
  return (
    parts.length > 1 &&
    parts.every((p) => /^[A-Za-z_$][\w$]{0,39}$/.test(p) && !p.startsWith('eyJ'))
  );
}

/**
 * The value that starts at `at`: a quoted string on its line (its inside: the quotes stay), or
 * one word of literal characters (after `:`, words up to the line's end or a comment:
 * `Authorization: Bearer abc`). Null when there is none, or it looks like code: a call, an
 * index, an expansion (`getpass()`, `env["X"]`, `$(…)`, `${{ … }}`).
 */
function valueAt(text: string, at: number, words: boolean): Span | null {
  QUOTE.lastIndex = at;
  const q = QUOTE.exec(text);
  if (q) {
    const start = QUOTE.lastIndex;
    for (let i = start; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === q[1]) return [start, i];
      if (LINE_BREAK.test(ch)) return null;
      if (ch === '\\' && LINE_BREAK.test(text.charAt(++i))) return null;
      if (i - start > MATCH_MAX_CHARS) return [start, i]; // long: flagged by the caller
    }
    return null;
  }
  WORD.lastIndex = at;
  if (!WORD.exec(text)) return null;
  let end = WORD.lastIndex;
  while (words && end - at <= MATCH_MAX_CHARS) {
    BLANKS.lastIndex = end;
    if (!BLANKS.exec(text)) break;
    WORD.lastIndex = BLANKS.lastIndex;
    if (!WORD.exec(text)) break;
    end = WORD.lastIndex;
  }
  return /[([{]/.test(text.charAt(end)) ? null : [at, end];
}

/** The key of a match of keyStarts, if it is one of the keys (at most 100 characters). */
function secretKey(keys: KeyNames, m: Matcher): boolean {
  if (m.group('lead') && m.group('sep') === ':') return false;
  const key = m.group('key') ?? m.group('skey') ?? '';
  return key.length <= 100 && keys.matches(key);
}

/**
 * `open`: the text is a piece of a stream that goes on, and a value of words (after `:`) that
 * runs to its end may be longer than the piece shows: it is not masked (the StreamRedactor only
 * cuts there when it is longer than MATCH_MAX_CHARS).
 */
function keyValueRule(keys: KeyNames): Rule {
  return (text, found, open) => {
    if (!/[=:]/.test(text)) return;
    // Keys and values never span a line: only the lines holding a key's words are read.
    for (const [lineStart, lineEnd] of keys.lines(text)) {
      const line = text.slice(lineStart, lineEnd);
      for (const re of keys.starts) {
        const m = re.matcher(line);
        let next = m.find();
        while (next) {
          let from = m.end();
          const value = secretKey(keys, m)
            ? valueAt(text, lineStart + m.end(), m.group('sep') === ':')
            : null;
          if (value) {
            const [start, end] = value;
            from = end - lineStart;
            const shown = text.slice(start, end);
            const goesOn = open && m.group('sep') === ':' && !text.slice(end).trim();
            if (end - start > MATCH_MAX_CHARS || goesOn) found.flag();
            else if (end > start && !NOT_SECRET.has(shown.toLowerCase()) && !isReference(shown)) {
              found.masks.push(value);
            }
          }
          next = from < line.length && m.find(from);
        }
      }
    }
  };
}

export class Redactor {
  private readonly keys: KeyNames;
  private readonly rules: readonly Rule[];
  private readonly keyValues: Rule;
  /** The keys and their rule with a tool's approvalRedactKeys added, by that list. */
  private readonly extra = new Map<string, { keys: KeyNames; rule: Rule }>();

  constructor(config: RedactionConfig = DEFAULT_REDACTION) {
    this.keys = new KeyNames(config.keys);
    this.rules = config.patterns.map(patternRule);
    this.keyValues = keyValueRule(this.keys);
  }

  /**
   * Masks credential-shaped substrings in one string. Each rule finds its matches in one linear
   * pass over the original text; matches that overlap are masked as one. `tally` counts the
   * masks and what was left visible.
   */
  text(value: string, tally?: RedactionTally): string {
    return this.mask(value, this.keyValues, tally);
  }

  /** True for a name a secret goes by (an environment variable, a field): DB_PASSWORD, API_KEY. */
  isSecretName(name: string): boolean {
    return this.keys.matches(name);
  }

  /** Masks configured keys (plus `extraKeys`) at any depth and patterns in every string. */
  value<T>(value: T, extraKeys: readonly string[] = [], tally?: RedactionTally): T {
    if (!extraKeys.length) return this.walk(value, this.keys, this.keyValues, tally) as T;
    const id = JSON.stringify(extraKeys);
    let extra = this.extra.get(id);
    if (!extra) {
      const keys = this.keys.with(extraKeys);
      extra = { keys, rule: keyValueRule(keys) };
      this.extra.set(id, extra);
    }
    return this.walk(value, extra.keys, extra.rule, tally) as T;
  }

  /** Patterns only: for whole events, whose inputs were key-redacted where they were made. */
  strings<T>(value: T, tally?: RedactionTally): T {
    return this.walk(value, null, this.keyValues, tally) as T;
  }

  /**
   * Where streamed text may be cut without splitting a `KEY: value` whose value may still grow:
   * the start of the first secret key with its separator on the text's last line, else `cut`.
   */
  safeCut(text: string, cut: number): number {
    const lineStart = Math.max(text.lastIndexOf('\n') + 1, text.length - MATCH_MAX_CHARS);
    const line = text.slice(lineStart);
    let safe = cut;
    if (this.keys.lines(line).next().done) return cut;
    for (const re of this.keys.starts) {
      const m = re.matcher(line);
      while (m.find()) {
        if (lineStart + m.start() >= safe) break;
        if (secretKey(this.keys, m)) safe = lineStart + m.start();
      }
    }
    return safe;
  }

  /** A piece of streamed text, more of which follows (see keyValueRule). */
  piece(value: string): string {
    return this.mask(value, this.keyValues, undefined, true);
  }

  private mask(
    value: string,
    keyValues: Rule,
    tally: RedactionTally | undefined,
    open = false,
  ): string {
    const found: Found = {
      masks: [],
      flag: () => {
        if (tally) tally.too_long++;
      },
    };
    for (const rule of this.rules) rule(value, found);
    keyValues(value, found, open);
    const spans = found.masks;
    if (!spans.length) return value;
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let done = 0;
    for (const [start, end] of spans) {
      if (start >= done) {
        out += value.slice(done, start) + MASK;
        countMasked(tally, value.slice(start, end));
      }
      done = Math.max(done, end);
    }
    return out + value.slice(done);
  }

  private walk(
    value: unknown,
    keys: KeyNames | null,
    keyValues: Rule,
    tally: RedactionTally | undefined,
  ): unknown {
    if (typeof value === 'string') return this.mask(value, keyValues, tally);
    if (Array.isArray(value)) return value.map((v) => this.walk(v, keys, keyValues, tally));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (keys?.matches(k) && v !== undefined) {
          out[k] = MASK;
          if (v !== MASK) countMasked(tally, JSON.stringify(v));
        } else out[k] = this.walk(v, keys, keyValues, tally);
      }
      return out;
    }
    return value;
  }
}

/**
 * Redacts streamed text. A secret may arrive split across chunks, so text is released only up
 * to the last whitespace (credentials contain none), never between a secret key and its value,
 * and nothing while a PEM block is open, up to the PEM cap (a longer block is not masked).
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
      if (end) {
        // The END line has spaces of its own: release the block whole.
        cut = Math.max(cut, open + end.index + end[0].length - 1);
      } else if (this.held.length - open <= PEM_MAX_CHARS) {
        // Hold the block; release what came before it, up to its last whitespace.
        const before = this.held.slice(0, open);
        cut = Math.min(
          cut,
          Math.max(before.lastIndexOf(' '), before.lastIndexOf('\n'), before.lastIndexOf('\t')),
        );
      }
    }
    cut = this.redactor.safeCut(this.held, cut + 1) - 1;
    if (cut < 0) return '';
    const ready = this.held.slice(0, cut + 1);
    this.held = this.held.slice(cut + 1);
    return this.redactor.piece(ready);
  }

  flush(): string {
    const rest = this.redactor.text(this.held);
    this.held = '';
    return rest;
  }
}

/**
 * Redactors by their configuration: building one (its key and pattern programs) cost more CPU
 * than the rest of a run's drive, and a host builds its agent per run. A Redactor is immutable
 * apart from caches of what it derived, so runs (and the host's own displays) with the same
 * configuration share one.
 */
const redactors = new BoundedCache<string, Redactor>(16);

/** The Redactor of this configuration (unset parts: the defaults), shared. */
export function sharedRedactor(config?: Partial<RedactionConfig>): Redactor {
  const full: RedactionConfig = {
    keys: config?.keys ?? DEFAULT_REDACTION.keys,
    patterns: config?.patterns ?? DEFAULT_REDACTION.patterns,
  };
  return redactors.get(JSON.stringify(full), () => new Redactor(full));
}
