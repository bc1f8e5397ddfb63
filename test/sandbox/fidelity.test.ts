import { afterEach, describe, expect, it } from 'vitest';
import { ActionContentType } from '../../src/pingone/model.js';
import { startEmulator, type Emulator } from '../../src/sandbox/emulator.js';
import { DEMO_PASSWORD_POLICY_ID, DEMO_USERS, DEVICE_TYPES, demoSeed } from '../../src/sandbox/seed.js';
import { startTestEmulator, type TestEmulatorOptions } from '../support/emulator.js';
import { UUID_RE, envUrl, field, getToken, send, type Received, type SendOptions } from './helpers.js';

/**
 * Where the emulator follows PingOne's definitions beyond the two writes: the
 * password state and Password Unlock, blockedAt, documented device types, the
 * external correlation headers, and both answers to each undocumented behaviour.
 */

const { kwong, ceo, jdoe, bsmith } = DEMO_USERS;
let running: Emulator | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start(options: TestEmulatorOptions = {}) {
  const emu = await startTestEmulator(options);
  running = emu;
  const token = await getToken(emu);
  const api = (suffix: string, init: SendOptions = {}): Promise<Received> =>
    send(envUrl(emu, suffix), { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
  const post = (suffix: string, contentType: string, headers: Record<string, string> = {}) =>
    api(suffix, { method: 'POST', headers: { 'content-type': contentType, ...headers } });
  return { emu, api, post };
}

describe('password state', () => {
  it('serves a password lockout without an automatic unlock, on an account locked without lockedAt', async () => {
    const { emu, api } = await start();
    const response = await api(`/users/${kwong.id}/password`);
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ status: 'PASSWORD_LOCKED_OUT', passwordPolicy: { id: DEMO_PASSWORD_POLICY_ID } });
    expect(Date.parse(String(field(response.json, 'lastChangedAt')))).toBeLessThan(Date.now());
    expect(field(response.json, 'secondsUntilUnlock')).toBeUndefined();
    // The emulator's bookkeeping never leaks into what PingOne would serve.
    expect(field(response.json, 'locksAccount')).toBeUndefined();
    expect(field(response.json, 'unlockAt')).toBeUndefined();
    const user = await api(`/users/${kwong.id}`);
    expect(field(user.json, 'account')).toEqual({ status: 'LOCKED', canAuthenticate: false });
    expect(emu.getUser(kwong.id)?.account?.['lockedAt']).toBeUndefined();
  });

  it('counts down secondsUntilUnlock for a lockout that lifts by itself', async () => {
    const { api } = await start();
    const seconds = field((await api(`/users/${ceo.id}/password`)).json, 'secondsUntilUnlock');
    expect(typeof seconds).toBe('number');
    expect(seconds).toBeGreaterThan(20 * 60);
    expect(seconds).toBeLessThanOrEqual(25 * 60);
  });

  it('lifts a lapsed lockout on read, and the account lock it alone caused', async () => {
    const { emu, api } = await start();
    emu.putPassword(kwong.id, { status: 'PASSWORD_LOCKED_OUT', unlockAt: new Date(Date.now() - 1_000).toISOString(), locksAccount: true });
    expect(field((await api(`/users/${kwong.id}/password`)).json, 'status')).toBe('OK');
    expect(emu.getUser(kwong.id)?.account).toEqual({ status: 'OK', canAuthenticate: true });
  });

  it('serves OK for a user with no stored state, EXTERNAL for a user of another identity provider, 404 for no user', async () => {
    const { emu, api } = await start();
    expect(field((await api(`/users/${bsmith.id}/password`)).json, 'status')).toBe('OK');
    const stored = emu.getUser(bsmith.id);
    emu.putUser({ ...stored!, identityProvider: { type: 'SOCIAL_PROVIDER' } });
    expect(field((await api(`/users/${bsmith.id}/password`)).json, 'status')).toBe('EXTERNAL');
    const missing = await api('/users/1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d/password');
    expect(missing.status).toBe(404);
    expect(field(missing.json, 'code')).toBe('NOT_FOUND');
  });

  it('serves every documented state that a test puts', async () => {
    const { emu, api } = await start();
    for (const status of ['OK', 'NO_PASSWORD', 'PASSWORD_EXPIRED', 'PASSWORD_LOCKED_OUT', 'MUST_CHANGE_PASSWORD', 'EXTERNAL'] as const) {
      emu.putPassword(bsmith.id, { status });
      expect(field((await api(`/users/${bsmith.id}/password`)).json, 'status')).toBe(status);
    }
  });
});

describe('Password Unlock', () => {
  it('lifts the lockout and, as its only reason, the account lock: PASSWORD.UNLOCKED then USER.UNLOCKED', async () => {
    const { emu, post } = await start();
    const response = await post(`/users/${kwong.id}/password`, ActionContentType.unlockPassword);
    expect(response.status).toBe(200);
    expect(field(response.json, 'status')).toBe('OK');
    expect(emu.getPassword(kwong.id)?.status).toBe('OK');
    expect(emu.getUser(kwong.id)?.account).toEqual({ status: 'OK', canAuthenticate: true });
    expect(emu.activities.map((a) => [a.action, a.correlationId])).toEqual([
      ['PASSWORD.UNLOCKED', response.headers['correlation-id']],
      ['USER.UNLOCKED', response.headers['correlation-id']],
    ]);
    expect(emu.requests.at(-1)?.body).toBe('');
  });

  it('leaves an account lock that has another reason (an administrator locked it too)', async () => {
    const { emu, post } = await start();
    expect((await post(`/users/${kwong.id}`, ActionContentType.lockUser)).status).toBe(200);
    expect((await post(`/users/${kwong.id}/password`, ActionContentType.unlockPassword)).status).toBe(200);
    expect(emu.getPassword(kwong.id)?.status).toBe('OK');
    expect(emu.getUser(kwong.id)?.account?.status).toBe('LOCKED');
  });

  it('is a no-op 200 for a password that is not locked out, and leaves the account alone', async () => {
    const { emu, post } = await start();
    const response = await post(`/users/${jdoe.id}/password`, ActionContentType.unlockPassword);
    expect(response.status).toBe(200);
    expect(field(response.json, 'status')).toBe('OK');
    expect(emu.getUser(jdoe.id)?.account?.status).toBe('LOCKED');
  });

  it('refuses another content type (415), an unknown user (404) and a user of another identity provider (400)', async () => {
    const { emu, post } = await start();
    expect((await post(`/users/${kwong.id}/password`, ActionContentType.unlockUser)).status).toBe(415);
    expect((await post('/users/1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d/password', ActionContentType.unlockPassword)).status).toBe(404);
    emu.putPassword(bsmith.id, { status: 'EXTERNAL' });
    const external = await post(`/users/${bsmith.id}/password`, ActionContentType.unlockPassword);
    expect(external.status).toBe(400);
    expect(field(external.json, 'details', 0, 'target')).toBe('password');
    expect(emu.getPassword(kwong.id)?.status).toBe('PASSWORD_LOCKED_OUT');
  });
});

describe.each([false, true])('account unlock with accountUnlockClearsPasswordLockout = %s', (clears) => {
  it(clears ? 'lifts the password lockout too' : 'leaves the password locked out', async () => {
    const { emu, post } = await start({ accountUnlockClearsPasswordLockout: clears });
    expect((await post(`/users/${kwong.id}`, ActionContentType.unlockUser)).status).toBe(200);
    expect(emu.getUser(kwong.id)?.account).toEqual({ status: 'OK', canAuthenticate: true });
    expect(emu.getPassword(kwong.id)?.status).toBe(clears ? 'OK' : 'PASSWORD_LOCKED_OUT');
    expect(emu.activities.map((a) => a.action)).toEqual(['USER.UNLOCKED']);
  });
});

describe('write answers (writeAnswer)', () => {
  const writes = [
    { name: 'account unlock', path: `/users/${kwong.id}`, type: ActionContentType.unlockUser },
    { name: 'password unlock', path: `/users/${kwong.id}/password`, type: ActionContentType.unlockPassword },
    { name: 'device unblock', path: `/users/${jdoe.id}/devices/${jdoe.blockedSmsDeviceId}`, type: ActionContentType.unblockDevice },
  ];

  it.each(writes)("'object' (the default): the $name answers 200 with the resource", async ({ path, type }) => {
    const { post } = await start();
    const response = await post(path, type);
    expect(response.status).toBe(200);
    expect(field(response.json, '_links', 'self', 'href')).toBe(`${running!.apiUrl}/environments/${running!.environmentId}${path}`);
  });

  it.each(writes)("'no-content': the $name answers 204 without a body, and still takes effect", async ({ path, type }) => {
    const { emu, post } = await start({ writeAnswer: 'no-content' });
    const response = await post(path, type);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect(emu.activities).not.toHaveLength(0);
  });

  it("'no-content' leaves a refused write's error body alone", async () => {
    const { post } = await start({ writeAnswer: 'no-content' });
    const response = await post(`/users/${kwong.id}`, 'application/json');
    expect(response.status).toBe(415);
    expect(field(response.json, 'id')).toMatch(UUID_RE);
  });
});

describe('devices', () => {
  it('carries block.blockedAt on a blocked device: seeded, set by a block, gone after an unblock', async () => {
    const { emu, post } = await start();
    const seeded = emu.getDevice(jdoe.id, jdoe.blockedSmsDeviceId)?.block;
    expect(seeded?.status).toBe('BLOCKED');
    expect(Date.parse(String(seeded?.['blockedAt']))).toBeLessThan(Date.now());

    const before = Date.now();
    const blocked = await post(`/users/${jdoe.id}/devices/${jdoe.totpDeviceId}`, ActionContentType.blockDevice);
    expect(field(blocked.json, 'block', 'status')).toBe('BLOCKED');
    expect(Date.parse(String(field(blocked.json, 'block', 'blockedAt')))).toBeGreaterThanOrEqual(before - 1_000);

    const unblocked = await post(`/users/${jdoe.id}/devices/${jdoe.blockedSmsDeviceId}`, ActionContentType.unblockDevice);
    expect(field(unblocked.json, 'block')).toEqual({ status: 'UNBLOCKED' });
  });

  it('stores only documented device types', async () => {
    const { emu } = await start();
    const device = emu.getDevice(bsmith.id, bsmith.smsDeviceId)!;
    expect(() => emu.putDevice(bsmith.id, { ...device, type: 'YUBIKEY' })).toThrow(RangeError);
    expect(() => emu.putDevice(bsmith.id, { ...device, type: 'WHATSAPP' })).not.toThrow();
    const seeded = Object.values(demoSeed().devices).flat().map((d) => d.type);
    expect(seeded.filter((type) => !(DEVICE_TYPES as readonly string[]).includes(type))).toEqual([]);
  });
});

describe('external correlation headers', () => {
  it('turns invalid characters into _ and keeps at most 100 characters, as PingOne records them', async () => {
    const { emu, post } = await start();
    const long = `${'a'.repeat(99)}bcd`;
    await post(`/users/${jdoe.id}`, ActionContentType.unlockUser, { 'x-ping-external-transaction-id': 'txn 1;drop', 'x-ping-external-session-id': long });
    expect(emu.activities.at(-1)?.externalCorrelation).toEqual({ transactionId: 'txn_1_drop', sessionId: `${'a'.repeat(99)}b` });
  });

  it('keeps a valid value as it is', async () => {
    const { emu, post } = await start();
    await post(`/users/${jdoe.id}`, ActionContentType.unlockUser, { 'x-ping-external-transaction-id': 'a.b_c-d/e@f=g#h+i' });
    expect(emu.activities.at(-1)?.externalCorrelation).toEqual({ transactionId: 'a.b_c-d/e@f=g#h+i' });
  });
});

describe('the intercept seam', () => {
  it('lets an intercept answer, refuse like PingOne, or pass a request on; without one there is no test-only endpoint', async () => {
    const seen: string[] = [];
    const emu = await startEmulator({
      intercept: (x) => {
        seen.push(x.request.route);
        if (x.request.path.endsWith('/extra')) {
          x.send(x.refusal() ?? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"extra":true}' });
          return true;
        }
        return false;
      },
    });
    running = emu;
    const token = await getToken(emu);
    expect((await send(envUrl(emu, '/extra'))).status).toBe(401);
    expect((await send(envUrl(emu, '/extra'), { headers: { authorization: `Bearer ${token}` } })).json).toEqual({ extra: true });
    const user = await send(envUrl(emu, `/users/${bsmith.id}`), { headers: { authorization: `Bearer ${token}` } });
    expect(field(user.json, 'username')).toBe('bsmith');
    expect(seen).toEqual(['token', 'unknown', 'unknown', 'user.get']);

    const plain = await startEmulator();
    try {
      const activities = await send(envUrl(plain, '/activities'), { headers: { authorization: `Bearer ${await getToken(plain)}` } });
      expect(activities.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
