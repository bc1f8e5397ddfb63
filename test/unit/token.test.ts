import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PingOneApiError, PingOneAuthError, PingOneCancelledError, PingOneResponseError, PingOneTimeoutError } from '../../src/pingone/errors.js';
import { FakeServer, sendJson } from './helpers/fakeServer.js';
import { CLIENT_ID, CLIENT_SECRET, failure, makeAgent, makeExchange, makeScope, makeTokens, tokenPath, USER_AGENT } from './helpers/pingone.js';

let server: FakeServer;
let agent: Agent;
let issued: number;

beforeEach(async () => {
  server = await FakeServer.start();
  agent = makeAgent();
  issued = 0;
  server.handle = (_req, res) => {
    issued++;
    sendJson(res, 200, { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: 3600 }, { 'correlation-id': `corr-token-${issued}` });
  };
});

afterEach(async () => {
  await server.close();
  await agent.destroy();
});

/** Form-decodes one part of a Basic credential (RFC 6749 §2.3.1). */
function formDecode(part: string): string {
  return decodeURIComponent(part.replace(/\+/g, ' '));
}

describe('ClientCredentialsTokenSource: the token request', () => {
  it('client_secret_basic: POSTs grant_type only, with form-encoded parts in the Basic header', async () => {
    const tokens = makeTokens(server, makeExchange(agent), { method: 'client_secret_basic' });
    expect(await tokens.get(makeScope({ transactionId: 'txn-token' }))).toBe('token-1');
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(tokenPath());
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req?.headers['user-agent']).toBe(USER_AGENT);
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-token');
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({ grant_type: 'client_credentials' });
    const auth = req?.headers.authorization ?? '';
    expect(auth).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
    const pair = Buffer.from(auth.slice('Basic '.length), 'base64').toString('utf8');
    // The secret contains ':' — encoded, so the first ':' is the separator.
    const [id, secret, ...rest] = pair.split(':');
    expect(rest).toEqual([]);
    expect(formDecode(id ?? '')).toBe(CLIENT_ID);
    expect(formDecode(secret ?? '')).toBe(CLIENT_SECRET);
  });

  it('client_secret_post: sends the credentials in the form body and no Authorization header', async () => {
    const tokens = makeTokens(server, makeExchange(agent), { method: 'client_secret_post' });
    await tokens.get(makeScope());
    const [req] = server.received;
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
  });
});

describe('ClientCredentialsTokenSource: caching', () => {
  it('reuses a cached token: two gets, one token request', async () => {
    const tokens = makeTokens(server, makeExchange(agent));
    expect(await tokens.get(makeScope())).toBe('token-1');
    expect(await tokens.get(makeScope())).toBe('token-1');
    expect(server.received).toHaveLength(1);
    expect(tokens.requests).toBe(1);
  });

  it('shares one token request among 10 concurrent callers', async () => {
    const answer = server.handle;
    server.handle = (req, res, raw) => setTimeout(() => answer(req, res, raw), 50);
    const tokens = makeTokens(server, makeExchange(agent));
    const got = await Promise.all(Array.from({ length: 10 }, () => tokens.get(makeScope())));
    expect(new Set(got)).toEqual(new Set(['token-1']));
    expect(server.received).toHaveLength(1);
  });

  it('refreshes shortly before expiry (expires_in minus a margin of at most 60 s)', async () => {
    let skew = 0;
    const tokens = makeTokens(server, makeExchange(agent), { now: () => Date.now() + skew });
    expect(await tokens.get(makeScope())).toBe('token-1');
    skew = 3_600_000 - 61_000; // still more than 60 s of life left
    expect(await tokens.get(makeScope())).toBe('token-1');
    skew = 3_600_000 - 59_000; // inside the margin
    expect(await tokens.get(makeScope())).toBe('token-2');
    expect(await tokens.get(makeScope())).toBe('token-2');
    expect(server.received).toHaveLength(2);
  });

  it('invalidate forgets only the token it names', async () => {
    const tokens = makeTokens(server, makeExchange(agent));
    await tokens.get(makeScope());
    tokens.invalidate('some-other-token');
    expect(await tokens.get(makeScope())).toBe('token-1');
    tokens.invalidate('token-1');
    expect(await tokens.get(makeScope())).toBe('token-2');
  });

  it('a cancelled caller stops waiting without cancelling the request others share', async () => {
    const answer = server.handle;
    // The shared answer comes late enough that "stopped waiting" and "waited for it" cannot be confused on a busy machine.
    server.handle = (req, res, raw) => setTimeout(() => answer(req, res, raw), 2_000);
    const tokens = makeTokens(server, makeExchange(agent));
    const controller = new AbortController();
    const cancelled = failure(() => tokens.get(makeScope({ signal: controller.signal })));
    const patient = tokens.get(makeScope());
    setTimeout(() => controller.abort(), 20);
    const { error, elapsedMs } = await cancelled;
    expect(error).toBeInstanceOf(PingOneCancelledError);
    expect(elapsedMs).toBeLessThan(1_500);
    expect(await patient).toBe('token-1');
    expect(server.received).toHaveLength(1);
  });
});

describe('ClientCredentialsTokenSource: a caller whose deadline passes while it waits', () => {
  it('stops waiting with PingOneTimeoutError naming its own limit; the shared request goes on for the others', async () => {
    const answer = server.handle;
    server.handle = (req, res, raw) => setTimeout(() => answer(req, res, raw), 1_000);
    const tokens = makeTokens(server, makeExchange(agent));
    const patient = tokens.get(makeScope({ timeoutMs: 10_000 }));
    const hurried = failure(() => tokens.get(makeScope({ timeoutMs: 100 })));
    const { error } = await hurried;
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect((error as PingOneTimeoutError).deadlineMs).toBe(100);
    expect(await patient).toBe('token-1');
    expect(server.received).toHaveLength(1);
  });

  it('a caller who joined a request that ended at its starter\'s deadline asks again with the time it has left', async () => {
    const answer = server.handle;
    server.handle = (req, res, raw) => setTimeout(() => answer(req, res, raw), 1_000);
    const tokens = makeTokens(server, makeExchange(agent));
    // A call that waited long for its turn asks first; a fresh one joins the same request.
    const hurried = failure(() => tokens.get(makeScope({ timeoutMs: 100 })));
    const patient = tokens.get(makeScope({ timeoutMs: 10_000 }));
    const { error } = await hurried;
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect((error as PingOneTimeoutError).deadlineMs).toBe(100);
    // The first request was dropped at the hurried call's deadline; the patient one's own request answers.
    expect(await patient).toMatch(/^token-\d$/);
    expect(server.received).toHaveLength(2);
  });

  it('a caller who joined a request that gave up on a busy PingOne at its starter\'s deadline asks again', async () => {
    // PingOne asks for a second's wait, which the hurried starter cannot afford; the patient caller can.
    const answer = server.handle;
    let busy = 1;
    server.handle = (req, res, raw) => (busy-- > 0 ? sendJson(res, 503, { message: 'busy' }, { 'retry-after': '1' }) : answer(req, res, raw));
    const tokens = makeTokens(server, makeExchange(agent));
    const hurried = failure(() => tokens.get(makeScope({ timeoutMs: 300 })));
    const patient = tokens.get(makeScope({ timeoutMs: 10_000 }));
    expect((await hurried).error).toBeInstanceOf(PingOneApiError);
    expect(await patient).toBe('token-1');
    expect(tokens.requests).toBe(2);
  });

  it('a token request is bounded by its own limit on the wall clock, whatever clock the cache uses', async () => {
    const tokens = makeTokens(server, makeExchange(agent), { now: () => Date.now() - 60_000 });
    expect(await tokens.get(makeScope())).toBe('token-1');
  });

  it('a joiner whose own deadline passed by the time its starter\'s request was cut fails with its own limit', async () => {
    server.handle = () => {};
    const tokens = makeTokens(server, makeExchange(agent));
    const hurried = failure(() => tokens.get(makeScope({ timeoutMs: 100 })));
    const patient = failure(() => tokens.get(makeScope({ timeoutMs: 150 })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A busy event loop: both deadlines pass before any timer runs, and the starter's fires first.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      // spin
    }
    expect(((await hurried).error as PingOneTimeoutError).deadlineMs).toBe(100);
    const { error } = await patient;
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect((error as PingOneTimeoutError).deadlineMs).toBe(150);
    expect(tokens.requests).toBe(1);
  });

  it('a request that runs out its own limit is not asked again by a caller with time left', async () => {
    // PingOne's token endpoint hangs: each call must fail at the token's limit after one request, not loop until its own.
    server.handle = () => {};
    const tokens = makeTokens(server, makeExchange(agent), { timeoutMs: 300 });
    const { error } = await failure(() => tokens.get(makeScope({ timeoutMs: 1_000 })));
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect((error as PingOneTimeoutError).deadlineMs).toBe(300);
    expect(tokens.requests).toBe(1);
  });

  it('a caller already stopped starts no request', async () => {
    const tokens = makeTokens(server, makeExchange(agent));
    const client = new AbortController();
    client.abort();
    const { error } = await failure(() => tokens.get(makeScope({ signal: client.signal })));
    expect(error).toBeInstanceOf(PingOneCancelledError);
    expect(tokens.requests).toBe(0);
  });
});

describe('ClientCredentialsTokenSource: failures', () => {
  it('maps 401 invalid_client to PingOneAuthError without the secret or the body in the message', async () => {
    server.handle = (_req, res) =>
      sendJson(res, 401, { error: 'invalid_client', error_description: `Bad secret ${CLIENT_SECRET} for ${CLIENT_ID}` }, { 'correlation-id': '3cefcb3c-ee6f-52d6-a239-a4d1090817c3' });
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      const tokens = makeTokens(server, makeExchange(agent), { method });
      const { error } = await failure(() => tokens.get(makeScope()));
      expect(error).toBeInstanceOf(PingOneAuthError);
      const auth = error as PingOneAuthError;
      expect(auth.status).toBe(401);
      expect(auth.oauthError).toBe('invalid_client');
      expect(auth.correlationId).toBe('3cefcb3c-ee6f-52d6-a239-a4d1090817c3');
      expect(auth.responsible).toBe('admin');
      expect(auth.message).toContain('invalid_client');
      expect(auth.message).not.toContain(CLIENT_SECRET);
      expect(auth.message).not.toContain('Bad secret');
      expect(JSON.stringify(auth)).not.toContain(CLIENT_SECRET);
      expect(String(auth.stack)).not.toContain(CLIENT_SECRET);
    }
  });

  it('does not cache a failure: the next get asks again', async () => {
    let n = 0;
    server.handle = (_req, res) =>
      n++ === 0 ? sendJson(res, 400, { error: 'invalid_request' }) : sendJson(res, 200, { access_token: 'later', expires_in: 60 });
    const tokens = makeTokens(server, makeExchange(agent));
    expect((await failure(() => tokens.get(makeScope()))).error).toBeInstanceOf(PingOneAuthError);
    expect(await tokens.get(makeScope())).toBe('later');
  });

  it('maps a 200 without access_token to PingOneResponseError', async () => {
    server.handle = (_req, res) => sendJson(res, 200, { token_type: 'Bearer', expires_in: 3600 });
    const { error } = await failure(() => makeTokens(server, makeExchange(agent)).get(makeScope()));
    expect(error).toBeInstanceOf(PingOneResponseError);
  });

  it('maps a persistent 5xx to PingOneApiError after the retries', async () => {
    server.handle = (_req, res) => sendJson(res, 502, { message: 'bad gateway' });
    const { error } = await failure(() => makeTokens(server, makeExchange(agent)).get(makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    expect((error as PingOneApiError).status).toBe(502);
    expect((error as PingOneApiError).attempts).toBe(3);
  });
});
