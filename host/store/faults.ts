// Fault injection for the crash tests: `AIRLOCK_FAULT=point:n` kills this process with SIGKILL
// the n-th time execution reaches `point`. Unset (always, outside tests) it costs one check.
import * as fs from 'node:fs';
const spec = process.env.AIRLOCK_FAULT?.match(/^([a-z-]+):(\d+)$/);
const target = spec ? { point: spec[1]!, hits: Number(spec[2]) } : null;
let seen = 0;

export function faultArmed(point: string): boolean {
  if (!target || target.point !== point) return false;
  seen++;
  return seen === target.hits;
}

export function fault(point: string): void {
  if (faultArmed(point)) process.kill(process.pid, 'SIGKILL');
}

/**
 * `AIRLOCK_HOLD=point:FILE` (tests only): execution reaching `point` creates `FILE.reached` and
 * waits until FILE exists, so a test can act while, say, a snapshot is half written. Read when
 * reached, not at load; `setting` is the variable as the thread that asked saw it (a worker
 * thread sees the environment it was started with, which may be long before).
 */
export function hold(point: string, setting = process.env.AIRLOCK_HOLD): void {
  const spec = setting?.match(/^([a-z-]+):(.+)$/);
  if (!spec || spec[1] !== point) return;
  const gate = spec[2]!;
  fs.writeFileSync(`${gate}.reached`, '');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!fs.existsSync(gate)) Atomics.wait(pause, 0, 0, 5);
}
