import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ActionContentType } from '../../src/pingone/model.js';
import { startTestEmulator, type TestEmulator } from '../support/emulator.js';
import { DEMO_USERS, SHARED_MAILBOX_EMAIL } from '../../src/sandbox/seed.js';
import { UUID_RE, envUrl, field, getToken, rawRequest, send, type Received, type SendOptions } from './helpers.js';

let emu: TestEmulator;
let token: string;

beforeAll(async () => {
  emu = await startTestEmulator();
});
afterAll(async () => {
  await emu.close();
});
beforeEach(async () => {
  token = await getToken(emu);
});

function api(suffix: string, options: SendOptions = {}): Promise<Received> {
  return send(envUrl(emu, suffix), { ...options, headers: { authorization: `Bearer ${token}`, ...options.headers } });
}

function search(filter: string, extra = ''): Promise<Received> {
  return api(`/users?filter=${encodeURIComponent(filter)}${extra}`);
}

function usernames(response: Received): unknown[] {
  const users = field(response.json, '_embedded', 'users');
  return Array.isArray(users) ? users.map((u: unknown) => field(u, 'username')) : [];
}

function expectP1Error(response: Received, status: number, code: string, detailCode?: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(field(response.json, 'id')).toMatch(UUID_RE);
  expect(field(response.json, 'code')).toBe(code);
  expect(typeof field(response.json, 'message')).toBe('string');
  if (detailCode !== undefined) expect(field(response.json, 'details', 0, 'code')).toBe(detailCode);
}

describe('bearer token', () => {
  it('is required', async () => {
    const response = await send(envUrl(emu, '/users'));
    expectP1Error(response, 401, 'ACCESS_FAILED', 'INVALID_TOKEN');
  });

  it('must be one the emulator issued', async () => {
    const response = await send(envUrl(emu, '/users'), { headers: { authorization: 'Bearer not-a-real-token' } });
    expectP1Error(response, 401, 'ACCESS_FAILED', 'INVALID_TOKEN');
  });

  it('gets 403 for an environment that does not exist', async () => {
    const response = await send(`${emu.apiUrl}/environments/0b6f3a52-3f4e-4e0a-9d55-1c2b3a4d5e6f/users`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expectP1Error(response, 403, 'ACCESS_FAILED');
  });
});

describe('user search', () => {
  it('finds by username or email, case-insensitively', async () => {
    const response = await search('username eq "JDOE" or email eq "bob.smith@example.com"');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/(hal\+)?json/);
    expect(usernames(response)).toEqual(['jdoe', 'bsmith']);
    expect(response.json).toMatchObject({ count: 2, size: 2 });
    expect(field(response.json, '_links', 'self', 'href')).toContain('/users?filter=');
  });

  it('returns both users sharing a mailbox', async () => {
    const response = await search(`email eq "${SHARED_MAILBOX_EMAIL}"`);
    expect(usernames(response)).toEqual(['ops1', 'ops2']);
  });

  it('matches values containing escaped quotes and backslashes exactly', async () => {
    const id = '6f0e1c2d-3b4a-4c5d-8e9f-a0b1c2d3e4f5';
    emu.putUser({ id, username: 'we"ird\\name', email: 'weird@example.com', enabled: true });
    const hit = await search('username eq "we\\"ird\\\\name"');
    expect(usernames(hit)).toEqual(['we"ird\\name']);
    // The quote cannot end the string early and smuggle in an "or".
    const miss = await search('username eq "x\\" or username sw \\"j"');
    expect(usernames(miss)).toEqual([]);
  });

  it('supports sw and parentheses', async () => {
    const response = await search('(name.given eq "Ada" or username sw "old.") and population.id sw "e7fc"');
    expect(usernames(response)).toEqual(['old.contractor']);
  });

  it('rejects a bad filter with INVALID_DATA / INVALID_FILTER', async () => {
    const response = await search('username co "j"');
    expectP1Error(response, 400, 'INVALID_DATA', 'INVALID_FILTER');
    expect(field(response.json, 'details', 0, 'target')).toBe('filter');
  });

  it('lists every user without a filter and pages with _links.next', async () => {
    const all = await api('/users');
    const total = field(all.json, 'count');
    expect(typeof total).toBe('number');
    expect(usernames(all)).toContain('ceo');

    const seen: unknown[] = [];
    let url: string | undefined = envUrl(emu, '/users?limit=3');
    let pages = 0;
    while (url !== undefined) {
      const page = await send(url, { headers: { authorization: `Bearer ${token}` } });
      expect(page.status).toBe(200);
      expect(field(page.json, 'size')).toBeLessThanOrEqual(3);
      seen.push(...usernames(page));
      const next = field(page.json, '_links', 'next', 'href');
      url = typeof next === 'string' ? next : undefined;
      pages += 1;
    }
    expect(seen).toEqual(usernames(all));
    expect(pages).toBe(Math.ceil(Number(total) / 3));
  });

  it('caps the page size at 200 and rejects a nonsense limit', async () => {
    const capped = await api('/users?limit=1000');
    expect(capped.status).toBe(200);
    const bad = await api('/users?limit=-1');
    expectP1Error(bad, 400, 'INVALID_DATA', 'INVALID_VALUE');
  });
});

describe('users and devices', () => {
  it('gets a user with account state', async () => {
    const response = await api(`/users/${DEMO_USERS.ceo.id}`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ id: DEMO_USERS.ceo.id, username: 'ceo', account: { status: 'LOCKED', canAuthenticate: false } });
    expect(field(response.json, 'account', 'secondsUntilUnlock')).toBeGreaterThan(0);
  });

  it('answers 404 NOT_FOUND for an unknown user, and matches ids exactly', async () => {
    expectP1Error(await api('/users/1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d'), 404, 'NOT_FOUND');
    expectP1Error(await api(`/users/${DEMO_USERS.jdoe.id.toUpperCase()}`), 404, 'NOT_FOUND');
  });

  it('unlocks a locked user and records the activity with external correlation', async () => {
    const response = await api(`/users/${DEMO_USERS.jdoe.id}`, {
      method: 'POST',
      headers: {
        'content-type': ActionContentType.unlockUser,
        'x-ping-external-transaction-id': 'txn-123',
        'x-ping-external-session-id': 'sess/9',
        'user-agent': 'pingone-helpdesk-mcp/0.1.0',
      },
    });
    expect(response.status).toBe(200);
    expect(field(response.json, 'account')).toEqual({ status: 'OK', canAuthenticate: true });
    expect(emu.getUser(DEMO_USERS.jdoe.id)?.account).toEqual({ status: 'OK', canAuthenticate: true });
    const activity = emu.activities.at(-1);
    expect(activity).toMatchObject({
      action: 'USER.UNLOCKED',
      resourceId: DEMO_USERS.jdoe.id,
      correlationId: response.headers['correlation-id'],
      externalCorrelation: { transactionId: 'txn-123', sessionId: 'sess/9' },
    });
    expect(emu.requests.at(-1)?.headers['user-agent']).toBe('pingone-helpdesk-mcp/0.1.0');

    const again = await api(`/users/${DEMO_USERS.jdoe.id}`, { method: 'POST', headers: { 'content-type': ActionContentType.unlockUser } });
    expect(again.status).toBe(200);
    expect(field(again.json, 'account', 'status')).toBe('OK');
  });

  it('unlocking a disabled user leaves canAuthenticate false', async () => {
    const response = await api(`/users/${DEMO_USERS.oldContractor.id}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unlockUser },
    });
    expect(field(response.json, 'account')).toEqual({ status: 'OK', canAuthenticate: false });
  });

  it('locks a user', async () => {
    const response = await api(`/users/${DEMO_USERS.bsmith.id}`, { method: 'POST', headers: { 'content-type': ActionContentType.lockUser } });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ account: { status: 'LOCKED', canAuthenticate: false } });
    expect(Date.parse(String(field(response.json, 'account', 'lockedAt')))).toBeGreaterThan(Date.now() - 60_000);
    expect(emu.activities.at(-1)?.action).toBe('USER.LOCKED');
  });

  it('answers 415 INVALID_REQUEST to any other content type, and changes nothing', async () => {
    const before = emu.getUser(DEMO_USERS.ceo.id);
    for (const contentType of ['application/json', ActionContentType.unblockDevice]) {
      const response = await api(`/users/${DEMO_USERS.ceo.id}`, { method: 'POST', headers: { 'content-type': contentType }, body: '{}' });
      expectP1Error(response, 415, 'INVALID_REQUEST');
    }
    expect(emu.getUser(DEMO_USERS.ceo.id)?.account?.status).toBe(before?.account?.status);
  });

  it('lists devices and gets one', async () => {
    const list = await api(`/users/${DEMO_USERS.jdoe.id}/devices`);
    expect(list.status).toBe(200);
    const devices = field(list.json, '_embedded', 'devices');
    expect(Array.isArray(devices) ? devices.map((d: unknown) => field(d, 'type')) : []).toEqual(['SMS', 'EMAIL', 'TOTP']);
    const one = await api(`/users/${DEMO_USERS.jdoe.id}/devices/${DEMO_USERS.jdoe.lockedEmailDeviceId}`);
    expect(one.json).toMatchObject({ type: 'EMAIL', lock: { status: 'LOCKED' }, block: { status: 'UNBLOCKED' } });
    expectP1Error(await api(`/users/${DEMO_USERS.bsmith.id}/devices/${DEMO_USERS.jdoe.totpDeviceId}`), 404, 'NOT_FOUND');
  });

  it('unblocks, blocks and unlocks devices; unblocking does not clear a lock', async () => {
    const { id, blockedSmsDeviceId, lockedEmailDeviceId } = DEMO_USERS.jdoe;
    const unblock = await api(`/users/${id}/devices/${blockedSmsDeviceId}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unblockDevice },
    });
    expect(unblock.status).toBe(200);
    expect(field(unblock.json, 'block', 'status')).toBe('UNBLOCKED');
    expect(emu.activities.at(-1)).toMatchObject({ action: 'DEVICE.UNBLOCKED', resourceId: blockedSmsDeviceId });

    const unblockLocked = await api(`/users/${id}/devices/${lockedEmailDeviceId}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unblockDevice },
    });
    expect(field(unblockLocked.json, 'lock', 'status')).toBe('LOCKED');

    const unlock = await api(`/users/${id}/devices/${lockedEmailDeviceId}`, {
      method: 'POST',
      headers: { 'content-type': `${ActionContentType.unlockDevice}; charset=utf-8` },
    });
    expect(field(unlock.json, 'lock')).toEqual({ status: 'UNLOCKED' });
    expect(emu.getDevice(id, lockedEmailDeviceId)?.lock).toEqual({ status: 'UNLOCKED' });

    const block = await api(`/users/${id}/devices/${blockedSmsDeviceId}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.blockDevice },
    });
    expect(field(block.json, 'block', 'status')).toBe('BLOCKED');
    expect(emu.activities.slice(-2).map((a) => a.action)).toEqual(['DEVICE.UNLOCKED', 'DEVICE.BLOCKED']);

    const wrong = await api(`/users/${id}/devices/${blockedSmsDeviceId}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unlockUser },
    });
    expectP1Error(wrong, 415, 'INVALID_REQUEST');
  });

  it('serves the activities it recorded, filterable by correlation id', async () => {
    const write = await api(`/users/${DEMO_USERS.ops1.id}`, { method: 'POST', headers: { 'content-type': ActionContentType.lockUser } });
    const correlationId = write.headers['correlation-id'] ?? '';
    const response = await api(`/activities?filter=${encodeURIComponent(`correlationid eq "${correlationId}"`)}`);
    expect(response.status).toBe(200);
    const activities = field(response.json, '_embedded', 'activities');
    expect(activities).toEqual([expect.objectContaining({ correlationId, action: { type: 'USER.LOCKED' } })]);
  });
});

describe('robustness', () => {
  it('puts a Correlation-Id on every kind of response', async () => {
    const responses = [
      await api('/users'),
      await api('/users/nope'),
      await send(envUrl(emu, '/users')),
      await send(`${emu.authUrl}/${emu.environmentId}/as/token`, { method: 'POST', body: 'x' }),
      await send(`${emu.authUrl}/nothing/here`),
      await search('bad'),
    ];
    const ids = responses.map((r) => r.headers['correlation-id']);
    for (const id of ids) expect(id).toMatch(UUID_RE);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of responses) expect(r.headers['content-type']).toMatch(/^application\/(hal\+)?json/);
  });

  it.each([
    ['percent-encoded junk', '/users/%E0%A4%A'],
    ['malformed UTF-8', '/users/%C3%28'],
    ['dot segments', '/users/../users/..%2F..%2Fetc'],
    ['a very long id', `/users/${'a'.repeat(8000)}`],
    ['a doubled /v1', '/../../v1/v1/environments'],
    ['an unknown collection', '/groups'],
    ['a trailing slash', `/users/${DEMO_USERS.jdoe.id}/devices/`],
    ['a NUL byte', '/users/%00'],
  ])('answers 404 (never crashes) for %s', async (_label, suffix) => {
    const path = `/v1/environments/${emu.environmentId}${suffix}`;
    const response = await rawRequest(emu, 'GET', path, { Authorization: `Bearer ${token}` });
    expect(response.status).toBe(404);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'NOT_FOUND', id: expect.stringMatching(UUID_RE) });
    expect(emu.requests.at(-1)?.path).toBe(path);
  });

  it('answers 404 to absolute-form and asterisk request targets', async () => {
    expect((await rawRequest(emu, 'GET', `http://evil.example/v1/environments/${emu.environmentId}/users`)).status).toBe(404);
    expect((await rawRequest(emu, 'OPTIONS', '*')).status).toBe(404);
  });

  it('answers 404 to unsupported methods and unknown paths outside /v1', async () => {
    expectP1Error(await api(`/users/${DEMO_USERS.jdoe.id}`, { method: 'DELETE' }), 404, 'NOT_FOUND');
    expectP1Error(await send(`${emu.authUrl}/`), 404, 'NOT_FOUND');
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const response = await api(`/users/${DEMO_USERS.bsmith.id}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unlockUser },
      body: 'x'.repeat(70 * 1024),
    });
    expectP1Error(response, 413, 'INVALID_REQUEST');
    expect(emu.requests.at(-1)?.body.length).toBe(64 * 1024);
  });

  it('records every request in order', async () => {
    const start = emu.requests.length;
    await search('username eq "jdoe"', '&limit=5');
    await api(`/users/${DEMO_USERS.jdoe.id}`, {
      method: 'POST',
      headers: { 'content-type': ActionContentType.unlockUser, 'x-ping-external-transaction-id': 'abc' },
    });
    const [first, second] = emu.requests.slice(start);
    expect(first).toMatchObject({
      method: 'GET',
      path: `/v1/environments/${emu.environmentId}/users`,
      query: { filter: 'username eq "jdoe"', limit: '5' },
      route: 'users.search',
      body: '',
    });
    expect(first?.headers['authorization']).toBe(`Bearer ${token}`);
    expect(first?.contentType).toBeUndefined();
    expect(second).toMatchObject({
      method: 'POST',
      route: 'user.action',
      contentType: ActionContentType.unlockUser,
      headers: { 'x-ping-external-transaction-id': 'abc' },
    });
    const tokenRequest = emu.requests.slice(0, start).findLast((r) => r.route === 'token');
    expect(tokenRequest?.body).toContain('grant_type=client_credentials');
  });
});
