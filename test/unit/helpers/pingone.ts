import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import { createCallScope, HttpExchange, type CallScope, type HttpExchangeOptions } from '../../../src/pingone/http.js';
import { DEFAULT_RETRY_POLICY } from '../../../src/pingone/retry.js';
import { ClientCredentialsTokenSource, type TokenAuthMethod } from '../../../src/pingone/token.js';
import { PingOneClient } from '../../../src/pingone/client.js';
import { parseUuid, type Uuid } from '../../../src/ids.js';
import { sendJson, type FakeServer, type Handler } from './fakeServer.js';

export const USER_AGENT = 'pingone-helpdesk-mcp/0.0.0-test';
export const ENV_ID = uuid('5e1f0c2a-9d3b-4c7e-8f60-1a2b3c4d5e6f');
export const AUTH_ENV_ID = uuid('7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d');
export const USER_ID = uuid('11111111-2222-4333-8444-555555555555');
export const DEVICE_ID = uuid('99999999-8888-4777-a666-555555555555');
export const CLIENT_ID = 'worker-app-client';
export const CLIENT_SECRET = 'Sup3r:S3cret/with+odd=chars&more';

export function uuid(text: string): Uuid {
  const id = parseUuid(text);
  if (id === undefined) throw new Error(`not a UUID: ${text}`);
  return id;
}

/** Built the way src/app.ts builds it, with short backoffs so retries are quick. */
export function makeAgent(): Agent {
  return new Agent({ connectTimeout: 5_000, headersTimeout: 15_000, bodyTimeout: 15_000 });
}

export function makeExchange(agent: Agent, overrides: Partial<HttpExchangeOptions> = {}): HttpExchange {
  return new HttpExchange({
    dispatcher: agent,
    userAgent: USER_AGENT,
    policy: { ...DEFAULT_RETRY_POLICY, baseBackoffMs: 5 },
    maxBodyBytes: 64 * 1024,
    ...overrides,
  });
}

export function makeScope(init: { timeoutMs?: number; signal?: AbortSignal; transactionId?: string } = {}): CallScope {
  return createCallScope({
    transactionId: init.transactionId ?? randomUUID(),
    cancelledBy: init.signal ? [init.signal] : [],
    timeoutMs: init.timeoutMs ?? 10_000,
  });
}

export function tokenPath(): string {
  return `/${AUTH_ENV_ID}/as/token`;
}

export function makeTokens(
  server: FakeServer,
  http: HttpExchange,
  options: { method?: TokenAuthMethod; now?: () => number; timeoutMs?: number } = {},
): ClientCredentialsTokenSource {
  return new ClientCredentialsTokenSource({
    tokenUrl: `${server.url}${tokenPath()}`,
    credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, method: options.method ?? 'client_secret_basic' },
    http,
    timeoutMs: options.timeoutMs ?? 10_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

export function makeClient(server: FakeServer, http: HttpExchange, tokens: ClientCredentialsTokenSource): PingOneClient {
  return new PingOneClient({ apiUrl: `${server.url}/v1`, environmentId: ENV_ID, tokens, http });
}

/**
 * Routes token requests to a token endpoint handing out `token-1`, `token-2`, …
 * (or to `token` when given) and everything else to `api`.
 */
export function route(server: FakeServer, api: Handler, token?: Handler): void {
  let issued = 0;
  const defaultToken: Handler = (_req, res) => {
    issued++;
    sendJson(res, 200, { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 });
  };
  server.handle = (req, res, raw) => {
    if ((req.url.split('?')[0] ?? '') === tokenPath()) (token ?? defaultToken)(req, res, raw);
    else api(req, res, raw);
  };
}

/** Runs `fn`, expecting it to reject, and returns the rejection with the time it took. */
export async function failure(fn: () => Promise<unknown>): Promise<{ error: unknown; elapsedMs: number }> {
  const start = performance.now();
  try {
    await fn();
  } catch (error) {
    return { error, elapsedMs: performance.now() - start };
  }
  throw new Error('expected a rejection, but the call succeeded');
}

export function userBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: USER_ID,
    username: 'dana',
    email: 'dana@example.com',
    enabled: true,
    account: { status: 'LOCKED', canAuthenticate: false },
    somethingPingOneAddedLater: { nested: true },
    ...extra,
  };
}

export function deviceBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: DEVICE_ID, type: 'SMS', status: 'ACTIVE', phone: '+15555550150', block: { status: 'BLOCKED' }, ...extra };
}
