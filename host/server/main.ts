// dist/host-main.js, run by dist/host.js (launch.ts): the agent host process.
// vscode-languageclient starts it (node IPC); tests and other clients can use --stdio. Nothing is
// written to stdout except the transport.
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { serve } from './server.js';

const connection = createConnection(ProposedFeatures.all);
serve(connection);
connection.listen();

process.on('uncaughtException', (err) => {
  // Report, then exit: the client restarts the host (bounded) and pending runs are read back.
  connection.console.error(`Airlock host crashed: ${err.stack ?? String(err)}`);
  process.exit(1);
});
