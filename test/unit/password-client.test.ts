import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PingOneClient, PasswordStateRead, WriteAnswer } from '../../src/pingone/client.js';
import { PingOneApiError, PingOneCancelledError } from '../../src/pingone/errors.js';
import type { HttpExchange } from '../../src/pingone/http.js';
import { FakeServer, p1Error, sendJson, sendRaw, type Handler } from './helpers/fakeServer.js';
import { DEVICE_ID, deviceBody, ENV_ID, failure, makeAgent, makeClient, makeExchange, makeScope, makeTokens, route, USER_ID, userBody } from './helpers/pingone.js';

/**
 * The client's password calls and its any-2xx write, against a real loopback
 * HTTP server: what is sent, and how every kind of answer comes back.
 */

let server: FakeServer;
let agent: Agent;
let http: HttpExchange;
let client: PingOneClient;

const USER_PATH = `/v1/environments/${ENV_ID}/users/${USER_ID}`;
const PASSWORD_PATH = `${USER_PATH}/password`;
const DEVICE_PATH = `${USER_PATH}/devices/${DEVICE_ID}`;

beforeEach(async () => {
  server = await FakeServer.start();
  agent = makeAgent();
  http = makeExchange(agent, { maxBodyBytes: 16 * 1024 });
  client = makeClient(server, http, makeTokens(server, http));
});

afterEach(async () => {
  await server.close();
  await agent.destroy();
});

function api(handler: Handler): void {
  route(server, handler);
}

function apiRequests() {
  return server.received.filter((r) => r.url.startsWith('/v1/'));
}

function unknown(read: PasswordStateRead) {
  if (read.known) throw new Error(`expected an unknown state, got ${read.state.status}`);
  return read;
}

describe('getPasswordState', () => {
  it('GETs the password URL and returns the documented state, tolerating fields PingOne adds', async () => {
    api((_req, res) =>
      sendJson(
        res,
        200,
        { status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 840, lastChangedAt: '2025-01-02T03:04:05Z', passwordPolicy: { id: 'pol-1' }, history: [1] },
        { 'correlation-id': 'ddc68da5-70e3-5a98-8ce5-c8079591ae25' },
      ),
    );
    const read = await client.getPasswordState(USER_ID, makeScope({ transactionId: 'txn-pw' }));
    expect(read).toMatchObject({
      known: true,
      status: 200,
      correlationId: 'ddc68da5-70e3-5a98-8ce5-c8079591ae25',
      state: { status: 'PASSWORD_LOCKED_OUT', secondsUntilUnlock: 840, lastChangedAt: '2025-01-02T03:04:05Z', passwordPolicy: { id: 'pol-1' } },
    });
    const [req] = apiRequests();
    expect(req?.method).toBe('GET');
    expect(req?.url).toBe(PASSWORD_PATH);
    expect(req?.headers.authorization).toBe('Bearer token-1');
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-pw');
  });

  it.each([
    { status: 403, code: 'ACCESS_FAILED' },
    { status: 404, code: 'NOT_FOUND' },
    { status: 400, code: 'INVALID_DATA' },
  ])('is unknown (refused) on a $status, with the failure kept for the audit', async ({ status, code }) => {
    api((_req, res) => sendJson(res, status, p1Error(code, `00000000-0000-4000-8000-000000000${status}`), { 'correlation-id': `11111111-1111-4111-8111-111111111${status}` }));
    const read = unknown(await client.getPasswordState(USER_ID, makeScope()));
    expect(read.why).toBe('refused');
    expect(read.failure).toBeInstanceOf(PingOneApiError);
    expect(read.failure).toMatchObject({ status, errorId: `00000000-0000-4000-8000-000000000${status}`, correlationId: `11111111-1111-4111-8111-111111111${status}` });
  });

  it.each([
    { name: 'a state PingOne does not document', send: (res: Parameters<Handler>[1]) => sendJson(res, 200, { status: 'SOMETHING_NEW' }) },
    { name: 'no status at all', send: (res: Parameters<Handler>[1]) => sendJson(res, 200, { lastChangedAt: 'x' }) },
    { name: 'an HTML page', send: (res: Parameters<Handler>[1]) => sendRaw(res, 200, 'text/html', '<html>gateway</html>') },
    { name: 'an empty body', send: (res: Parameters<Handler>[1]) => sendRaw(res, 200, 'application/json', '') },
  ])('is unknown (unreadable) for $name', async ({ send }) => {
    api((_req, res) => send(res));
    expect(unknown(await client.getPasswordState(USER_ID, makeScope())).why).toBe('unreadable');
  });

  it('is unknown (unavailable) after 503 on every attempt', async () => {
    api((_req, res) => sendJson(res, 503, p1Error('UNEXPECTED_ERROR', 'b5e305f0-af65-53ca-8c30-067069781367')));
    const read = unknown(await client.getPasswordState(USER_ID, makeScope()));
    expect(read.why).toBe('unavailable');
    expect(apiRequests().length).toBeGreaterThan(1);
  });

  it('is unknown (unavailable) when PingOne does not answer by the deadline', async () => {
    api(() => undefined);
    expect(unknown(await client.getPasswordState(USER_ID, makeScope({ timeoutMs: 300 }))).why).toBe('unavailable');
  });

  it('throws when the call is cancelled: a cancelled call must stop, not carry on with "unknown"', async () => {
    api(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const { error } = await failure(() => client.getPasswordState(USER_ID, makeScope({ signal: controller.signal })));
    expect(error).toBeInstanceOf(PingOneCancelledError);
  });
});

describe('unlockPassword', () => {
  it('POSTs the password URL with the password.unlock content type and no body', async () => {
    api((_req, res) => sendJson(res, 200, { status: 'OK' }, { 'correlation-id': 'f78d536f-a3eb-5a2f-81fe-5ff83cfc9da1' }));
    const answer = await client.write({ kind: 'unlockPassword', userId: USER_ID }, makeScope({ transactionId: 'txn-pw-unlock' }));
    expect(answer).toEqual({ status: 200, correlationId: 'f78d536f-a3eb-5a2f-81fe-5ff83cfc9da1', body: 'resource', data: { status: 'OK' } });
    const [req] = apiRequests();
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(PASSWORD_PATH);
    expect(req?.headers['content-type']).toBe('application/vnd.pingidentity.password.unlock+json');
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-pw-unlock');
    expect(req?.body).toBe('');
  });

  it('throws the API error for a refusal, as every write does', async () => {
    api((_req, res) => sendJson(res, 400, p1Error('INVALID_DATA', '82554080-9fd5-5b00-9955-e73bf493e209', 'INVALID_VALUE')));
    const { error } = await failure(() => client.write({ kind: 'unlockPassword', userId: USER_ID }, makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    expect(error).toMatchObject({ status: 400, errorId: '82554080-9fd5-5b00-9955-e73bf493e209' });
  });
});

describe('write: any 2xx is success, whatever the body', () => {
  const cases = [
    { kind: 'unlockUser', action: { kind: 'unlockUser', userId: USER_ID }, path: USER_PATH, type: 'account.unlock', body: userBody() },
    { kind: 'unblockDevice', action: { kind: 'unblockDevice', userId: USER_ID, deviceId: DEVICE_ID }, path: DEVICE_PATH, type: 'device.unblock', body: deviceBody() },
    { kind: 'unlockDevice', action: { kind: 'unlockDevice', userId: USER_ID, deviceId: DEVICE_ID }, path: DEVICE_PATH, type: 'device.unlock', body: deviceBody() },
    { kind: 'unlockPassword', action: { kind: 'unlockPassword', userId: USER_ID }, path: PASSWORD_PATH, type: 'password.unlock', body: { status: 'OK' } },
  ] as const;

  it.each(cases)('$kind: POSTs $path with the $type content type', async ({ action, path, type, body }) => {
    api((_req, res) => sendJson(res, 200, body));
    const answer = await client.write(action, makeScope());
    expect(answer.body).toBe('resource');
    const [req] = apiRequests();
    expect(req?.url).toBe(path);
    expect(req?.headers['content-type']).toBe(`application/vnd.pingidentity.${type}+json`);
    expect(req?.body).toBe('');
  });

  it.each(cases)('$kind: a 204 without a body is "none", not an error', async ({ action }) => {
    api((_req, res) => {
      res.writeHead(204, { 'correlation-id': '68fc70bf-37e8-50fe-a47c-824d3fd095c5' });
      res.end();
    });
    const answer: WriteAnswer<unknown> = await client.write(action, makeScope());
    expect(answer).toEqual({ status: 204, correlationId: '68fc70bf-37e8-50fe-a47c-824d3fd095c5', body: 'none' });
  });

  it('a 200 with an empty body is "none"', async () => {
    api((_req, res) => sendRaw(res, 200, 'application/json', ''));
    expect(await client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope())).toMatchObject({ status: 200, body: 'none' });
  });

  it.each([
    { name: 'JSON of another shape', send: (res: Parameters<Handler>[1]) => sendJson(res, 200, { ok: true }) },
    { name: 'an HTML page', send: (res: Parameters<Handler>[1]) => sendRaw(res, 202, 'text/html', '<html>accepted</html>') },
    { name: 'truncated JSON', send: (res: Parameters<Handler>[1]) => sendRaw(res, 200, 'application/json', '{"id":"') },
  ])('a 2xx with $name is "unexpected", with the reason, not an error', async ({ send }) => {
    api((_req, res) => send(res));
    const answer = await client.write({ kind: 'unblockDevice', userId: USER_ID, deviceId: DEVICE_ID }, makeScope());
    expect(answer.body).toBe('unexpected');
    if (answer.body === 'unexpected') expect(answer.problem).not.toBe('');
  });

  it('refreshes a stale token once on a 401, then succeeds', async () => {
    let calls = 0;
    api((_req, res) => {
      calls += 1;
      if (calls === 1) sendJson(res, 401, p1Error('ACCESS_FAILED', '1e230e1c-168c-50b5-8030-e50d259a166b', 'INVALID_TOKEN'));
      else sendJson(res, 200, userBody({ account: { status: 'OK' } }));
    });
    const answer = await client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope());
    expect(answer.body).toBe('resource');
    expect(apiRequests().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });
});
