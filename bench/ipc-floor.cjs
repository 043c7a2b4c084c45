// Row 5's floor: a bare vscode-jsonrpc peer over node IPC in a child process, doing the least a
// host does per step: fetch from a loopback HTTP server then notify, or reply then notify, or
// write a file durably then reply and notify.
const fs = require('node:fs');
const fsp = require('node:fs/promises');
const http = require('node:http');
const path = require('node:path');
const {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
} = require('vscode-jsonrpc/node');

const connection = createMessageConnection(
  new IPCMessageReader(process),
  new IPCMessageWriter(process),
);
const agent = new http.Agent({ keepAlive: true });
connection.onNotification('floor/fetch', ({ url }) => {
  const req = http.request(url, { method: 'POST', agent }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (d) => (body += d));
    res.on('end', () => connection.sendNotification('floor/fetched', { body }));
  });
  req.end('{}');
});
// The same, with the pause made durable before the client is told (as a gate must be: it
// survives a crash): the reply appended to a record file and fdatasync'd, then the notification.
let records = null;
connection.onNotification('floor/fetch-durable', ({ url, file }) => {
  const req = http.request(url, { method: 'POST', agent }, (res) => {
    let body = '';
    res.setEncoding('utf8').on('data', (d) => (body += d));
    res.on('end', () => {
      records ??= fs.openSync(file, 'a', 0o600);
      fs.writeSync(records, `${body}\n`);
      fs.fdatasyncSync(records);
      connection.sendNotification('floor/fetched', { body });
    });
  });
  req.end('{}');
});
// The same durable pause with the model's reply as Airlock receives it: streamed (server-sent
// events) through the openai client from the bench's scripted model, its tool call assembled
// from the chunks and its arguments parsed.
let client = null;
connection.onNotification('floor/model-durable', async ({ baseURL, file }) => {
  const { default: OpenAI } = require('openai');
  client ??= new OpenAI({ baseURL, apiKey: 'bench', maxRetries: 0 });
  const stream = await client.chat.completions.create({
    model: 'scripted',
    messages: [{ role: 'user', content: 'Write notes.txt' }],
    tools: [{ type: 'function', function: { name: 'write_file', parameters: { type: 'object' } } }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const calls = [];
  for await (const chunk of stream) {
    for (const part of chunk.choices[0]?.delta?.tool_calls ?? []) {
      const call = (calls[part.index] ??= { id: part.id, name: '', arguments: '' });
      call.name += part.function?.name ?? '';
      call.arguments += part.function?.arguments ?? '';
    }
  }
  const body = JSON.stringify(calls.map((c) => ({ ...c, arguments: JSON.parse(c.arguments) })));
  records ??= fs.openSync(file, 'a', 0o600);
  fs.writeSync(records, `${body}\n`);
  fs.fdatasyncSync(records);
  connection.sendNotification('floor/fetched', { body });
});
connection.onRequest('floor/ping', (params) => {
  connection.sendNotification('floor/pong', params);
  return { ok: true };
});
// The effect an approval runs, done the way write_file does it (host/store/durable-file.ts
// replaceDurably: temp file, fsync, rename, folder fsync), then the reply and the notification:
// the least any host pays for an approved write, whatever its machinery.
connection.onRequest('floor/write', async ({ file, content }) => {
  const temp = `${file}.floor-${process.pid}.tmp`;
  const handle = await fsp.open(temp, 'w');
  await handle.writeFile(content);
  await handle.sync();
  await handle.close();
  await fsp.rename(temp, file);
  const dir = await fsp.open(path.dirname(file), 'r');
  await dir.sync();
  await dir.close();
  connection.sendNotification('floor/written', {});
  return { ok: true };
});
connection.onRequest('shutdown', () => null);
connection.onNotification('exit', () => process.exit(0));
connection.listen();
