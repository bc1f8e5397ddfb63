import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { jsonRpcError } from './sessions.js';

/** What the SDK's web-standard entries take beside the request. */
export interface WebRequestExtra {
  authInfo?: AuthInfo;
  parsedBody?: unknown;
}

export type WebHandler = (request: Request, extra: WebRequestExtra) => Promise<Response>;

/** Serves one Node request with a web handler; `extra.parsedBody` is a POST's body, read and parsed already. */
export type NodeExchange = (req: IncomingMessage, res: ServerResponse, extra: WebRequestExtra) => Promise<void>;

/**
 * The SDK speaks web `Request` and `Response`, `node:http` does not. This is
 * the conversion @modelcontextprotocol/node's `toNodeHandler` makes, cut to
 * what this listener needs, because it ran on every call:
 *
 * - every POST body reaches here parsed (jsonBody.ts), and the SDK reads the
 *   parsed body, never the `Request`'s: so the `Request` gets no body, where
 *   `toNodeHandler` serialized the parsed value again into a streamed body
 *   nobody read;
 * - an answer that is complete when it is handed over (JSON, an empty 202, an
 *   error) is written with one `end`, where `toNodeHandler` copied every answer
 *   through an async iterator over its stream, in chunked encoding; an
 *   event stream (`text/event-stream`) is still copied as it comes, with
 *   backpressure, until it ends or the client leaves.
 *
 * The `Request` keeps the client's method, URL and headers, and an abort signal
 * that fires when the client leaves before its answer is written (the SDK then
 * closes that exchange, as before). A handler that throws is answered 500 with
 * the request's id, and reported.
 */
export function nodeExchange(handler: WebHandler, onerror: (error: Error) => void): NodeExchange {
  return async (req, res, extra) => {
    let answered = false;
    const abort = new AbortController();
    res.once('close', () => {
      if (!answered) abort.abort();
    });
    if (res.destroyed) abort.abort();
    let response: Response;
    try {
      response = await handler(webRequest(req, abort.signal), extra);
    } catch (error) {
      onerror(error instanceof Error ? error : new Error(String(error)));
      response = jsonRpcError(500, -32603, 'Internal server error', {}, echoableId(extra.parsedBody));
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of response.headers) headers[name] = value;
    if (response.body === null || !isEventStream(response)) {
      const body = Buffer.from(await response.arrayBuffer());
      answered = true;
      // With its length the answer goes out in one write, unchunked.
      res.writeHead(response.status, { ...headers, 'content-length': String(body.length) }).end(body);
      return;
    }
    // The stream is open from now on, whether or not an event follows soon.
    res.writeHead(response.status, headers).flushHeaders();
    await copyStream(response.body, res, abort.signal);
    answered = true;
    res.end();
  };
}

/** The client's request as the SDK reads it: method, URL, headers and the abort signal; no body (it is handed over parsed). */
function webRequest(req: IncomingMessage, signal: AbortSignal): Request {
  // As name-value pairs: the Request copies them into headers of its own, so a Headers built here would be built twice.
  const headers: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers.push([name, value]);
    else if (value !== undefined) for (const item of value) headers.push([name, item]);
  }
  return new ExchangeRequest(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers }, signal);
}

/**
 * A Request whose abort signal is the exchange's own. Handed a signal, Node's
 * Request makes a second controller that follows it and registers the pair
 * in a FinalizationRegistry, which holds them, and the listener between them,
 * until a full collection: young-generation collections copied that for
 * every finished call. (A clone would carry Node's own signal, which never
 * fires; the SDK clones a Request only when it has no parsed body, which every
 * POST here has.)
 */
class ExchangeRequest extends Request {
  constructor(url: string, init: RequestInit, signal: AbortSignal) {
    super(url, init);
    Object.defineProperty(this, 'signal', { value: signal, enumerable: true });
  }
}

function isEventStream(response: Response): boolean {
  return response.headers.get('content-type')?.toLowerCase().startsWith('text/event-stream') === true;
}

/** Copies an event stream to the socket as it comes, waiting when the socket is full, until it ends or the client leaves. */
async function copyStream(body: ReadableStream<Uint8Array>, res: ServerResponse, gone: AbortSignal): Promise<void> {
  const left = new Promise<void>((resolve) => gone.addEventListener('abort', () => resolve(), { once: true }));
  let drained: (() => void) | undefined;
  const onDrain = () => drained?.();
  res.on('drain', onDrain);
  try {
    for await (const chunk of body) {
      if (gone.aborted) break;
      if (!res.write(chunk)) await Promise.race([new Promise<void>((resolve) => (drained = resolve)), left]);
    }
  } catch {
    // The stream failed or was cancelled: what was written stays, the answer ends.
  } finally {
    res.off('drain', onDrain);
  }
}

/** The id to echo on an error answer: a single JSON-RPC request's string or number id, else null. */
function echoableId(body: unknown): string | number | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const { method, id } = body as { method?: unknown; id?: unknown };
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number') ? id : null;
}
