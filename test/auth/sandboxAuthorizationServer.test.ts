import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceServer, type ResourceServer } from '../../src/auth/resourceServer.js';
import { startSandboxAuthorizationServer, type SandboxAuthorizationServer } from '../../src/sandbox/oauth/authorizationServer.js';
import { startSandboxOAuth } from '../../src/sandbox/oauth/index.js';
import { DEMO_USERS } from '../../src/sandbox/seed.js';
import { REDIRECT, TestClientProvider } from './clientProvider.js';
import { TEST_POLICY as POLICY } from './testIssuer.js';

let as: SandboxAuthorizationServer;
let rs: ResourceServer;
let mcp: Server;
let resource = '';

/** A stand-in for the MCP endpoint: metadata, the bearer gate, and the operator it saw. */
async function startProtectedEndpoint(): Promise<void> {
  mcp = createServer((req, res) => {
    void (async () => {
      const request = new Request(new URL(req.url ?? '/', resource), { method: req.method ?? 'GET', headers: req.headers as Record<string, string> });
      const answer = rs.metadataResponse(request) ?? (await rs.authenticate(request));
      if (answer instanceof Response) {
        res.writeHead(answer.status, Object.fromEntries(answer.headers)).end(await answer.text());
        return;
      }
      const operator = rs.operatorOf(answer);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...operator, scopes: [...operator.scopes] }));
    })();
  });
  await new Promise<void>((resolve) => mcp.listen(0, '127.0.0.1', resolve));
  resource = `http://127.0.0.1:${(mcp.address() as AddressInfo).port}/mcp`;
}

beforeAll(async () => {
  await startProtectedEndpoint();
  as = await startSandboxAuthorizationServer({ resource, scopes: POLICY.scopes });
  rs = createResourceServer({ issuer: as.issuer, resource, policy: POLICY });
});
afterAll(async () => {
  await as.close();
  await new Promise<void>((resolve) => mcp.close(() => resolve()));
});

async function signIn(loginHint?: string) {
  const provider = new TestClientProvider(loginHint);
  expect(await auth(provider, { serverUrl: resource })).toBe('REDIRECT');
  const callback = provider.callback;
  if (callback === undefined) throw new Error('no redirect');
  expect(callback.origin + callback.pathname).toBe(REDIRECT);
  expect(callback.searchParams.get('iss')).toBe(as.issuer);
  const code = callback.searchParams.get('code');
  if (code === null) throw new Error(`authorization refused: ${callback.searchParams.get('error_description')}`);
  expect(await auth(provider, { serverUrl: resource, authorizationCode: code, iss: as.issuer })).toBe('AUTHORIZED');
  const tokens = provider.tokens();
  if (tokens === undefined) throw new Error('no tokens saved');
  return { provider, tokens };
}

describe('the official SDK client against the sandbox authorization server', () => {
  it('completes discovery from the resource, registration, authorization with PKCE S256 and the token request; the token verifies', async () => {
    const { tokens } = await signIn();
    const info = await rs.verifier.verifyAccessToken(tokens.access_token);
    const operator = rs.operatorOf(info);
    expect(operator).toMatchObject({ verified: true, issuer: as.issuer, subject: DEMO_USERS.bsmith.id, displayName: 'bsmith' });
    expect(new Set(operator.scopes)).toEqual(new Set(['helpdesk:read', 'helpdesk:write']));
    const claims = decodeJwt(tokens.access_token);
    expect(claims.aud).toBe(resource);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBeLessThanOrEqual(POLICY.maxTokenLifetimeSeconds);

    // Only for this resource: a server at another URL refuses the same token.
    const elsewhere = createResourceServer({ issuer: as.issuer, resource: 'http://127.0.0.1:1/mcp', policy: POLICY });
    await expect(elsewhere.verifier.verifyAccessToken(tokens.access_token)).rejects.toThrow(/audience/);

    const seen = await fetch(resource, { method: 'POST', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(seen.status).toBe(200);
    expect(await seen.json()).toMatchObject({ subject: DEMO_USERS.bsmith.id });
  });

  it('signs in the read-only operator named by login_hint, with the read scope only', async () => {
    const { tokens } = await signIn('ops1');
    const operator = rs.operatorOf(await rs.verifier.verifyAccessToken(tokens.access_token));
    expect(operator.subject).toBe(DEMO_USERS.ops1.id);
    expect([...operator.scopes]).toEqual(['helpdesk:read']);
  });

  it('refreshes with rotation: the new token verifies, the old refresh token is dead', async () => {
    const { provider, tokens } = await signIn();
    const refresh = tokens.refresh_token;
    if (refresh === undefined) throw new Error('no refresh token');
    const clientId = provider.clientInformation()?.client_id ?? '';
    const renew = () =>
      fetch(`${as.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refresh, client_id: clientId }) });
    const first = await renew();
    expect(first.status).toBe(200);
    const renewed = (await first.json()) as { access_token: string; refresh_token: string };
    expect(renewed.refresh_token).not.toBe(refresh);
    await expect(rs.verifier.verifyAccessToken(renewed.access_token)).resolves.toBeDefined();
    const again = await renew();
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    const narrowed = await fetch(`${as.issuer}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: renewed.refresh_token, client_id: clientId, scope: 'helpdesk:read' }),
    });
    expect(await narrowed.json()).toMatchObject({ scope: 'helpdesk:read' });
  });
});

describe('the sandbox authorization server refuses', () => {
  let clientId = '';
  const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

  beforeAll(async () => {
    const registered = await fetch(`${as.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
    });
    expect(registered.status).toBe(201);
    clientId = ((await registered.json()) as { client_id: string }).client_id;
  });

  async function authorize(params: Record<string, string>): Promise<URL | Response> {
    const url = new URL(`${as.issuer}/authorize`);
    for (const [key, value] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, state: 's1', ...params })) url.searchParams.set(key, value);
    const response = await fetch(url, { redirect: 'manual' });
    return response.status === 302 ? new URL(response.headers.get('location') ?? '') : response;
  }

  async function codeFor(verifier: string, extra: Record<string, string> = {}): Promise<string> {
    const back = await authorize({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256', ...extra });
    if (!(back instanceof URL)) throw new Error(`authorize answered ${back.status}`);
    return back.searchParams.get('code') ?? '';
  }

  const exchange = (fields: Record<string, string>) =>
    fetch(`${as.issuer}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, redirect_uri: REDIRECT, ...fields }) });

  it('an authorization request without PKCE S256 (plain or none)', async () => {
    for (const params of [{}, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }]) {
      const back = await authorize(params);
      if (!(back instanceof URL)) throw new Error('expected a redirect with an error');
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe('s1');
      expect(back.searchParams.get('code')).toBeNull();
    }
  });

  it('an unregistered client or redirect URI, without redirecting anywhere', async () => {
    const unknownClient = await authorize({ client_id: 'nobody', code_challenge: challengeOf('v'.repeat(43)), code_challenge_method: 'S256' });
    expect(unknownClient).toBeInstanceOf(Response);
    expect((unknownClient as Response).status).toBe(400);
    const foreign = await authorize({ redirect_uri: 'https://attacker.example.com/cb', code_challenge: challengeOf('v'.repeat(43)), code_challenge_method: 'S256' });
    expect((foreign as Response).status).toBe(400);
  });

  it('a token for another resource, and an unknown operator', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const other = await authorize({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256', resource: 'https://elsewhere.example.com/mcp' });
    expect((other as URL).searchParams.get('error')).toBe('invalid_target');
    const nobody = await authorize({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256', login_hint: 'mallory' });
    expect((nobody as URL).searchParams.get('error')).toBe('access_denied');
  });

  it('write scope for the read-only operator; otherwise grants every scope the operator holds', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const writeOnly = await authorize({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256', login_hint: 'ops1', scope: 'helpdesk:write' });
    expect((writeOnly as URL).searchParams.get('error')).toBe('invalid_scope');
    const both = await codeFor(verifier, { login_hint: 'ops1', scope: 'helpdesk:read helpdesk:write' });
    expect(await (await exchange({ code: both, code_verifier: verifier })).json()).toMatchObject({ scope: 'helpdesk:read' });
    const readOnly = await codeFor(verifier, { login_hint: 'bsmith', scope: 'helpdesk:read' });
    expect(await (await exchange({ code: readOnly, code_verifier: verifier })).json()).toMatchObject({ scope: 'helpdesk:read helpdesk:write' });
  });

  it('a wrong code verifier, and the code once tried is spent', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await codeFor(verifier);
    const wrong = await exchange({ code, code_verifier: randomBytes(32).toString('base64url') });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: 'invalid_grant' });
    const late = await exchange({ code, code_verifier: verifier });
    expect(await late.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('a reused code, another redirect URI, and another client', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const code = await codeFor(verifier);
    expect((await exchange({ code, code_verifier: verifier })).status).toBe(200);
    expect((await exchange({ code, code_verifier: verifier })).status).toBe(400);
    const second = await codeFor(verifier);
    expect(await (await exchange({ code: second, code_verifier: verifier, redirect_uri: 'http://127.0.0.1:9/other' })).json()).toMatchObject({ error: 'invalid_grant' });
    const third = await codeFor(verifier);
    expect((await exchange({ code: third, code_verifier: verifier, client_id: 'nobody' })).status).toBe(401);
  });

  it('registrations with unsafe redirect URIs or an unknown auth method', async () => {
    for (const body of [
      { redirect_uris: ['http://attacker.example.com/cb'] },
      { redirect_uris: ['javascript:alert(1)'] },
      { redirect_uris: ['https://ok.example.com/cb#frag'] },
      { redirect_uris: [] },
      { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'private_key_jwt' },
    ]) {
      const response = await fetch(`${as.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(400);
    }
  });

  it('a confidential client without its secret, and accepts it with Basic authentication', async () => {
    const registered = (await (
      await fetch(`${as.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' }) })
    ).json()) as { client_id: string; client_secret: string };
    const verifier = randomBytes(32).toString('base64url');
    const url = new URL(`${as.issuer}/authorize`);
    url.search = new URLSearchParams({ response_type: 'code', client_id: registered.client_id, redirect_uri: REDIRECT, code_challenge: challengeOf(verifier), code_challenge_method: 'S256' }).toString();
    const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '').searchParams.get('code') ?? '';
    const form = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT };
    const bare = await fetch(`${as.issuer}/token`, { method: 'POST', body: new URLSearchParams({ ...form, client_id: registered.client_id }) });
    expect(bare.status).toBe(401);
    const code2 = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '').searchParams.get('code') ?? '';
    const basic = Buffer.from(`${registered.client_id}:${registered.client_secret}`).toString('base64');
    const ok = await fetch(`${as.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: new URLSearchParams({ ...form, code: code2 }) });
    expect(ok.status).toBe(200);
  });

  it('a registration a web page could send without a CORS preflight (text/plain): no client for a drive-by token', async () => {
    const response = await fetch(`${as.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({ redirect_uris: ['https://evil.example/cb'], token_endpoint_auth_method: 'none' }),
    });
    expect(response.status).toBe(415);
    expect(await response.json()).not.toHaveProperty('client_id');
  });

  it('Basic client authentication with a malformed escape: 401 invalid_client, not a server error', async () => {
    const basic = Buffer.from('%E0%A4%A:secret').toString('base64');
    const response = await fetch(`${as.issuer}/token`, { method: 'POST', headers: { authorization: `Basic ${basic}` }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x' }) });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('to listen anywhere but loopback, or with an unknown default operator', async () => {
    await expect(startSandboxAuthorizationServer({ resource, scopes: POLICY.scopes, host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
    await expect(startSandboxAuthorizationServer({ resource, scopes: POLICY.scopes, defaultOperator: 'mallory' })).rejects.toThrow(/bsmith, ops1/);
  });
});

describe('startSandboxOAuth', () => {
  it('starts the server for the configured resource and default operator, and returns settings that accept exactly its tokens', async () => {
    const configured = 'http://localhost:9999/team/mcp';
    const { authorizationServer, settings } = await startSandboxOAuth({ kind: 'sandbox', policy: POLICY, resource: configured, sandboxOperator: 'ops1' }, resource);
    try {
      expect(settings).toEqual({ issuer: authorizationServer.issuer, resource: configured, policy: POLICY });
      const registered = (await (
        await fetch(`${authorizationServer.issuer}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) })
      ).json()) as { client_id: string };
      const verifier = randomBytes(32).toString('base64url');
      const url = new URL(`${authorizationServer.issuer}/authorize`);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: registered.client_id,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      const code = new URL((await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '').searchParams.get('code') ?? '';
      const tokens = (await (
        await fetch(`${authorizationServer.issuer}/token`, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: registered.client_id }),
        })
      ).json()) as { access_token: string };
      const operator = createResourceServer(settings).operatorOf(await createResourceServer(settings).verifier.verifyAccessToken(tokens.access_token));
      expect(operator).toMatchObject({ subject: DEMO_USERS.ops1.id, displayName: 'ops1' });
    } finally {
      await authorizationServer.close();
    }
  });
});
