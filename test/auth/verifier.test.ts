import { createPublicKey } from 'node:crypto';
import { bearerAuthChallengeResponse, OAuthError } from '@modelcontextprotocol/server';
import { base64url, exportSPKI, importJWK, SignJWT } from 'jose';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenRejectedError, VerifierUnavailableError } from '../../src/auth/errors.js';
import { operatorFromAuthInfo } from '../../src/auth/tokenOperator.js';
import { createTokenVerifier } from '../../src/auth/verifier.js';
import { makeKey, signToken, startTestIssuer, type SigningKey, type TestIssuer, TEST_POLICY as POLICY } from './testIssuer.js';

const RESOURCE = 'https://helpdesk-mcp.example.com/mcp';
let idp: TestIssuer;
let key: SigningKey;
let rsaKey: SigningKey;

beforeAll(async () => {
  idp = await startTestIssuer();
  key = await makeKey('key-1', 'ES256');
  rsaKey = await makeKey('key-rsa', 'RS256');
  idp.published = [key, rsaKey];
});
afterAll(() => idp.close());

function verifier(options: Parameters<typeof createTokenVerifier>[1] = {}) {
  return createTokenVerifier({ issuer: idp.issuer, resource: RESOURCE, policy: POLICY }, options);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the token to be refused');
}

async function expectRejected(token: string, message: RegExp, check = verifier()): Promise<void> {
  const error = await rejection(check.verifyAccessToken(token));
  expect(error).toBeInstanceOf(TokenRejectedError);
  expect(error).toBeInstanceOf(OAuthError);
  expect(error.message).toMatch(message);
  expect(error.message).not.toContain(token.slice(0, 20));
  // What the HTTP layer answers with it: 401 and a Bearer challenge.
  const response = bearerAuthChallengeResponse(error, { resourceMetadataUrl: 'https://helpdesk-mcp.example.com/.well-known/oauth-protected-resource/mcp' });
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
  expect(await response.text()).not.toContain(token.slice(0, 20));
}

describe('createTokenVerifier with real tokens against a JWKS found through discovery', () => {
  it('accepts a valid token and reports its scopes, subject, expiry and resource', async () => {
    const token = await signToken({
      key,
      issuer: idp.issuer,
      audience: [RESOURCE, 'https://other.example.com'],
      claims: { scope: 'helpdesk:read openid', scp: ['helpdesk:write', 'bad scope'], client_id: 'client-1', preferred_username: 'bsmith' },
    });
    const info = await verifier().verifyAccessToken(token);
    expect(new Set(info.scopes)).toEqual(new Set(['helpdesk:read', 'openid', 'helpdesk:write']));
    expect(info.clientId).toBe('client-1');
    expect(info.resource?.href).toBe(RESOURCE);
    expect(info.expiresAt).toBeGreaterThan(Date.now() / 1000);
    const operator = operatorFromAuthInfo(info);
    expect(operator).toMatchObject({ verified: true, issuer: idp.issuer, subject: 'a9123f4e-6516-4aea-99d3-ed418a544f2d', displayName: 'bsmith' });
    expect(operator.scopes.has('helpdesk:write')).toBe(true);
  });

  it('accepts RS256 too, and an audience written with a trailing slash', async () => {
    const token = await signToken({ key: rsaKey, issuer: idp.issuer, audience: `${RESOURCE}/`, claims: { scope: 'helpdesk:read' } });
    await expect(verifier().verifyAccessToken(token)).resolves.toMatchObject({ scopes: ['helpdesk:read'] });
  });

  it('refuses an expired token', async () => {
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: RESOURCE, issuedAt: -700, expiresIn: 600 }), /expired/);
  });

  it('tolerates a small clock skew on exp, not a large one', async () => {
    const justExpired = await signToken({ key, issuer: idp.issuer, audience: RESOURCE, issuedAt: -610, expiresIn: 600 });
    await expect(verifier().verifyAccessToken(justExpired)).resolves.toBeDefined();
  });

  it('refuses a token that is not valid yet', async () => {
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: RESOURCE, notBefore: 300 }), /not valid yet/);
  });

  it('refuses a token that lives longer than the cap, however fresh', async () => {
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: RESOURCE, expiresIn: 3601 }), /longer than the 3600 s/);
    const strict = createTokenVerifier({ issuer: idp.issuer, resource: RESOURCE, policy: { ...POLICY, maxTokenLifetimeSeconds: 300 } });
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: RESOURCE, expiresIn: 600 }), /longer than the 300 s/, strict);
  });

  it('refuses a token without exp or iat', async () => {
    const now = Math.floor(Date.now() / 1000);
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(idp.issuer).setAudience(RESOURCE).setSubject('s').setIssuedAt(now).sign(key.privateKey);
    await expectRejected(noExp, /"exp"/);
    const noIat = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(idp.issuer).setAudience(RESOURCE).setSubject('s').setExpirationTime(now + 60).sign(key.privateKey);
    await expectRejected(noIat, /"iat"/);
  });

  it('refuses a token for another audience, including a longer path', async () => {
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: 'https://other.example.com/mcp' }), /audience/);
    await expectRejected(await signToken({ key, issuer: idp.issuer, audience: `${RESOURCE}-admin` }), /audience/);
  });

  it('refuses a token from another issuer, even signed with a published key', async () => {
    await expectRejected(await signToken({ key, issuer: `${idp.issuer}/other`, audience: RESOURCE }), /another issuer/);
  });

  it('refuses a token with a bad signature', async () => {
    const token = await signToken({ key, issuer: idp.issuer, audience: RESOURCE });
    const [header, payload] = token.split('.');
    const forged = `${header}.${base64url.encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(base64url.decode(payload as string))), scope: 'helpdesk:write' }))}.${token.split('.')[2]}`;
    await expectRejected(forged, /signature/);
    const impostor = await makeKey(key.kid, 'ES256'); // same kid, another private key
    await expectRejected(await signToken({ key: impostor, issuer: idp.issuer, audience: RESOURCE }), /signature/);
  });

  it('refuses alg none without asking the issuer for keys', async () => {
    const before = idp.requests.jwks + idp.requests.discovery;
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url.encode(
      JSON.stringify({ iss: idp.issuer, aud: RESOURCE, sub: 's', iat: now, exp: now + 60, scope: 'helpdesk:write' }),
    )}.`;
    await expectRejected(unsigned, /algorithm/, verifier());
    expect(idp.requests.jwks + idp.requests.discovery).toBe(before);
  });

  it('refuses HS256 signed with the public key as the HMAC secret', async () => {
    const publicPem = await exportSPKI((await importJWK(rsaKey.publicJwk, 'RS256', { extractable: true })) as Parameters<typeof exportSPKI>[0]);
    expect(createPublicKey(publicPem).type).toBe('public');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ scope: 'helpdesk:write' })
      .setProtectedHeader({ alg: 'HS256', kid: rsaKey.kid })
      .setIssuer(idp.issuer)
      .setAudience(RESOURCE)
      .setSubject('s')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(publicPem));
    await expectRejected(token, /algorithm/);
  });

  it('refuses garbage without fetching anything', async () => {
    await expectRejected('not-a-jwt', /not a signed JWT/);
    await expectRejected('a.b.c', /not a signed JWT/);
  });

  it('refuses any made-up token as invalid, never echoing it and never asking the issuer', async () => {
    const before = idp.requests.jwks + idp.requests.discovery;
    const check = verifier();
    const segment = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'.split('')), minLength: 1, maxLength: 80 });
    const header = fc.constantFrom('none', 'HS256', 'HS512', 'nonE', '', 'RS256 ').map((alg) => base64url.encode(JSON.stringify({ alg, typ: 'JWT' })));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ minLength: 8, maxLength: 300 }), fc.tuple(header, segment, segment).map((parts) => parts.join('.'))), async (token) => {
        const error = await rejection(check.verifyAccessToken(token));
        expect(error).toBeInstanceOf(TokenRejectedError);
        expect(error.message).not.toContain(token);
      }),
      { numRuns: 300 },
    );
    expect(idp.requests.jwks + idp.requests.discovery).toBe(before);
  });

  it('reports an unreachable issuer as unavailable (500, no challenge), and does not hammer it', async () => {
    const gone = await startTestIssuer();
    const address = gone.issuer;
    await gone.close();
    const check = createTokenVerifier({ issuer: address, resource: RESOURCE, policy: POLICY }, { retryAfterFailureMs: 60_000, timeoutMs: 2_000 });
    const token = await signToken({ key, issuer: address, audience: RESOURCE });
    const first = await rejection(check.verifyAccessToken(token));
    expect(first).toBeInstanceOf(VerifierUnavailableError);
    expect(bearerAuthChallengeResponse(first).status).toBe(500);
    expect(bearerAuthChallengeResponse(first).headers.get('www-authenticate')).toBeNull();
    const second = await rejection(check.verifyAccessToken(token));
    expect(second.message).toMatch(/recently/);
  });

  it('reports a failing JWKS endpoint as unavailable, asks it once per pause, and recovers', async () => {
    const flaky = await startTestIssuer('/flaky');
    try {
      flaky.published = [key];
      flaky.jwks = 'failing';
      const check = createTokenVerifier({ issuer: flaky.issuer, resource: RESOURCE, policy: POLICY }, { retryAfterFailureMs: 300 });
      const token = await signToken({ key, issuer: flaky.issuer, audience: RESOURCE });
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => check.verifyAccessToken(token)));
      expect(results.every((result) => result.status === 'rejected' && result.reason instanceof VerifierUnavailableError)).toBe(true);
      await expect(check.verifyAccessToken(token)).rejects.toBeInstanceOf(VerifierUnavailableError);
      expect(flaky.requests.jwks).toBe(1);
      flaky.jwks = 'ok';
      await new Promise((resolve) => setTimeout(resolve, 400));
      await expect(check.verifyAccessToken(token)).resolves.toBeDefined();
      expect(flaky.requests.jwks).toBe(2);
    } finally {
      await flaky.close();
    }
  });

  it('finds the keys through RFC 8414 metadata when there is no OpenID configuration', async () => {
    const other = await startTestIssuer('/tenant-2');
    try {
      other.discovery = 'rfc8414';
      other.published = [key];
      const check = createTokenVerifier({ issuer: other.issuer, resource: RESOURCE, policy: POLICY });
      await expect(check.verifyAccessToken(await signToken({ key, issuer: other.issuer, audience: RESOURCE }))).resolves.toBeDefined();
      expect(other.requests.discovery).toBe(2); // the OpenID path answered 404 first
    } finally {
      await other.close();
    }
  });

  it('caches the key set: many tokens, one discovery and one JWKS fetch', async () => {
    const other = await startTestIssuer('/cache');
    try {
      other.published = [key];
      const check = createTokenVerifier({ issuer: other.issuer, resource: RESOURCE, policy: POLICY });
      const tokens = await Promise.all(Array.from({ length: 20 }, () => signToken({ key, issuer: other.issuer, audience: RESOURCE })));
      await Promise.all(tokens.map((token) => check.verifyAccessToken(token)));
      expect(other.requests).toEqual({ discovery: 1, jwks: 1 });
    } finally {
      await other.close();
    }
  });
});

describe('key rotation', () => {
  it('fetches the JWKS again for an unknown kid once the cooldown has passed, and a flood of unknown kids costs one fetch', async () => {
    const rotating = await startTestIssuer('/rotating');
    try {
      const oldKey = await makeKey('old');
      rotating.published = [oldKey];
      const cooldownMs = 300;
      const check = createTokenVerifier({ issuer: rotating.issuer, resource: RESOURCE, policy: POLICY }, { cooldownMs });
      await check.verifyAccessToken(await signToken({ key: oldKey, issuer: rotating.issuer, audience: RESOURCE }));
      expect(rotating.requests.jwks).toBe(1);

      // The issuer rotates; after the cooldown a token with the new kid makes the verifier look again.
      const newKey = await makeKey('new');
      rotating.published = [newKey];
      await new Promise((resolve) => setTimeout(resolve, cooldownMs + 100));
      await expect(check.verifyAccessToken(await signToken({ key: newKey, issuer: rotating.issuer, audience: RESOURCE }))).resolves.toBeDefined();
      expect(rotating.requests.jwks).toBe(2);

      // Made-up kids within the cooldown: all refused, none fetched.
      await new Promise((resolve) => setTimeout(resolve, cooldownMs + 100));
      const flood = await Promise.all(
        Array.from({ length: 50 }, (_, index) => signToken({ key: newKey, kid: `made-up-${index}`, issuer: rotating.issuer, audience: RESOURCE })),
      );
      const results = await Promise.allSettled(flood.map((token) => check.verifyAccessToken(token)));
      expect(results.every((result) => result.status === 'rejected' && result.reason instanceof TokenRejectedError)).toBe(true);
      expect(rotating.requests.jwks).toBe(3); // one re-fetch for the whole flood, past the cooldown
      await Promise.allSettled(flood.map((token) => check.verifyAccessToken(token)));
      expect(rotating.requests.jwks).toBe(3); // and none while cooling down
      expect(rotating.requests.discovery).toBe(1);
    } finally {
      await rotating.close();
    }
  });
});
