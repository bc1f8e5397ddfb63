import * as z from 'zod';
import { oauthErrorOrUndefined } from './echoes.js';
import { PingOneApiError, PingOneAuthError, PingOneCancelledError, PingOneResponseError, PingOneTimeoutError, PingOneUnreachableError } from './errors.js';
import { createCallScope, deadlinePassed, type CallScope, type HttpExchange } from './http.js';
import { isRetryableNetworkCode, isRetryableStatus } from './retry.js';

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface WorkerCredentials {
  clientId: string;
  clientSecret: string;
  method: TokenAuthMethod;
}

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive(),
});

const OAuthErrorSchema = z.looseObject({ error: z.unknown() });

/** Gives out a bearer token for the Management API. */
export interface TokenSource {
  get(scope: CallScope): Promise<string>;
  /** Forgets `token` after PingOne rejected it, so the next `get` fetches a new one. */
  invalidate(token: string): void;
}

/**
 * Client-credentials tokens for the worker app, cached until shortly before
 * they expire. Concurrent callers share one token request; a caller that is
 * cancelled stops waiting without cancelling the request the others wait on.
 */
export class ClientCredentialsTokenSource implements TokenSource {
  private cached: { token: string; refreshAt: number } | undefined;
  private inFlight: SharedRequest | undefined;
  /** Token requests sent, for the benchmark and tests. */
  requests = 0;
  /** When a token request last succeeded (epoch ms): readiness reads it instead of calling PingOne. */
  lastSuccessAt: number | undefined;

  constructor(
    private readonly options: {
      tokenUrl: string;
      credentials: WorkerCredentials;
      http: HttpExchange;
      /** How long one token request may take before callers give up on it. */
      timeoutMs: number;
      now?: () => number;
    },
  ) {}

  /** Until when the cached token is used without asking PingOne (epoch ms); undefined when none is cached. */
  get cachedUntil(): number | undefined {
    return this.cached?.refreshAt;
  }

  async get(scope: CallScope): Promise<string> {
    const now = this.options.now ?? Date.now;
    for (;;) {
      if (this.cached && now() < this.cached.refreshAt) return this.cached.token;
      // A stopped caller starts nothing: its request would only end at once for those who join it.
      if (scope.signal.aborted) throw stoppedError(scope);
      // Deadlines are wall-clock epoch ms (createCallScope), whatever clock the cache uses.
      if (Date.now() >= scope.deadline) throw new PingOneTimeoutError(scope.timeoutMs, { attempts: 0 });
      const shared = (this.inFlight ??= this.share(scope));
      try {
        return await abortable(shared.token, scope);
      } catch (error) {
        // The shared request was cut at the deadline of the call that started it, which came before this
        // caller's: this one asks again with the time it has left. Cut short means timed out, or gave up on
        // a busy or unreachable PingOne because the next retry's wait outlived that deadline. A request that
        // ran out its own limit is not asked again: PingOne did not answer a token request in time, and that
        // is the answer. Each caller starts at most one request (see `share`), so this cannot loop.
        const cutShortForThisCaller = shared.cutAt !== undefined && shared.cutAt < scope.deadline;
        // Otherwise the loop asks again, or, when this caller has stopped too (a late timer can let the
        // starter's end arrive first), fails with this caller's own limit rather than the starter's.
        if (!moreTimeCouldHelp(error) || !cutShortForThisCaller) throw error;
      }
    }
  }

  invalidate(token: string): void {
    if (this.cached?.token === token) this.cached = undefined;
  }

  /** One token request for every caller until it ends, bounded by its own limit or its starter's deadline. */
  private share(starter: CallScope): SharedRequest {
    const { timeoutMs } = this.options;
    // Wall clock like the starter's deadline: `now` is the cache's clock and may be skewed.
    const ownDeadline = Date.now() + timeoutMs;
    // When the starter's deadline comes first, a timeout message must name the starter's limit, not ours.
    // A request hung past it is dropped, so the next call asks afresh (a caller with time left, too: see `get`).
    const limit = starter.deadline < ownDeadline ? { deadline: starter.deadline, timeoutMs: starter.timeoutMs } : { deadline: ownDeadline, timeoutMs };
    const token = this.fetchToken(starter, limit).finally(() => {
      this.inFlight = undefined;
    });
    return { token, cutAt: limit.deadline < ownDeadline ? limit.deadline : undefined };
  }

  private async fetchToken(caller: CallScope, limit: { deadline: number; timeoutMs: number }): Promise<string> {
    this.requests++;
    const { credentials, tokenUrl, http } = this.options;
    const now = this.options.now ?? Date.now;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (credentials.method === 'client_secret_basic') {
      // RFC 6749 §2.3.1: each part is form-urlencoded before Base64.
      const pair = `${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    } else {
      form.set('client_id', credentials.clientId);
      form.set('client_secret', credentials.clientSecret);
    }
    // The shared request lives by its own limit, not by the first caller's signal.
    const scope = createCallScope({ transactionId: caller.transactionId, cancelledBy: [], ...limit });
    let answer;
    try {
      answer = await http.perform({ method: 'POST', url: tokenUrl, headers, body: form.toString() }, scope);
    } finally {
      scope.end();
    }
    const context = { attempts: answer.attempts, correlationId: answer.correlationId };
    // Any refusal of the token request is a configuration matter (credentials, auth method, auth URL or
    // environment), never "not found" about a user: only rate limits and timeouts are PingOne's to fix.
    if (answer.status >= 400 && answer.status < 500 && answer.status !== 408 && answer.status !== 429) {
      const oauthError = oauthErrorOrUndefined(OAuthErrorSchema.safeParse(answer.json).data?.error);
      // Even a well-shaped code is dropped when it is our own secret reflected back.
      const echoed = oauthError !== undefined && (credentials.clientSecret.includes(oauthError) || oauthError.includes(credentials.clientSecret));
      throw new PingOneAuthError(answer.status, echoed ? undefined : oauthError, context);
    }
    if (answer.status < 200 || answer.status > 299) throw new PingOneApiError({ status: answer.status }, context);
    const parsed = TokenResponseSchema.safeParse(answer.json);
    if (!parsed.success) throw new PingOneResponseError(answer.status, answer.problem ?? 'no access token in the answer', context);
    const lifetimeMs = parsed.data.expires_in * 1000;
    // Refresh a little early so a token never expires between check and use.
    const margin = Math.min(60_000, lifetimeMs / 10);
    this.cached = { token: parsed.data.access_token, refreshAt: now() + lifetimeMs - margin };
    this.lastSuccessAt = now();
    return parsed.data.access_token;
  }
}

/** The token request callers share, and the starter's deadline when that cuts it short of its own limit. */
interface SharedRequest {
  token: Promise<string>;
  cutAt: number | undefined;
}

/** A failure a request given more time might not have had: a timeout, or retries stopped short of their number by a deadline. */
function moreTimeCouldHelp(error: unknown): boolean {
  if (error instanceof PingOneTimeoutError) return true;
  if (error instanceof PingOneApiError) return isRetryableStatus(error.status);
  return error instanceof PingOneUnreachableError && isRetryableNetworkCode(error.networkCode);
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** What a caller whose scope stopped gets: its deadline passed, or it was cancelled. */
function stoppedError(scope: CallScope): PingOneTimeoutError | PingOneCancelledError {
  return deadlinePassed(scope) ? new PingOneTimeoutError(scope.timeoutMs, { attempts: 0 }) : new PingOneCancelledError({ attempts: 0 });
}

/** Waits for `promise` unless the caller's scope stops first (cancelled, or its deadline passed). */
function abortable<T>(promise: Promise<T>, scope: CallScope): Promise<T> {
  const { signal } = scope;
  if (signal.aborted) return Promise.reject(stoppedError(scope));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stoppedError(scope));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
