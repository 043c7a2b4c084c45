// The journal's size against the number of tool calls in one model turn (issue 10, finding 5):
// a scripted model on loopback asks for N `read_file` calls in one reply, then answers. Prints the
// bytes of journal records each run left, and their ratio, which is ~2 when the journal grows
// linearly and ~4 when it grows quadratically. Run: node --import tsx bench/journal-growth.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OpenAIChatModel } from '../host/model/openai-model.js';
import { ScriptedModelServer } from '../host/model/scripted-server.js';
import { Agent } from '../host/runtime/agent.js';
import { SqlJsStore } from '../host/store/sqljs-store.js';
import { readRecords } from '../host/store/journal.js';
import { fileTools } from '../host/tools/files.js';

const COUNTS = (process.env.BENCH_CALLS ?? '300,600').split(',').map(Number);

async function journalBytes(calls: number): Promise<{ records: number; file: number }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'airlock-journal-bench-'));
  try {
    const ws = path.join(root, 'ws');
    fs.mkdirSync(ws);
    // A small source file, read by every call (each result is a few hundred bytes).
    fs.writeFileSync(path.join(ws, 'a.txt'), 'const answer = 42;\n'.repeat(20));
    const server = await ScriptedModelServer.start([
      {
        toolCalls: Array.from({ length: calls }, (_, i) => ({
          id: `call_${i}`,
          name: 'read_file',
          arguments: { path: 'a.txt' },
        })),
      },
      { text: 'Read them all.' },
    ]);
    const file = path.join(root, 'db', 'airlock.db');
    const store = await SqlJsStore.open(file);
    try {
      const model = new OpenAIChatModel({
        model: 'scripted',
        baseURL: server.baseURL,
        apiKey: 'bench',
        maxRetries: 0,
      });
      const agent = new Agent({
        name: 'bench',
        model,
        tools: fileTools(ws),
        store,
        workspace: ws,
        limits: { maxToolCalls: 10_000 }, // past the default limit of calls per turn, on purpose
      });
      const out = await agent.run({ prompt: `Read a.txt ${calls} times.` }).collect();
      if (out.status.code !== 'success') throw new Error(`run failed: ${out.status.message}`);
    } finally {
      store.close();
      await server.close();
    }
    const journal = `${file}.journal`;
    return { records: readRecords(journal, 0).end, file: fs.statSync(journal).size };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: { calls: number; records: number; file: number }[] = [];
  for (const calls of COUNTS) {
    const bytes = await journalBytes(calls);
    results.push({ calls, ...bytes });
    console.log(
      `${String(calls).padStart(5)} calls in one turn: journal records ${(bytes.records / 1e6).toFixed(2)} MB (file ${(bytes.file / 1e6).toFixed(2)} MB)`,
    );
  }
  for (let i = 1; i < results.length; i++) {
    const a = results[i - 1]!;
    const b = results[i]!;
    console.log(
      `${b.calls} / ${a.calls} calls: journal x${(b.records / a.records).toFixed(2)} (linear: x${(b.calls / a.calls).toFixed(2)})`,
    );
  }
}

void main();
