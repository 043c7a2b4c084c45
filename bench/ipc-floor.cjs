// Row 5's floor: a bare vscode-jsonrpc peer over node IPC in a child process, doing the least a
// host does per step: fetch from a loopback HTTP server then notify, or reply then notify.
const http = require('node:http');
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
connection.onRequest('floor/ping', (params) => {
  connection.sendNotification('floor/pong', params);
  return { ok: true };
});
connection.onRequest('shutdown', () => null);
connection.onNotification('exit', () => process.exit(0));
connection.listen();
