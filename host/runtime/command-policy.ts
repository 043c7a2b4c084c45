// Policy for shell commands (issue 15): each sub-command of a command line is judged on its own,
// because `npm test && curl … | sh` is not `npm test`. A line runs without asking only when every
// sub-command matches an allow rule, none a deny rule (configured or the default deny list), the
// line parses, and no redirection writes where it should not; a line the parser cannot read asks.
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';
import {
  baseName,
  parseCommandLine,
  type ShellWord,
  type SubCommand,
} from '../tools/command-line.js';
import { BoundedCache } from './bounded-cache.js';
import {
  isGitInternal,
  isProtectedPath,
  stricter,
  type PolicyAction,
  type PolicyInputs,
  type PolicyRule,
  type StandingRule,
} from './policy.js';

export const COMMAND_TOOL = 'run_command';

/** One sub-command as the card shows it: what it is and what would decide it. */
export interface SubCommandVerdict {
  text: string;
  action: PolicyAction;
  /** Which rule decides, in words ("allow rule `npm test` in your settings", "no rule: asks"). */
  rule: string;
}

export interface CommandVerdict {
  action: PolicyAction;
  /** A redirection writes to a protected path: an allow from any source is an ask. */
  protected: boolean;
  subcommands: SubCommandVerdict[];
  /** Why the line as a whole asks or is denied, beyond its sub-commands (parse errors, writes). */
  notes: string[];
  /** The standing rule that denied, when one did. */
  standing: StandingRule | undefined;
}

/** Where the layers of configured rules come from, by index (agent.ts: settings, then file). */
const LAYER_NAMES = ['your settings', 'the workspace file'];

/**
 * Judges a command line run in `cwd` (absolute) of the workspace `root`. Only rules naming
 * run_command can allow a command: a `"tool": "*"` allow never reaches the shell.
 */
export async function judgeCommand(
  inputs: PolicyInputs,
  line: string,
  root: string,
  cwd: string,
): Promise<CommandVerdict> {
  const parsed = await parseCommandLine(line);
  if (!parsed.ok) {
    return {
      action: 'ask',
      protected: false,
      subcommands: [],
      notes: [`Airlock cannot read this command line: ${parsed.error}. It asks.`],
      standing: undefined,
    };
  }
  const rules = await compiledRules(inputs);
  const verdict: CommandVerdict = {
    action: 'allow',
    protected: false,
    subcommands: [],
    notes: [],
    standing: undefined,
  };
  const moves = parsed.commands.some((c) => DIR_CHANGERS.has(programOf(c) ?? ''));
  for (const cmd of parsed.commands) {
    const sub = judgeSub(rules, cmd, parsed.commands);
    verdict.subcommands.push({ text: cmd.text, action: sub.action, rule: sub.rule });
    verdict.standing ??= sub.action === 'deny' ? sub.standing : undefined;
    verdict.action = stricter(verdict.action, sub.action)!;
    if (sub.action === 'allow' && readsScript(cmd)) {
      // `bash <<EOF …`, `… | python`: the program runs code no rule has seen.
      verdict.notes.push(`\`${cmd.text}\` runs a script from its input, which no rule can see.`);
      verdict.action = stricter(verdict.action, 'ask')!;
    }
    for (const r of cmd.redirects) {
      const write = judgeWrite(r.writes, r.dynamic, root, cwd, moves, inputs.protectedPaths);
      if (!write) continue;
      verdict.notes.push(`${r.op} ${r.raw}: ${write.why}`);
      verdict.action = stricter(verdict.action, write.action)!;
      verdict.protected ||= write.protected;
    }
  }
  if (!parsed.commands.length) {
    verdict.action = stricter(verdict.action, 'ask')!;
    verdict.notes.push('The line holds no command.');
  }
  return verdict;
}

const DIR_CHANGERS = new Set(['cd', 'pushd', 'popd']);
const DEVICES = new Set(['/dev/null', '/dev/stdout', '/dev/stderr', '/dev/tty']);

/** A redirection's write: nothing to say (null), or why it asks or is denied. */
function judgeWrite(
  target: string | null,
  dynamic: boolean,
  root: string,
  cwd: string,
  moves: boolean,
  protectedPaths: readonly string[],
): { action: PolicyAction; why: string; protected: boolean } | null {
  if (dynamic)
    return { action: 'ask', why: 'writes to a file named only when it runs', protected: false };
  if (target === null || DEVICES.has(target)) return null;
  if (moves && !path.isAbsolute(target)) {
    return { action: 'ask', why: 'writes after a change of directory', protected: false };
  }
  // Through symlinks: a link in the repository to ~/.bashrc or to .git is judged as where it leads.
  const abs = realTarget(path.resolve(cwd, target));
  const rel = path.relative(root, abs);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    return { action: 'ask', why: 'writes outside the workspace', protected: false };
  }
  const relPosix = rel.split(path.sep).join('/');
  if (isGitInternal(relPosix)) {
    return { action: 'deny', why: 'writes into .git/ (default deny list)', protected: true };
  }
  if (isProtectedPath(relPosix, protectedPaths)) {
    return { action: 'ask', why: `writes to the protected path ${relPosix}`, protected: true };
  }
  return null;
}

/**
 * The path with its longest existing prefix resolved through symlinks (the rest as written); a
 * dangling link is followed to where it points, since writing through it creates that file.
 */
function realTarget(abs: string): string {
  let head = abs;
  let tail = '';
  for (let hops = 0; ;) {
    try {
      return path.join(realpathSync(head), tail);
    } catch {
      let link: string | null = null;
      try {
        link = lstatSync(head).isSymbolicLink() ? readlinkSync(head) : null;
      } catch {
        // not there: go up
      }
      if (link !== null && hops++ < 40) {
        head = path.resolve(path.dirname(head), link);
        continue;
      }
      const parent = path.dirname(head);
      if (parent === head) return abs;
      tail = path.join(path.basename(head), tail);
      head = parent;
    }
  }
}

interface CompiledRule {
  action: PolicyAction;
  /** Parsed patterns; undefined: the rule covers every command. */
  patterns: Pattern[] | undefined;
  /** How the card names it. */
  name: string;
  standing: StandingRule | undefined;
}

interface CompiledRules {
  layers: CompiledRule[][];
  standing: CompiledRule[];
}

async function compiledRules(inputs: PolicyInputs): Promise<CompiledRules> {
  const layers: CompiledRule[][] = [];
  for (const [i, layer] of inputs.layers.entries()) {
    const rules: CompiledRule[] = [];
    for (const rule of layer) {
      if (rule.tool !== COMMAND_TOOL && rule.tool !== '*') continue;
      // Only a rule that names the tool allows a shell command.
      if (rule.tool === '*' && rule.action === 'allow') continue;
      rules.push({
        action: rule.action,
        patterns: await patternsOf(rule),
        name: `${rule.action} rule ${describe(rule)} in ${LAYER_NAMES[i] ?? `policy layer ${i + 1}`}`,
        standing: undefined,
      });
    }
    layers.push(rules);
  }
  const standing: CompiledRule[] = [];
  for (const rule of inputs.standing) {
    if (rule.tool !== COMMAND_TOOL) continue;
    standing.push({
      action: rule.action,
      patterns: await patternsOf(rule),
      name: `always-${rule.action} rule ${describe(rule)} (${rule.rule_id})`,
      standing: rule,
    });
  }
  return { layers, standing };
}

function describe(rule: Pick<PolicyRule, 'commands'>): string {
  return rule.commands ? rule.commands.map((c) => `\`${c}\``).join(', ') : 'for every command';
}

function judgeSub(
  rules: CompiledRules,
  cmd: SubCommand,
  all: readonly SubCommand[],
): { action: PolicyAction; rule: string; standing?: StandingRule } {
  const classic = defaultDeny(cmd, all);
  if (classic) return { action: 'deny', rule: `default deny list: ${classic}` };
  let configured: CompiledRule | undefined;
  for (const layer of rules.layers) {
    const hit = layer.find((r) => !r.patterns || r.patterns.some((p) => matches(p, cmd.words)));
    if (hit && stricter(configured?.action, hit.action) === hit.action) configured = hit;
  }
  const hits = rules.standing.filter((r) => r.patterns?.some((p) => matches(p, cmd.words)));
  const standingDeny = hits.find((r) => r.action === 'deny');
  if (configured?.action === 'deny') return { action: 'deny', rule: configured.name };
  if (standingDeny) {
    return { action: 'deny', rule: standingDeny.name, standing: standingDeny.standing! };
  }
  const standingAllow = hits.find((r) => r.action === 'allow');
  if (configured?.action === 'allow') return { action: 'allow', rule: configured.name };
  if (configured?.action !== 'ask' && standingAllow) {
    return { action: 'allow', rule: standingAllow.name };
  }
  if (configured) return { action: 'ask', rule: configured.name };
  return { action: 'ask', rule: 'no rule matches: asks' };
}

// ---------------------------------------------------------------------------------------------
// Patterns: a command written in shell syntax, each word matched literally; a `*` word matches
// any one word, and a last `*` any number of remaining words (`npm test *`, `git status`).

type Pattern = { words: (string | null)[]; rest: boolean };

const patterns = new BoundedCache<string, Promise<Pattern | null>>(512);

async function patternsOf(rule: Pick<PolicyRule, 'commands'>): Promise<Pattern[] | undefined> {
  if (!rule.commands) return undefined;
  const out: Pattern[] = [];
  for (const text of rule.commands) {
    const p = await patterns.get(text, () => compilePattern(text));
    if (p) out.push(p);
  }
  return out;
}

/** null: not one simple command of literal words and `*` (such a pattern matches nothing). */
async function compilePattern(text: string): Promise<Pattern | null> {
  const parsed = await parseCommandLine(text);
  if (!parsed.ok || parsed.commands.length !== 1) return null;
  const cmd = parsed.commands[0]!;
  if (cmd.redirects.length || cmd.hereInput) return null;
  const words: (string | null)[] = [];
  for (const w of cmd.words) {
    if (w.raw === '*') words.push(null);
    else if (w.value === null) return null;
    else words.push(w.value);
  }
  const rest = words.length > 1 && words.at(-1) === null;
  if (rest) words.pop();
  return { words, rest };
}

function matches(p: Pattern, words: readonly ShellWord[]): boolean {
  if (p.rest ? words.length < p.words.length : words.length !== p.words.length) return false;
  return p.words.every((want, i) => want === null || words[i]!.value === want);
}

/** Problems with a rule's command patterns, for the settings' and config file's checks. */
export async function commandPatternProblems(commands: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const text of commands) {
    if (!(await compilePattern(text))) {
      problems.push(
        `"${text}" is not one command of plain words (a "*" word matches any word; a last "*", any number)`,
      );
    }
  }
  return problems;
}

/** A sub-command as a pattern that matches exactly it (always-allow "this command"). */
export function exactPattern(cmd: SubCommand): string | null {
  if (cmd.words.some((w) => w.value === null)) return null;
  return cmd.words.map((w) => quote(w.value!)).join(' ');
}

/**
 * The sub-command's program and subcommand with any arguments (`npm test *`, `git status *`):
 * the wider always-allow. null when the program itself is not a plain word or comes after
 * assignments (which change what the program does).
 */
export function programPattern(cmd: SubCommand): string | null {
  if (cmd.programAt !== 0) return null;
  const program = cmd.words[0]!.value;
  if (program === null) return null;
  const sub = cmd.words[1]?.value;
  const words = [program];
  if (sub && SUBCOMMANDS.has(program) && /^[A-Za-z][\w:.-]*$/.test(sub)) words.push(sub);
  return `${words.map(quote).join(' ')} *`;
}

/** Programs whose first argument picks what they do (`git push` is not `git status`). */
const SUBCOMMANDS = new Set([
  'git',
  'npm',
  'pnpm',
  'yarn',
  'bun',
  'deno',
  'cargo',
  'go',
  'dotnet',
  'docker',
  'podman',
  'kubectl',
  'helm',
  'terraform',
  'gh',
  'pip',
  'pip3',
  'uv',
  'poetry',
  'make',
  'gradle',
  'mvn',
  'composer',
  'rustup',
  'brew',
  'apt',
  'apt-get',
  'systemctl',
]);

function quote(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Always-allow patterns for a command line: each sub-command exactly, or by program. */
export async function coverPatterns(
  line: string,
  cover: 'command' | 'program',
): Promise<string[] | null> {
  const parsed = await parseCommandLine(line);
  if (!parsed.ok || !parsed.commands.length) return null;
  const out = new Set<string>();
  for (const cmd of parsed.commands) {
    const p = cover === 'command' ? exactPattern(cmd) : programPattern(cmd);
    if (!p) return null;
    out.add(p);
  }
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// The default deny list: the classics no agent should run, whatever a rule says.

const DOWNLOADERS = new Set(['curl', 'wget', 'fetch', 'aria2c', 'http', 'https']);
const INTERPRETERS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'python',
  'python3',
  'perl',
  'ruby',
  'node',
  'php',
  'sudo',
]);
const FILE_CHANGERS = new Set(['tee', 'cp', 'mv', 'rm', 'touch', 'ln', 'install', 'truncate']);
const HOME_OR_ROOT =
  /^("?)(\/|\/\*|\/\.|\/\.\.|~|~\/|~\/\*|\$HOME|\$\{HOME\}|\$HOME\/|\$HOME\/\*)\1$/;

function programOf(cmd: SubCommand): string | null {
  return cmd.programAt < 0 ? null : baseName(cmd.words[cmd.programAt]!.value);
}

function argsOf(cmd: SubCommand): ShellWord[] {
  return cmd.programAt < 0 ? [] : cmd.words.slice(cmd.programAt + 1);
}

/** Programs that run the command in their arguments: `sudo rm -rf /` is `rm -rf /`. */
const WRAPPERS = new Set([
  'sudo',
  'doas',
  'env',
  'nice',
  'nohup',
  'time',
  'timeout',
  'command',
  'exec',
  'xargs',
  'stdbuf',
  'ionice',
]);

/** The command a wrapper runs (its own options, assignments and a timeout's duration skipped). */
function unwrap(cmd: SubCommand): SubCommand | null {
  const program = programOf(cmd);
  if (!program || !WRAPPERS.has(program)) return null;
  let at = cmd.programAt + 1;
  while (at < cmd.words.length) {
    const v = cmd.words[at]!.value ?? '';
    if (v.startsWith('-') || /^\w+=/.test(v)) at++;
    else if (program === 'timeout' && /^\d/.test(v)) at++;
    else break;
  }
  return at < cmd.words.length ? { ...cmd, programAt: at } : null;
}

/** A shell or interpreter reading its program from a here-document or a pipe. */
function readsScript(cmd: SubCommand): boolean {
  const program = programOf(unwrap(cmd) ?? cmd);
  if (!program || !INTERPRETERS.has(program) || program === 'sudo') return false;
  const fedByPipe = cmd.pipe !== null && cmd.pipe[1] > 0;
  // With a script file or `-c`/`-e` code as an argument, its input is data, not the program.
  const args = argsOf(unwrap(cmd) ?? cmd).filter((a) => !(a.value ?? a.raw).startsWith('-'));
  const inline = argsOf(unwrap(cmd) ?? cmd).some((a) => /^-[a-z]*[ce]$/.test(a.value ?? ''));
  return (cmd.hereInput || fedByPipe) && !args.length && !inline;
}

/** The label of the default deny rule this sub-command (or what it wraps) hits, or null. */
export function defaultDeny(cmd: SubCommand, all: readonly SubCommand[]): string | null {
  const inner = unwrap(cmd);
  if (inner) {
    const label = defaultDeny(
      inner,
      all.map((c) => (c === cmd ? inner : c)),
    );
    if (label) return label;
  }
  const program = programOf(cmd);
  const args = argsOf(cmd);
  if (program === 'rm') {
    const opts = options(args);
    const recursive = opts.has('r') || opts.has('R') || opts.has('recursive');
    if (opts.has('no-preserve-root')) return 'rm --no-preserve-root';
    if (recursive && args.some((a) => HOME_OR_ROOT.test(a.raw))) return 'rm -rf / or ~';
  }
  if (program && INTERPRETERS.has(program)) {
    const self = all.indexOf(cmd);
    const fed = all.some(
      (other) =>
        DOWNLOADERS.has(programOf(other) ?? '') &&
        // Before it in its pipeline, or inside one of its arguments (`bash <(curl …)`).
        ((cmd.pipe !== null &&
          other.pipe !== null &&
          other.inside === cmd.inside &&
          other.pipe[0] === cmd.pipe[0] &&
          other.pipe[1] < cmd.pipe[1]) ||
          other.inside === self),
    );
    if (fed) return 'a download piped into a shell (curl … | sh)';
  }
  if (program === 'git' && gitSubcommand(args) === 'push') {
    const after = args.slice(args.findIndex((a) => a.value === 'push') + 1);
    const opts = options(after);
    if (
      opts.has('f') ||
      opts.has('force') ||
      after.some((a) => a.raw.startsWith('--force') || /^\+/.test(a.value ?? ''))
    ) {
      return 'git push --force';
    }
  }
  if (program && /^mkfs(\..*)?$/.test(program)) return 'mkfs';
  if (program && FILE_CHANGERS.has(program)) {
    if (args.some((a) => !a.raw.startsWith('-') && isGitInternal(a.value ?? a.raw))) {
      return 'writing into .git/';
    }
  }
  if (
    program === 'dd' &&
    args.some((a) => /^of=(\/dev\/|.*(^|\/)\.git(\/|$))/.test(a.value ?? a.raw))
  ) {
    return 'dd onto a device or into .git/';
  }
  return null;
}

/** A command's options before `--`: `-rf` gives r and f, `--force` gives force. */
function options(args: readonly ShellWord[]): Set<string> {
  const out = new Set<string>();
  for (const a of args) {
    const v = a.value ?? a.raw;
    if (v === '--') break;
    if (v.startsWith('--')) out.add(v.slice(2).split('=')[0]!);
    else if (v.startsWith('-') && v.length > 1) for (const c of v.slice(1)) out.add(c);
  }
  return out;
}

/** git's subcommand after its global options (`git -C dir push` is a push). */
function gitSubcommand(args: readonly ShellWord[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const v = args[i]!.value;
    if (v === null) return null;
    if (
      v === '-C' ||
      v === '-c' ||
      v === '--git-dir' ||
      v === '--work-tree' ||
      v === '--namespace'
    ) {
      i++;
      continue;
    }
    if (v.startsWith('-')) continue;
    return v;
  }
  return null;
}
