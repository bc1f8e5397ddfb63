import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type OAuthConfig } from '../../src/config.js';

const ENV_ID = '0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b';
const AUTH_ENV_ID = 'a1b2c3d4-e5f6-4789-9abc-def012345678';

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PINGONE_ENVIRONMENT_ID: ENV_ID,
    PINGONE_CLIENT_ID: 'worker-client-id',
    PINGONE_CLIENT_SECRET: 'not-a-real-secret',
    PINGONE_MCP_AUDIT_LOG: '/tmp/audit-under-test.jsonl',
    ...extra,
  };
}

const oauth = (extra: NodeJS.ProcessEnv = {}, sandbox = false): OAuthConfig => loadConfig(env(extra), { sandbox }).oauth;

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('OAuth settings', () => {
  it('are off without PINGONE_MCP_RESOURCE, with the default policy', () => {
    expect(oauth()).toEqual({
      kind: 'off',
      policy: { scopes: { read: 'helpdesk:read', write: 'helpdesk:write' }, displayNameClaims: ['preferred_username', 'email', 'sub'], maxTokenLifetimeSeconds: 3600 },
    });
  });

  it('default the issuer to the auth environment of the worker app', () => {
    expect(oauth({ PINGONE_MCP_RESOURCE: 'https://mcp.example.com/mcp', PINGONE_REGION_CODE: 'EU', PINGONE_AUTH_ENVIRONMENT_ID: AUTH_ENV_ID })).toMatchObject({
      kind: 'issuer',
      issuer: `https://auth.pingone.eu/${AUTH_ENV_ID}/as`,
      resource: 'https://mcp.example.com/mcp',
    });
    expect(oauth({ PINGONE_MCP_RESOURCE: 'https://mcp.example.com/mcp' })).toMatchObject({ issuer: `https://auth.pingone.com/${ENV_ID}/as` });
  });

  it('take any OIDC issuer, scopes, claims and lifetime from the environment', () => {
    expect(
      oauth({
        PINGONE_MCP_RESOURCE: 'https://mcp.example.com/helpdesk/mcp',
        PINGONE_MCP_OAUTH_ISSUER: 'https://login.example.com/oauth2/default',
        PINGONE_MCP_READ_SCOPE: 'mcp.read',
        PINGONE_MCP_WRITE_SCOPE: 'mcp.write',
        PINGONE_MCP_OPERATOR_NAME_CLAIM: 'name, sub, email',
        PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS: '900',
      }),
    ).toEqual({
      kind: 'issuer',
      issuer: 'https://login.example.com/oauth2/default',
      resource: 'https://mcp.example.com/helpdesk/mcp',
      policy: { scopes: { read: 'mcp.read', write: 'mcp.write' }, displayNameClaims: ['name', 'email', 'sub'], maxTokenLifetimeSeconds: 900 },
    });
  });

  it('in the sandbox leave the issuer to the embedded server and keep an optional resource and operator', () => {
    expect(oauth({}, true)).toMatchObject({ kind: 'sandbox' });
    expect(oauth({ PINGONE_MCP_RESOURCE: 'http://localhost:9000/mcp', PINGONE_MCP_SANDBOX_OPERATOR: 'ops1' }, true)).toMatchObject({
      kind: 'sandbox',
      resource: 'http://localhost:9000/mcp',
      sandboxOperator: 'ops1',
    });
  });

  it.each([
    [{ PINGONE_MCP_OAUTH_ISSUER: 'https://login.example.com' }, /PINGONE_MCP_RESOURCE is not/],
    [{ PINGONE_MCP_RESOURCE: 'http://mcp.example.com/mcp' }, /PINGONE_MCP_RESOURCE must use https/],
    [{ PINGONE_MCP_RESOURCE: 'https://mcp.example.com' }, /needs the path/],
    [{ PINGONE_MCP_RESOURCE: 'https://mcp.example.com/mcp#x' }, /without credentials, query or fragment/],
    [{ PINGONE_MCP_RESOURCE: 'https://user:pw@mcp.example.com/mcp' }, /without credentials/],
    [{ PINGONE_MCP_RESOURCE: 'mcp' }, /is not a URL/],
    [{ PINGONE_MCP_RESOURCE: 'https://mcp.example.com/mcp', PINGONE_MCP_OAUTH_ISSUER: 'http://login.example.com' }, /PINGONE_MCP_OAUTH_ISSUER must use https/],
    [{ PINGONE_MCP_READ_SCOPE: 'helpdesk read' }, /PINGONE_MCP_READ_SCOPE must be one OAuth scope/],
    [{ PINGONE_MCP_READ_SCOPE: 'x', PINGONE_MCP_WRITE_SCOPE: 'x' }, /give the write scope its own name/],
    [{ PINGONE_MCP_OPERATOR_NAME_CLAIM: 'preferred username' }, /PINGONE_MCP_OPERATOR_NAME_CLAIM must be claim names/],
    [{ PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS: '10' }, /from 60 to 86400/],
    [{ PINGONE_MCP_MAX_TOKEN_LIFETIME_SECONDS: '1h' }, /from 60 to 86400/],
  ])('refuse %o with one actionable line', (extra, message) => {
    expect(configError(() => oauth(extra))).toMatch(message);
  });

  it('refuse a sandbox operator name that cannot be one', () => {
    expect(configError(() => oauth({ PINGONE_MCP_SANDBOX_OPERATOR: 'Robert; DROP' }, true))).toMatch(/PINGONE_MCP_SANDBOX_OPERATOR/);
  });
});
