// A cross-process exclusive lock on a file path, for the processes (CLI, editor hosts) that share
// one database. Node has no flock(), so the lock is a file holding the owner's pid, made where no
// file is (link(2), or O_EXCL where hard links are not supported); a lock whose owner died is
// broken by renaming it away (only one breaker's rename succeeds).
//
// Taking the lock links this process's owner file (`LOCK-<pid>`, written once) to the lock's
// path, and giving it up unlinks that path: no file is made or freed per lock. A new file at every
// take made ext4 look past the inodes it had just freed (`recently_deleted`, thousands a second
// here): 0.1–0.8 ms per take, growing as the machine ran, and every other file made on that disk
// (a durable write's temp file) paid for it too (bench, the cycle reopened per phase).
//
// Waiting for another process is asynchronous (`acquire`, timers between attempts): the event
// loop of the host runs meanwhile. The synchronous `with` has a fast path that never waits (the
// lock is free, or this process already holds or leases it). Only when another process holds it
// does the synchronous `with` wait in place, for the synchronous callers that cannot await: a
// commit whose caller holds no lease (see docs/store.md, "Waiting for the lock").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A synchronous pause, for `with` only, and only while another process holds the lock. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The process's start time (Linux), so a reused pid is not mistaken for the owner. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** `host:pid[:start]`: which process owns a lock or drives a run. */
export const selfOwner = [os.hostname(), process.pid, startTimeOf(process.pid)]
  .filter((part) => part !== undefined)
  .join(':');

export function processAlive(owner: string): boolean {
  const [host, pidText, start] = owner.split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid)) return true; // cannot tell: assume alive
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const actual = startTimeOf(pid);
  return start === undefined || actual === undefined || actual === start;
}

/**
 * Leased locks of this process by path. A second FileLock on the same file in this process (two
 * stores on one database) cannot wait for the first one's lease to end: that needs the event
 * loop, which a synchronous wait blocks. It takes the lease over instead.
 */
const leases = new Map<string, FileLock>();

const locks = new Map<string, FileLock>();

/** How long a process keeps the lock after its last commit, for the next one to reuse. */
const LEASE_MS = 3;

/** An empty lock file older than this was left by a process killed before it wrote its pid. */
const EMPTY_LOCK_STALE_MS = 10_000;

function emptyForLong(path: string): boolean {
  try {
    return Date.now() - fs.statSync(path).mtimeMs > EMPTY_LOCK_STALE_MS;
  } catch {
    return false;
  }
}

/** One unlink (fs.rmSync also lstats the path first: a syscall more on every release). */
function removeIfThere(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * The files in `dir` that `pidOf` names by the pid of a process on this host, other than this
 * one, that is gone: what a killed process left (a snapshot's temp file, a lock's owner file).
 */
export function filesOfDeadProcesses(
  dir: string,
  pidOf: (name: string) => string | undefined,
): string[] {
  const dead: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const pid = pidOf(name);
    if (pid === undefined || Number(pid) === process.pid) continue;
    if (!processAlive(`${os.hostname()}:${pid}`)) dead.push(path.join(dir, name));
  }
  return dead;
}

/** This process's owner file by lock path (see the top of this file). */
const owners = new Map<string, string>();

/** Makes `file` holding `selfOwner`, owner-only whatever the umask; EEXIST if one is there. */
function writeOwnerFile(file: string): void {
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // owner-only like every file of the store, whatever the umask
    fs.writeSync(fd, selfOwner);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * This process's owner file for `lock`, made on first use and removed at exit. Owner files of
 * processes that are gone (killed) are removed first; one with this pid was left by a process
 * that had it before, never one in use (a live process's pid is its own).
 */
function ownerFile(lock: string): string {
  const known = owners.get(lock);
  if (known) return known;
  const file = `${lock}-${process.pid}`;
  removeDeadOwners(lock);
  removeIfThere(file);
  writeOwnerFile(file);
  owners.set(lock, file);
  if (owners.size === 1) process.once('exit', removeOwnerFiles);
  return file;
}

function removeOwnerFiles(): void {
  for (const file of owners.values()) removeIfThere(file);
  owners.clear();
}

/** Best effort: an owner file this process may not remove (another user's) stays. */
function removeDeadOwners(lock: string): void {
  const prefix = `${path.basename(lock)}-`;
  const pidOf = (name: string): string | undefined =>
    name.startsWith(prefix) ? /^\d+$/.exec(name.slice(prefix.length))?.[0] : undefined;
  for (const file of filesOfDeadProcesses(path.dirname(lock), pidOf)) {
    try {
      removeIfThere(file);
    } catch {
      // EPERM / EACCES: not ours to remove
    }
  }
}

export class FileLock {
  /** One lock object per file in a process, so two stores on one database share it. */
  static for(path: string): FileLock {
    let lock = locks.get(path);
    if (!lock) {
      lock = new FileLock(path);
      locks.set(path, lock);
    }
    return lock;
  }

  /** Work done holding the lock just before it is given up (off any caller's critical path). */
  readonly beforeRelease = new Set<() => void>();
  private held = 0;
  private lastUse = 0;
  /** Set while the lock is kept past `with` until this tick ends (see `with`). */
  private leased = false;
  private readonly releaseOnExit = () => this.release();
  /** False on a file system without hard links (some network or FAT ones). */
  private linkable = true;

  constructor(
    private readonly path: string,
    private readonly timeoutMs = 15_000,
  ) {}

  /**
   * Runs `fn` holding the lock; re-entrant. The lock is kept until this process has made no
   * commit for LEASE_MS, so a run's burst of steps pays for creating and removing the lock file
   * once: that file churn, flushed by every fsync, otherwise dominates commit latency.
   */
  with<T>(fn: () => T): T {
    if (this.held === 0 && !this.leased && !this.tryAcquire()) this.waitSync();
    this.held++;
    try {
      return fn();
    } finally {
      this.held--;
      this.lastUse = Date.now();
      if (this.held === 0 && !this.leased) this.lease();
    }
  }

  /**
   * Takes the lock, waiting for another process asynchronously (the event loop runs meanwhile),
   * and leases it: a `with` in this tick or soon after runs without waiting, and the lease ends
   * LEASE_MS after the last use, as after any `with`.
   */
  async acquire(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (this.held > 0 || this.leased) return; // this process has it (another caller took it)
      if (this.tryAcquire()) {
        this.lastUse = Date.now();
        this.lease();
        return;
      }
      if (Date.now() > deadline) throw this.timedOut();
      await sleep(Math.min(1 + attempt, 20));
    }
  }

  /** This process's owner file for this lock, once made (the lock, when held here, is it too). */
  ownerFile(): string | undefined {
    return owners.get(this.path);
  }

  /**
   * Removes this process's owner file unless the lock is held here (the next take makes it
   * again): a database refused at open is left exactly as it was.
   */
  dropOwnerFile(): void {
    const owner = owners.get(this.path);
    if (!owner || this.held > 0 || this.leased) return;
    owners.delete(this.path);
    removeIfThere(owner);
    if (owners.size === 0) process.removeListener('exit', removeOwnerFiles);
  }

  /** `with`, after waiting for the lock asynchronously. */
  async withAsync<T>(fn: () => T): Promise<T> {
    await this.acquire();
    return this.with(fn);
  }

  private lease(): void {
    this.leased = true;
    leases.set(this.path, this);
    process.once('exit', this.releaseOnExit);
    this.releaseWhenIdle();
  }

  /** Keeps the lock while commits keep coming (a run's steps); gives it up after LEASE_MS idle. */
  private releaseWhenIdle(): void {
    const idle = Date.now() - this.lastUse;
    const timer = setTimeout(
      () => {
        if (this.held === 0 && Date.now() - this.lastUse >= LEASE_MS) this.release();
        else if (this.leased) this.releaseWhenIdle();
      },
      Math.max(0, LEASE_MS - idle),
    );
    timer.unref(); // never keeps a process alive; exit releases the lock
  }

  /** Gives the lock up now (also at exit; a killed process's lock is broken as stale). */
  release(): void {
    if (!this.leased || this.held > 0) return;
    for (const hook of this.beforeRelease) hook();
    this.leased = false;
    if (leases.get(this.path) === this) leases.delete(this.path);
    process.removeListener('exit', this.releaseOnExit);
    removeIfThere(this.path);
  }

  /** One attempt, never waiting: true when this process now holds the lock file. */
  private tryAcquire(): boolean {
    const other = leases.get(this.path);
    if (other && other !== this && other.held === 0) other.release();
    for (let tries = 0; tries < 2; tries++) {
      try {
        this.place();
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // A dead owner's lock is broken at once, then taken on the second try.
      if (!this.breakIfStale()) return false;
    }
    return false;
  }

  /** Puts this process's lock file at the path; throws EEXIST when one is there. */
  private place(): void {
    if (this.linkable) {
      for (let attempt = 0; ; attempt++) {
        let owner: string;
        try {
          owner = ownerFile(this.path);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err; // no folder
          // A file of that name this process may not replace (another user's, in a folder
          // shared on purpose): a lock file made each time instead.
          this.linkable = false;
          break;
        }
        try {
          fs.linkSync(owner, this.path);
          return;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST') throw err;
          // Our owner file was removed under us (a sweep that saw its pid dead just before this
          // process took that pid): made again, once.
          if (code === 'ENOENT' && attempt === 0 && !fs.existsSync(owner)) {
            owners.delete(this.path);
            continue;
          }
          if (code === 'ENOENT') throw err;
          this.linkable = false; // no hard links on this file system: a file made each time
          break;
        }
      }
    }
    writeOwnerFile(this.path);
  }

  /** The synchronous wait of `with` (see the top of this file): only while another process holds it. */
  private waitSync(): void {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) throw this.timedOut();
      sleepSync(Math.min(1 + attempt, 20));
      if (this.tryAcquire()) return;
    }
  }

  private timedOut(): Error {
    return new Error(
      `Timed out waiting for the database lock ${this.path}. If no other Airlock process is running, delete that file.`,
    );
  }

  /** Breaks the lock when its owner is gone; true when it was broken (by us). */
  private breakIfStale(): boolean {
    let owner: string;
    try {
      owner = fs.readFileSync(this.path, 'utf8');
    } catch {
      return true; // gone already: try again
    }
    // An empty file is a lock being written right now: not stale, unless it stayed empty far
    // longer than writing a pid takes (its owner was killed between creating and writing it).
    if (owner ? processAlive(owner) : !emptyForLong(this.path)) return false;
    const aside = `${this.path}.stale.${process.pid}`;
    try {
      fs.renameSync(this.path, aside);
    } catch {
      return true; // another process broke it first
    }
    const moved = fs.readFileSync(aside, 'utf8');
    if (moved !== owner) {
      // We moved a live lock taken between our read and rename: put it back.
      try {
        fs.linkSync(aside, this.path);
      } catch {
        /* a newer lock exists; ours was stale by then anyway */
      }
    }
    removeIfThere(aside);
    return true;
  }
}
