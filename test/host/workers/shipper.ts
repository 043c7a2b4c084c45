// The agent the store's crash and race tests drive, shared by the worker processes and the
// tests themselves: a gated `ship` tool whose handler logs each start durably before its
// idempotent effect, and a gated write_file, against the scripted model server.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { OpenAIChatModel } from '../../../host/model/openai-model.js';
import {
  Agent,
  Tool,
  type RunEvent,
  type RunStream,
  type Store,
} from '../../../host/runtime/index.js';
import { fileTools } from '../../../host/tools/files.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Appends one line durably (O_APPEND, fsync) before the caller goes on. */
export function appendDurably(file: string, line: string): void {
  const fd = fs.openSync(file, 'a');
  try {
    fs.writeSync(fd, `${line}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A gated tool whose handler appends `<approval_id> <pid>` to `log` when it starts, then does an
 * idempotent effect: a marker file per approval in `effects`, written only if missing.
 */
export function shipTool(log: string, effects: string | null): Tool {
  return Tool({
    name: 'ship',
    description: 'Ship an order.',
    params: z.object({ item: z.string() }),
    requiresApproval: true,
    handler: async ({ item }, ctx) => {
      const id = ctx.approval?.approvalId ?? 'ungated';
      appendDurably(log, `${id} ${process.pid}`);
      await sleep(5); // a window in which a kill lands mid-handler
      if (effects) {
        const marker = path.join(effects, id);
        if (!fs.existsSync(marker)) {
          const tmp = `${marker}.tmp-${process.pid}`;
          fs.writeFileSync(tmp, item);
          fs.renameSync(tmp, marker);
        }
      }
      return `shipped ${item}`;
    },
  });
}

export interface ShipperConfig {
  baseURL: string;
  workspace: string;
  /** `<approval_id> <pid>` per handler start, appended with O_APPEND and fsync. */
  log: string;
  /** The `ship` tool's idempotent effect: one marker file per approval. */
  effects: string;
}

export function shipperAgent(config: ShipperConfig, store: Store): Agent {
  const model = new OpenAIChatModel({
    model: 'scripted',
    baseURL: config.baseURL,
    apiKey: 'test-key',
    maxRetries: 0,
  });
  return new Agent({
    name: 'shipper',
    model,
    tools: [
      shipTool(config.log, config.effects),
      ...fileTools(config.workspace).filter((t) => t.name === 'write_file'),
    ],
    store,
    workspace: config.workspace,
  });
}

export type Drain = (stream: RunStream, claimIds: string[] | null) => Promise<unknown>;

/** Drains a run, calling `onEvent` for every event but live deltas (those are not committed). */
export async function drain(stream: RunStream, onEvent: (e: RunEvent) => void): Promise<void> {
  for await (const event of stream) if (event.type !== 'delta') onEvent(event);
}

/**
 * Resumes every paused or interrupted run, approving whatever it waits on, until none is left.
 * Bounded: each pass settles every gate it finds, and a run needs only a few.
 */
export async function resumeOpenRuns(store: Store, agent: Agent, run: Drain): Promise<void> {
  for (let pass = 0; pass < 6; pass++) {
    const open = store
      .listRuns()
      .filter((r) => r.status === 'paused' || r.status === 'interrupted');
    if (!open.length) return;
    for (const r of open) {
      const ids = store.pending(r.run_id).map((p) => p.id);
      const resume = ids.length ? Object.fromEntries(ids.map((id) => [id, true])) : undefined;
      await run(agent.run({ runId: r.run_id, resume }), ids.length ? ids : null);
    }
  }
}
