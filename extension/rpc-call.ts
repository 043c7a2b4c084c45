// The pure half of calling the host: a method's params are checked before sending, its reply is
// parsed with the method's result schema, and every call has a deadline. HostClient supplies the
// transport; tests supply a fake.
import type { RequestType } from 'vscode-jsonrpc';
import { z } from 'zod';
import { RpcErrors } from '../host/protocol/rpc.js';

/** A request declared in host/protocol/rpc.ts. */
export interface RpcMethod<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  method: string;
  params: P;
  result: R;
  /** The message type both ends register and send. */
  type: RequestType<z.output<P>, unknown, void>;
}

/** What the rest of the extension needs from the host: typed, parsed requests. */
export interface HostApi {
  request<M extends RpcMethod>(m: M, params: z.input<M['params']>): Promise<z.output<M['result']>>;
}

/** A ceiling for a busy machine (the first request also starts the host), not an expectation. */
export const REQUEST_TIMEOUT_MS = 120_000;

export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
}

/** Rejects after `ms` (calling `onTimeout`, e.g. to cancel the request) unless `work` settles. */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  what: string,
  onTimeout: () => void = () => undefined,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(
        new RequestTimeoutError(`The Airlock host did not answer ${what} within ${ms / 1000} s.`),
      );
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export function checkParams<M extends RpcMethod>(m: M, params: unknown): z.output<M['params']> {
  const parsed = m.params.safeParse(params);
  if (!parsed.success) {
    throw new Error(`Invalid ${m.method} params: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as z.output<M['params']>;
}

export function parseReply<M extends RpcMethod>(m: M, raw: unknown): z.output<M['result']> {
  const parsed = m.result.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`The host sent an invalid ${m.method} reply: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as z.output<M['result']>;
}

/** A JSON-RPC error's code, if it is one. */
export function errorCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number') {
    return err.code;
  }
  return undefined;
}

/** The host refused a resume: nothing ran and the gate is still pending. */
export function isRefusal(err: unknown): boolean {
  return errorCode(err) === RpcErrors.ResumeRefused;
}

/** The message to show the user (the host's messages are already redacted). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String(err.message);
  return String(err);
}
