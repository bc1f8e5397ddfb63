import { extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKey } from '../auth/testIssuer.js';
import { READ_SCOPE, startHttpHarness, type HarnessOAuth, type HttpHarness } from './support.js';

/**
 * The listener in tenant mode, at the HTTP layer: tokens signed by a real
 * issuer on loopback (discovery + JWKS), checked by src/auth's verifier behind
 * the real HttpService. Every refused token gets 401 with a challenge that
 * sends the client back to the metadata, naming the read scope.
 */
let harness: HttpHarness;
let oauth: HarnessOAuth;

beforeAll(async () => {
  harness = await startHttpHarness({ oauth: {} });
  oauth = harness.oauth!;
});
afterAll(() => harness.close());

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

function post(token: string): Promise<Response> {
  return fetch(harness.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify(INITIALIZE),
  });
}

async function expectRefused(token: string, reason: RegExp): Promise<void> {
  const sessionsBefore = harness.service.sessionCount;
  const response = await post(token);
  const body = await response.text();
  expect(response.status).toBe(401);
  const challenge = extractWWWAuthenticateParams(response);
  expect(challenge).toMatchObject({ error: 'invalid_token', scope: READ_SCOPE });
  expect(challenge.resourceMetadataUrl?.href).toBe(`${harness.url.origin}/.well-known/oauth-protected-resource/mcp`);
  expect(body).toMatch(reason);
  expect(body + (response.headers.get('www-authenticate') ?? '')).not.toContain(token);
  expect(harness.service.sessionCount, 'a refused token opens no session').toBe(sessionsBefore);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tenant OAuth at the HTTP layer: refused tokens', () => {
  it('accepts a well-formed token (the baseline every case below departs from)', async () => {
    const response = await post(await oauth.token());
    await response.text();
    expect(response.status).toBe(200);
  });

  it('expired', async () => {
    await expectRefused(await oauth.token({ issuedAt: -900, expiresIn: 600 }), /expired/);
  });

  it('not yet valid (nbf in the future)', async () => {
    await expectRefused(await oauth.token({ notBefore: 600 }), /not valid yet/);
  });

  it('too long-lived (exp - iat over PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS)', async () => {
    await expectRefused(await oauth.token({ expiresIn: 2 * 3600 }), /lives longer/);
  });

  it('for another audience', async () => {
    await expectRefused(await oauth.token({ audience: 'https://elsewhere.example.com/mcp' }), /audience/);
  });

  it('from another issuer', async () => {
    await expectRefused(await oauth.token({ issuer: 'https://other-issuer.example.com/as' }), /another issuer/);
  });

  it('badly signed (another key under the published key id)', async () => {
    const impostor = await makeKey(oauth.key.kid);
    await expectRefused(await oauth.token({ key: impostor }), /signature/);
  });

  it('alg none', async () => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: oauth.idp.issuer, aud: oauth.resource, sub: 'x', iat: now, exp: now + 300, scope: READ_SCOPE };
    await expectRefused(`${base64url({ alg: 'none', typ: 'at+jwt' })}.${base64url(payload)}.`, /algorithm/);
  });

  it('an unknown kid is refused, and accepted once the issuer publishes it (JWKS rotation re-fetched)', async () => {
    const rotated = await makeKey('rotated-key');
    const token = await oauth.token({ key: rotated });
    const before = oauth.idp.requests.jwks;
    await expectRefused(token, /key the issuer does not publish/);
    expect(oauth.idp.requests.jwks).toBeGreaterThan(before);
    oauth.idp.published = [oauth.key, rotated];
    const response = await post(token);
    await response.text();
    expect(response.status).toBe(200);
  });
});
