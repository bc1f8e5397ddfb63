import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { OAuthPolicy } from '../../src/config.js';

/** The token policy every OAuth test runs under: the default scopes, claims and lifetime cap. */
export const TEST_POLICY: OAuthPolicy = {
  scopes: { read: 'helpdesk:read', write: 'helpdesk:write' },
  displayNameClaims: ['preferred_username', 'email', 'sub'],
  maxTokenLifetimeSeconds: 3600,
};

/**
 * A real issuer on loopback for the verifier tests: a discovery document and
 * a JWKS served over HTTP, keys made by jose, and a count of every request so
 * tests can see when the verifier fetched.
 */
export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function makeKey(kid: string, alg: 'RS256' | 'ES256' = 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface TestIssuer {
  readonly issuer: string;
  /** Keys the JWKS publishes; replace to rotate. */
  published: SigningKey[];
  /** Which discovery document exists: both, or only one of the two forms. */
  discovery: 'oidc' | 'rfc8414';
  /** Whether the JWKS endpoint works or answers 503. */
  jwks: 'ok' | 'failing';
  /** While set, the JWKS endpoint answers only once this settles (a slow issuer). */
  jwksHeld: Promise<void> | undefined;
  readonly requests: { discovery: number; jwks: number };
  close(): Promise<void>;
}

export async function startTestIssuer(path = '/as'): Promise<TestIssuer> {
  let issuer = '';
  const state: TestIssuer = {
    issuer: '',
    published: [],
    discovery: 'oidc',
    jwks: 'ok',
    jwksHeld: undefined,
    requests: { discovery: 0, jwks: 0 },
    close: async () => {},
  };
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '/';
    const json = (status: number, body: unknown) => response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    const document = { issuer, jwks_uri: `${issuer}/jwks`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` };
    if (url === `${path}/.well-known/openid-configuration`) {
      state.requests.discovery += 1;
      return state.discovery === 'oidc' ? json(200, document) : json(404, { error: 'not_found' });
    }
    if (url === `/.well-known/oauth-authorization-server${path}`) {
      state.requests.discovery += 1;
      return state.discovery === 'rfc8414' ? json(200, document) : json(404, { error: 'not_found' });
    }
    if (url === `${path}/jwks`) {
      state.requests.jwks += 1;
      const answer = () => (state.jwks === 'failing' ? json(503, { error: 'unavailable' }) : json(200, { keys: state.published.map((key) => key.publicJwk) }));
      if (state.jwksHeld !== undefined) return void state.jwksHeld.then(answer);
      return answer();
    }
    return json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  Object.assign(state, {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return state;
}

export interface TokenParts {
  readonly key: SigningKey;
  readonly issuer: string;
  readonly audience: string | string[];
  readonly subject?: string;
  /** Seconds relative to now. */
  readonly issuedAt?: number;
  readonly expiresIn?: number;
  readonly notBefore?: number;
  readonly claims?: JWTPayload;
  /** Overrides the header's kid (e.g. one the JWKS does not publish). */
  readonly kid?: string;
}

export async function signToken(parts: TokenParts): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iat = now + (parts.issuedAt ?? 0);
  const jwt = new SignJWT({ ...parts.claims })
    .setProtectedHeader({ alg: parts.key.alg, kid: parts.kid ?? parts.key.kid, typ: 'at+jwt' })
    .setIssuer(parts.issuer)
    .setAudience(parts.audience)
    .setSubject(parts.subject ?? 'a9123f4e-6516-4aea-99d3-ed418a544f2d')
    .setIssuedAt(iat)
    .setExpirationTime(iat + (parts.expiresIn ?? 600));
  if (parts.notBefore !== undefined) jwt.setNotBefore(now + parts.notBefore);
  return jwt.sign(parts.key.privateKey);
}
