// One scripted model server shared by the scenarios of a suite: each scenario scripts the replies
// to its own prompt (the run's first user message) and reads back the requests of its own run.
// Used by the editor suite and the extension-host suite (bundled into the extension host).
import type OpenAI from 'openai';
import {
  ScriptedModelServer,
  type Reply,
  type ScriptRequest,
} from '../../host/model/scripted-server.js';

export type ToolMessage = OpenAI.Chat.Completions.ChatCompletionToolMessageParam;
type Messages = readonly { role: string; content?: unknown }[];

function promptOf(messages: Messages): string {
  const user = messages.find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

/** The tool results in a conversation, in order. */
export function toolMessages(messages: Messages): ToolMessage[] {
  return messages.filter((m): m is ToolMessage => m.role === 'tool');
}

export function contentText(content: ToolMessage['content']): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

export class ModelByPrompt {
  private constructor(
    private readonly server: ScriptedModelServer,
    private readonly scripts: Map<string, (request: ScriptRequest) => Reply>,
  ) {}

  static async start(): Promise<ModelByPrompt> {
    const scripts = new Map<string, (request: ScriptRequest) => Reply>();
    const server = await ScriptedModelServer.start((request) => {
      const prompt = promptOf(request.messages);
      const script = scripts.get(prompt);
      return script
        ? script(request)
        : { text: `No scripted behaviour for ${JSON.stringify(prompt)}.` };
    });
    return new ModelByPrompt(server, scripts);
  }

  get baseURL(): string {
    return this.server.baseURL;
  }

  /** What the model answers in the run started with `prompt` (the conversation decides the turn). */
  script(prompt: string, reply: (request: ScriptRequest) => Reply): void {
    this.scripts.set(prompt, reply);
  }

  /** The chat requests the model got for one prompt's run, in order. */
  requestsFor(prompt: string) {
    return this.server.requests.filter((r) => promptOf(r.messages) === prompt);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
