import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake server received it. */
export interface Received {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Decides the answer to one request. It may answer, destroy the socket, or do
 * nothing at all (the request then hangs until the client gives up).
 */
export type Handler = (req: Received, res: ServerResponse, raw: IncomingMessage) => void;

/**
 * A scriptable HTTP server on 127.0.0.1 and an ephemeral port. Every request
 * is recorded; `handle` routes it to the current handler.
 */
export class FakeServer {
  readonly received: Received[] = [];
  handle: Handler = (_req, res) => sendJson(res, 500, { code: 'UNEXPECTED_ERROR', message: 'no handler scripted' });

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeServer> {
    let fake: FakeServer | undefined;
    const server = createServer((raw, res) => {
      const chunks: Buffer[] = [];
      raw.on('data', (chunk: Buffer) => chunks.push(chunk));
      raw.on('end', () => {
        const req: Received = {
          method: raw.method ?? '',
          url: raw.url ?? '',
          headers: raw.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        fake?.received.push(req);
        fake?.handle(req, res, raw);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeServer(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** Requests whose path (without query) ends with `suffix`. */
  requestsTo(suffix: string): Received[] {
    return this.received.filter((r) => (r.url.split('?')[0] ?? '').endsWith(suffix));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendRaw(res: ServerResponse, status: number, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A P1Error body as PingOne sends it. */
export function p1Error(code: string, id: string, detailCode?: string): Record<string, unknown> {
  return {
    id,
    code,
    message: `${code} happened`,
    ...(detailCode === undefined ? {} : { details: [{ code: detailCode, target: 'x', message: 'detail' }] }),
  };
}
