// Fault injection for the crash tests: `AIRLOCK_FAULT=point:n` kills this process with SIGKILL
// the n-th time execution reaches `point`. Unset (always, outside tests) it costs one check.
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
