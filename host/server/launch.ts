// dist/host.js: starts the agent host (dist/host-main.js, server/main.ts) from V8's code cache
// (host/code-cache.ts), as each window's host starts.
import * as path from 'node:path';
import { runWithCodeCache } from '../code-cache.js';

runWithCodeCache(__filename, path.join(__dirname, 'host-main.js'), 'host');
