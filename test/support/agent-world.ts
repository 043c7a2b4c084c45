// A scripted model, a workspace and a database for agent-level host tests, and readers of what a
// run emitted and what the model was told.
import assert from 'node:assert/strict';
import path from 'node:path';
import { OpenAIChatModel } from '../../host/model/openai-model.js';
import {
  ScriptedModelServer,
  type Reply,
  type Script,
  type ScriptedToolCall,
} from '../../host/model/scripted-server.js';
import {
  Agent,
  type Store,
  Tool,
  type AgentConfig,
  type OutputEvent,
  type RunEvent,
  type RunStream,
} from '../../host/runtime/index.js';
import { onCleanup, openStore, tempDir } from './scratch.js';

/** One test's world: a scripted model server, a database file and a workspace folder. */
export interface World {
  server: ScriptedModelServer;
  model: OpenAIChatModel;
  /** The workspace root. */
  dir: string;
  dbFile: string;
  store: Store;
}

/** A scripted model server (closed after the file's tests) and the real client for it. */
export async function scriptedModel(
  script: Script,
): Promise<{ server: ScriptedModelServer; model: OpenAIChatModel }> {
  const server = await ScriptedModelServer.start(script);
  onCleanup(() => server.close());
  const model = new OpenAIChatModel({
    model: 'scripted',
    baseURL: server.baseURL,
    apiKey: 'test-key',
    maxRetries: 0,
  });
  return { server, model };
}

export async function world(script: Script): Promise<World> {
  const { server, model } = await scriptedModel(script);
  const dir = tempDir('ws');
  const dbFile = path.join(tempDir('db'), 'airlock.db');
  return { server, model, dir, dbFile, store: await openStore(dbFile) };
}

export function agentIn(w: World, tools: Tool[], extra: Partial<AgentConfig> = {}): Agent {
  return new Agent({
    name: 'support',
    model: w.model,
    tools,
    store: w.store,
    workspace: w.dir,
    ...extra,
  });
}

export interface Outcome {
  events: RunEvent[];
  output: OutputEvent;
}

export async function drain(stream: RunStream): Promise<Outcome> {
  const events: RunEvent[] = [];
  const output = await stream.collect((e) => events.push(e));
  return { events, output };
}

export type EventOf<K extends RunEvent['type']> = Extract<RunEvent, { type: K }>;

export function ofType<K extends RunEvent['type']>(o: Outcome, type: K): EventOf<K>[] {
  return o.events.filter((e): e is EventOf<K> => e.type === type);
}

export function one<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}, got ${items.length}`);
  return items[0]!;
}

export function approvalFor(o: Outcome, callId: string): EventOf<'approval'> {
  return one(
    ofType(o, 'approval').filter((e) => e.call_id === callId),
    `approval for ${callId}`,
  );
}

export function interactionFor(o: Outcome, callId: string): EventOf<'interaction'> {
  return one(
    ofType(o, 'interaction').filter((e) => e.call_id === callId),
    `interaction for ${callId}`,
  );
}

export function call(id: string, name: string, args: object): ScriptedToolCall {
  return { id, name, arguments: args };
}

export function calls(...toolCalls: ScriptedToolCall[]): Reply {
  return { toolCalls };
}

export function say(text: string): Reply {
  return { text };
}

/** The tool results the model read in its n-th request (0-based), by call id. */
export function toolResults(server: ScriptedModelServer, n: number): Map<string, string> {
  const request = server.requests[n];
  assert.ok(request, `the model never received request #${n + 1}`);
  const out = new Map<string, string>();
  for (const m of request.messages) {
    if (m.role === 'tool') {
      out.set(
        m.tool_call_id,
        typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
      );
    }
  }
  return out;
}

export function assertPaused(
  o: Outcome,
  reason: 'approval_required' | 'input_required',
  ids: string[],
) {
  assert.equal(o.output.status.code, 'cancelled', o.output.status.message);
  assert.equal(o.output.status.reason, reason, o.output.status.message);
  assert.deepEqual([...o.output.pending].sort(), [...ids].sort());
}

export function assertSuccess(o: Outcome): void {
  assert.equal(o.output.status.code, 'success', o.output.status.message);
  assert.equal(o.output.status.reason, 'completed');
  assert.deepEqual(o.output.pending, []);
}
