import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { nodeExchange, type WebHandler, type WebRequestExtra } from '../../src/http/webExchange.js';

// The conversion between node:http and the SDK's web Request/Response, over a real socket:
// the handler stands in for the SDK's entry, the client is undici.

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A node:http server that serves every request through `nodeExchange(handler)`, with `extra` given as the listener would. */
async function serve(handler: WebHandler, extra: WebRequestExtra, errors: Error[] = []): Promise<string> {
  const exchange = nodeExchange(handler, (error) => errors.push(error));
  server = createServer((req, res) => void exchange(req, res, extra));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const auth: AuthInfo = { token: 'opaque', clientId: 'client-1', scopes: ['helpdesk.read'] };

describe('nodeExchange', () => {
  it('hands the handler the method, URL, headers and the parsed body, never a body to read again', async () => {
    let seen: { method: string; url: string; headers: Record<string, string>; body: string; extra: WebRequestExtra } | undefined;
    const url = await serve(
      async (req, extra) => {
        seen = { method: req.method, url: req.url, headers: Object.fromEntries(req.headers), body: await req.text(), extra };
        return Response.json({ ok: true });
      },
      { authInfo: auth, parsedBody: { jsonrpc: '2.0', id: 7, method: 'tools/list' } },
    );
    const answer = await request(`${url}/mcp?x=1`, { method: 'POST', headers: { 'content-type': 'application/json', 'mcp-method': 'tools/list', accept: 'a, b' }, body: '{"jsonrpc":"2.0","id":7,"method":"tools/list"}' });
    await answer.body.text();
    expect(seen?.method).toBe('POST');
    expect(seen?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp\?x=1$/);
    expect(seen?.headers['mcp-method']).toBe('tools/list');
    expect(seen?.headers['accept']).toBe('a, b');
    expect(seen?.body).toBe('');
    expect(seen?.extra).toEqual({ authInfo: auth, parsedBody: { jsonrpc: '2.0', id: 7, method: 'tools/list' } });
  });

  it('writes a JSON answer whole, with its length, status and headers', async () => {
    const url = await serve(async () => Response.json({ jsonrpc: '2.0', id: 1, result: { text: 'é'.repeat(10) } }, { status: 201, headers: { 'x-answer': 'yes' } }), {});
    const answer = await request(url, { method: 'POST' });
    const text = await answer.body.text();
    expect(answer.statusCode).toBe(201);
    expect(answer.headers['x-answer']).toBe('yes');
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['transfer-encoding']).toBeUndefined();
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({ jsonrpc: '2.0', id: 1, result: { text: 'é'.repeat(10) } });
  });

  it('answers a bodiless response (202) with no body', async () => {
    const url = await serve(async () => new Response(null, { status: 202 }), {});
    const answer = await request(url, { method: 'POST' });
    expect(answer.statusCode).toBe(202);
    expect(await answer.body.text()).toBe('');
  });

  it('copies an event stream as it comes: the first event arrives before the stream ends', async () => {
    let push: ((text: string) => void) | undefined;
    let end: (() => void) | undefined;
    const url = await serve(async () => {
      const encoder = new TextEncoder();
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (text) => controller.enqueue(encoder.encode(text));
          end = () => controller.close();
        },
      });
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
    }, {});
    const answer = await request(url, { method: 'GET' });
    expect(answer.headers['content-type']).toBe('text/event-stream');
    const chunks = answer.body[Symbol.asyncIterator]();
    push!('event: message\ndata: 1\n\n');
    expect(Buffer.from((await chunks.next()).value as Buffer).toString()).toBe('event: message\ndata: 1\n\n');
    push!('event: message\ndata: 2\n\n');
    end!();
    let rest = '';
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest += Buffer.from(next.value as Buffer).toString();
    expect(rest).toBe('event: message\ndata: 2\n\n');
  });

  it('cancels an event stream as soon as its client leaves, though no event is coming', async () => {
    let cancelled: () => void = () => {};
    const wasCancelled = new Promise<void>((resolve) => (cancelled = resolve));
    const url = await serve(async () => {
      const stream = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode(': open\n\n')),
        cancel: () => cancelled(),
      });
      return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
    }, {});
    const gone = new AbortController();
    const answer = await request(url, { method: 'GET', signal: gone.signal });
    await answer.body[Symbol.asyncIterator]().next();
    gone.abort();
    // Nothing else is ever enqueued: only the client's leaving can cancel the stream.
    await expect(wasCancelled).resolves.toBeUndefined();
  });

  it("aborts the request's signal when the client leaves before its answer", async () => {
    let aborted: Promise<void> | undefined;
    let arrived: () => void = () => {};
    const handlerRan = new Promise<void>((resolve) => (arrived = resolve));
    const url = await serve(
      (req) =>
        new Promise<Response>((resolve) => {
          aborted = new Promise<void>((done) => req.signal.addEventListener('abort', () => done(), { once: true }));
          arrived();
          void aborted.then(() => resolve(new Response(null, { status: 499 })));
        }),
      {},
    );
    const gone = new AbortController();
    const pending = request(url, { method: 'POST', signal: gone.signal }).catch(() => undefined);
    await handlerRan;
    gone.abort();
    await pending;
    await expect(aborted).resolves.toBeUndefined();
  });

  it('does not abort the signal of an exchange that was answered', async () => {
    let signal: AbortSignal | undefined;
    const url = await serve(async (req) => {
      signal = req.signal;
      return Response.json({ ok: true });
    }, {});
    const answer = await request(url, { method: 'POST' });
    await answer.body.text();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(signal?.aborted).toBe(false);
  });

  it('answers 500 with the request id when the handler throws, and reports the error', async () => {
    const errors: Error[] = [];
    const url = await serve(
      async () => {
        throw new Error('boom');
      },
      { parsedBody: { jsonrpc: '2.0', id: 'call-9', method: 'tools/call' } },
      errors,
    );
    const answer = await request(url, { method: 'POST' });
    expect(answer.statusCode).toBe(500);
    expect(await answer.body.json()).toEqual({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: 'call-9' });
    expect(errors.map((error) => error.message)).toEqual(['boom']);
  });
});
