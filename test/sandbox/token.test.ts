import { afterEach, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/sandbox/emulator.js';
import { basicAuth, envUrl, field, getToken, send, tokenUrl } from './helpers.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
let emulator: Emulator | undefined;

afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function start(options: Parameters<typeof startEmulator>[0] = {}): Promise<Emulator> {
  emulator = await startEmulator(options);
  return emulator;
}

describe('token endpoint', () => {
  it('issues a bearer token with client_secret_basic (the default)', async () => {
    const emu = await start();
    const response = await send(tokenUrl(emu), {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth(emu.clientId, emu.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const token = field(response.json, 'access_token');
    expect(typeof token).toBe('string');
    expect(emu.issuedTokens).toEqual([token]);
    expect(token).not.toContain(emu.clientSecret);
  });

  it('issues a token with client_secret_post when configured for it', async () => {
    const emu = await start({ tokenAuthMethod: 'client_secret_post', tokenLifetimeSeconds: 120 });
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret });
    const response = await send(tokenUrl(emu), { method: 'POST', headers: FORM, body: body.toString() });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ token_type: 'Bearer', expires_in: 120 });
  });

  it('rejects a wrong secret with OAuth invalid_client, not a P1Error', async () => {
    const emu = await start();
    const response = await send(tokenUrl(emu), {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth(emu.clientId, `${emu.clientSecret}x`) },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(emu.issuedTokens).toHaveLength(0);
  });

  it('rejects the other authentication method (post when basic is configured)', async () => {
    const emu = await start();
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret });
    const response = await send(tokenUrl(emu), { method: 'POST', headers: FORM, body: body.toString() });
    expect(response.status).toBe(401);
    expect(field(response.json, 'error')).toBe('invalid_client');
  });

  it('rejects the other authentication method (basic when post is configured)', async () => {
    const emu = await start({ tokenAuthMethod: 'client_secret_post' });
    const response = await send(tokenUrl(emu), {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth(emu.clientId, emu.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(field(response.json, 'error')).toBe('invalid_client');
  });

  it('rejects an unsupported grant type', async () => {
    const emu = await start();
    const response = await send(tokenUrl(emu), {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth(emu.clientId, emu.clientSecret) },
      body: 'grant_type=password&username=a&password=b',
    });
    expect(response.status).toBe(400);
    expect(field(response.json, 'error')).toBe('unsupported_grant_type');
  });

  it('rejects an unknown environment in the token path', async () => {
    const emu = await start();
    const response = await send(`${emu.authUrl}/2f0c8f3e-5a4b-4c3d-9e8f-7a6b5c4d3e2f/as/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basicAuth(emu.clientId, emu.clientSecret) },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(401);
    expect(field(response.json, 'error')).toBe('invalid_client');
  });

  it('uses a random secret per emulator unless one is given', async () => {
    const a = await startEmulator();
    const b = await startEmulator({ clientId: 'fixed-id', clientSecret: 'fixed-secret' });
    try {
      expect(a.clientSecret.length).toBeGreaterThanOrEqual(32);
      expect(b.clientId).toBe('fixed-id');
      expect(b.clientSecret).toBe('fixed-secret');
      const c = await startEmulator();
      expect(c.clientSecret).not.toBe(a.clientSecret);
      await c.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('expires tokens after tokenLifetimeSeconds', async () => {
    const emu = await start({ tokenLifetimeSeconds: 0.5 });
    const token = await getToken(emu);
    const first = await send(envUrl(emu, '/users'), { headers: { authorization: `Bearer ${token}` } });
    expect(first.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const later = await send(envUrl(emu, '/users'), { headers: { authorization: `Bearer ${token}` } });
    expect(later.status).toBe(401);
    expect(field(later.json, 'details', 0, 'code')).toBe('INVALID_TOKEN');
  });

  it('expireTokens() invalidates every issued token', async () => {
    const emu = await start();
    const token = await getToken(emu);
    emu.expireTokens();
    const response = await send(envUrl(emu, '/users'), { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
  });
});
