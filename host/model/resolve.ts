// Picks the model from flags/settings, then the environment, the way the `openai` package does;
// with no key and no endpoint at all, the offline demo is the useful default. The client (the
// `openai` package) and the demo's loopback server load here, on the first model a process
// needs: a CLI command that calls no model never pays for them.
import type { Model } from './model.js';

export interface ResolveModelOptions {
  model?: string;
  baseURL?: string;
  apiKey?: string;
  /**
   * One line for the developer about the endpoint, e.g. "stream_options dropped for this
   * endpoint": the editor's host writes it to the output channel, the CLI to stderr.
   */
  onNotice?: (message: string) => void;
}

export async function resolveModel(
  opts: ResolveModelOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ model: Model; close(): Promise<void> }> {
  // Empty strings (unset settings) fall through to the environment.
  const baseURL = opts.baseURL || env.OPENAI_BASE_URL || undefined;
  const apiKey = opts.apiKey || env.OPENAI_API_KEY || undefined;
  const name = opts.model || env.AIRLOCK_MODEL || (!apiKey && !baseURL ? 'demo' : 'gpt-4o-mini');
  if (name === 'demo') return (await import('./demo.js')).startDemoModel();
  const { OpenAIChatModel } = await import('./openai-model.js');
  return {
    model: new OpenAIChatModel({
      model: name,
      baseURL,
      apiKey,
      env,
      ...(opts.onNotice ? { onNotice: opts.onNotice } : {}),
    }),
    close: async () => undefined,
  };
}
