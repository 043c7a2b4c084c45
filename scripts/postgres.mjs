// A throwaway PostgreSQL server for the team-mode tests (issue 17): Debian's `postgresql`
// package, a cluster made by `initdb` in a temp folder, owned by a non-root user (PostgreSQL
// refuses to run as root), reachable only on a Unix socket in that folder.
//
//   node scripts/postgres.mjs   starts one, prints its URL, stops it on Ctrl+C
import { spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBin() {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors.length) return join(root, majors[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return found.status === 0 ? join(found.stdout.trim(), '..') : null;
}

/** What is missing to start a server, or null. */
export function postgresMissing() {
  if (!postgresBin()) {
    return "PostgreSQL's server programs (initdb, postgres): install Debian's `postgresql` package (as root: apt-get install postgresql).";
  }
  if (process.getuid?.() === 0 && !userExists('postgres') && !userExists('nobody')) {
    return 'a non-root user to run PostgreSQL as (postgres or nobody).';
  }
  return null;
}

function userExists(name) {
  return spawnSync('id', ['-u', name]).status === 0;
}

/**
 * Starts a server; resolves to `{ url, dir, stop }` once it accepts connections. As root, the
 * cluster belongs to the `postgres` user (Debian's package makes it) or `nobody`, and every
 * program runs as that user through setpriv.
 */
export async function startPostgres() {
  const missing = postgresMissing();
  if (missing) throw new Error(`Cannot start PostgreSQL: missing ${missing}`);
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pg-'));
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? (userExists('postgres') ? 'postgres' : 'nobody') : null;
  if (user) {
    const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout);
    chownSync(dir, uid, gid);
  }
  // setpriv execs the program itself (runuser would stay between): signals reach the server.
  const as = (program, args) =>
    user
      ? [
          'setpriv',
          ['--reuid', user, '--regid', user, '--init-groups', join(bin, program), ...args],
        ]
      : [join(bin, program), args];
  const data = join(dir, 'data');
  const [initCmd, initArgs] = as('initdb', [
    '-D',
    data,
    '-U',
    'airlock',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.stdout}`);
  }
  const [cmd, args] = as('postgres', [
    '-D',
    data,
    '-k',
    dir,
    '-c',
    'listen_addresses=',
    '-c',
    'max_connections=200',
  ]);
  // Its log goes to a file, not a pipe: a pipe nobody reads while `npm test` waits on the test
  // run would fill and stall the server.
  const logFile = join(dir, 'server.log');
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  let server;
  const launch = async () => {
    const from = readLog().length;
    const logFd = openSync(logFile, 'a', 0o644);
    server = spawn(cmd, args, { stdio: ['ignore', 'ignore', logFd] });
    closeSync(logFd);
    // Waits for the server's own word (a ceiling of minutes for a busy machine, not a timing).
    const ceiling = Date.now() + 180_000;
    for (;;) {
      if (readLog().slice(from).includes('ready to accept connections')) return;
      if (server.exitCode !== null || server.signalCode !== null || Date.now() > ceiling) {
        server.kill('SIGKILL');
        throw new Error(`postgres did not start (exit ${server.exitCode}):\n${readLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  /** Ends the server: SIGINT is PostgreSQL's fast shutdown, SIGKILL a crash. */
  const halt = (signal) =>
    new Promise((resolve) => {
      if (server.exitCode !== null || server.signalCode !== null) return resolve(undefined);
      server.once('exit', () => resolve(undefined));
      server.kill(signal);
    });
  await launch();
  const url = `postgres://airlock@localhost/postgres?host=${encodeURIComponent(dir)}`;
  let stopped;
  const stop = () => {
    stopped ??= halt('SIGINT').then(() => rmSync(dir, { recursive: true, force: true }));
    return stopped;
  };
  /**
   * Stops the server (killed with SIGKILL when `crash`, as a crash or a power cut of the server
   * process would) and starts it again on the same data; resolves once it accepts connections.
   */
  const restart = async ({ crash = false } = {}) => {
    await halt(crash ? 'SIGKILL' : 'SIGINT');
    // After a crash its backends notice the postmaster is gone and exit; until they have, the
    // new server refuses the old shared memory. A few tries, each waiting on the server's word.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch();
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };
  return { url, dir, data, stop, restart, log: readLog };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // No top-level await: the tests load this module through tsx as CommonJS.
  void startPostgres().then((pg) => {
    console.log(pg.url);
    process.on('SIGINT', () => void pg.stop().then(() => process.exit(0)));
  });
}
