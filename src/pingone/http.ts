import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Agent, Dispatcher } from 'undici';
import type { Transport } from './transport.js';
import { PingOneCancelledError, PingOneTimeoutError, PingOneUnreachableError } from './errors.js';
import { mediaTypeOrUndefined, uuidLikeOrUndefined } from './echoes.js';
import { isRetryableNetworkCode, isRetryableStatus, nextDelay, parseRetryAfter, type RetryPolicy } from './retry.js';

/** The limits one tool call lives within, shared by every request it makes. Made by `createCallScope`. */
export interface CallScope {
  /** Sent as X-Ping-External-Transaction-Id so PingOne's audit record can be found from ours. */
  transactionId: string;
  /**
   * Aborted when the call is cancelled (the MCP client, a shutdown) or when its
   * deadline passes; `deadlinePassed` tells which. One signal and one timer for
   * the whole call, shared by every request and wait in it.
   */
  signal: AbortSignal;
  /** Epoch ms by which the whole tool call must end, retries and waits included. */
  deadline: number;
  /** The length of the deadline, for messages. */
  timeoutMs: number;
}

/** A scope still open: `end()` clears its deadline timer and its listeners once the call is over. */
export interface OpenCallScope extends CallScope {
  end(): void;
}

/** The abort reason of a scope whose deadline passed; any other reason is a cancellation. */
class DeadlinePassed extends DOMException {
  constructor() {
    super('The call deadline passed', 'TimeoutError');
  }
}

/** Whether the scope stopped because its deadline passed (rather than being cancelled, or not at all). */
export function deadlinePassed(scope: CallScope): boolean {
  return scope.signal.aborted && scope.signal.reason instanceof DeadlinePassed;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** An HTTP answer with its body parsed as JSON when it is JSON. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed body; undefined when empty or unusable (see `problem`). */
  json: unknown;
  /** Why a non-empty body could not be parsed (HTML page, truncated JSON, too large). */
  problem?: string;
  correlationId: string | undefined;
  retryAfterMs: number | undefined;
  /** Attempts made, the first included. */
  attempts: number;
}

export interface HttpExchangeOptions {
  /** Connection pool to use; by default an undici Agent with `agent` options, created on the first request. */
  dispatcher?: Dispatcher;
  agent?: Agent.Options;
  userAgent: string;
  policy: RetryPolicy;
  /** Bodies larger than this are not read: no real PingOne answer comes close. */
  maxBodyBytes: number;
  now?: () => number;
  random?: () => number;
}

/**
 * Sends one logical request, retrying what Ping says is safe to retry, within
 * the call's deadline and abort signal. Returns the final answer whatever its
 * status; throws only when there is no answer at all.
 */
export class HttpExchange {
  private readonly now: () => number;
  private readonly random: () => number;

  /** undici is loaded on the first request, not at start-up: a client spawning the server waits for nothing it does not need. */
  private undici: Promise<Transport> | undefined;
  /** The same once loaded: later requests skip the await. */
  private loaded: Transport | undefined;

  constructor(private readonly options: HttpExchangeOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Closes the connection pool, if one was opened. */
  async close(): Promise<void> {
    if (this.undici) await (await this.undici).dispatcher.close();
  }

  private transport(): Promise<Transport> {
    this.undici ??= import('./transport.js').then(({ openTransport }) => (this.loaded = openTransport(this.options.dispatcher, this.options.agent)));
    return this.undici;
  }

  async perform(req: HttpRequest, scope: CallScope): Promise<HttpAnswer> {
    const { policy } = this.options;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(req, scope, attempt);
      const canRetry = attempt < policy.maxAttempts;
      if (outcome.kind === 'answer') {
        const answer = outcome.answer;
        if (!canRetry || !isRetryableStatus(answer.status)) return answer;
        const delay = nextDelay(attempt, answer.retryAfterMs, policy, this.random);
        // A wait that would outlive the deadline cannot help: report the answer now.
        if (this.now() + delay >= scope.deadline) return answer;
        await this.wait(delay, scope, attempt);
      } else {
        if (!canRetry || !isRetryableNetworkCode(outcome.code)) {
          throw new PingOneUnreachableError(outcome.code, { attempts: attempt });
        }
        const delay = nextDelay(attempt, undefined, policy, this.random);
        if (this.now() + delay >= scope.deadline) throw new PingOneUnreachableError(outcome.code, { attempts: attempt });
        await this.wait(delay, scope, attempt);
      }
    }
  }

  private async attempt(
    req: HttpRequest,
    scope: CallScope,
    attempt: number,
  ): Promise<{ kind: 'answer'; answer: HttpAnswer } | { kind: 'network'; code: string }> {
    const { request, dispatcher } = this.loaded ?? (await this.transport());
    this.throwIfStopped(scope, attempt - 1);
    const signal = scope.signal;
    try {
      const response = await request(req.url, {
        method: req.method,
        headers: {
          accept: 'application/json',
          'user-agent': this.options.userAgent,
          'x-ping-external-transaction-id': scope.transactionId,
          ...req.headers,
        },
        body: req.body ?? null,
        signal,
        dispatcher,
      });
      const body = await readCapped(response.body, this.options.maxBodyBytes);
      return {
        kind: 'answer',
        answer: {
          status: response.statusCode,
          headers: response.headers,
          ...parseBody(body, response.headers['content-type']),
          correlationId: uuidLikeOrUndefined(headerValue(response.headers['correlation-id'])),
          retryAfterMs: parseRetryAfter(response.headers['retry-after'], this.now()),
          attempts: attempt,
        },
      };
    } catch (error) {
      this.throwIfStopped(scope, attempt);
      return { kind: 'network', code: networkCode(error) };
    }
  }

  private async wait(ms: number, scope: CallScope, attempt: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: scope.signal });
    } catch {
      this.throwIfStopped(scope, attempt);
      throw new PingOneCancelledError({ attempts: attempt });
    }
  }

  /** Throws when the call was cancelled or its deadline passed; `attempts` is how many were made. */
  private throwIfStopped(scope: CallScope, attempts: number): void {
    if (scope.signal.aborted) {
      // The deadline timer can fire a moment before the wall clock reaches `deadline`: the reason decides.
      if (deadlinePassed(scope)) throw new PingOneTimeoutError(scope.timeoutMs, { attempts });
      throw new PingOneCancelledError({ attempts });
    }
    if (this.now() >= scope.deadline) throw new PingOneTimeoutError(scope.timeoutMs, { attempts });
  }
}

/**
 * Creates the scope of one call, its deadline counted from now (or given):
 * one controller, aborted by the first of `cancelledBy` or by the deadline's
 * timer, joined by hand (on Node 20, AbortSignal.timeout() inside
 * AbortSignal.any() can be garbage-collected so the deadline never fires, and
 * every AbortSignal.any() whose sources include a long-lived signal leaks a
 * little memory for good). `end()` must be called when the call is over.
 */
export function createCallScope(init: {
  transactionId: string;
  cancelledBy: readonly AbortSignal[];
  timeoutMs: number;
  /** Epoch ms; by default `timeoutMs` from now. */
  deadline?: number;
  now?: () => number;
}): OpenCallScope {
  const now = (init.now ?? Date.now)();
  const deadline = init.deadline ?? now + init.timeoutMs;
  const stop = new AbortController();
  const onCancel = function (this: AbortSignal) {
    stop.abort(this.reason);
  };
  const sources = init.cancelledBy;
  const already = sources.find((source) => source.aborted);
  if (already) stop.abort(already.reason);
  else for (const source of sources) source.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => stop.abort(new DeadlinePassed()), Math.max(0, deadline - now));
  // The call's own work keeps the process alive while it runs; an ended or forgotten scope must not.
  timer.unref();
  return {
    transactionId: init.transactionId,
    signal: stop.signal,
    deadline,
    timeoutMs: init.timeoutMs,
    end() {
      clearTimeout(timer);
      for (const source of sources) source.removeEventListener('abort', onCancel);
    },
  };
}

type BodyRead = { kind: 'bytes'; bytes: Buffer } | { kind: 'too-large' };

/**
 * Reads the whole body, or stops and destroys it past `maxBytes`. A body that
 * errors, or closes before its end, rejects. Plain listeners: an async iterator
 * costs more per answer.
 */
function readCapped(body: Readable, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      body.off('data', onData);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else settle(() => {
        body.destroy();
        resolve({ kind: 'too-large' });
      });
    };
    body.on('data', onData);
    body.on('error', (error) => settle(() => reject(error)));
    body.once('end', () => settle(() => resolve({ kind: 'bytes', bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) })));
    body.once('close', () => settle(() => reject(Object.assign(new Error('the answer was cut short'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))));
  });
}

function parseBody(read: BodyRead, contentType: string | string[] | undefined): { json: unknown; problem?: string } {
  if (read.kind === 'too-large') return { json: undefined, problem: 'the body is larger than any real PingOne answer' };
  if (read.bytes.length === 0) return { json: undefined };
  const type = headerValue(contentType) ?? '';
  if (!/\bjson\b/i.test(type)) {
    return { json: undefined, problem: `expected JSON, got ${mediaTypeOrUndefined(type) ?? 'no usable content type'}` };
  }
  try {
    return { json: JSON.parse(read.bytes.toString('utf8')) };
  } catch {
    return { json: undefined, problem: 'the JSON body is malformed or cut short' };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function networkCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const cause = (error as { cause?: unknown }).cause;
    if (cause !== undefined && cause !== error) return networkCode(cause);
  }
  return 'UNKNOWN_NETWORK_ERROR';
}
