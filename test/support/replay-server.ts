// A loopback HTTP server that replays provider responses byte for byte. Each fixture under
// test/fixtures/providers/ is a raw HTTP response: `#` comment lines naming its public source
// (and replay directives), then a status line, headers, a blank line and the body exactly as the
// provider sends it (server-sent event frames, or a JSON error body). The server answers the
// n-th accepted chat request with the n-th step of its script, and can first reject a request
// the way the provider would (a `reject` rule names the fixture to answer with instead).
//
// Directives (comment lines `# replay: …`), for what the bytes alone cannot say:
//   hang        after the body, leave the connection open (no end, no [DONE])
//   drop        after the body, destroy the socket (the chunked body never ends)
//   split-utf8  write the body in pieces that cut every multi-byte character in two
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

export const PROVIDER_FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'providers');

export interface Fixture {
  name: string;
  /** The `# source:` lines: where this shape is documented. */
  sources: string[];
  directives: Set<'hang' | 'drop' | 'split-utf8'>;
  status: number;
  statusText: string;
  headers: [string, string][];
  body: Buffer;
}

/** Reads `test/fixtures/providers/NAME`; throws if it has no source or no status line. */
export function loadFixture(name: string): Fixture {
  const bytes = fs.readFileSync(path.join(PROVIDER_FIXTURES, name));
  let at = 0;
  const nextLine = (): string => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw new Error(`${name}: the fixture ends before its body`);
    const line = bytes.subarray(at, end).toString('utf8').replace(/\r$/, '');
    at = end + 1;
    return line;
  };
  const sources: string[] = [];
  const directives = new Set<'hang' | 'drop' | 'split-utf8'>();
  let line = nextLine();
  for (; line.startsWith('#'); line = nextLine()) {
    const source = /^#\s*source:\s*(.+)$/i.exec(line);
    if (source) sources.push(source[1]!.trim());
    const directive = /^#\s*replay:\s*(hang|drop|split-utf8)\s*$/i.exec(line);
    if (directive) directives.add(directive[1]!.toLowerCase() as 'hang' | 'drop' | 'split-utf8');
  }
  if (sources.length === 0) throw new Error(`${name}: no "# source:" line names where it is from`);
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line);
  if (!status) throw new Error(`${name}: expected a status line, got ${JSON.stringify(line)}`);
  const headers: [string, string][] = [];
  for (line = nextLine(); line !== ''; line = nextLine()) {
    const colon = line.indexOf(':');
    if (colon < 1) throw new Error(`${name}: bad header line ${JSON.stringify(line)}`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return {
    name,
    sources,
    directives,
    status: Number(status[1]),
    statusText: status[2] ?? '',
    headers,
    body: bytes.subarray(at),
  };
}

export type RequestBody = Record<string, unknown>;

export interface ReplayScript {
  /** Fixtures answering the accepted chat requests, in order. */
  steps: string[];
  /**
   * Checks a request before it is accepted: a fixture name to answer with instead (the
   * provider's refusal), or null to accept it. `index` counts accepted requests so far.
   */
  reject?: (body: RequestBody, index: number) => string | null;
}

export class ReplayServer {
  /** Every chat request body received, in order, refused ones included. */
  readonly requests: RequestBody[] = [];
  /** The fixture each of those requests was answered with. */
  readonly answered: string[] = [];
  private accepted = 0;
  private readonly fixtures = new Map<string, Fixture>();

  private constructor(
    private readonly server: Server,
    readonly baseURL: string,
    private readonly script: ReplayScript,
  ) {}

  static async start(script: ReplayScript): Promise<ReplayServer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const self = new ReplayServer(server, `http://127.0.0.1:${port}/v1`, script);
    // Load every fixture now: a missing or malformed one fails the test before any request.
    for (const name of script.steps) self.fixture(name);
    server.on('request', (req, res) => {
      res.on('error', () => undefined); // the client may hang up; nothing to do
      self.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'application/json', 'x-should-retry': 'false' });
        }
        res.end(JSON.stringify({ error: { message: `replay server: ${String(err)}` } }));
      });
    });
    return self;
  }

  /** How many requests were answered with this fixture. */
  count(name: string): number {
    return this.answered.filter((n) => n === name).length;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // hanging replies included
    await closed;
  }

  private fixture(name: string): Fixture {
    let f = this.fixtures.get(name);
    if (!f) {
      f = loadFixture(name);
      this.fixtures.set(name, f);
    }
    return f;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0];
    const raw = await readBody(req);
    if (req.method !== 'POST' || url !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json', 'x-should-retry': 'false' });
      res.end(JSON.stringify({ error: { message: `replay server: no route ${url}` } }));
      return;
    }
    const body = JSON.parse(raw) as RequestBody;
    this.requests.push(body);
    const refusal = this.script.reject?.(body, this.accepted) ?? null;
    let name = refusal;
    if (!name) {
      const step = this.script.steps[this.accepted];
      if (!step) {
        throw new Error(
          `the script has ${this.script.steps.length} steps; this is request ${this.accepted + 1}`,
        );
      }
      name = step;
      this.accepted++;
    }
    this.answered.push(name);
    await this.serve(res, this.fixture(name));
  }

  private async serve(res: ServerResponse, f: Fixture): Promise<void> {
    res.writeHead(f.status, f.statusText, f.headers.flat());
    res.flushHeaders();
    const pieces = f.directives.has('split-utf8') ? splitInsideCharacters(f.body) : [f.body];
    for (const piece of pieces) {
      if (res.destroyed) return;
      await new Promise<void>((resolve) => res.write(piece, () => resolve()));
      // Pieces go out as separate TCP segments: the client reads each on its own.
      if (pieces.length > 1) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (f.directives.has('hang')) return; // the connection stays open until the client leaves
    if (f.directives.has('drop')) {
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}

/** The body cut inside every multi-byte UTF-8 character (after its first byte). */
function splitInsideCharacters(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    // A lead byte of a multi-byte sequence: cut right after it.
    if ((body[i]! & 0xc0) === 0xc0) {
      out.push(body.subarray(start, i + 1));
      start = i + 1;
    }
  }
  out.push(body.subarray(start));
  return out.filter((b) => b.length > 0);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
