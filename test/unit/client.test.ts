import type { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PingOneApiError, PingOneAuthError, PingOneResponseError } from '../../src/pingone/errors.js';
import { usernameOrEmailFilter } from '../../src/pingone/filter.js';
import type { HttpExchange } from '../../src/pingone/http.js';
import type { PingOneClient } from '../../src/pingone/client.js';
import type { ClientCredentialsTokenSource } from '../../src/pingone/token.js';
import { FakeServer, p1Error, sendJson, sendRaw, type Handler } from './helpers/fakeServer.js';
import {
  DEVICE_ID,
  deviceBody,
  ENV_ID,
  failure,
  makeAgent,
  makeClient,
  makeExchange,
  makeScope,
  makeTokens,
  route,
  tokenPath,
  USER_AGENT,
  USER_ID,
  userBody,
} from './helpers/pingone.js';

let server: FakeServer;
let agent: Agent;
let http: HttpExchange;
let tokens: ClientCredentialsTokenSource;
let client: PingOneClient;

const USER_PATH = `/v1/environments/${ENV_ID}/users/${USER_ID}`;
const DEVICE_PATH = `${USER_PATH}/devices/${DEVICE_ID}`;

beforeEach(async () => {
  server = await FakeServer.start();
  agent = makeAgent();
  http = makeExchange(agent, { maxBodyBytes: 16 * 1024 });
  tokens = makeTokens(server, http);
  client = makeClient(server, http, tokens);
});

afterEach(async () => {
  await server.close();
  await agent.destroy();
});

function api(handler: Handler, token?: Handler): void {
  route(server, handler, token);
}

function apiRequests() {
  return server.received.filter((r) => r.url.startsWith('/v1/'));
}

function tokenRequests() {
  return server.requestsTo(tokenPath());
}

describe('PingOneClient: the requests it sends', () => {
  it('getUser: GET the user with a bearer token, user-agent and transaction id', async () => {
    api((_req, res) => sendJson(res, 200, userBody(), { 'correlation-id': '43bfea30-bbc7-543d-8331-59a67e180105' }));
    const reply = await client.getUser(USER_ID, makeScope({ transactionId: 'txn-get-user' }));
    expect(reply.status).toBe(200);
    expect(reply.data.identity.id).toBe(USER_ID);
    expect(reply.data.account.status).toBe('LOCKED');
    expect(reply.correlationId).toBe('43bfea30-bbc7-543d-8331-59a67e180105');
    const [req] = apiRequests();
    expect(req?.method).toBe('GET');
    expect(req?.url).toBe(USER_PATH);
    expect(req?.headers.authorization).toBe('Bearer token-1');
    expect(req?.headers['user-agent']).toBe(USER_AGENT);
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-get-user');
    expect(req?.headers['content-type']).toBeUndefined();
  });

  it('unlockUser: POST the user URL with the account.unlock content type and no body', async () => {
    api((_req, res) => sendJson(res, 200, userBody({ account: { status: 'OK', canAuthenticate: true } })));
    const reply = await client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope({ transactionId: 'txn-unlock' }));
    expect(reply.body === 'resource' && reply.data.account.status).toBe('OK');
    const [req] = apiRequests();
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(USER_PATH);
    expect(req?.headers['content-type']).toBe('application/vnd.pingidentity.account.unlock+json');
    expect(req?.headers.authorization).toBe('Bearer token-1');
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-unlock');
    expect(req?.body).toBe('');
  });

  it('unblockDevice: POST the device URL with the device.unblock content type and no body', async () => {
    api((_req, res) => sendJson(res, 200, deviceBody({ block: { status: 'UNBLOCKED' } })));
    const reply = await client.write({ kind: 'unblockDevice', userId: USER_ID, deviceId: DEVICE_ID }, makeScope({ transactionId: 'txn-unblock' }));
    expect(reply.body === 'resource' && reply.data.blockStatus).toBe('UNBLOCKED');
    const [req] = apiRequests();
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe(DEVICE_PATH);
    expect(req?.headers['content-type']).toBe('application/vnd.pingidentity.device.unblock+json');
    expect(req?.headers['x-ping-external-transaction-id']).toBe('txn-unblock');
    expect(req?.body).toBe('');
  });

  it('findUsers: sends the filter URL-encoded with the limit and returns _embedded.users', async () => {
    api((_req, res) => sendJson(res, 200, { _embedded: { users: [userBody()] }, count: 1, size: 1 }));
    const filter = usernameOrEmailFilter('dana" or username pr & x=1');
    const reply = await client.findUsers(filter, 5, makeScope());
    expect(reply.data.map((u) => u.identity.id)).toEqual([USER_ID]);
    const [req] = apiRequests();
    expect(req?.method).toBe('GET');
    const url = new URL(req?.url ?? '', server.url);
    expect(url.pathname).toBe(`/v1/environments/${ENV_ID}/users`);
    expect(url.searchParams.get('filter')).toBe(filter);
    expect(url.searchParams.get('limit')).toBe('5');
    expect([...url.searchParams.keys()].sort()).toEqual(['filter', 'limit']);
  });

  it('findUsers: no _embedded means no users', async () => {
    api((_req, res) => sendJson(res, 200, { count: 0 }));
    expect((await client.findUsers(usernameOrEmailFilter('nobody'), 5, makeScope())).data).toEqual([]);
  });

  it('listDevices and getDevice: GET the device collection and one device', async () => {
    api((req, res) =>
      req.url.endsWith('/devices') ? sendJson(res, 200, { _embedded: { devices: [deviceBody(), deviceBody({ id: 'f2a7c4e0-5b1d-4c3e-9a8f-0d6e2b4c8a11', type: 'TOTP' })] } }) : sendJson(res, 200, deviceBody()),
    );
    const list = await client.listDevices(USER_ID, makeScope());
    expect(list.data.map((d) => d.type)).toEqual(['SMS', 'TOTP']);
    const one = await client.getDevice(USER_ID, DEVICE_ID, makeScope());
    expect(one.data.id).toBe(DEVICE_ID);
    expect(apiRequests().map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${USER_PATH}/devices`, `GET ${DEVICE_PATH}`]);
  });
});

describe('PingOneClient: tokens', () => {
  it('fetches one token for 10 concurrent calls', async () => {
    let issued = 0;
    api(
      (_req, res) => sendJson(res, 200, userBody()),
      (_req, res) => setTimeout(() => sendJson(res, 200, { access_token: `token-${++issued}`, expires_in: 3600 }), 30),
    );
    const replies = await Promise.all(Array.from({ length: 10 }, () => client.getUser(USER_ID, makeScope())));
    expect(replies).toHaveLength(10);
    expect(tokenRequests()).toHaveLength(1);
    expect(apiRequests()).toHaveLength(10);
    expect(new Set(apiRequests().map((r) => r.headers.authorization))).toEqual(new Set(['Bearer token-1']));
  });

  it('a 401 from the API invalidates the token and retries once with a new one', async () => {
    api((req, res) =>
      req.headers.authorization === 'Bearer token-1' ? sendJson(res, 401, p1Error('ACCESS_FAILED', 'e401', 'INVALID_TOKEN')) : sendJson(res, 200, userBody()),
    );
    const reply = await client.getUser(USER_ID, makeScope());
    expect(reply.status).toBe(200);
    expect(tokenRequests()).toHaveLength(2);
    expect(apiRequests().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    // The new token is cached for the next call.
    await client.getUser(USER_ID, makeScope());
    expect(tokenRequests()).toHaveLength(2);
  });

  it('a second 401 surfaces as PingOneApiError 401, after exactly one retry', async () => {
    api((_req, res) => sendJson(res, 401, p1Error('ACCESS_FAILED', 'e401', 'INVALID_TOKEN'), { 'correlation-id': 'f6058626-fae1-5a4c-bfc4-3cd4703a8bb6' }));
    const { error } = await failure(() => client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    const apiError = error as PingOneApiError;
    expect(apiError.status).toBe(401);
    expect(apiError.attempts).toBe(2);
    expect(apiError.correlationId).toBe('f6058626-fae1-5a4c-bfc4-3cd4703a8bb6');
    expect(apiError.responsible).toBe('admin');
    expect(apiRequests()).toHaveLength(2);
    expect(tokenRequests()).toHaveLength(2);
  });

  it('a token endpoint refusal becomes PingOneAuthError and no API request is sent', async () => {
    api(
      (_req, res) => sendJson(res, 200, userBody()),
      (_req, res) => sendJson(res, 401, { error: 'invalid_client', error_description: 'Invalid client credentials' }),
    );
    const { error } = await failure(() => client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope()));
    expect(error).toBeInstanceOf(PingOneAuthError);
    expect((error as PingOneAuthError).oauthError).toBe('invalid_client');
    expect((error as Error).message).not.toContain('Sup3r');
    expect(apiRequests()).toHaveLength(0);
  });
});

describe('PingOneClient: errors', () => {
  it('maps a P1Error body onto PingOneApiError (id, code, first detail code, Correlation-Id)', async () => {
    api((_req, res) =>
      sendJson(res, 403, { ...p1Error('ACCESS_FAILED', 'f1ddadfb-d43a-5e64-94be-aa2c63352905', 'INSUFFICIENT_PERMISSIONS'), unknownField: 1 }, { 'correlation-id': '234e1955-fef5-5627-8167-138d076ba058' }),
    );
    const { error } = await failure(() => client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    const apiError = error as PingOneApiError;
    expect(apiError.status).toBe(403);
    expect(apiError.errorCode).toBe('ACCESS_FAILED');
    expect(apiError.errorId).toBe('f1ddadfb-d43a-5e64-94be-aa2c63352905');
    expect(apiError.detailCode).toBe('INSUFFICIENT_PERMISSIONS');
    expect(apiError.correlationId).toBe('234e1955-fef5-5627-8167-138d076ba058');
    expect(apiError.attempts).toBe(1);
    expect(apiError.responsible).toBe('admin');
    // PingOne's own message stays out of ours.
    expect(apiError.message).not.toContain('happened');
  });

  it('404 NOT_FOUND is the agent’s to fix and is not retried', async () => {
    api((_req, res) => sendJson(res, 404, p1Error('NOT_FOUND', 'nf-1')));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect((error as PingOneApiError).status).toBe(404);
    expect((error as PingOneApiError).responsible).toBe('agent');
    expect(apiRequests()).toHaveLength(1);
  });

  it('503 then 200 succeeds', async () => {
    let n = 0;
    api((_req, res) => (n++ === 0 ? sendJson(res, 503, p1Error('UNEXPECTED_ERROR', 'x')) : sendJson(res, 200, userBody())));
    expect((await client.write({ kind: 'unlockUser', userId: USER_ID }, makeScope())).status).toBe(200);
    expect(apiRequests()).toHaveLength(2);
    expect(apiRequests().every((r) => r.headers['content-type'] === 'application/vnd.pingidentity.account.unlock+json')).toBe(true);
  });

  it('three 503s become PingOneApiError 503 with attempts 3', async () => {
    api((_req, res) => sendJson(res, 503, p1Error('UNEXPECTED_ERROR', '0d5770db-67ed-5b30-bcde-d05843f13a3d'), { 'correlation-id': '3de65ce9-9dab-57da-923a-4c0d79cc1bd4' }));
    const { error } = await failure(() => client.write({ kind: 'unblockDevice', userId: USER_ID, deviceId: DEVICE_ID }, makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    const apiError = error as PingOneApiError;
    expect(apiError.status).toBe(503);
    expect(apiError.attempts).toBe(3);
    expect(apiError.errorId).toBe('0d5770db-67ed-5b30-bcde-d05843f13a3d');
    expect(apiError.correlationId).toBe('3de65ce9-9dab-57da-923a-4c0d79cc1bd4');
    expect(apiError.responsible).toBe('pingone');
  });

  it('a 429 whose Retry-After outlives the deadline fails at once with the wait in the error', async () => {
    api((_req, res) => sendJson(res, 429, p1Error('REQUEST_LIMITED', 'rl-1', 'LIMIT_EXCEEDED'), { 'retry-after': '20' }));
    const { error, elapsedMs } = await failure(() => client.getUser(USER_ID, makeScope({ timeoutMs: 10_000 })));
    // "At once": far below the 10 s deadline a wait would run into.
    expect(elapsedMs).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(PingOneApiError);
    const apiError = error as PingOneApiError;
    expect(apiError.status).toBe(429);
    expect(apiError.retryAfterMs).toBe(20_000);
    expect(apiError.detailCode).toBe('LIMIT_EXCEEDED');
    expect(apiError.attempts).toBe(1);
    expect(apiRequests()).toHaveLength(1);
  });

  it('an HTML page instead of JSON is a PingOneResponseError naming text/html', async () => {
    api((_req, res) => sendRaw(res, 200, 'text/html', '<!doctype html><title>Maintenance</title>', { 'correlation-id': '62ac4686-a485-59b1-91a3-97ecf5cae3c2' }));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect(error).toBeInstanceOf(PingOneResponseError);
    expect((error as Error).message).toContain('text/html');
    expect((error as Error).message).not.toContain('Maintenance');
    expect((error as PingOneResponseError).correlationId).toBe('62ac4686-a485-59b1-91a3-97ecf5cae3c2');
  });

  it('truncated JSON is a PingOneResponseError', async () => {
    api((_req, res) => sendRaw(res, 200, 'application/json', '{"id":"' + USER_ID + '","acc'));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect(error).toBeInstanceOf(PingOneResponseError);
    expect((error as Error).message).toMatch(/malformed or cut short/);
  });

  it('a body over maxBodyBytes is a PingOneResponseError', async () => {
    api((_req, res) => sendJson(res, 200, userBody({ padding: 'p'.repeat(100 * 1024) })));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect(error).toBeInstanceOf(PingOneResponseError);
    expect((error as Error).message).toMatch(/larger/);
  });

  it('a 200 of the wrong shape is a PingOneResponseError with the Correlation-Id', async () => {
    api((_req, res) => sendJson(res, 200, { username: 'dana' }, { 'correlation-id': 'f1eb4612-a834-534a-9b73-637a169a2ea6' }));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect(error).toBeInstanceOf(PingOneResponseError);
    expect((error as PingOneResponseError).status).toBe(200);
    expect((error as Error).message).toMatch(/expected shape/);
    expect((error as PingOneResponseError).correlationId).toBe('f1eb4612-a834-534a-9b73-637a169a2ea6');
  });

  it('a device without a type is the wrong shape too', async () => {
    api((_req, res) => sendJson(res, 200, { id: DEVICE_ID }));
    expect((await failure(() => client.getDevice(USER_ID, DEVICE_ID, makeScope()))).error).toBeInstanceOf(PingOneResponseError);
  });

  it('an error without a P1Error body still maps to PingOneApiError', async () => {
    api((_req, res) => sendRaw(res, 400, 'text/plain', 'Bad Request'));
    const { error } = await failure(() => client.getUser(USER_ID, makeScope()));
    expect(error).toBeInstanceOf(PingOneApiError);
    expect((error as PingOneApiError).status).toBe(400);
    expect((error as PingOneApiError).errorCode).toBeUndefined();
    expect((error as PingOneApiError).errorId).toBeUndefined();
  });
});
