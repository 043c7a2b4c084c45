// Fakes shared by the extension's unit tests: a host that answers from a table and records calls,
// and events shaped as the host sends them.
import { ResponseError } from 'vscode-jsonrpc';
import type { z } from 'zod';
import type { ApprovalEvent, InteractionEvent } from '../../host/protocol/events.js';
import { RpcErrors, type Pending, type RunSummary } from '../../host/protocol/rpc.js';
import { parseReply, type HostApi, type RpcMethod } from '../../extension/rpc-call.js';

type Reply = unknown | ((params: unknown) => unknown);

export class FakeHost implements HostApi {
  readonly calls: { method: string; params: unknown }[] = [];

  constructor(readonly replies: Record<string, Reply>) {}

  async request<M extends RpcMethod>(
    m: M,
    params: z.input<M['params']>,
  ): Promise<z.output<M['result']>> {
    this.calls.push({ method: m.method, params });
    const reply = this.replies[m.method];
    if (reply === undefined) throw new Error(`FakeHost: no reply for ${m.method}`);
    const raw: unknown = typeof reply === 'function' ? await reply(params) : reply;
    return parseReply(m, raw);
  }

  /** The calls other than reads. */
  writes(): { method: string; params: unknown }[] {
    const reads = [
      'airlock/pending',
      'airlock/listRuns',
      'airlock/proposal',
      'airlock/getRun',
      'airlock/rules',
      'airlock/workspaceConfig',
    ];
    return this.calls.filter((c) => !reads.includes(c.method));
  }
}

export function refusal(message: string): never {
  throw new ResponseError(RpcErrors.ResumeRefused, message);
}

export function gate(overrides: Partial<ApprovalEvent> = {}): ApprovalEvent {
  return {
    type: 'approval',
    run_id: 'run_1',
    approval_id: 'apr_1',
    call_id: 'call_1',
    tool: 'write_file',
    path: 'src/a.ts',
    prompt: 'Overwrite src/a.ts?',
    input: { path: 'src/a.ts', content: 'new\n' },
    preview: {
      kind: 'edit',
      path: 'src/a.ts',
      base_sha256: 'abc',
      before_bytes: 4,
      after_bytes: 4,
      diff: '--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1 +1 @@\n-old\n+new\n',
    },
    expires_at: null,
    ...overrides,
  };
}

export function question(overrides: Partial<InteractionEvent> = {}): InteractionEvent {
  return {
    type: 'interaction',
    run_id: 'run_1',
    interaction_id: 'int_1',
    call_id: 'call_2',
    tool: 'ask_user',
    prompt: 'Which name?',
    questions: [{ id: 'answer', question: 'Which name?' }],
    schema: { type: 'string', minLength: 1 },
    ...overrides,
  };
}

export function pending(p: Partial<Pending> = {}): Pending {
  return { approvals: [], interactions: [], interrupted: [], ...p };
}

export function run(overrides: Partial<RunSummary> = {}): RunSummary {
  return {
    run_id: 'run_1',
    agent: 'workspace',
    workspace: '/ws',
    prompt: 'Rename the helper',
    status: 'paused',
    reason: 'approval_required',
    message: '',
    created_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:01.000Z',
    pending: 1,
    ...overrides,
  };
}
