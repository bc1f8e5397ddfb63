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
  const init = { method: req.method ?? 'GET', headers };
  const target = req.url ?? '/';
  try {
    return new ExchangeRequest(`http://${req.headers.host ?? 'localhost'}${target}`, init, signal);
  } catch {
    // The Host passed the guard's check yet makes no URL a Request takes (user information: `a@localhost`; any
    // text behind a trusted proxy). Nobody reads the Request's host: the target on localhost serves as well.
    return new ExchangeRequest(`http://localhost${target}`, init, signal);
  }
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

/**
 * Copies an event stream to the socket as it comes, waiting when the socket is full, until it ends or the
 * client leaves. When the client leaves the stream is cancelled at once, even while no event is coming: its
 * source then lets go of it (a 2025 session allows one GET stream, and would refuse the client's next one
 * with 409 until a keep-alive, 15 s later, failed to be written).
 */
async function copyStream(body: ReadableStream<Uint8Array>, res: ServerResponse, gone: AbortSignal): Promise<void> {
  const reader = body.getReader();
  let drained: (() => void) | undefined;
  const onDrain = () => drained?.();
  const onGone = () => {
    reader.cancel().catch(() => {});
    drained?.();
  };
  res.on('drain', onDrain);
  if (gone.aborted) onGone();
  else gone.addEventListener('abort', onGone, { once: true });
  try {
    for (let next = await reader.read(); !next.done && !gone.aborted; next = await reader.read()) {
      if (!res.write(next.value)) await new Promise<void>((resolve) => (drained = resolve));
    }
  } catch {
    // The stream failed or was cancelled: what was written stays, the answer ends.
  } finally {
    res.off('drain', onDrain);
    gone.removeEventListener('abort', onGone);
  }
}

/** The id to echo on an error answer: a single JSON-RPC request's string or number id, else null. */
function echoableId(body: unknown): string | number | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const { method, id } = body as { method?: unknown; id?: unknown };
  return typeof method === 'string' && (typeof id === 'string' || typeof id === 'number') ? id : null;
}
