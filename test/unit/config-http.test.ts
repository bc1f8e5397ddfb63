import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'p1mcp-cfg-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const TENANT = { PINGONE_ENVIRONMENT_ID: '98c9419c-0476-4680-8f26-995a6b35d7bb', PINGONE_CLIENT_ID: 'worker' };
const http = (env: Record<string, string>) => loadConfig(env, { sandbox: true, http: true }).http;
/** A tenant's settings: there OAuth is on exactly when PINGONE_MCP_RESOURCE is a public URL. */
const tenantHttp = (env: Record<string, string>) => loadConfig({ ...TENANT, PINGONE_CLIENT_SECRET: 'not-a-secret', ...env }, { http: true });

describe('secrets from files (<NAME>_FILE)', () => {
  it('reads PINGONE_CLIENT_SECRET_FILE, dropping one trailing line break', () => {
    const config = loadConfig({ ...TENANT, PINGONE_CLIENT_SECRET_FILE: file('secret', 's3cr3t-value\n') });
    expect(config.target.kind === 'tenant' && config.target.pingone.clientSecret).toBe('s3cr3t-value');
  });

  it('reads PINGONE_MCP_CONFIRM_KEY_FILE', () => {
    const key = 'k'.repeat(40);
    expect(loadConfig({ PINGONE_MCP_CONFIRM_KEY_FILE: file('key', `${key}\r\n`) }, { sandbox: true }).confirmKey).toBe(key);
  });

  it('refuses both the variable and its file, naming them and not the value', () => {
    const run = () => loadConfig({ ...TENANT, PINGONE_CLIENT_SECRET: 'inline-secret', PINGONE_CLIENT_SECRET_FILE: file('s2', 'file-secret') });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/PINGONE_CLIENT_SECRET and PINGONE_CLIENT_SECRET_FILE are both set/);
    try {
      run();
    } catch (error) {
      expect(String(error)).not.toMatch(/inline-secret|file-secret/);
    }
  });

  it('names the variable when the file cannot be read or is empty', () => {
    expect(() => loadConfig({ ...TENANT, PINGONE_CLIENT_SECRET_FILE: join(dir, 'missing') })).toThrow(/PINGONE_CLIENT_SECRET_FILE names a file that cannot be read \(ENOENT\)/);
    expect(() => loadConfig({ ...TENANT, PINGONE_CLIENT_SECRET_FILE: file('empty', '\n') })).toThrow(/PINGONE_CLIENT_SECRET_FILE names an empty file/);
  });

  it('refuses a confirmation key shorter than 32 bytes', () => {
    expect(() => loadConfig({ PINGONE_MCP_CONFIRM_KEY: 'short' }, { sandbox: true })).toThrow(/PINGONE_MCP_CONFIRM_KEY must be at least 32 bytes/);
  });
});

describe('HTTP settings', () => {
  it('defaults to 127.0.0.1:8080, path /mcp, no OAuth, and is absent without --http', () => {
    expect(http({})).toMatchObject({ host: '127.0.0.1', port: 8080, path: '/mcp', trustProxy: false, tls: undefined, metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(loadConfig({}, { sandbox: true }).http).toBeUndefined();
    expect(loadConfig({ PINGONE_MCP_HTTP: 'true' }, { sandbox: true }).http?.port).toBe(8080);
  });

  it('serves the path of a tenant public resource URL, which turns OAuth on and may listen anywhere', () => {
    const config = tenantHttp({ PINGONE_MCP_RESOURCE: 'https://helpdesk.example.com/tools/mcp', PINGONE_MCP_HTTP_HOST: '0.0.0.0' });
    expect(config.http).toMatchObject({ path: '/tools/mcp', host: '0.0.0.0' });
    expect(config.oauth).toMatchObject({ kind: 'issuer', resource: 'https://helpdesk.example.com/tools/mcp' });
  });

  it.each([
    ['0.0.0.0', true],
    ['::', true],
    ['10.0.0.5', true],
    ['127.0.0.1', false],
    ['::1', false],
    ['localhost', false],
  ])('PINGONE_MCP_HTTP_HOST=%s without OAuth: refused=%s', (host, refused) => {
    const run = () => tenantHttp({ PINGONE_MCP_HTTP_HOST: host }).http;
    if (refused) expect(run).toThrow(/is reachable from the network, and OAuth is not configured: set PINGONE_MCP_RESOURCE/);
    else expect(run()?.host).toBe(host);
  });

  it('keeps the sandbox on loopback even with a resource URL: its authorization server signs in anyone', () => {
    expect(() => http({ PINGONE_MCP_HTTP_HOST: '0.0.0.0' })).toThrow(/PINGONE_MCP_HTTP_HOST=0\.0\.0\.0 is reachable from the network, and the sandbox's authorization server signs in anyone/);
    expect(() => http({ PINGONE_MCP_HTTP_HOST: '0.0.0.0', PINGONE_MCP_RESOURCE: 'http://localhost:8080/mcp' })).toThrow(/sandbox's authorization server/);
    expect(http({ PINGONE_MCP_RESOURCE: 'http://localhost:8080/helpdesk/mcp' })?.path).toBe('/helpdesk/mcp');
  });

  it.each([
    ['http://helpdesk.example.com/mcp', /must use https/],
    ['https://user:pw@helpdesk.example.com/mcp', /without credentials/],
    ['https://helpdesk.example.com/mcp?x=1', /without credentials, query or fragment/],
    ['/healthz', /plain path/],
    ['/.well-known/x', /plain path/],
    ['mcp', /is not a URL/],
  ])('refuses PINGONE_MCP_RESOURCE=%s', (resource, message) => {
    expect(() => tenantHttp({ PINGONE_MCP_RESOURCE: resource })).toThrow(message);
  });

  it('wants both TLS files, and readable ones', () => {
    expect(() => http({ PINGONE_MCP_TLS_CERT: file('cert.pem', 'x') })).toThrow(/go together/);
    expect(() => http({ PINGONE_MCP_TLS_CERT: join(dir, 'nope.pem'), PINGONE_MCP_TLS_KEY: join(dir, 'nope.key') })).toThrow(/PINGONE_MCP_TLS_CERT names a file that cannot be read/);
  });

  it('bounds ports and session settings', () => {
    expect(() => http({ PINGONE_MCP_HTTP_PORT: '70000' })).toThrow(/PINGONE_MCP_HTTP_PORT must be a whole number from 0 to 65535/);
    expect(() => http({ PINGONE_MCP_HTTP_MAX_SESSIONS: '0' })).toThrow(/PINGONE_MCP_HTTP_MAX_SESSIONS/);
    expect(http({ PINGONE_MCP_HTTP_SESSION_IDLE_SECONDS: '60', PINGONE_MCP_METRICS_PORT: '9464' })).toMatchObject({ sessionIdleMs: 60_000, metricsPort: 9464 });
  });

  it('keeps the unauthenticated metrics listener on loopback', () => {
    expect(http({ PINGONE_MCP_METRICS_PORT: '9464', PINGONE_MCP_METRICS_HOST: '::1' })).toMatchObject({ metricsPort: 9464, metricsHost: '::1' });
    for (const host of ['0.0.0.0', '10.1.2.3', 'metrics.internal']) {
      expect(() => http({ PINGONE_MCP_METRICS_PORT: '9464', PINGONE_MCP_METRICS_HOST: host })).toThrow(/^PINGONE_MCP_METRICS_HOST=\S+ would serve \/metrics to the network without authentication/);
    }
  });
});
