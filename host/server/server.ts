// The host's JSON-RPC surface: the LSP handshake plus every `airlock/*` method of
// host/protocol/rpc.ts. Every inbound payload is parsed with its zod schema; a malformed one gets
// a JSON-RPC error naming the problem, never a crash.
import { ResponseError, type Connection, type RequestType } from 'vscode-languageserver/node';
import { z } from 'zod';
// Only `version` is bundled (esbuild keeps the JSON properties a named import uses).
import { version } from '../../package.json';
import {
  ApplyBuffer,
  CancelRun,
  DirtyBuffers,
  ChangedNotification,
  Configure,
  EventNotification,
  GetPending,
  GetProposal,
  ListChanges,
  ListRules,
  RevertChanges,
  RevokeRule,
  GetRun,
  GetWorkspaceConfig,
  HostOptions,
  ListRuns,
  ReadBuffer,
  Resume,
  RpcErrors,
  StartRun,
  TrustWorkspaceConfig,
} from '../protocol/rpc.js';
import { sharedRedactor } from '../runtime/redact.js';
import { ResumeRefusedError } from '../runtime/resume-plan.js';
import type { EditorLink } from './editor-buffers.js';
import { HostSession, UnknownRunError } from './session.js';

interface Method<P extends z.ZodType, R extends z.ZodType> {
  method: string;
  params: P;
  result: R;
  type: RequestType<z.output<P>, unknown, void>;
}

function rpcError(err: unknown): ResponseError<void> {
  if (err instanceof ResponseError) return err as ResponseError<void>;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof ResumeRefusedError) return new ResponseError(RpcErrors.ResumeRefused, message);
  if (err instanceof UnknownRunError) return new ResponseError(RpcErrors.UnknownRun, message);
  return new ResponseError(-32603, message);
}

export function serve(connection: Connection): void {
  let session: HostSession | undefined;
  /** The developer's redaction, until the session has merged in the workspace file's. */
  let redactor = sharedRedactor();
  const log = (message: string) =>
    connection.console.log((session?.redactor ?? redactor).text(message));

  function handle<P extends z.ZodType, R extends z.ZodType>(
    m: Method<P, R>,
    fn: (params: z.output<P>, session: HostSession) => Promise<z.input<R>> | z.input<R>,
  ): void {
    connection.onRequest(m.type, async (raw: unknown) => {
      const parsed = m.params.safeParse(raw ?? {});
      if (!parsed.success) {
        throw new ResponseError(
          RpcErrors.InvalidParams,
          `Invalid ${m.method} params: ${z.prettifyError(parsed.error)}`,
        );
      }
      if (!session) {
        throw new ResponseError(RpcErrors.NotConfigured, 'The host has not been initialized.');
      }
      try {
        return m.result.parse(await fn(parsed.data, session));
      } catch (err) {
        throw rpcError(err);
      }
    });
  }

  // The editor's buffers (SPEC §7): asked only for files it reported dirty; replies are parsed.
  const editor: EditorLink = {
    read: async (abs) =>
      ReadBuffer.result.parse(await connection.sendRequest(ReadBuffer.type, { path: abs })).text,
    apply: async (abs, expected, text) =>
      ApplyBuffer.result.parse(
        await connection.sendRequest(ApplyBuffer.type, { path: abs, expected, text }),
      ),
  };
  /** The last dirty list, kept until the session exists. */
  let dirty: z.output<typeof DirtyBuffers.params>['buffers'] | undefined;
  connection.onNotification(DirtyBuffers.type, (raw: unknown) => {
    const parsed = DirtyBuffers.params.safeParse(raw);
    if (!parsed.success) {
      log(`Ignored an invalid ${DirtyBuffers.method}: ${z.prettifyError(parsed.error)}`);
      return;
    }
    dirty = parsed.data.buffers;
    session?.dirtyBuffers(dirty);
  });

  connection.onInitialize(async (params) => {
    const options = HostOptions.safeParse(params.initializationOptions);
    if (!options.success) {
      throw new ResponseError(
        RpcErrors.InvalidParams,
        `Invalid initializationOptions: ${z.prettifyError(options.error)}`,
      );
    }
    redactor = sharedRedactor({
      keys: options.data.settings.redactKeys,
      patterns: options.data.settings.redactPatterns,
    });
    session = await HostSession.open(options.data, {
      event: (event) => void connection.sendNotification(EventNotification.type, { event }),
      changed: () => void connection.sendNotification(ChangedNotification.type, {}),
      log,
      editor,
    });
    if (dirty) session.dirtyBuffers(dirty);
    return { capabilities: {}, serverInfo: { name: 'airlock-host', version } };
  });

  connection.onShutdown(async () => {
    await session?.dispose();
    session = undefined;
  });

  handle(StartRun, async ({ prompt, started_by }, s) => ({
    run_id: await s.startRun(prompt, started_by),
  }));
  handle(Resume, async ({ run_id, resume }, s) => ({ run_id: await s.resume(run_id, resume) }));
  handle(CancelRun, async ({ run_id, reason }, s) => {
    await s.cancelRun(run_id, reason);
    return { run_id };
  });
  handle(ListRuns, (_p, s) => ({ runs: s.listRuns() }));
  handle(GetRun, ({ run_id }, s) => s.getRun(run_id));
  handle(GetPending, (_p, s) => s.pending());
  handle(GetProposal, ({ run_id, approval_id }, s) => s.proposal(run_id, approval_id));
  handle(ListRules, (_p, s) => ({ rules: s.rules() }));
  handle(ListChanges, ({ run_id }, s) => ({ changes: s.changes(run_id) }));
  handle(RevertChanges, async ({ run_id, change_id, force, approver }, s) => ({
    results: await s.revert(run_id, { changeId: change_id, force, approver }),
  }));
  handle(RevokeRule, async ({ rule_id }, s) => {
    await s.revokeRule(rule_id);
    return {};
  });
  handle(GetWorkspaceConfig, (_p, s) => s.workspaceConfig());
  handle(TrustWorkspaceConfig, ({ sha256 }, s) => s.trustWorkspaceConfig(sha256));
  // Logs mask with the session's redactor from here on (the merged settings), not `redactor`.
  handle(Configure, ({ settings, apiKey, restricted }, s) => {
    s.configure(settings, apiKey, restricted);
    return {};
  });
}
