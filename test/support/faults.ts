import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Exchange } from '../../src/sandbox/emulator.js';
import { oauthError, p1Error, type OAuthErrorBody, type P1ErrorBody } from '../../src/sandbox/p1error.js';
import { JSON_TYPE, jsonReply, lowerCaseKeys } from '../../src/sandbox/reply.js';
import type { RouteName } from '../../src/sandbox/routes.js';

/**
 * Fault injection: tests queue misbehaviours that the next matching requests
 * suffer, to exercise a client's timeouts, retries and parsing defences. The
 * faults reach the emulator through its `intercept` seam (see emulator.ts here).
 */

export type FaultAction =
  /** A plain error status. Without `body`, the realistic P1Error (or OAuth error on the token route). */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the socket without answering. */
  | { kind: 'reset' }
  /** Never send headers; the socket stays open until the client gives up or the emulator closes. */
  | { kind: 'hang' }
  /** Send 200 headers and part of a body, then nothing more. */
  | { kind: 'stall-body' }
  /** Wait, then serve the request normally. */
  | { kind: 'delay'; ms: number }
  /** An HTML error page, as a gateway in front of PingOne would send. */
  | { kind: 'html'; status: number }
  /** 200 with a JSON content type whose body ends mid-document. */
  | { kind: 'truncated' }
  /** Exactly this status and body (e.g. an unexpected shape, or a huge body). */
  | { kind: 'raw'; status: number; body: string; contentType?: string };

export type FaultMatch = { route?: RouteName; method?: string };

export type Fault = {
  match?: FaultMatch;
  /** How many matching requests suffer it; default 1, `Infinity` for all. */
  times?: number;
  action: FaultAction;
};

export type FaultController = {
  add(fault: Fault): void;
  clear(): void;
  /** Faults still queued (for asserting that a fault was consumed). */
  readonly pending: number;
};

type QueuedFault = { match: FaultMatch; remaining: number; action: FaultAction };

function validate(fault: Fault): void {
  const times = fault.times ?? 1;
  if (!(times >= 1) || (Number.isFinite(times) && !Number.isInteger(times))) {
    throw new RangeError(`fault.times must be a positive integer or Infinity, got ${String(times)}`);
  }
  const action = fault.action;
  if (action.kind === 'delay' && !(action.ms >= 0 && Number.isFinite(action.ms))) {
    throw new RangeError('delay fault needs a finite ms >= 0');
  }
  if ((action.kind === 'status' || action.kind === 'html' || action.kind === 'raw') && !(action.status >= 100 && action.status <= 599)) {
    throw new RangeError(`fault status must be 100-599, got ${String(action.status)}`);
  }
}

function matches(match: FaultMatch, route: RouteName, method: string): boolean {
  if (match.route !== undefined && match.route !== route) return false;
  if (match.method !== undefined && match.method.toUpperCase() !== method.toUpperCase()) return false;
  return true;
}

/** First-in first-out: the oldest matching fault fires first. */
export class FaultQueue implements FaultController {
  private readonly queue: QueuedFault[] = [];

  add(fault: Fault): void {
    validate(fault);
    this.queue.push({ match: { ...fault.match }, remaining: fault.times ?? 1, action: fault.action });
  }

  clear(): void {
    this.queue.length = 0;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Consumes one use of the first fault matching this request, if any. */
  take(route: RouteName, method: string): FaultAction | undefined {
    const index = this.queue.findIndex((f) => matches(f.match, route, method));
    const fault = this.queue[index];
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.queue.splice(index, 1);
    return fault.action;
  }
}

const HTML_PAGE = (status: number): string => {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><center><h1>${title}</h1></center><hr><center>gateway</center></body></html>\n`;
};

/** Half of a body: enough to start, never enough to parse. */
const half = (body: string): string => body.slice(0, Math.max(1, Math.floor(body.length / 2)));

/** Makes the exchange suffer the fault. A `delay` sleeps on the emulator's closing signal, so close() stays prompt. */
export async function applyFault(action: FaultAction, x: Exchange): Promise<void> {
  const { req, res } = x.raw;
  switch (action.kind) {
    case 'status': {
      const headers = action.headers !== undefined ? lowerCaseKeys(action.headers) : action.status === 429 ? { 'retry-after': '1' } : {};
      const tokenShaped = x.request.route === 'token' && (action.status === 400 || action.status === 401);
      const body = action.body !== undefined ? action.body : tokenShaped ? oauthErrorForStatus(action.status) : p1ErrorForStatus(action.status);
      x.send(jsonReply(action.status, body, headers));
      return;
    }
    case 'reset':
      req.socket.destroy();
      return;
    case 'hang':
      // Nothing is written; close() or the client's abort ends the socket.
      return;
    case 'stall-body': {
      const genuine = x.answer();
      res.writeHead(200, { 'content-type': JSON_TYPE, 'correlation-id': x.correlationId });
      res.write(half(genuine.body));
      return;
    }
    case 'delay':
      await sleep(action.ms, undefined, { signal: x.signal });
      x.send(x.answer());
      return;
    case 'html':
      x.send({ status: action.status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: HTML_PAGE(action.status) });
      return;
    case 'truncated':
      // The request is processed (a write takes effect); only the answer is lost.
      x.send({ status: 200, headers: { 'content-type': JSON_TYPE }, body: half(x.answer().body) });
      return;
    case 'raw':
      x.send({ status: action.status, headers: { 'content-type': action.contentType ?? JSON_TYPE }, body: action.body });
      return;
  }
}

/** The P1Error PingOne would plausibly send for a bare status (used by status faults). */
export function p1ErrorForStatus(status: number): P1ErrorBody {
  switch (status) {
    case 400:
      return p1Error('INVALID_DATA', 'The request could not be completed. One or more validation errors were in the request.', [
        { code: 'INVALID_VALUE', message: 'A value in the request is invalid.' },
      ]);
    case 401:
      return p1Error('ACCESS_FAILED', 'The request could not be completed. The access token is invalid or has expired.', [
        { code: 'INVALID_TOKEN', message: 'The access token is invalid or has expired.' },
      ]);
    case 403:
      return p1Error('ACCESS_FAILED', 'The request could not be completed. You do not have access to this resource.', [
        { code: 'INSUFFICIENT_PERMISSIONS', message: 'The actor does not have the permissions required for this request.' },
      ]);
    case 404:
      return p1Error('NOT_FOUND', 'The requested resource was not found.');
    case 415:
      return p1Error('INVALID_REQUEST', 'The request could not be completed. The Content-Type is not supported.');
    case 429:
      return p1Error('REQUEST_LIMITED', 'The request could not be completed. Too many requests were made.', [
        { code: 'LIMIT_EXCEEDED', message: 'The request rate limit was exceeded. Retry after the interval in Retry-After.' },
      ]);
    default:
      if (status >= 500) return p1Error('UNEXPECTED_ERROR', 'An unexpected error occurred.');
      return p1Error('REQUEST_FAILED', 'The request could not be completed.');
  }
}

/** The OAuth error the token endpoint would plausibly send for a bare status. */
export function oauthErrorForStatus(status: number): OAuthErrorBody {
  if (status === 401) return oauthError('invalid_client', 'Client authentication failed.');
  if (status === 400) return oauthError('invalid_request', 'The request is invalid.');
  if (status >= 500) return oauthError('server_error', 'An unexpected error occurred.');
  return oauthError('invalid_request', 'The request could not be completed.');
}
