// Shared by the benchmark sections: percentiles, A/B interleaving, the rows of the report and
// an in-process count of durable syncs (node:fs is a CommonJS object whose functions can be
// wrapped; the ESM view of it is re-synced after patching).
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as fsp from 'node:fs/promises';

export const QUICK = process.env.BENCH_QUICK === '1';

/** Cycles per measured side (≥ 200 unless BENCH_QUICK=1). */
export function cycles(full: number, quick: number): number {
  return QUICK ? quick : full;
}

export interface Stats {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function stats(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return {
    n: sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: sorted.at(-1) ?? NaN,
  };
}

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Warms both sides up, then alternates them (A then B, B then A on the next cycle, so neither
 * always runs on a cache the other just warmed or cooled). Returns the samples of each side.
 */
export async function interleave(
  n: number,
  warmup: number,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<{ a: number[]; b: number[] }> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      out.a.push(await a());
      out.b.push(await b());
    } else {
      out.b.push(await b());
      out.a.push(await a());
    }
  }
  return out;
}

/** One line of the report: Airlock's figure, the peer's or floor's, their ratio, the target. */
export interface Row {
  measure: string;
  airlock: string;
  peer: string;
  ratio: string;
  target: string;
}

export const rows: Row[] = [];
export const notes: string[] = [];

export function fmt(s: Stats, unit = 'ms'): string {
  const d = (x: number): string =>
    x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `p50 ${d(s.p50)} / p90 ${d(s.p90)} / p99 ${d(s.p99)} ${unit} (n=${s.n})`;
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a';
}

export function addRow(row: Row): void {
  rows.push(row);
  console.log(
    `\n${row.measure}\n  Airlock:      ${row.airlock}\n  peer / floor: ${row.peer}\n  ratio:        ${row.ratio}   (target ${row.target})`,
  );
}

/** Counts of durable syncs made by this process since `reset()`. */
export interface SyncCounts {
  /** fsync / fdatasync through node:fs (sync, callback). */
  fs: number;
  /** FileHandle.sync / datasync through node:fs/promises. */
  handle: number;
}

const counts: SyncCounts = { fs: 0, handle: 0 };
let installed = false;

/** Wraps every fsync/fdatasync of node:fs and of FileHandle so this process's syncs are counted. */
export async function countSyncs(): Promise<void> {
  if (installed) return;
  installed = true;
  const fs = createRequire(__filename)('node:fs') as Record<string, unknown>;
  for (const name of ['fsyncSync', 'fdatasyncSync', 'fsync', 'fdatasync']) {
    const original = fs[name] as (...args: unknown[]) => unknown;
    fs[name] = function (this: unknown, ...args: unknown[]) {
      counts.fs++;
      return original.apply(this, args);
    };
  }
  syncBuiltinESMExports();
  const handle = await fsp.open(__filename, 'r');
  const proto = Object.getPrototypeOf(handle) as Record<string, unknown>;
  await handle.close();
  for (const name of ['sync', 'datasync']) {
    const original = proto[name] as (...args: unknown[]) => Promise<void>;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      counts.handle++;
      return original.apply(this, args);
    };
  }
}

export function syncCounts(): SyncCounts {
  return { ...counts };
}

export function median(xs: readonly number[]): number {
  return stats(xs).p50;
}
