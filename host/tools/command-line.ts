// Reads a shell command line the way bash will (issue 15): every simple command in it, wherever it
// sits (after `&&`, `||`, `;`, `|`, inside `$(…)`, backticks, `<(…)`, subshells, braces, loops,
// function bodies, `bash -c '…'` and `eval '…'`), each with its words and redirections. The parser
// is tree-sitter-bash as VS Code builds it (@vscode/tree-sitter-wasm), the grammar VS Code's own
// agent mode reads terminal commands with: a splitter written here would miss what bash does not.
import type { Node, Parser } from '@vscode/tree-sitter-wasm';

/** One word of a command: as written, and its value when bash cannot expand it to anything else. */
export interface ShellWord {
  raw: string;
  /** null: the word expands at run time ($VAR, $(…), globs, `~`, braces): no rule can know it. */
  value: string | null;
}

export interface ShellRedirect {
  op: string;
  /** The target as written (a file, an fd, a here-doc's delimiter). */
  raw: string;
  /** The file written to, when the redirection writes to a file named literally. */
  writes: string | null;
  /** The redirection writes to a file whose name expands at run time. */
  dynamic: boolean;
}

export interface SubCommand {
  /** The command's source text. */
  text: string;
  /** Leading `NAME=value` assignments, then the program and its arguments. */
  words: ShellWord[];
  /** The index in `words` of the program (after the assignments); -1 when there is none. */
  programAt: number;
  redirects: ShellRedirect[];
  /** The command that runs this one from one of its arguments (`$(…)`, `<(…)`, `-c '…'`). */
  inside: number | null;
  /** Its pipeline and place in it (commands joined by `|`): [pipeline, position]. */
  pipe: [number, number] | null;
  /** It reads its standard input from a here-document or a here-string. */
  hereInput: boolean;
}

export type ParsedCommandLine = { ok: true; commands: SubCommand[] } | { ok: false; error: string };

let ready: Promise<Parser> | undefined;

/** The bash parser, loaded on first use (about 60 ms: most runs never run a command). */
function parser(): Promise<Parser> {
  ready ??= import('./bash-grammar.js').then((m) => m.bashParser());
  return ready;
}

/** Longer command lines are refused rather than parsed: nobody reviews a 64 KB command. */
export const MAX_COMMAND_CHARS = 16 * 1024;
/** How deep `bash -c '…'` / `eval '…'` are read into: deeper nesting asks. */
const MAX_NESTING = 3;

const SHELLS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish']);

/** Parses a command line; a line bash would not run as written is `ok: false` with why. */
export async function parseCommandLine(line: string): Promise<ParsedCommandLine> {
  if (line.length > MAX_COMMAND_CHARS) {
    return { ok: false, error: `the command is longer than ${MAX_COMMAND_CHARS} characters` };
  }
  if (line.includes('\0')) return { ok: false, error: 'the command contains a NUL character' };
  const p = await parser();
  const commands: SubCommand[] = [];
  const error = read(p, line, commands, null, 0);
  return error ? { ok: false, error } : { ok: true, commands };
}

/** Adds the commands of `line` to `out`; returns why it cannot be read, or null. */
function read(
  p: Parser,
  line: string,
  out: SubCommand[],
  inside: number | null,
  depth: number,
): string | null {
  const tree = p.parse(line);
  if (!tree) return 'the parser gave up on it';
  try {
    const root = tree.rootNode;
    if (root.hasError) return `bash would not read it as written (${syntaxProblem(root)})`;
    const walker = new Walker(p, out, depth);
    return walker.visit(root, inside);
  } finally {
    tree.delete();
  }
}

function syntaxProblem(root: Node): string {
  const bad = firstBad(root);
  if (!bad) return 'a syntax error';
  const at = `line ${bad.startPosition.row + 1}, column ${bad.startPosition.column + 1}`;
  return bad.isMissing ? `"${bad.type}" missing at ${at}` : `unexpected text at ${at}`;
}

function firstBad(node: Node): Node | null {
  if (node.isMissing || node.type === 'ERROR') return node;
  for (const child of node.children) {
    if (child?.hasError || child?.isMissing) return firstBad(child);
  }
  return null;
}

class Walker {
  private pipelines = 0;

  constructor(
    private readonly p: Parser,
    private readonly out: SubCommand[],
    private readonly depth: number,
  ) {}

  /** Visits a node; `inside`: the command whose argument holds it. Returns a problem or null. */
  visit(node: Node, inside: number | null, pipe: [number, number] | null = null): string | null {
    switch (node.type) {
      case 'command':
      case 'declaration_command':
      case 'unset_command':
      case 'test_command':
        return this.command(node, inside, pipe, [], false);
      case 'redirected_statement':
        return this.redirected(node, inside, pipe);
      case 'pipeline': {
        const id = this.pipelines++;
        let at = 0;
        for (const child of node.namedChildren) {
          if (!child) continue;
          const problem = this.visit(child, inside, [id, at++]);
          if (problem) return problem;
        }
        return null;
      }
      default:
        for (const child of node.namedChildren) {
          if (!child) continue;
          const problem = this.visit(child, inside, pipe);
          if (problem) return problem;
        }
        return null;
    }
  }

  /** A statement with redirections: they belong to its command (or to each command in it). */
  private redirected(node: Node, inside: number | null, pipe: [number, number] | null) {
    const body = node.childForFieldName('body');
    const redirects: ShellRedirect[] = [];
    let hereInput = false;
    for (const child of node.namedChildren) {
      if (!child || child === body || child.id === body?.id) continue;
      if (child.type === 'heredoc_redirect' || child.type === 'herestring_redirect') {
        hereInput = true;
        // A here-string's or here-document's expansions run commands too.
        const problem = this.visit(child, inside, null);
        if (problem) return problem;
        continue;
      }
      if (child.type === 'file_redirect') {
        redirects.push(redirect(child));
        const problem = this.visitRedirectWords(child, inside);
        if (problem) return problem;
      }
    }
    if (!body) return null;
    if (SIMPLE.has(body.type)) return this.command(body, inside, pipe, redirects, hereInput);
    // A compound statement's redirections apply to every command in it.
    const first = this.out.length;
    const problem = this.visit(body, inside, pipe);
    for (const cmd of this.out.slice(first)) {
      if (cmd.inside !== inside) continue;
      cmd.redirects.push(...redirects);
      cmd.hereInput ||= hereInput;
    }
    return problem;
  }

  private visitRedirectWords(node: Node, inside: number | null): string | null {
    for (const child of node.namedChildren) {
      if (!child) continue;
      const problem = this.visit(child, inside);
      if (problem) return problem;
    }
    return null;
  }

  private command(
    node: Node,
    inside: number | null,
    pipe: [number, number] | null,
    redirects: ShellRedirect[],
    hereInput: boolean,
  ): string | null {
    const index = this.out.length;
    const cmd: SubCommand = {
      text: node.text,
      words: [],
      programAt: -1,
      redirects: [...redirects],
      inside,
      pipe,
      hereInput,
    };
    this.out.push(cmd);
    const nested: Node[] = [];
    for (const child of node.namedChildren) {
      if (!child) continue;
      if (child.type === 'file_redirect') {
        cmd.redirects.push(redirect(child));
        nested.push(child);
        continue;
      }
      if (child.type === 'heredoc_redirect' || child.type === 'herestring_redirect') {
        cmd.hereInput = true;
        nested.push(child);
        continue;
      }
      if (child.type === 'command_name') {
        cmd.programAt = cmd.words.length;
        const name = child.namedChildren[0] ?? child;
        cmd.words.push({ raw: name.text, value: literal(name) });
        nested.push(name);
        continue;
      }
      if (child.type === 'comment') continue;
      cmd.words.push({ raw: child.text, value: literal(child) });
      nested.push(child);
    }
    if (node.type !== 'command') {
      // export / declare / local / readonly / unset / [[ … ]]: the keyword is the program.
      const keyword = node.child(0);
      if (keyword && !keyword.isNamed) {
        cmd.words.unshift({ raw: keyword.text, value: keyword.text });
        cmd.programAt = 0;
      }
    }
    // Commands inside its words ($(…), `…`, <(…)) run before it, on its behalf.
    for (const child of nested) {
      const problem = this.visit(child, index);
      if (problem) return problem;
    }
    return this.innerLine(cmd, index);
  }

  /** `bash -c '…'` and `eval '…'` run a command line of their own: it is read too. */
  private innerLine(cmd: SubCommand, index: number): string | null {
    if (cmd.programAt < 0) return null;
    const program = baseName(cmd.words[cmd.programAt]!.value);
    const args = cmd.words.slice(cmd.programAt + 1);
    let inner: ShellWord[] | null = null;
    if (program === 'eval') inner = args;
    else if (program && SHELLS.has(program)) {
      const c = args.findIndex((w) => w.value !== null && /^-[a-z]*c[a-z]*$/.test(w.value));
      if (c >= 0 && args[c + 1]) inner = [args[c + 1]!];
    }
    if (!inner) return null;
    if (inner.some((w) => w.value === null)) {
      return `"${cmd.text}" runs a command line that is only known when it runs`;
    }
    if (this.depth >= MAX_NESTING) return `"${cmd.text}" nests command lines too deeply to read`;
    const text = inner.map((w) => w.value).join(' ');
    return read(this.p, text, this.out, index, this.depth + 1);
  }
}

const SIMPLE = new Set(['command', 'declaration_command', 'unset_command', 'test_command']);

/** The program's name without its folder (`/usr/bin/curl` is curl). */
export function baseName(value: string | null | undefined): string | null {
  if (!value) return null;
  return value.slice(value.lastIndexOf('/') + 1);
}

/** Redirection operators that write to the file they name (`>&` only when it names no fd). */
const WRITES = new Set(['>', '>>', '>|', '&>', '&>>', '>&', '<>']);

function redirect(node: Node): ShellRedirect {
  const op = node.children.find((c) => c && !c.isNamed)?.text ?? '>';
  const dest = node.childForFieldName('destination') ?? node.namedChildren.at(-1) ?? null;
  const value = dest ? literal(dest) : null;
  const toFd = op === '>&' && value !== null && /^(\d+|-)$/.test(value);
  const writes = WRITES.has(op) && !toFd;
  return {
    op,
    raw: dest?.text ?? '',
    writes: writes && value !== null ? value : null,
    dynamic: writes && value === null,
  };
}

/**
 * A word's value if it is the same whatever the environment: unquoted text without expansions,
 * globs, `~` or braces; single- or double-quoted text without expansions; such pieces joined.
 */
export function literal(node: Node): string | null {
  switch (node.type) {
    case 'word': {
      const text = node.text;
      if (/^~/.test(text)) return null;
      if (/(^|[^\\])[*?[]/.test(text)) return null; // pathname expansion
      if (/(^|[^\\])\{[^}]*(,|\.\.)[^}]*\}/.test(text)) return null; // brace expansion
      return text.replace(/\\(.)/gs, (_, c: string) => (c === '\n' ? '' : c));
    }
    case 'number':
      return node.text;
    case 'raw_string':
      return node.text.slice(1, -1);
    case 'string': {
      let value = '';
      for (const child of node.namedChildren) {
        if (!child) continue;
        if (child.type !== 'string_content') return null;
        value += child.text.replace(/\\([$`"\\\n])/g, (_, c: string) => (c === '\n' ? '' : c));
      }
      return value;
    }
    case 'concatenation': {
      let value = '';
      let braces = '';
      for (const child of node.namedChildren) {
        const part = child ? literal(child) : null;
        if (part === null) return null;
        value += part;
        // Unquoted `{`, `a,b`, `}` pieces make a brace expansion: keep their shape to check.
        braces += child!.type === 'word' ? part : '_';
      }
      // `a"*"` is literal, `a*` is a glob: each part was judged on its own.
      return /\{[^}]*(,|\.\.)[^}]*\}/.test(braces) ? null : value;
    }
    default:
      return null;
  }
}
