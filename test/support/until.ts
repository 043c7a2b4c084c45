// Waiting on a condition, never on a sleep: the editor harness, its suites and the
// extension-host suite (bundled into the extension host, so this file imports nothing).

/**
 * How long a UI condition may take (the workbench, the extension host and the host start): a
 * ceiling for a busy 2-core laptop, not an expectation; a passing wait returns as soon as it holds.
 */
export const UI_TIMEOUT = 180_000;

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeout`.
 * A throwing check is retried (a UI probe on an element being re-rendered), unless `errors` is
 * 'fail': then the first error fails the wait (a probe that must never throw, like the CLI).
 */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeout = UI_TIMEOUT,
  errors: 'retry' | 'fail' = 'retry',
): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (errors === 'fail') throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? ` (last error: ${last.message})` : '';
      throw new Error(`Timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
