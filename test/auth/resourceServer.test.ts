import { extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OAuthConfig } from '../../src/config.js';
import { createResourceServer, resourceServerSettings, type ResourceServer } from '../../src/auth/resourceServer.js';
import { makeKey, signToken, startTestIssuer, type SigningKey, type TestIssuer, TEST_POLICY as POLICY } from './testIssuer.js';

const RESOURCE = 'https://helpdesk-mcp.example.com/team/mcp';
const METADATA_URL = 'https://helpdesk-mcp.example.com/.well-known/oauth-protected-resource/team/mcp';
let idp: TestIssuer;
let key: SigningKey;
let server: ResourceServer;

beforeAll(async () => {
  idp = await startTestIssuer();
  key = await makeKey('k1');
  idp.published = [key];
  server = createResourceServer({ issuer: idp.issuer, resource: RESOURCE, policy: POLICY });
});
afterAll(() => idp.close());

const request = (path: string, init: RequestInit = {}) => new Request(new URL(path, 'https://helpdesk-mcp.example.com'), init);
const bearer = (token: string) => request('/team/mcp', { method: 'POST', headers: { authorization: `Bearer ${token}` } });

describe('Protected Resource Metadata (RFC 9728)', () => {
  it('is served at the root and the path-aware well-known paths, naming the resource, the issuer and the scopes', async () => {
    expect(server.resourceMetadataUrl).toBe(METADATA_URL);
    expect([...server.metadataPaths].sort()).toEqual(['/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/team/mcp']);
    for (const path of server.metadataPaths) {
      const response = server.metadataResponse(request(path));
      expect(response?.status).toBe(200);
      expect(await response?.json()).toEqual({
        resource: RESOURCE,
        authorization_servers: [idp.issuer],
        scopes_supported: ['helpdesk:read', 'helpdesk:write'],
        bearer_methods_supported: ['header'],
        resource_name: 'PingOne helpdesk MCP server',
      });
    }
  });

  it('leaves other paths to the caller and refuses methods other than GET, HEAD and OPTIONS', () => {
    expect(server.metadataResponse(request('/team/mcp'))).toBeUndefined();
    expect(server.metadataResponse(request('/.well-known/oauth-protected-resource/other'))).toBeUndefined();
    expect(server.metadataResponse(request('/.well-known/oauth-protected-resource', { method: 'POST' }))?.status).toBe(405);
    expect(server.metadataResponse(request('/.well-known/oauth-protected-resource', { method: 'HEAD' }))?.status).toBe(200);
  });
});

describe('authenticate', () => {
  it('answers a request without a token with 401 and a challenge the SDK client reads', async () => {
    const response = await server.authenticate(request('/team/mcp', { method: 'POST' }));
    if (!(response instanceof Response)) throw new Error('expected a refusal');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA_URL}", scope="helpdesk:read"`);
    const challenge = extractWWWAuthenticateParams(response);
    expect(challenge.resourceMetadataUrl?.href).toBe(METADATA_URL);
    expect(challenge.scope).toBe('helpdesk:read');
  });

  it('answers a rejected token with 401 invalid_token', async () => {
    const other = await signToken({ key, issuer: idp.issuer, audience: 'https://elsewhere.example.com/mcp', claims: { scope: 'helpdesk:read' } });
    const response = await server.authenticate(bearer(other));
    if (!(response instanceof Response)) throw new Error('expected a refusal');
    expect(response.status).toBe(401);
    expect(extractWWWAuthenticateParams(response).error).toBe('invalid_token');
  });

  it('passes a valid token through as AuthInfo that maps to a verified operator', async () => {
    const token = await signToken({ key, issuer: idp.issuer, audience: RESOURCE, claims: { scope: 'helpdesk:read', email: 'ops@example.com' } });
    const info = await server.authenticate(bearer(token));
    if (info instanceof Response) throw new Error(`refused with ${info.status}`);
    const operator = server.operatorOf(info);
    expect(operator).toMatchObject({ verified: true, issuer: idp.issuer, displayName: 'ops@example.com' });
    expect([...operator.scopes]).toEqual(['helpdesk:read']);
    expect(info.resourceMetadataUrl).toBe(METADATA_URL);
  });

  it('answers a valid token that allows nothing here with 403 insufficient_scope', async () => {
    const token = await signToken({ key, issuer: idp.issuer, audience: RESOURCE, claims: { scope: 'openid profile' } });
    const response = await server.authenticate(bearer(token));
    if (!(response instanceof Response)) throw new Error('expected a refusal');
    expect(response.status).toBe(403);
    expect(extractWWWAuthenticateParams(response)).toMatchObject({ error: 'insufficient_scope', scope: 'helpdesk:read' });
  });
});

describe('insufficientScope', () => {
  it('is a 403 step-up challenge asking for the read and the write scope, with the metadata URL', () => {
    const response = server.insufficientScope('write');
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_scope"/);
    expect(extractWWWAuthenticateParams(response)).toMatchObject({ scope: 'helpdesk:read helpdesk:write', resourceMetadataUrl: new URL(METADATA_URL) });
  });
});

describe('warmUp', () => {
  it('fetches discovery and the JWKS once, so that later tokens cost no fetch', async () => {
    const fresh = await startTestIssuer('/warm');
    try {
      fresh.published = [key];
      const warm = createResourceServer({ issuer: fresh.issuer, resource: RESOURCE, policy: POLICY });
      await warm.warmUp();
      expect(fresh.requests).toEqual({ discovery: 1, jwks: 1 });
      const token = await signToken({ key, issuer: fresh.issuer, audience: RESOURCE, claims: { scope: 'helpdesk:read' } });
      expect(await warm.authenticate(bearer(token))).not.toBeInstanceOf(Response);
      expect(fresh.requests).toEqual({ discovery: 1, jwks: 1 });
    } finally {
      await fresh.close();
    }
  });

  it('names a wrong issuer: the discovery document must name the configured one', async () => {
    const wrong = createResourceServer({ issuer: `${idp.issuer}/`, resource: RESOURCE, policy: POLICY });
    await expect(wrong.warmUp()).rejects.toThrow(/names another issuer than PINGONE_MCP_OAUTH_ISSUER/);
  });
});

describe('resourceServerSettings', () => {
  it('is undefined when OAuth is off, the configured issuer for a tenant, and left to startSandboxOAuth in the sandbox', () => {
    const off: OAuthConfig = { kind: 'off', policy: POLICY };
    expect(resourceServerSettings(off)).toBeUndefined();
    const tenant: OAuthConfig = { kind: 'issuer', issuer: 'https://auth.pingone.eu/e/as', resource: RESOURCE, policy: POLICY };
    expect(resourceServerSettings(tenant)).toEqual({ issuer: 'https://auth.pingone.eu/e/as', resource: RESOURCE, policy: POLICY });
    expect(() => resourceServerSettings({ kind: 'sandbox', policy: POLICY })).toThrow(/startSandboxOAuth/);
  });
});
