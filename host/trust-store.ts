// The developer's trust decisions on workspace config files (SPEC §9): which file, at exactly
// which SHA-256, was trusted to loosen Airlock. Kept outside every workspace, in the developer's
// own config folder (owner-only permissions), so nothing a repository contains or an agent writes
// can grant trust. A file whose bytes changed since is no longer trusted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeDurably } from './store/durable-file.js';
import { FileLock } from './store/file-lock.js';

/** `$XDG_CONFIG_HOME/airlock` (default `~/.config/airlock`): the developer's own Airlock files. */
export function userConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const base =
    env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(os.homedir(), '.config');
  return path.join(base, 'airlock');
}

export const TRUST_FILE = 'trusted.json';

export const TrustEntry = z
  .object({
    /** Absolute, symlinks resolved. */
    path: z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    trusted_at: z.string(),
  })
  .strict();
export type TrustEntry = z.infer<typeof TrustEntry>;

const TrustFile = z.object({ version: z.literal(1), trusted: z.array(TrustEntry) }).strict();
type TrustFile = z.infer<typeof TrustFile>;

/** How a file stands: trusted at this hash, trusted at another hash (changed since), or never. */
export type TrustState = 'trusted' | 'changed' | 'untrusted';

export const TRUST_REVOKED = 'trust revoked: the file changed since you trusted it';

/** The path a trust decision is bound to: absolute with symlinks resolved (when it exists). */
export function trustKey(file: string): string {
  const abs = path.resolve(file);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

export class TrustStore {
  constructor(readonly file: string) {}

  /** The store in the developer's config folder (`$XDG_CONFIG_HOME/airlock/trusted.json`). */
  static forUser(env: NodeJS.ProcessEnv = process.env): TrustStore {
    return new TrustStore(path.join(userConfigDir(env), TRUST_FILE));
  }

  /** Every recorded decision. A missing file is an empty store; a corrupt one is an error. */
  entries(): TrustEntry[] {
    return this.read().trusted;
  }

  state(file: string, sha256: string): TrustState {
    const key = trustKey(file);
    const entry = this.entries().find((e) => e.path === key);
    if (!entry) return 'untrusted';
    return entry.sha256 === sha256 ? 'trusted' : 'changed';
  }

  isTrusted(file: string, sha256: string): boolean {
    return this.state(file, sha256) === 'trusted';
  }

  /** Records trust in this file at exactly this hash (replacing any earlier decision on it). */
  trust(file: string, sha256: string, now = new Date()): TrustEntry {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`Not a SHA-256: ${sha256}`);
    const entry: TrustEntry = { path: trustKey(file), sha256, trusted_at: now.toISOString() };
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (process.platform !== 'win32') fs.chmodSync(dir, 0o700);
    // Two processes trusting at once (the CLI and an editor window) must not lose a decision.
    return FileLock.for(`${this.file}.lock`).with(() => {
      const current = this.read();
      const next: TrustFile = {
        version: 1,
        trusted: [...current.trusted.filter((e) => e.path !== entry.path), entry],
      };
      this.write(next);
      return entry;
    });
  }

  private read(): TrustFile {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, trusted: [] };
      throw new Error(`Cannot read the trust store ${this.file}: ${String(err)}`, { cause: err });
    }
    const fix = `fix it or delete it (you will then trust your workspace config files again with \`airlock trust\`)`;
    if (process.platform !== 'win32' && (fs.statSync(this.file).mode & 0o002) !== 0) {
      throw new Error(
        `The trust store ${this.file} is writable by every user, so it cannot be relied on; run \`chmod 600 ${this.file}\` if its content is yours, or delete it.`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new Error(`The trust store ${this.file} is not valid JSON (${String(err)}); ${fix}.`, {
        cause: err,
      });
    }
    const parsed = TrustFile.safeParse(raw);
    if (!parsed.success) {
      throw new Error(
        `The trust store ${this.file} is corrupt: ${z.prettifyError(parsed.error)}; ${fix}.`,
      );
    }
    return parsed.data;
  }

  /** Atomically: a fresh owner-only temp file, fsynced, renamed over the old one. */
  private write(content: TrustFile): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    fs.rmSync(tmp, { force: true });
    fs.closeSync(fs.openSync(tmp, 'wx', 0o600));
    try {
      writeDurably(tmp, `${JSON.stringify(content, null, 2)}\n`);
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncDir(path.dirname(this.file));
  }
}
