// A worker process for the store's crash, race and concurrency tests (test/host/store-*.test.ts).
// It opens the database file itself, drives runs through the real runtime, and prints one JSON
// line to stdout per event it received from a run: those events were committed before they were
// yielded, so every line is an acknowledged write the parent can look for after killing it.
//
//   node --import tsx test/host/workers/store-worker.ts '<json config>'
//
// Modes:
//   drive  — start a run per tag against the scripted model server (a gated `ship` tool and a
//            gated write_file), then resume every paused or interrupted run to the end.
//   race   — for each round, wait for a "go" file, then resume one gate that 7 other workers
//            resume at the same moment.
//   commit — wait for a "go" file, then run `count` direct tool runs as fast as it can.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import {
  runTool,
  openStore,
  SqlJsStore,
  type Store,
  Tool,
  type RunEvent,
  type RunStream,
} from '../../../host/runtime/index.js';
import { isPostgresUrl } from '../../../host/store/location.js';
import { resumeOpenRuns, shipperAgent, shipTool, type ShipperConfig } from './shipper.js';

export interface DriveConfig extends ShipperConfig {
  mode: 'drive';
  db: string;
  snapshotEvery: number;
  /** New runs to start: run `run_<tag>`, prompt `ship <tag>`. */
  start: string[];
}

export interface RaceConfig {
  mode: 'race';
  db: string;
  log: string;
  goDir: string;
  rounds: { runId: string; approvalId: string }[];
}

export interface CommitConfig {
  mode: 'commit';
  db: string;
  snapshotEvery: number;
  go: string;
  prefix: string;
  count: number;
}

export type WorkerConfig = DriveConfig | RaceConfig | CommitConfig;

/** What the worker prints, one JSON object per line. */
export type WorkerLine =
  | { ready: true; pid: number }
  | { ack: RunEvent }
  /** The first commit of a resume (claims, decisions, segment) was acknowledged. */
  | { claimed: { run_id: string; ids: string[] } }
  | { round: number; reason: string; code: string }
  | { done: true };

function print(line: WorkerLine): void {
  // Synchronous for pipes on Linux: once this returns the parent can read it, kill or no kill.
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(file: string): Promise<void> {
  // Bounded: 3,000 polls of 5 ms is far more than a round needs.
  for (let i = 0; i < 3000; i++) {
    if (fs.existsSync(file)) return;
    await sleep(5);
  }
  throw new Error(`${file} never appeared.`);
}

/** Drains a run, printing every non-delta event (committed before it was yielded). */
async function drain(stream: RunStream, claimIds: string[] | null): Promise<string> {
  let reason = '';
  let first = true;
  for await (const event of stream) {
    if (event.type === 'delta') continue; // streamed live, never acknowledged on its own
    print({ ack: event });
    if (first && claimIds && event.type === 'start') {
      print({ claimed: { run_id: event.run_id, ids: claimIds } });
    }
    first = false;
    if (event.type === 'output') reason = event.status.reason;
  }
  return reason;
}

/** `db` is a file or, in the conformance suite's PostgreSQL pass, a server's URL. */
function open(db: string, snapshotEvery?: number): Promise<Store> {
  return isPostgresUrl(db)
    ? openStore(db)
    : SqlJsStore.open(db, snapshotEvery === undefined ? {} : { snapshotEvery });
}

async function drive(config: DriveConfig): Promise<void> {
  const store = await open(config.db, config.snapshotEvery);
  const agent = shipperAgent(config, store);
  print({ ready: true, pid: process.pid });
  for (const tag of config.start) {
    await drain(agent.run({ prompt: `ship ${tag}`, runId: `run_${tag}` }), null);
  }
  await resumeOpenRuns(store, agent, drain);
  print({ done: true });
}

async function race(config: RaceConfig): Promise<void> {
  const store = await open(config.db);
  const tool = shipTool(config.log, null);
  print({ ready: true, pid: process.pid });
  for (const [i, round] of config.rounds.entries()) {
    await waitFor(path.join(config.goDir, `go-${i}`));
    const output = await runTool(tool, {
      store,
      runId: round.runId,
      resume: { [round.approvalId]: true },
    }).collect();
    print({ round: i, reason: output.status.reason, code: output.status.code });
  }
  print({ done: true });
}

async function commit(config: CommitConfig): Promise<void> {
  const store = await open(config.db, config.snapshotEvery);
  const note = Tool({
    name: 'note',
    description: 'Note a number.',
    params: z.object({ n: z.number() }),
    handler: ({ n }) => `noted ${n}`,
  });
  print({ ready: true, pid: process.pid });
  await waitFor(config.go);
  for (let i = 0; i < config.count; i++) {
    await drain(runTool(note, { store, runId: `${config.prefix}_${i}`, input: { n: i } }), null);
  }
  print({ done: true });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  if (config.mode === 'drive') await drive(config);
  else if (config.mode === 'race') await race(config);
  else await commit(config);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
