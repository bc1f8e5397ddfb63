import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ActionContentType } from '../../src/pingone/model.js';
import { startTestEmulator, type TestEmulator, type TestEmulatorOptions } from '../support/emulator.js';
import { FaultQueue } from '../support/faults.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { UUID_RE, envUrl, field, getToken, send, type Received } from './helpers.js';

let emulator: TestEmulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function setup(options: TestEmulatorOptions = {}): Promise<{ emu: TestEmulator; get: (suffix: string) => Promise<Received>; auth: string }> {
  const emu = await startTestEmulator(options);
  emulator = emu;
  const auth = `Bearer ${await getToken(emu)}`;
  return { emu, auth, get: (suffix) => send(envUrl(emu, suffix), { headers: { authorization: auth } }) };
}

/** Resolves once the emulator has recorded `count` requests (so a hanging one has arrived). */
async function waitForRequests(emu: TestEmulator, count: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (emu.requests.length < count) {
    if (Date.now() > deadline) throw new Error('request never arrived');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('fault queue', () => {
  it('matches by route and method, first in first out, for `times` requests', () => {
    const queue = new FaultQueue();
    queue.add({ match: { route: 'user.get' }, times: 2, action: { kind: 'status', status: 503 } });
    queue.add({ match: { method: 'post' }, action: { kind: 'reset' } });
    queue.add({ action: { kind: 'hang' } });
    expect(queue.take('user.action', 'POST')).toEqual({ kind: 'reset' });
    expect(queue.take('user.get', 'GET')).toEqual({ kind: 'status', status: 503 });
    expect(queue.take('user.get', 'GET')).toEqual({ kind: 'status', status: 503 });
    expect(queue.take('user.get', 'GET')).toEqual({ kind: 'hang' });
    expect(queue.take('user.get', 'GET')).toBeUndefined();
    expect(queue.pending).toBe(0);
  });

  it('supports times: Infinity and clear()', () => {
    const queue = new FaultQueue();
    queue.add({ match: {}, times: Infinity, action: { kind: 'truncated' } });
    for (let i = 0; i < 50; i += 1) expect(queue.take('token', 'POST')?.kind).toBe('truncated');
    queue.clear();
    expect(queue.take('token', 'POST')).toBeUndefined();
  });

  it('rejects nonsense faults', () => {
    const queue = new FaultQueue();
    expect(() => queue.add({ times: 0, action: { kind: 'reset' } })).toThrow(RangeError);
    expect(() => queue.add({ action: { kind: 'delay', ms: -1 } })).toThrow(RangeError);
    expect(() => queue.add({ action: { kind: 'status', status: 42 } })).toThrow(RangeError);
  });
});

describe('fault kinds over HTTP', () => {
  it('status: a realistic P1Error by default, Retry-After on 429, and then normal service', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ match: { route: 'users.search' }, action: { kind: 'status', status: 429 } });
    emu.faults.add({ match: { route: 'users.search' }, action: { kind: 'status', status: 503 } });
    emu.faults.add({ match: { route: 'user.get' }, action: { kind: 'status', status: 403 } });

    const limited = await get('/users');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json).toMatchObject({ code: 'REQUEST_LIMITED', id: expect.stringMatching(UUID_RE) });
    expect(limited.headers['correlation-id']).toMatch(UUID_RE);

    const unavailable = await get('/users');
    expect(unavailable.status).toBe(503);
    expect(field(unavailable.json, 'code')).toBe('UNEXPECTED_ERROR');

    const forbidden = await get(`/users/${DEMO_USERS.jdoe.id}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.json).toMatchObject({ code: 'ACCESS_FAILED', details: [{ code: 'INSUFFICIENT_PERMISSIONS' }] });

    expect((await get('/users')).status).toBe(200);
    expect(emu.requests.filter((r) => r.route === 'users.search')).toHaveLength(3);
  });

  it('status: custom body and headers; OAuth shape on the token route', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ action: { kind: 'status', status: 429, body: { custom: true }, headers: { 'Retry-After': '7' } } });
    const custom = await get('/users');
    expect(custom.json).toEqual({ custom: true });
    expect(custom.headers['retry-after']).toBe('7');

    emu.faults.add({ match: { route: 'token' }, action: { kind: 'status', status: 401 } });
    await expect(getToken(emu)).rejects.toThrow(/invalid_client/);
  });

  it('reset: the socket is destroyed without a response, and nothing changes', async () => {
    const { emu, auth } = await setup();
    emu.faults.add({ match: { route: 'user.action' }, action: { kind: 'reset' } });
    const attempt = request(envUrl(emu, `/users/${DEMO_USERS.jdoe.id}`), {
      method: 'POST',
      headers: { authorization: auth, 'content-type': ActionContentType.unlockUser },
    });
    await expect(attempt).rejects.toThrow();
    expect(emu.getUser(DEMO_USERS.jdoe.id)?.account?.status).toBe('LOCKED');
    expect(emu.requests.at(-1)?.route).toBe('user.action');
  });

  it('hang: no headers ever arrive; the client times out', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ action: { kind: 'hang' } });
    const started = Date.now();
    await expect(send(envUrl(emu, '/users'), { headersTimeout: 200 })).rejects.toThrow(/timeout/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect((await get('/users')).status).toBe(200);
  });

  it('stall-body: 200 headers and part of a body, then silence', async () => {
    const { emu, auth } = await setup();
    emu.faults.add({ action: { kind: 'stall-body' } });
    const response = await request(envUrl(emu, '/users'), { headers: { authorization: auth }, bodyTimeout: 200 });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    await expect(response.body.text()).rejects.toThrow(/timeout/i);
  });

  it('delay: the answer comes late but intact', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ action: { kind: 'delay', ms: 150 } });
    const started = Date.now();
    const response = await get(`/users/${DEMO_USERS.bsmith.id}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(field(response.json, 'username')).toBe('bsmith');
  });

  it('html: a gateway error page with text/html', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ action: { kind: 'html', status: 502 } });
    const response = await get('/users');
    expect(response.status).toBe(502);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.text).toContain('<html>');
    expect(response.json).toBeUndefined();
  });

  it('truncated: 200 JSON that does not parse; the write still took effect', async () => {
    const { emu, auth } = await setup();
    emu.faults.add({ match: { route: 'device.action' }, action: { kind: 'truncated' } });
    const { id, blockedSmsDeviceId } = DEMO_USERS.jdoe;
    const response = await send(envUrl(emu, `/users/${id}/devices/${blockedSmsDeviceId}`), {
      method: 'POST',
      headers: { authorization: auth, 'content-type': ActionContentType.unblockDevice },
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.text.length).toBeGreaterThan(10);
    expect(() => JSON.parse(response.text)).toThrow(SyntaxError);
    expect(emu.getDevice(id, blockedSmsDeviceId)?.block?.status).toBe('UNBLOCKED');
  });

  it('raw: exactly the given status, body and content type', async () => {
    const { emu, get } = await setup();
    emu.faults.add({ action: { kind: 'raw', status: 200, body: '{"_embedded":{"users":"surprise"}}' } });
    emu.faults.add({ action: { kind: 'raw', status: 200, body: 'x'.repeat(2_000_000), contentType: 'text/plain' } });
    const odd = await get('/users');
    expect(odd.json).toEqual({ _embedded: { users: 'surprise' } });
    const huge = await get('/users');
    expect(huge.headers['content-type']).toBe('text/plain');
    expect(huge.text).toHaveLength(2_000_000);
  });

  it('records faulted requests too', async () => {
    const { emu, get } = await setup();
    const before = emu.requests.length;
    emu.faults.add({ match: { route: 'devices.list' }, action: { kind: 'status', status: 500 } });
    await get(`/users/${DEMO_USERS.jdoe.id}/devices`);
    expect(emu.requests.slice(before).map((r) => r.route)).toEqual(['devices.list']);
    expect(emu.faults.pending).toBe(0);
  });
});

describe('rate limit, latency and close', () => {
  it('answers 429 REQUEST_LIMITED with Retry-After beyond N per second, then recovers', async () => {
    const { emu, get } = await setup({ rateLimitPerSecond: 3 });
    // The token request was the first of three.
    const ok = [await get('/users'), await get('/users')];
    const limited = await get('/users');
    expect(ok.map((r) => r.status)).toEqual([200, 200]);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json).toMatchObject({ code: 'REQUEST_LIMITED', details: [{ code: 'LIMIT_EXCEEDED' }] });
    expect(limited.headers['correlation-id']).toMatch(UUID_RE);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    expect((await get('/users')).status).toBe(200);
    expect(emu.requests).toHaveLength(5);
  });

  it('adds latencyMs to every response', async () => {
    const { get } = await setup({ latencyMs: 100 });
    const started = Date.now();
    await get('/users');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('close() resolves promptly with a hanging request and a pending delay, failing both clients', async () => {
    const emu = await startTestEmulator();
    const auth = `Bearer ${await getToken(emu)}`;
    emu.faults.add({ match: { route: 'users.search' }, action: { kind: 'hang' } });
    emu.faults.add({ match: { route: 'user.get' }, action: { kind: 'delay', ms: 60_000 } });
    const hanging = request(envUrl(emu, '/users'), { headers: { authorization: auth } });
    const delayed = request(envUrl(emu, `/users/${DEMO_USERS.jdoe.id}`), { headers: { authorization: auth } });
    const settled = Promise.allSettled([hanging, delayed]);
    await waitForRequests(emu, 3);

    const started = Date.now();
    await emu.close();
    // Far below the 60 s delay it cuts short.
    expect(Date.now() - started).toBeLessThan(10_000);
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(send(envUrl(emu, '/users'))).rejects.toThrow();
    await emu.close(); // idempotent
  });
});
