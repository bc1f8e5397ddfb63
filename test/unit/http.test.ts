import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PingOneCancelledError, PingOneTimeoutError, PingOneUnreachableError } from '../../src/pingone/errors.js';
import { DEFAULT_RETRY_POLICY, isRetryableNetworkCode } from '../../src/pingone/retry.js';
import { FakeServer, p1Error, sendJson, sendRaw } from './helpers/fakeServer.js';
import { createCallScope, deadlinePassed } from '../../src/pingone/http.js';
import { failure, makeAgent, makeExchange, makeScope, USER_AGENT } from './helpers/pingone.js';

let server: FakeServer;
let agent: Agent;

beforeEach(async () => {
  server = await FakeServer.start();
  agent = makeAgent();
});

afterEach(async () => {
  await server.close();
  await agent.destroy();
});

/** Answers each request with the next handler in the list; the last one repeats. */
function sequence(...handlers: Array<(res: Parameters<FakeServer['handle']>[1]) => void>): void {
  let n = 0;
  server.handle = (_req, res) => {
    const handler = handlers[Math.min(n++, handlers.length - 1)];
    handler?.(res);
  };
}

const ok = (res: Parameters<FakeServer['handle']>[1]) => sendJson(res, 200, { ok: true }, { 'correlation-id': '8d0584b4-b0c6-5257-b535-9ddc183b4fd7' });
const unavailable = (res: Parameters<FakeServer['handle']>[1]) => sendJson(res, 503, p1Error('UNEXPECTED_ERROR', 'err-503'));

describe('HttpExchange: the request it sends', () => {
  it('sends method, URL, body, accept, user-agent and the transaction id', async () => {
    sequence(ok);
    const scope = makeScope({ transactionId: 'txn-abc-123' });
    await makeExchange(agent).perform(
      { method: 'POST', url: `${server.url}/v1/things?x=1`, headers: { 'content-type': 'text/plain', 'x-extra': 'yes' }, body: 'hello' },
      scope,
    );
    expect(server.received).toHaveLength(1);
    const [req] = server.received;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/v1/things?x=1');
    expect(req?.body).toBe('hello');
    expect(req?.headers['accept']).toBe('application/json');
    expect(req?.headers['user-agent']).toBe(USER_AGENT);
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-abc-123');
    expect(req?.headers['content-type']).toBe('text/plain');
    expect(req?.headers['x-extra']).toBe('yes');
  });

  it('returns status, parsed JSON, Correlation-Id and attempts', async () => {
    sequence(ok);
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true });
    expect(answer.problem).toBeUndefined();
    expect(answer.correlationId).toBe('8d0584b4-b0c6-5257-b535-9ddc183b4fd7');
    expect(answer.attempts).toBe(1);
  });
});

describe('HttpExchange: retries', () => {
  it('retries a 503 and returns the 200 that follows, with attempts 2', async () => {
    sequence(unavailable, ok);
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
    expect(answer.status).toBe(200);
    expect(answer.attempts).toBe(2);
    expect(server.received).toHaveLength(2);
  });

  it('does not retry a 400 or a 404', async () => {
    for (const status of [400, 404]) {
      server.received.length = 0;
      sequence((res) => sendJson(res, status, p1Error('X', 'y')), ok);
      const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
      expect(answer.status).toBe(status);
      expect(answer.attempts).toBe(1);
      expect(server.received).toHaveLength(1);
    }
  });

  it('waits the Retry-After of a 429 (1 s) before trying again', async () => {
    sequence((res) => sendJson(res, 429, p1Error('REQUEST_LIMITED', 'err-429', 'LIMIT_EXCEEDED'), { 'retry-after': '1' }), ok);
    const start = performance.now();
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
    const elapsed = performance.now() - start;
    expect(answer.status).toBe(200);
    expect(answer.attempts).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('gives up after maxAttempts and returns the last 503 answer', async () => {
    sequence(unavailable);
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
    expect(answer.status).toBe(503);
    expect(answer.attempts).toBe(3);
    expect(server.received).toHaveLength(3);
  });

  it('returns a 429 at once when its Retry-After outlives the deadline', async () => {
    sequence((res) => sendJson(res, 429, p1Error('REQUEST_LIMITED', 'err-429'), { 'retry-after': '20' }), ok);
    const start = performance.now();
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ timeoutMs: 10_000 }));
    // "At once": far below the 10 s deadline a wait would run into.
    expect(performance.now() - start).toBeLessThan(5_000);
    expect(answer.status).toBe(429);
    expect(answer.retryAfterMs).toBe(20_000);
    expect(answer.attempts).toBe(1);
    expect(server.received).toHaveLength(1);
  });

  it('retries a connection reset and succeeds', async () => {
    let n = 0;
    server.handle = (_req, res, raw) => (n++ === 0 ? raw.socket.destroy() : ok(res));
    const answer = await makeExchange(agent).perform({ method: 'POST', url: `${server.url}/x`, headers: {} }, makeScope());
    expect(answer.status).toBe(200);
    expect(answer.attempts).toBe(2);
  });

  it('reports PingOneUnreachableError after 3 connection resets', async () => {
    server.handle = (_req, _res, raw) => raw.socket.destroy();
    const { error } = await failure(() => makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope()));
    expect(error).toBeInstanceOf(PingOneUnreachableError);
    const unreachable = error as PingOneUnreachableError;
    expect(unreachable.attempts).toBe(3);
    expect(isRetryableNetworkCode(unreachable.networkCode)).toBe(true);
    expect(server.received).toHaveLength(3);
  });

  it('reports ECONNREFUSED when nothing listens', async () => {
    const url = server.url;
    await server.close();
    const { error } = await failure(() => makeExchange(agent).perform({ method: 'GET', url: `${url}/x`, headers: {} }, makeScope()));
    expect(error).toBeInstanceOf(PingOneUnreachableError);
    expect((error as PingOneUnreachableError).networkCode).toBe('ECONNREFUSED');
    expect((error as PingOneUnreachableError).attempts).toBe(3);
  });
});

describe('HttpExchange: deadline and cancellation', () => {
  it('gives up at the call deadline, far sooner than undici’s own timeouts', async () => {
    server.handle = () => undefined; // never answers
    const { error, elapsedMs } = await failure(() =>
      makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ timeoutMs: 300 })),
    );
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect((error as PingOneTimeoutError).deadlineMs).toBe(300);
    expect(elapsedMs).toBeGreaterThanOrEqual(250);
    expect(elapsedMs).toBeLessThan(3_000);
  });

  // The deadline timer may fire a millisecond before Date.now() reaches the deadline; that must still be a timeout.
  it('classifies a deadline as a timeout every time, not as a network failure', async () => {
    server.handle = () => undefined;
    const http = makeExchange(agent);
    const names = new Set<string>();
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          failure(() => http.perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ timeoutMs: 5 + (i % 40) }))),
        ),
      );
      for (const { error } of results) names.add((error as Error).name);
    }
    expect([...names]).toEqual(['PingOneTimeoutError']);
  });

  it('stops with PingOneCancelledError when the call is cancelled mid-request', async () => {
    server.handle = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const { error, elapsedMs } = await failure(() =>
      makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ signal: controller.signal, timeoutMs: 10_000 })),
    );
    expect(error).toBeInstanceOf(PingOneCancelledError);
    expect(elapsedMs).toBeLessThan(2_000);
  });

  it('stops with PingOneCancelledError when the call is cancelled during a Retry-After wait', async () => {
    sequence((res) => sendJson(res, 429, p1Error('REQUEST_LIMITED', 'e'), { 'retry-after': '5' }), ok);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const { error, elapsedMs } = await failure(() =>
      makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ signal: controller.signal, timeoutMs: 20_000 })),
    );
    expect(error).toBeInstanceOf(PingOneCancelledError);
    expect(elapsedMs).toBeLessThan(2_000);
    expect(server.received).toHaveLength(1);
  });

  it('sends nothing when the call was already cancelled', async () => {
    sequence(ok);
    const controller = new AbortController();
    controller.abort();
    const { error } = await failure(() =>
      makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope({ signal: controller.signal })),
    );
    expect(error).toBeInstanceOf(PingOneCancelledError);
    expect(server.received).toHaveLength(0);
  });
});

describe('createCallScope: one signal for cancellation and the deadline', () => {
  const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('aborts at its deadline, and says so', async () => {
    const scope = createCallScope({ transactionId: 't', cancelledBy: [new AbortController().signal], timeoutMs: 20 });
    expect(scope.signal.aborted).toBe(false);
    await settle(80);
    expect(scope.signal.aborted).toBe(true);
    expect(deadlinePassed(scope)).toBe(true);
    scope.end();
  });

  it('aborts when any of its sources aborts, with that reason, and that is not the deadline', () => {
    const client = new AbortController();
    const shutdown = new AbortController();
    const scope = createCallScope({ transactionId: 't', cancelledBy: [client.signal, shutdown.signal], timeoutMs: 10_000 });
    shutdown.abort(new Error('server shutting down'));
    expect(scope.signal.aborted).toBe(true);
    expect((scope.signal.reason as Error).message).toBe('server shutting down');
    expect(deadlinePassed(scope)).toBe(false);
    scope.end();
  });

  it('starts aborted when a source already is', () => {
    const client = new AbortController();
    client.abort();
    const scope = createCallScope({ transactionId: 't', cancelledBy: [client.signal], timeoutMs: 10_000 });
    expect(scope.signal.aborted).toBe(true);
    expect(deadlinePassed(scope)).toBe(false);
    scope.end();
  });

  it('once ended, neither its deadline nor its sources abort it', async () => {
    const client = new AbortController();
    const scope = createCallScope({ transactionId: 't', cancelledBy: [client.signal], timeoutMs: 20 });
    scope.end();
    client.abort();
    await settle(80);
    expect(scope.signal.aborted).toBe(false);
  });

  it('takes a given deadline instead of one counted from now', async () => {
    const scope = createCallScope({ transactionId: 't', cancelledBy: [], timeoutMs: 60_000, deadline: Date.now() + 20 });
    expect(scope.timeoutMs).toBe(60_000);
    await settle(80);
    expect(deadlinePassed(scope)).toBe(true);
    scope.end();
  });

  it('a deadline passing during a Retry-After wait ends in PingOneTimeoutError', async () => {
    sequence((res) => sendJson(res, 429, p1Error('REQUEST_LIMITED', 'e'), { 'retry-after': '1' }), ok);
    // The wait (1 s) starts before the deadline (600 ms) and would outlive it only by the timer's reckoning:
    // the deadline aborts the wait, and that is a timeout, not a cancellation.
    const scope = makeScope({ timeoutMs: 600 });
    const http = makeExchange(agent, { now: () => Date.now() - 1_000 });
    const { error } = await failure(() => http.perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, scope));
    expect(error).toBeInstanceOf(PingOneTimeoutError);
    expect(server.received).toHaveLength(1);
  });
});

describe('HttpExchange: bodies it cannot use', () => {
  const get = async () => makeExchange(agent, { maxBodyBytes: 1024 }).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());

  it('names the content type of a non-JSON body', async () => {
    sequence((res) => sendRaw(res, 200, 'text/html; charset=utf-8', '<html><body>Gateway</body></html>'));
    const answer = await get();
    expect(answer.json).toBeUndefined();
    expect(answer.problem).toContain('text/html');
  });

  it('flags malformed or truncated JSON', async () => {
    sequence((res) => sendRaw(res, 200, 'application/json', '{"id":"abc","username":'));
    const answer = await get();
    expect(answer.json).toBeUndefined();
    expect(answer.problem).toMatch(/malformed or cut short/);
  });

  it('does not read a body larger than maxBodyBytes', async () => {
    sequence((res) => sendJson(res, 200, { padding: 'x'.repeat(64 * 1024) }));
    const answer = await get();
    expect(answer.status).toBe(200);
    expect(answer.json).toBeUndefined();
    expect(answer.problem).toMatch(/larger/);
  });

  it('a body cut off mid-way (the connection dropped) is no answer: retried, then PingOneUnreachableError', async () => {
    server.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const { error } = await failure(() => get());
    expect(error).toBeInstanceOf(PingOneUnreachableError);
    // A GET is safe to repeat: every attempt the policy allows was made.
    expect(server.received).toHaveLength(DEFAULT_RETRY_POLICY.maxAttempts);
  });

  it('a body arriving in many chunks is read whole', async () => {
    server.handle = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = JSON.stringify({ items: Array.from({ length: 2000 }, (_, i) => `item-${i}`) });
      let at = 0;
      const next = () => {
        if (at >= text.length) return void res.end();
        res.write(text.slice(at, (at += 1000)));
        setImmediate(next);
      };
      next();
    };
    const answer = await makeExchange(agent).perform({ method: 'GET', url: `${server.url}/x`, headers: {} }, makeScope());
    expect(answer.problem).toBeUndefined();
    expect((answer.json as { items: string[] }).items).toHaveLength(2000);
    expect((answer.json as { items: string[] }).items[1999]).toBe('item-1999');
  });

  it('accepts an empty body without a problem', async () => {
    sequence((res) => {
      res.writeHead(204);
      res.end();
    });
    const answer = await get();
    expect(answer.status).toBe(204);
    expect(answer.json).toBeUndefined();
    expect(answer.problem).toBeUndefined();
  });

  it('reads JSON under a vendor +json content type', async () => {
    sequence((res) => sendRaw(res, 200, 'application/vnd.pingidentity.user+json', '{"id":"u1"}'));
    expect((await get()).json).toEqual({ id: 'u1' });
  });
});
